"""Every option of `require('localllm').setup()`, once: its dotted key, kind, default, limits
and help text, and the checks between options. Pure data.

Built from it: the host's settings (config.py), and by `python -m localllm.config_gen --write`
the Lua schema (lua/localllm/schema.lua, which lua/localllm/config.lua validates with) and the
option entries of doc/localllm.txt. A test fails when those files are stale.

Kinds: 'boolean', 'integer', 'number' (with `min`, `max`), 'choice' (one of `choices`),
'string', 'path' (a string; `~` is expanded), 'url' (http:// or https://), 'list' (of
non-empty strings), 'patterns' (file name patterns), 'key' (a key or false), 'table'.
`nullable`: nil is allowed (it means "not set"). `side`: 'both' (the default), 'ui' (only Lua
reads it; the host ignores it) or 'host' (set by bridge.lua, not by users: not in Lua's schema).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .privacy import DEFAULT_DENY


@dataclass(frozen=True, slots=True)
class Option:
    key: str
    kind: str
    default: Any
    doc: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    nullable: bool = False
    side: str = "both"
    shown: str | None = None  # the help's default when the value is too long to show


@dataclass(frozen=True, slots=True)
class Section:
    """A table of options: the help text before its options and after them."""

    doc: str
    after: str = ""


@dataclass(frozen=True, slots=True)
class Fits:
    """`key` must hold the sum of `parts` plus `margin`."""

    key: str
    parts: tuple[str, ...]
    margin: int


@dataclass(frozen=True, slots=True)
class Needs:
    """When `when` is `equals`, one of `any_of` must be set, else `key` is named and `when`
    goes back to its default."""

    key: str
    when: str
    equals: str
    any_of: tuple[str, ...]
    message: str


def _int(key: str, default: int, minimum: int, doc: str, side: str = "both") -> Option:
    return Option(key, "integer", default, doc, min=minimum, side=side)


def _num(key: str, default: float, lo: float, hi: float, doc: str) -> Option:
    return Option(key, "number", default, doc, min=lo, max=hi)


def _bool(key: str, default: bool, doc: str, side: str = "both") -> Option:
    return Option(key, "boolean", default, doc, side=side)


def _choice(key: str, default: str | None, choices: tuple[str, ...], doc: str) -> Option:
    return Option(key, "choice", default, doc, choices=choices, nullable=default is None)


def _str(key: str, default: str | None, doc: str, kind: str = "string") -> Option:
    return Option(key, kind, default, doc, nullable=True)


def _key(name: str, default: str, doc: str) -> Option:
    return Option(f"keymaps.{name}", "key", default, doc, side="ui")


BACKENDS = ("auto", "embedded", "llama_server", "ollama", "openai", "none")
LLAMA_SERVER_ENDPOINTS = ("auto", "infill", "completion")
OLLAMA_MODES = ("auto", "suffix", "raw")
OPENAI_SUFFIX = ("auto", "always", "never")
FIM_TEMPLATES = ("qwen", "codellama", "deepseek", "starcoder", "codestral", "codegemma", "granite")
LOG_LEVELS = ("debug", "info", "warn", "error")
EXPLAIN_BACKENDS = ("embedded", "llama_server", "ollama", "openai")

FILETYPES_OFF = ("help", "gitcommit", "gitrebase", "hgcommit", "svn", "cvs", ".")

SECTIONS: dict[str, Section] = {
    "keymaps": Section("A key or `false` (no key; the <Plug> maps always exist)."),
    "context": Section(
        "The window around the cursor sent to the model.",
        after="The window's first line moves in steps of 16 lines, so that the model's KV "
        "cache stays valid while you type and move. A buffer larger than the window (up to "
        "50,000 lines) is mirrored in the plugin's Python process, change by change, so the "
        "file's imports and the definitions the code around the cursor uses come from the "
        "whole file. New chunks of recent activity join when you pause (leaving insert mode, "
        "the cursor resting), so the start of the prompt changes rarely; chunks that repeat "
        "the text around the cursor are left out.",
    ),
    "generation": Section("How suggestions are generated."),
    "embedded": Section("The model run inside the plugin (`backend = 'embedded'`)."),
    "llama_server": Section(
        "llama.cpp's server (`backend = 'llama_server'`).",
        after="After a request is dropped mid-answer, the next one waits until the server's "
        "/slots says the slot is free (at most 3 s), so that requests nobody waits for do not "
        "queue up while you type. The server keeps up to 8 GiB of past prompts in RAM by "
        "default; `--cache-ram 1024` bounds that.",
    ),
    "ollama": Section("Ollama (`backend = 'ollama'`)."),
    "openai": Section(
        "For `backend = 'openai'`: any server with an OpenAI-style /v1/completions (vLLM, LM "
        "Studio, llama-cpp-python's server, ...).",
        after="Plain http to another machine is refused unless |localllm-config-privacy| "
        "`allow_remote_http` is set.",
    ),
    "explain": Section(
        "The chat model of |:LocalLLMExplain|. Left empty it is the completion backend and "
        "model; both may be the same, though an instruct model explains better than a FIM "
        "base model. The same embedded model is shared: completion waits while an "
        "explanation is generated."
    ),
    "rules": Section(
        "Suggestions that need no model, and checks of the model's; see |localllm-rules|."
    ),
    "privacy": Section("What is never sent; see |localllm-privacy|."),
}

OPTIONS: tuple[Option, ...] = (
    _bool("enabled", True, "Completion on or off.", side="ui"),
    _choice(
        "backend",
        "auto",
        BACKENDS,
        "`'auto'`: a llama-server on 127.0.0.1:8012 or :8080, else Ollama on "
        "|localllm-config-ollama| `url` with a model that can fill in the middle, else "
        "`'embedded'`. The choice and why show in |:LocalLLM| status.\n"
        "`'embedded'`: llama-cpp-python in the plugin's process.\n"
        "`'llama_server'`: llama.cpp's server, see |localllm-config-llama_server|.\n"
        "`'ollama'`: see |localllm-config-ollama|.\n"
        "`'openai'`: any OpenAI-compatible server (vLLM, LM Studio, ...), see "
        "|localllm-config-openai|.\n"
        "`'none'`: no model at all (nothing is offered yet).\n"
        "A server that goes away is reported once, then retried quietly with growing pauses; "
        "when it is back it is used again. A server that answers 429 (or 503) with "
        "`Retry-After` is not asked again before then. A broken answer (not JSON, not UTF-8, "
        "cut off) is reported and nothing of it is shown; a server that stalls is cut off by "
        "typing on (or by `generation.time_limit_ms` once it has sent something).",
    ),
    _str(
        "model",
        None,
        "Path to a GGUF model file; `~` is expanded. nil: see |localllm-model|.",
        kind="path",
    ),
    _bool(
        "auto_trigger",
        True,
        "Ask for suggestions while typing. With `false` only the trigger key "
        "(|<Plug>(localllm-trigger)|) asks.",
        side="ui",
    ),
    _int("debounce_ms", 60, 0, "Quiet time after a keystroke before a request is sent.", side="ui"),
    _bool(
        "hide_during_completion",
        True,
        "Hide the ghost text while the completion popup is open.",
        side="ui",
    ),
    Option(
        "filetypes",
        "table",
        {"*": True, **{name: False for name in FILETYPES_OFF}},
        "Map of filetype to boolean; `['*']` is the default for the rest. Buffers with a "
        "'buftype' (prompts, terminals, scratch buffers) are always off.",
        side="ui",
        shown="all but " + ", ".join(FILETYPES_OFF[:-1]),
    ),
    _key("accept", "<Tab>", "accept the whole suggestion."),
    _key("accept_line", "<S-Tab>", "accept its first line."),
    _key("accept_word", "<M-Right>", "accept its first word."),
    _key("dismiss", "<C-]>", "hide it."),
    _key("trigger", "<M-\\>", "ask for a suggestion now."),
    _int("context.prefix_lines", 256, 1, "most lines above the cursor."),
    _int("context.suffix_lines", 64, 0, "most lines below the cursor."),
    _int("context.prefix_tokens", 1024, 16, "most tokens above the cursor."),
    _int("context.suffix_tokens", 256, 0, "most tokens below the cursor."),
    _int(
        "context.extra_chunks",
        8,
        0,
        "most chunks of recent activity shown to the model before the file: the regions you "
        "edited, text you yanked, and the buffers you left.",
    ),
    _int("context.extra_tokens", 512, 0, "their budget in tokens; 0 turns them off."),
    _int("generation.n_predict", 96, 1, "most tokens per suggestion."),
    _num("generation.temperature", 0.0, 0.0, 5.0, "sampling temperature."),
    _int("generation.top_k", 40, 0, "sample from this many likeliest tokens; 0: all."),
    _num("generation.top_p", 0.9, 0.0, 1.0, "nucleus sampling."),
    _num("generation.min_p", 0.05, 0.0, 1.0, "drop tokens this much less likely than the best."),
    _num("generation.repeat_penalty", 1.0, 0.0, 10.0, "penalty for repeated tokens; 1: none."),
    _int(
        "generation.time_limit_ms",
        2000,
        1,
        "generation stops after this long, counted from the first token; what was produced "
        "is shown.",
    ),
    _int("generation.max_lines", 12, 1, "most lines in a suggestion."),
    Option("generation.stop", "list", (), "extra strings that end a suggestion."),
    _int("embedded.n_ctx", 4096, 256, "context window (capped at the model's own)."),
    _int("embedded.n_batch", 512, 32, "prompt batch size."),
    _int("embedded.n_threads", 0, 0, "CPU threads; 0 uses every available core."),
    _str(
        "llama_server.url",
        None,
        "the server's base URL; nil looks on http://127.0.0.1:8012 (llama.vim's port), then :8080.",
        kind="url",
    ),
    _str(
        "llama_server.api_key_env",
        "LLAMA_API_KEY",
        "name of the environment variable that holds the API key (sent as a bearer token); "
        "the key itself is never put in the config.",
    ),
    _choice(
        "llama_server.endpoint",
        "auto",
        LLAMA_SERVER_ENDPOINTS,
        "`'completion'` sends our own FIM prompt to /completion (typing on a line then "
        "re-evaluates only the new tokens); `'infill'` uses /infill; `'auto'` takes "
        "/completion when the model's FIM tokens are known, else /infill.",
    ),
    _int("llama_server.timeout_ms", 10000, 100, "how long to wait for the server to answer."),
    Option("ollama.url", "url", "http://127.0.0.1:11434", "Ollama's address."),
    _str(
        "ollama.model",
        None,
        "the model to use; nil takes the first pulled model that can fill in the middle "
        "(e.g. `ollama pull qwen2.5-coder:1.5b-base`).",
    ),
    Option("ollama.keep_alive", "string", "30m", "how long Ollama keeps the model loaded."),
    _int(
        "ollama.num_ctx",
        4096,
        256,
        "the context size Ollama loads the model with (kept constant: changing it reloads "
        "the model).",
    ),
    _choice(
        "ollama.mode",
        "auto",
        OLLAMA_MODES,
        "`'raw'` sends our own FIM prompt (needed for extra context), `'suffix'` lets the "
        "model's template build it from `suffix`, `'auto'` takes `'raw'` when the model "
        "family is known.",
    ),
    _int("ollama.timeout_ms", 30000, 100, "how long to wait for Ollama to answer."),
    _str("openai.url", None, "base URL, e.g. 'http://127.0.0.1:8000/v1'.", kind="url"),
    _str("openai.model", None, "the model name the server knows."),
    _str("openai.api_key_env", "OPENAI_API_KEY", "environment variable with the API key."),
    _choice(
        "openai.suffix",
        "auto",
        OPENAI_SUFFIX,
        "`'always'` sends the text after the cursor as `suffix`; `'never'` builds the FIM "
        "prompt here (see |localllm-config-fim_template|); `'auto'` finds out whether the "
        "server honours `suffix` (vLLM rejects it, llama-server drops it) and remembers.",
    ),
    _int("openai.timeout_ms", 30000, 100, "how long to wait for the server to answer."),
    _choice(
        "explain.backend",
        None,
        EXPLAIN_BACKENDS,
        "nil for the completion backend, or `'embedded'`, `'llama_server'` "
        "(POST /v1/chat/completions), `'ollama'` (POST /api/chat) or `'openai'` "
        "(POST /chat/completions).",
    ),
    _str(
        "explain.model",
        None,
        "for the embedded backend, the path to an instruct GGUF, loaded next to the "
        "completion model (setting it alone means the embedded backend). It is asked "
        "through its own chat template; a model without one gets a plain-text prompt, with "
        "a note in the window.",
        kind="path",
    ),
    _str("explain.url", None, "the server's URL; nil: the completion backend's.", kind="url"),
    _str(
        "explain.server_model",
        None,
        "the model name for Ollama or an OpenAI-compatible server; nil: `ollama.model` or "
        "`openai.model` (Ollama: else the completion model, else the first pulled model that "
        "can chat).",
    ),
    _int("explain.max_tokens", 512, 16, "the longest answer, in tokens."),
    _num("explain.temperature", 0.2, 0.0, 5.0, "sampling temperature of the answer."),
    _bool(
        "rules.go_errors",
        True,
        "in Go, the `if err != nil` block with the zero values of the function's results, "
        "offered at once on the line after a statement that assigns `err`, after a typed "
        "`if e...`, and inside a fresh block.",
    ),
    _bool(
        "rules.log_lines",
        True,
        "a line that starts a log call is completed as one line that ends where the call "
        "ends, and is cut back where it passes a name not in scope or where its format verbs, "
        "key/value pairs or fields do not add up.",
    ),
    Option(
        "privacy.deny",
        "patterns",
        DEFAULT_DENY,
        "files never sent, as glob patterns (`*`, `?`, `[abc]`, `[!abc]`) matched "
        "case-insensitively against the file name; a pattern with a `/` matches the end of "
        "the whole path (`.ssh/*`: every file in a .ssh folder). The buffer name and the real "
        "path (through symlinks) are both checked. Setting it replaces the list.",
    ),
    Option(
        "privacy.deny_extra",
        "patterns",
        (),
        "your own patterns, added to `deny`, e.g. `{ 'secrets.*', '*/private/*' }`.",
    ),
    _bool(
        "privacy.allow_remote_http",
        False,
        "send code over plain http to another machine. Without it a `url` that is `http://` "
        "to anything but this machine (localhost, 127.0.0.0/8, ::1) is refused with a "
        "message; https and loopback are always fine. An SSH tunnel "
        "(`ssh -L 8012:127.0.0.1:8012 host`) keeps the code encrypted instead.",
    ),
    _choice(
        "fim_template",
        None,
        FIM_TEMPLATES,
        "The FIM prompt family for servers that take a prompt string: "
        + ", ".join(f"`'{name}'`" for name in FIM_TEMPLATES)
        + ". nil: picked from the model name.",
    ),
    _int("cache_size", 250, 0, "How many recent suggestions are kept."),
    _bool(
        "speculative",
        True,
        "While a suggestion is shown, prepare the one that would follow it if it were "
        "accepted, so that accepting a chain of suggestions is instant. Costs CPU time while "
        "you read; turn it off on a slow or battery-powered machine.",
    ),
    _choice(
        "log_level",
        "warn",
        LOG_LEVELS,
        "`'debug'`, `'info'`, `'warn'` or `'error'`, for the log file "
        "`stdpath('log')/localllm.log`.",
    ),
    Option("log_file", "path", None, "Where the host logs.", nullable=True, side="host"),
)

CHECKS: tuple[Fits | Needs, ...] = (
    Fits(
        "embedded.n_ctx",
        (
            "context.prefix_tokens",
            "context.suffix_tokens",
            "context.extra_tokens",
            "generation.n_predict",
        ),
        margin=16,
    ),
    Needs(
        "openai.url",
        "backend",
        "openai",
        ("openai.url",),
        "backend 'openai' needs openai.url, e.g. 'http://127.0.0.1:8000/v1'",
    ),
    Needs(
        "openai.model",
        "backend",
        "openai",
        ("openai.model",),
        "backend 'openai' needs openai.model, the model name the server knows",
    ),
    Needs(
        "explain.url",
        "explain.backend",
        "openai",
        ("explain.url", "openai.url"),
        "explain.backend 'openai' needs explain.url or openai.url",
    ),
    Needs(
        "explain.server_model",
        "explain.backend",
        "openai",
        ("explain.server_model", "openai.model"),
        "explain.backend 'openai' needs explain.server_model or openai.model",
    ),
)

# Every 'url' option: plain http to another machine is refused, and the whole config with it
# (it fails closed, never falling back to a default), unless this option is true.
REMOTE_HTTP_OPT_IN = "privacy.allow_remote_http"

OPTION: dict[str, Option] = {o.key: o for o in OPTIONS}
DEFAULTS: dict[str, Any] = {o.key: o.default for o in OPTIONS}
