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
from .privacy import DEFAULT_DENY, plain_http_refusal, sends_in_clear
from .types import GenerationParams

BACKENDS = ("auto", "embedded", "llama_server", "ollama", "openai", "none")
LLAMA_SERVER_ENDPOINTS = ("auto", "infill", "completion")
OLLAMA_MODES = ("auto", "suffix", "raw")
OPENAI_SUFFIX = ("auto", "always", "never")
FIM_TEMPLATES = ("qwen", "codellama", "deepseek", "starcoder", "codestral", "codegemma", "granite")
LOG_LEVELS = ("debug", "info", "warn", "error")
EXPLAIN_BACKENDS = ("embedded", "llama_server", "ollama", "openai")


@dataclass(frozen=True, slots=True)
class ContextSettings:
    prefix_lines: int = 256
    suffix_lines: int = 64
    prefix_tokens: int = 1024
    suffix_tokens: int = 256
    extra_chunks: int = 8  # recent edits, yanks and left buffers kept for the prompt
    extra_tokens: int = 512  # their budget; 0 turns them off


@dataclass(frozen=True, slots=True)
class EmbeddedSettings:
    n_ctx: int = 4096
    n_batch: int = 512
    n_threads: int = 0  # 0: one per available core


@dataclass(frozen=True, slots=True)
class LlamaServerSettings:
    url: str | None = None  # None: look on 127.0.0.1:8012 (llama.vim's port), then :8080
    api_key_env: str | None = "LLAMA_API_KEY"
    endpoint: str = "auto"  # "auto": measured once; "infill" or "completion" to force one
    timeout_ms: int = 10000


@dataclass(frozen=True, slots=True)
class OllamaSettings:
    url: str = "http://127.0.0.1:11434"
    model: str | None = None  # None: the first pulled model that can fill in the middle
    keep_alive: str = "30m"
    num_ctx: int = 4096
    mode: str = "auto"  # "suffix" (the model's template), "raw" (our FIM prompt), "auto"
    timeout_ms: int = 30000


@dataclass(frozen=True, slots=True)
class OpenAISettings:
    url: str | None = None  # e.g. http://127.0.0.1:8000/v1 (vLLM), http://127.0.0.1:1234/v1
    model: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    suffix: str = "auto"  # send `suffix` ("always"), never, or find out ("auto")
    timeout_ms: int = 30000


@dataclass(frozen=True, slots=True)
class ExplainSettings:
    """:LocalLLMExplain's chat model; None everywhere means the completion backend's model."""

    backend: str | None = None  # None: the completion backend (embedded when `model` is set)
    model: str | None = None  # embedded: an instruct GGUF; None: the completion model
    url: str | None = None  # llama_server/ollama/openai: None: the completion backend's URL
    server_model: str | None = None  # Ollama/OpenAI model name; None: the completion one
    max_tokens: int = 512
    temperature: float = 0.2


@dataclass(frozen=True, slots=True)
class RulesSettings:
    """Suggestions that need no model (Go error checks) and checks of the model's (log lines)."""

    go_errors: bool = True
    log_lines: bool = True


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    """What is never sent (see privacy.py), and whether plain http may leave this machine."""

    deny: tuple[str, ...] = DEFAULT_DENY  # file name patterns never sent
    deny_extra: tuple[str, ...] = ()  # the user's own, added to `deny`
    allow_remote_http: bool = False

    @property
    def patterns(self) -> tuple[str, ...]:
        return self.deny + self.deny_extra


@dataclass(frozen=True, slots=True)
class Settings:
    backend: str = "auto"
    model: str | None = None
    context: ContextSettings = field(default_factory=ContextSettings)
    generation: GenerationParams = field(default_factory=GenerationParams)
    max_lines: int = 12
    embedded: EmbeddedSettings = field(default_factory=EmbeddedSettings)
    llama_server: LlamaServerSettings = field(default_factory=LlamaServerSettings)
    ollama: OllamaSettings = field(default_factory=OllamaSettings)
    openai: OpenAISettings = field(default_factory=OpenAISettings)
    explain: ExplainSettings = field(default_factory=ExplainSettings)
    rules: RulesSettings = field(default_factory=RulesSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    fim_template: str | None = None  # None: from the model name; else a FIM_TEMPLATES name
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


def _choice(
    raw: Mapping[str, Any], key: str, path: str, default: str, choices: tuple[str, ...]
) -> str:
    value = raw.get(key, default)
    if value not in choices:
        raise ConfigError(path, f"must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _opt_str(raw: Mapping[str, Any], key: str, path: str, default: str | None) -> str | None:
    value = raw.get(key, default)
    if value is None or value is False or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(path, f"expected a string, got {value!r}")
    return value


def _url(raw: Mapping[str, Any], key: str, path: str, default: str | None) -> str | None:
    value = _opt_str(raw, key, path, default)
    if value is None:
        return None
    if not value.startswith(("http://", "https://")) or len(value) < 10:
        raise ConfigError(path, f"expected an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


def _patterns(raw: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = raw.get(key, list(default))
    if value is None or (isinstance(value, Mapping) and not value):  # {} from an empty Lua table
        return ()
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(p, str) and p.strip() for p in value
    ):
        raise ConfigError(
            f"privacy.{key}", f"expected a list of file name patterns (strings), got {value!r}"
        )
    return tuple(p.strip() for p in value)


def _privacy(raw: Mapping[str, Any], d: PrivacySettings) -> PrivacySettings:
    allow = raw.get("allow_remote_http", d.allow_remote_http)
    if not isinstance(allow, bool):
        raise ConfigError("privacy.allow_remote_http", f"expected true or false, got {allow!r}")
    return PrivacySettings(
        deny=_patterns(raw, "deny", d.deny),
        deny_extra=_patterns(raw, "deny_extra", d.deny_extra),
        allow_remote_http=allow,
    )


class RefusedSetting(ConfigError):
    """A setting refused for safety: read_settings never replaces it by its default."""


# What read_settings drops when a check between keys fails, first the one the user set: the
# error names the first; the check passes once enough of them are back at their defaults.
_FALLBACKS = {
    "embedded.n_ctx": (
        "embedded.n_ctx",
        "generation.n_predict",
        "context.prefix_tokens",
        "context.suffix_tokens",
        "context.extra_tokens",
    ),
    "openai": ("backend",),
    "explain.url": ("explain.backend",),
    "explain.server_model": ("explain.backend",),
}


def read_settings(raw: Mapping[str, Any] | None) -> tuple[Settings, list[str]]:
    """parse_settings for the host, keeping the good parts: each bad value is replaced by its
    default and told in the list (Lua filters bad values first: this is defense in depth).
    Raises only when a setting is refused for safety (RefusedSetting), or raw is no table."""
    table = _copy(raw or {})
    problems: list[str] = []
    while True:
        try:
            return parse_settings(table), problems
        except RefusedSetting:
            raise
        except ConfigError as exc:
            if not any(_drop(table, key) for key in _FALLBACKS.get(exc.key, (exc.key,))):
                raise
            problems.append(str(exc))


def _copy(raw: Any) -> Any:
    """Tables as dicts, copied: read_settings drops keys from its copy."""
    if isinstance(raw, Mapping):
        return {key: _copy(value) for key, value in raw.items()}
    return raw


def _drop(table: Any, key: str) -> bool:
    """Remove the dotted `key` from `table` (it then takes its default); False if not there."""
    *sections, last = key.split(".")
    for name in sections:
        table = table.get(name) if isinstance(table, dict) else None
    return isinstance(table, dict) and table.pop(last, _MISSING) is not _MISSING


_MISSING = object()


def parse_settings(raw: Mapping[str, Any] | None) -> Settings:
    """Build Settings from the plugin's config table. Raises ConfigError naming the (first)
    bad key: for the command line; the host reads with read_settings."""
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
        extra_chunks=_int(c, "extra_chunks", "context.extra_chunks", dc.extra_chunks, 0),
        extra_tokens=_int(c, "extra_tokens", "context.extra_tokens", dc.extra_tokens, 0),
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
    needed = (
        context.prefix_tokens + context.suffix_tokens + context.extra_tokens + generation.n_predict
    )
    if needed + 16 > embedded.n_ctx:
        raise ConfigError(
            "embedded.n_ctx",
            f"{embedded.n_ctx} is too small for context.prefix_tokens + context.suffix_tokens "
            f"+ context.extra_tokens + generation.n_predict ({context.prefix_tokens} + "
            f"{context.suffix_tokens} + {context.extra_tokens} + {generation.n_predict}); "
            "raise it or lower those",
        )

    log_level = raw.get("log_level", d.log_level)
    if log_level not in LOG_LEVELS:
        raise ConfigError("log_level", f"must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    log_file = raw.get("log_file")
    if log_file is not None and not isinstance(log_file, str):
        raise ConfigError("log_file", f"expected a path, got {log_file!r}")

    ls = _section(raw, "llama_server")
    dl = d.llama_server
    llama_server = LlamaServerSettings(
        url=_url(ls, "url", "llama_server.url", dl.url),
        api_key_env=_opt_str(ls, "api_key_env", "llama_server.api_key_env", dl.api_key_env),
        endpoint=_choice(
            ls, "endpoint", "llama_server.endpoint", dl.endpoint, LLAMA_SERVER_ENDPOINTS
        ),
        timeout_ms=_int(ls, "timeout_ms", "llama_server.timeout_ms", dl.timeout_ms, 100),
    )
    o = _section(raw, "ollama")
    do = d.ollama
    ollama = OllamaSettings(
        url=_url(o, "url", "ollama.url", do.url) or do.url,
        model=_opt_str(o, "model", "ollama.model", do.model),
        keep_alive=_opt_str(o, "keep_alive", "ollama.keep_alive", do.keep_alive) or do.keep_alive,
        num_ctx=_int(o, "num_ctx", "ollama.num_ctx", do.num_ctx, 256),
        mode=_choice(o, "mode", "ollama.mode", do.mode, OLLAMA_MODES),
        timeout_ms=_int(o, "timeout_ms", "ollama.timeout_ms", do.timeout_ms, 100),
    )
    oa = _section(raw, "openai")
    doa = d.openai
    openai = OpenAISettings(
        url=_url(oa, "url", "openai.url", doa.url),
        model=_opt_str(oa, "model", "openai.model", doa.model),
        api_key_env=_opt_str(oa, "api_key_env", "openai.api_key_env", doa.api_key_env),
        suffix=_choice(oa, "suffix", "openai.suffix", doa.suffix, OPENAI_SUFFIX),
        timeout_ms=_int(oa, "timeout_ms", "openai.timeout_ms", doa.timeout_ms, 100),
    )
    if backend == "openai" and (openai.url is None or openai.model is None):
        raise ConfigError(
            "openai",
            "backend 'openai' needs openai.url (e.g. http://127.0.0.1:8000/v1) and openai.model",
        )
    ex = _section(raw, "explain")
    dex = d.explain
    explain_backend = ex.get("backend", dex.backend)
    if explain_backend is not None and explain_backend not in EXPLAIN_BACKENDS:
        raise ConfigError(
            "explain.backend",
            f"must be one of {', '.join(EXPLAIN_BACKENDS)} (or nil), got {explain_backend!r}",
        )
    explain_model = _opt_str(ex, "model", "explain.model", dex.model)
    explain = ExplainSettings(
        backend=explain_backend,
        model=os.path.expanduser(explain_model) if explain_model else None,
        url=_url(ex, "url", "explain.url", dex.url),
        server_model=_opt_str(ex, "server_model", "explain.server_model", dex.server_model),
        max_tokens=_int(ex, "max_tokens", "explain.max_tokens", dex.max_tokens, 16),
        temperature=_float(ex, "temperature", "explain.temperature", dex.temperature, 0.0, 5.0),
    )
    if explain.backend == "openai" and not (explain.url or openai.url):
        raise ConfigError("explain.url", "explain.backend 'openai' needs explain.url or openai.url")
    if explain.backend == "openai" and not (explain.server_model or openai.model):
        raise ConfigError(
            "explain.server_model",
            "explain.backend 'openai' needs explain.server_model or openai.model",
        )

    fim_template = raw.get("fim_template", d.fim_template)
    if fim_template is not None and fim_template not in FIM_TEMPLATES:
        raise ConfigError(
            "fim_template", f"must be one of {', '.join(FIM_TEMPLATES)}, got {fim_template!r}"
        )

    speculative = raw.get("speculative", d.speculative)
    if not isinstance(speculative, bool):
        raise ConfigError("speculative", f"expected true or false, got {speculative!r}")

    ru = _section(raw, "rules")
    flags: dict[str, bool] = {}
    for name in ("go_errors", "log_lines"):
        value = ru.get(name, getattr(d.rules, name))
        if not isinstance(value, bool):
            raise ConfigError(f"rules.{name}", f"expected true or false, got {value!r}")
        flags[name] = value
    rules = RulesSettings(**flags)

    privacy = _privacy(_section(raw, "privacy"), d.privacy)
    if not privacy.allow_remote_http:
        for key, url in (
            ("llama_server.url", llama_server.url),
            ("ollama.url", ollama.url),
            ("openai.url", openai.url),
            ("explain.url", explain.url),
        ):
            if url and sends_in_clear(url):
                raise RefusedSetting(key, plain_http_refusal(url))

    return Settings(
        backend=backend,
        model=model,
        context=context,
        generation=generation,
        max_lines=max_lines,
        embedded=embedded,
        llama_server=llama_server,
        ollama=ollama,
        openai=openai,
        explain=explain,
        rules=rules,
        privacy=privacy,
        fim_template=fim_template,
        cache_size=_int(raw, "cache_size", "cache_size", d.cache_size, 0),
        speculative=speculative,
        log_level=log_level,
        log_file=log_file or None,
    )
