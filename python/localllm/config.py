"""Typed settings for the Python side, parsed from the table `require('localllm').setup()` built.

Lua validates and merges the user's table with the defaults (lua/localllm/config.lua) and sends
the result; the command line builds the same table from its flags. Keys that only the UI uses
(keymaps, filetypes, debounce...) are accepted here and ignored. The defaults below must match
the Lua defaults; a test checks that they do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError
from .types import GenerationParams

BACKENDS = ("embedded", "none")
LOG_LEVELS = ("debug", "info", "warn", "error")


@dataclass(frozen=True, slots=True)
class ContextSettings:
    prefix_lines: int = 256
    suffix_lines: int = 64
    prefix_tokens: int = 1024
    suffix_tokens: int = 256


@dataclass(frozen=True, slots=True)
class EmbeddedSettings:
    n_ctx: int = 4096
    n_batch: int = 512
    n_threads: int = 0  # 0: one per available core


@dataclass(frozen=True, slots=True)
class Settings:
    backend: str = "embedded"
    model: str | None = None
    context: ContextSettings = field(default_factory=ContextSettings)
    generation: GenerationParams = field(default_factory=GenerationParams)
    max_lines: int = 12
    embedded: EmbeddedSettings = field(default_factory=EmbeddedSettings)
    cache_size: int = 250
    speculative: bool = True
    log_level: str = "warn"
    log_file: str | None = None


def _section(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"expected a table, got {type(value).__name__}")
    return value


def _int(raw: Mapping[str, Any], key: str, path: str, default: int, minimum: int) -> int:
    value = raw.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not value.is_integer())  # also inf and nan
    ):
        raise ConfigError(path, f"expected an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(path, f"must be at least {minimum}, got {value}")
    return int(value)


def _float(
    raw: Mapping[str, Any], key: str, path: str, default: float, lo: float, hi: float
) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(path, f"expected a number, got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(path, f"must be between {lo} and {hi}, got {value}")
    return float(value)


def parse_settings(raw: Mapping[str, Any] | None) -> Settings:
    """Build Settings from the plugin's config table. Raises ConfigError naming the bad key."""
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("(root)", "expected a table")
    d = Settings()

    backend = raw.get("backend", d.backend)
    if backend not in BACKENDS:
        raise ConfigError("backend", f"must be one of {', '.join(BACKENDS)}, got {backend!r}")

    model = raw.get("model", d.model)
    if model is not None and model is not False:
        if not isinstance(model, str):
            raise ConfigError("model", f"expected a path to a .gguf file, got {model!r}")
        model = os.path.expanduser(model) if model else None
    else:
        model = None

    c = _section(raw, "context")
    dc = d.context
    context = ContextSettings(
        prefix_lines=_int(c, "prefix_lines", "context.prefix_lines", dc.prefix_lines, 1),
        suffix_lines=_int(c, "suffix_lines", "context.suffix_lines", dc.suffix_lines, 0),
        prefix_tokens=_int(c, "prefix_tokens", "context.prefix_tokens", dc.prefix_tokens, 16),
        suffix_tokens=_int(c, "suffix_tokens", "context.suffix_tokens", dc.suffix_tokens, 0),
    )

    g = _section(raw, "generation")
    dg = d.generation
    stop = g.get("stop", list(dg.stop))
    if not isinstance(stop, (list, tuple)) or not all(isinstance(s, str) and s for s in stop):
        raise ConfigError("generation.stop", "expected a list of non-empty strings")
    generation = GenerationParams(
        n_predict=_int(g, "n_predict", "generation.n_predict", dg.n_predict, 1),
        temperature=_float(g, "temperature", "generation.temperature", dg.temperature, 0.0, 5.0),
        top_k=_int(g, "top_k", "generation.top_k", dg.top_k, 0),
        top_p=_float(g, "top_p", "generation.top_p", dg.top_p, 0.0, 1.0),
        min_p=_float(g, "min_p", "generation.min_p", dg.min_p, 0.0, 1.0),
        repeat_penalty=_float(
            g, "repeat_penalty", "generation.repeat_penalty", dg.repeat_penalty, 0.0, 10.0
        ),
        time_limit_ms=_int(g, "time_limit_ms", "generation.time_limit_ms", dg.time_limit_ms, 1),
        stop=tuple(stop),
    )
    max_lines = _int(g, "max_lines", "generation.max_lines", d.max_lines, 1)

    e = _section(raw, "embedded")
    de = d.embedded
    embedded = EmbeddedSettings(
        n_ctx=_int(e, "n_ctx", "embedded.n_ctx", de.n_ctx, 256),
        n_batch=_int(e, "n_batch", "embedded.n_batch", de.n_batch, 32),
        n_threads=_int(e, "n_threads", "embedded.n_threads", de.n_threads, 0),
    )
    if context.prefix_tokens + context.suffix_tokens + generation.n_predict + 16 > embedded.n_ctx:
        raise ConfigError(
            "embedded.n_ctx",
            f"{embedded.n_ctx} is too small for context.prefix_tokens + context.suffix_tokens "
            f"+ generation.n_predict ({context.prefix_tokens} + {context.suffix_tokens} + "
            f"{generation.n_predict}); raise it or lower those",
        )

    log_level = raw.get("log_level", d.log_level)
    if log_level not in LOG_LEVELS:
        raise ConfigError("log_level", f"must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    log_file = raw.get("log_file")
    if log_file is not None and not isinstance(log_file, str):
        raise ConfigError("log_file", f"expected a path, got {log_file!r}")

    speculative = raw.get("speculative", d.speculative)
    if not isinstance(speculative, bool):
        raise ConfigError("speculative", f"expected true or false, got {speculative!r}")

    return Settings(
        backend=backend,
        model=model,
        context=context,
        generation=generation,
        max_lines=max_lines,
        embedded=embedded,
        cache_size=_int(raw, "cache_size", "cache_size", d.cache_size, 0),
        speculative=speculative,
        log_level=log_level,
        log_file=log_file or None,
    )
