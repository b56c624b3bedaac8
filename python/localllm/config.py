"""Typed settings for the Python side, parsed from the table `require('localllm').setup()` built.

Every option is declared once, in config_schema.py: its default, limits and help. This module
walks that schema over the table Lua sends (Lua validated it against the same schema first)
or the command line builds. Keys that only the UI uses (keymaps, filetypes, debounce...) are
accepted here and ignored.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .config_schema import (
    BACKENDS,
    CHECKS,
    DEFAULTS,
    EXPLAIN_BACKENDS,
    FIM_TEMPLATES,
    LLAMA_SERVER_ENDPOINTS,
    LOG_LEVELS,
    OLLAMA_MODES,
    OPENAI_SUFFIX,
    OPTIONS,
    REMOTE_HTTP_OPT_IN,
    Fits,
    Needs,
    Option,
)
from .errors import ConfigError
from .privacy import plain_http_refusal, sends_in_clear
from .types import GenerationParams

__all__ = [
    "BACKENDS",
    "EXPLAIN_BACKENDS",
    "FIM_TEMPLATES",
    "LLAMA_SERVER_ENDPOINTS",
    "LOG_LEVELS",
    "OLLAMA_MODES",
    "OPENAI_SUFFIX",
    "ContextSettings",
    "EmbeddedSettings",
    "ExplainSettings",
    "LlamaServerSettings",
    "OllamaSettings",
    "OpenAISettings",
    "PrivacySettings",
    "RefusedSetting",
    "RulesSettings",
    "Settings",
    "parse_settings",
    "read_settings",
]

D = DEFAULTS  # the defaults below are the schema's; see there for what each option does


@dataclass(frozen=True, slots=True)
class ContextSettings:
    prefix_lines: int = D["context.prefix_lines"]
    suffix_lines: int = D["context.suffix_lines"]
    prefix_tokens: int = D["context.prefix_tokens"]
    suffix_tokens: int = D["context.suffix_tokens"]
    extra_chunks: int = D["context.extra_chunks"]
    extra_tokens: int = D["context.extra_tokens"]


@dataclass(frozen=True, slots=True)
class EmbeddedSettings:
    n_ctx: int = D["embedded.n_ctx"]
    n_batch: int = D["embedded.n_batch"]
    n_threads: int = D["embedded.n_threads"]


@dataclass(frozen=True, slots=True)
class LlamaServerSettings:
    url: str | None = D["llama_server.url"]
    api_key_env: str | None = D["llama_server.api_key_env"]
    endpoint: str = D["llama_server.endpoint"]
    timeout_ms: int = D["llama_server.timeout_ms"]


@dataclass(frozen=True, slots=True)
class OllamaSettings:
    url: str = D["ollama.url"]
    model: str | None = D["ollama.model"]
    keep_alive: str = D["ollama.keep_alive"]
    num_ctx: int = D["ollama.num_ctx"]
    mode: str = D["ollama.mode"]
    timeout_ms: int = D["ollama.timeout_ms"]


@dataclass(frozen=True, slots=True)
class OpenAISettings:
    url: str | None = D["openai.url"]
    model: str | None = D["openai.model"]
    api_key_env: str | None = D["openai.api_key_env"]
    suffix: str = D["openai.suffix"]
    timeout_ms: int = D["openai.timeout_ms"]


@dataclass(frozen=True, slots=True)
class ExplainSettings:
    """:LocalLLMExplain's chat model; None everywhere means the completion backend's model."""

    backend: str | None = D["explain.backend"]
    model: str | None = D["explain.model"]
    url: str | None = D["explain.url"]
    server_model: str | None = D["explain.server_model"]
    max_tokens: int = D["explain.max_tokens"]
    temperature: float = D["explain.temperature"]


@dataclass(frozen=True, slots=True)
class RulesSettings:
    """Suggestions that need no model (Go error checks) and checks of the model's (log lines)."""

    go_errors: bool = D["rules.go_errors"]
    log_lines: bool = D["rules.log_lines"]


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    """What is never sent (see privacy.py), and whether plain http may leave this machine."""

    deny: tuple[str, ...] = D["privacy.deny"]
    deny_extra: tuple[str, ...] = D["privacy.deny_extra"]
    allow_remote_http: bool = D["privacy.allow_remote_http"]

    @property
    def patterns(self) -> tuple[str, ...]:
        return self.deny + self.deny_extra


@dataclass(frozen=True, slots=True)
class Settings:
    backend: str = D["backend"]
    model: str | None = D["model"]
    context: ContextSettings = field(default_factory=ContextSettings)
    generation: GenerationParams = field(default_factory=GenerationParams)
    max_lines: int = D["generation.max_lines"]
    embedded: EmbeddedSettings = field(default_factory=EmbeddedSettings)
    llama_server: LlamaServerSettings = field(default_factory=LlamaServerSettings)
    ollama: OllamaSettings = field(default_factory=OllamaSettings)
    openai: OpenAISettings = field(default_factory=OpenAISettings)
    explain: ExplainSettings = field(default_factory=ExplainSettings)
    rules: RulesSettings = field(default_factory=RulesSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    fim_template: str | None = D["fim_template"]
    cache_size: int = D["cache_size"]
    speculative: bool = D["speculative"]
    log_level: str = D["log_level"]
    log_file: str | None = D["log_file"]


# The host's options (the UI's are Lua's alone) and the sections that hold them.
HOST_OPTIONS = tuple(o for o in OPTIONS if o.side != "ui")
_SECTIONS = tuple(dict.fromkeys(o.key.split(".")[0] for o in HOST_OPTIONS if "." in o.key))
_MISSING = object()


def _integer(o: Option, value: Any) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not value.is_integer())  # also inf and nan
    ):
        raise ConfigError(o.key, f"expected an integer, got {value!r}")
    if o.min is not None and value < o.min:
        raise ConfigError(o.key, f"must be at least {o.min}, got {value}")
    if o.max is not None and value > o.max:
        raise ConfigError(o.key, f"must be at most {o.max}, got {value}")
    return int(value)


def _number(o: Option, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(o.key, f"expected a number, got {value!r}")
    lo = -math.inf if o.min is None else o.min
    hi = math.inf if o.max is None else o.max
    if not lo <= value <= hi:  # also nan
        raise ConfigError(o.key, f"must be between {o.min} and {o.max}, got {value}")
    return float(value)


def _text(o: Option, value: Any) -> str | None:
    """'string', 'path' and 'url': None, false and '' mean not set (nil, or the default)."""
    if value is None or value is False or value == "":
        return None if o.nullable else o.default  # type: ignore[no-any-return]
    if not isinstance(value, str):
        raise ConfigError(
            o.key, f"expected a {'path' if o.kind == 'path' else 'string'}, got {value!r}"
        )
    if o.kind == "path":
        return os.path.expanduser(value)
    if o.kind == "url":
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ConfigError(o.key, f"expected an http:// or https:// URL, got {value!r}")
        return value.rstrip("/")
    return value


def _strings(o: Option, value: Any) -> tuple[str, ...]:
    """'list' (non-empty strings) and 'patterns' (file name patterns, stripped)."""
    if o.kind == "patterns" and (value is None or (isinstance(value, Mapping) and not value)):
        return ()  # {} is an empty Lua table
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(s, str) and (s.strip() if o.kind == "patterns" else s) for s in value
    ):
        if o.kind == "list":
            raise ConfigError(o.key, "expected a list of non-empty strings")
        raise ConfigError(o.key, f"expected a list of file name patterns (strings), got {value!r}")
    return tuple(s.strip() for s in value) if o.kind == "patterns" else tuple(value)


def _value(o: Option, value: Any) -> Any:
    """The option's value as the host uses it; raises ConfigError naming its key."""
    if o.kind == "integer":
        return _integer(o, value)
    if o.kind == "number":
        return _number(o, value)
    if o.kind == "boolean":
        if not isinstance(value, bool):
            raise ConfigError(o.key, f"expected true or false, got {value!r}")
        return value
    if o.kind == "choice":
        if value is None and o.nullable:
            return None
        if value not in o.choices:
            nil = " (or nil)" if o.nullable else ""
            raise ConfigError(o.key, f"must be one of {', '.join(o.choices)}{nil}, got {value!r}")
        return value
    if o.kind in ("list", "patterns"):
        return _strings(o, value)
    return _text(o, value)


def _fits(check: Fits, values: Mapping[str, Any]) -> ConfigError | None:
    parts = [values[key] for key in check.parts]
    if sum(parts) + check.margin <= values[check.key]:
        return None
    return ConfigError(
        check.key,
        f"{values[check.key]} is too small for {' + '.join(check.parts)} "
        f"({' + '.join(map(str, parts))}); raise it or lower those",
    )


def _broken(check: Fits | Needs, values: Mapping[str, Any]) -> ConfigError | None:
    """The check between options that `values` fails, or None."""
    if isinstance(check, Fits):
        return _fits(check, values)
    if values[check.when] == check.equals and all(values[k] is None for k in check.any_of):
        return ConfigError(check.key, check.message)
    return None


def _fallbacks(check: Fits | Needs) -> tuple[str, ...]:
    """What read_settings puts back to its default when `check` fails, first to last: the
    error names the first; the check passes once enough of them are back."""
    if isinstance(check, Fits):
        return (check.key, *check.parts)
    return (check.when,)


class RefusedSetting(ConfigError):
    """A setting refused for safety: read_settings never replaces it by its default."""


def read_settings(raw: Mapping[str, Any] | None) -> tuple[Settings, list[str]]:
    """parse_settings for the host, keeping the good parts: each bad value is replaced by its
    default and told in the list (Lua filters bad values first: this is defense in depth).
    Raises only when a setting is refused for safety (RefusedSetting), or raw is no table."""
    problems: list[str] = []
    return _read(raw, problems), problems


def parse_settings(raw: Mapping[str, Any] | None) -> Settings:
    """Build Settings from the plugin's config table. Raises ConfigError naming the (first)
    bad key: for the command line; the host reads with read_settings."""
    return _read(raw, None)


def _read(raw: Mapping[str, Any] | None, problems: list[str] | None) -> Settings:
    """Walk the schema over `raw`. With `problems` None the first bad key raises; else each
    is told there and takes its default."""
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("(root)", "expected a table")

    def bad(exc: ConfigError) -> None:
        if problems is None:
            raise exc
        problems.append(str(exc))

    tables: dict[str, Mapping[str, Any]] = {"": raw}
    values: dict[str, Any] = {}
    given: set[str] = set()
    for o in HOST_OPTIONS:
        section, _, leaf = o.key.rpartition(".")
        if section not in tables:
            table = raw.get(section, {})
            tables[section] = {} if table is None else table
            if not isinstance(table, Mapping | None):
                bad(ConfigError(section, f"expected a table, got {type(table).__name__}"))
                tables[section] = {}
        value = tables[section].get(leaf, _MISSING)
        values[o.key] = o.default
        if value is _MISSING:
            continue
        try:
            values[o.key] = _value(o, value)
            given.add(o.key)
        except ConfigError as exc:
            bad(exc)
    for check in CHECKS:
        while (broken := _broken(check, values)) is not None:
            back = next((key for key in _fallbacks(check) if key in given), None)
            if back is None:
                raise broken
            bad(broken)
            given.discard(back)
            values[back] = DEFAULTS[back]
    _refuse_plain_http(values)
    return _settings(values)


def _refuse_plain_http(values: Mapping[str, Any]) -> None:
    if values[REMOTE_HTTP_OPT_IN]:
        return
    for o in HOST_OPTIONS:
        url = values[o.key]
        if o.kind == "url" and url and sends_in_clear(url):
            raise RefusedSetting(o.key, plain_http_refusal(url))


def _settings(values: Mapping[str, Any]) -> Settings:
    """The dataclasses from the dotted values (generation.max_lines lives at the top)."""
    sections: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    top: dict[str, Any] = {}
    for key, value in values.items():
        section, _, leaf = key.rpartition(".")
        if key == "generation.max_lines":
            top["max_lines"] = value
        else:
            (sections[section] if section else top)[leaf] = value
    return Settings(
        **top,
        context=ContextSettings(**sections["context"]),
        generation=GenerationParams(**sections["generation"]),
        embedded=EmbeddedSettings(**sections["embedded"]),
        llama_server=LlamaServerSettings(**sections["llama_server"]),
        ollama=OllamaSettings(**sections["ollama"]),
        openai=OpenAISettings(**sections["openai"]),
        explain=ExplainSettings(**sections["explain"]),
        rules=RulesSettings(**sections["rules"]),
        privacy=PrivacySettings(**sections["privacy"]),
    )
