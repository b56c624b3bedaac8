"""Tests for localllm.config: parsing the settings table, and agreement with the Lua defaults
(lua/localllm/config.lua, read from a real headless Neovim) and the help file."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, nvim_binary
from localllm import config_gen
from localllm.config import (
    BACKENDS,
    LOG_LEVELS,
    ContextSettings,
    EmbeddedSettings,
    ExplainSettings,
    LlamaServerSettings,
    OllamaSettings,
    OpenAISettings,
    PrivacySettings,
    RulesSettings,
    Settings,
    parse_settings,
    read_settings,
)
from localllm.errors import ConfigError, LocalLLMError
from localllm.types import GenerationParams

# Keys of the Lua config that only the UI uses; Python ignores them.
UI_KEYS = (
    "enabled",
    "auto_trigger",
    "debounce_ms",
    "hide_during_completion",
    "filetypes",
    "keymaps",
)
SECTIONS = {
    "context": ContextSettings,
    "generation": GenerationParams,
    "embedded": EmbeddedSettings,
    "llama_server": LlamaServerSettings,
    "ollama": OllamaSettings,
    "openai": OpenAISettings,
    "explain": ExplainSettings,
    "rules": RulesSettings,
    "privacy": PrivacySettings,
}


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def python_defaults() -> dict[str, Any]:
    """Every key Python reads, as the dotted Lua path -> its default in Python."""
    d = Settings()
    out: dict[str, Any] = {}
    for name in field_names(Settings):
        value = getattr(d, name)
        if name in SECTIONS:
            for sub in field_names(SECTIONS[name]):
                out[f"{name}.{sub}"] = getattr(value, sub)
        elif name == "max_lines":
            out["generation.max_lines"] = value  # lives in the generation table in Lua
        else:
            out[name] = value
    return out


def python_values(s: Settings) -> dict[str, Any]:
    """The values of `s` under the same dotted keys as python_defaults()."""
    out: dict[str, Any] = {}
    for dotted in python_defaults():
        head, _, tail = dotted.partition(".")
        if dotted == "generation.max_lines":
            out[dotted] = s.max_lines
        else:
            value = getattr(s, head)
            out[dotted] = getattr(value, tail) if tail else value
    return out


def lua_get(table: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(table, dict) or part not in table:
            return KeyError(dotted)  # a marker that never equals a real value
        table = table[part]
    return table


def raises_for(raw: Any, key: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_settings(raw)
    err = info.value
    assert err.key == key
    assert str(err).startswith(f"config.{key}: "), str(err)
    assert isinstance(err, LocalLLMError)
    return err


# --------------------------------------------------------------------------------------------
# Defaults and valid values


def test_empty_table_gives_the_defaults() -> None:
    s = parse_settings({})
    assert s == Settings()
    assert parse_settings(None) == Settings()
    assert s.backend == "auto"
    assert s.model is None
    assert s.context == ContextSettings(
        prefix_lines=256, suffix_lines=64, prefix_tokens=1024, suffix_tokens=256
    )
    assert s.generation == GenerationParams(
        n_predict=96,
        temperature=0.0,
        top_k=40,
        top_p=0.9,
        min_p=0.05,
        repeat_penalty=1.0,
        time_limit_ms=2000,
        stop=(),
    )
    assert s.max_lines == 12
    assert s.embedded == EmbeddedSettings(n_ctx=4096, n_batch=512, n_threads=0)
    assert s.cache_size == 250
    assert s.speculative is True
    assert s.log_level == "warn"
    assert s.log_file is None


def test_empty_or_null_sections_give_the_defaults() -> None:
    raw = {"context": {}, "generation": None, "embedded": {}}
    assert parse_settings(raw) == Settings()


def test_every_documented_key_parses(tmp_path: Path) -> None:
    raw = {
        "backend": "none",
        "model": str(tmp_path / "m.gguf"),
        "context": {
            "prefix_lines": 100,
            "suffix_lines": 10,
            "prefix_tokens": 500,
            "suffix_tokens": 50,
        },
        "generation": {
            "n_predict": 64,
            "temperature": 0.2,
            "top_k": 10,
            "top_p": 0.5,
            "min_p": 0.1,
            "repeat_penalty": 1.1,
            "time_limit_ms": 500,
            "max_lines": 3,
            "stop": ["\n\n", "END"],
        },
        "embedded": {"n_ctx": 2048, "n_batch": 256, "n_threads": 4},
        "cache_size": 10,
        "speculative": False,
        "log_level": "debug",
        "log_file": str(tmp_path / "l.log"),
    }
    s = parse_settings(raw)
    assert s.backend == "none"
    assert s.model == str(tmp_path / "m.gguf")
    assert s.context == ContextSettings(100, 10, 500, 50)
    assert s.generation == GenerationParams(
        n_predict=64,
        temperature=0.2,
        top_k=10,
        top_p=0.5,
        min_p=0.1,
        repeat_penalty=1.1,
        time_limit_ms=500,
        stop=("\n\n", "END"),
    )
    assert s.max_lines == 3
    assert s.embedded == EmbeddedSettings(n_ctx=2048, n_batch=256, n_threads=4)
    assert s.cache_size == 10
    assert s.speculative is False
    assert s.log_level == "debug"
    assert s.log_file == str(tmp_path / "l.log")


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_parses(backend: str) -> None:
    raw: dict[str, Any] = {"backend": backend}
    if backend == "openai":
        raw["openai"] = {"url": "http://127.0.0.1:8000/v1", "model": "m"}
    assert parse_settings(raw).backend == backend


def test_openai_backend_needs_url_and_model() -> None:
    # The key to set is named, as setup() names it.
    raises_for({"backend": "openai"}, "openai.url")
    raises_for({"backend": "openai", "openai": {"url": "http://127.0.0.1:1/v1"}}, "openai.model")


@pytest.mark.parametrize("level", LOG_LEVELS)
def test_every_log_level_parses(level: str) -> None:
    assert parse_settings({"log_level": level}).log_level == level


@pytest.mark.parametrize(
    ("raw", "get", "expected"),
    [
        # The smallest values allowed.
        ({"context": {"prefix_lines": 1}}, lambda s: s.context.prefix_lines, 1),
        ({"context": {"suffix_lines": 0}}, lambda s: s.context.suffix_lines, 0),
        ({"context": {"prefix_tokens": 16}}, lambda s: s.context.prefix_tokens, 16),
        ({"context": {"suffix_tokens": 0}}, lambda s: s.context.suffix_tokens, 0),
        ({"generation": {"n_predict": 1}}, lambda s: s.generation.n_predict, 1),
        ({"generation": {"top_k": 0}}, lambda s: s.generation.top_k, 0),
        ({"generation": {"time_limit_ms": 1}}, lambda s: s.generation.time_limit_ms, 1),
        ({"generation": {"max_lines": 1}}, lambda s: s.max_lines, 1),
        ({"embedded": {"n_batch": 32}}, lambda s: s.embedded.n_batch, 32),
        ({"embedded": {"n_threads": 0}}, lambda s: s.embedded.n_threads, 0),
        ({"cache_size": 0}, lambda s: s.cache_size, 0),
        # Both ends of the number ranges.
        ({"generation": {"temperature": 0}}, lambda s: s.generation.temperature, 0.0),
        ({"generation": {"temperature": 5}}, lambda s: s.generation.temperature, 5.0),
        ({"generation": {"top_p": 0.0}}, lambda s: s.generation.top_p, 0.0),
        ({"generation": {"top_p": 1}}, lambda s: s.generation.top_p, 1.0),
        ({"generation": {"min_p": 1.0}}, lambda s: s.generation.min_p, 1.0),
        ({"generation": {"repeat_penalty": 10}}, lambda s: s.generation.repeat_penalty, 10.0),
        ({"generation": {"repeat_penalty": 0}}, lambda s: s.generation.repeat_penalty, 0.0),
        # Whole numbers sent as floats (Lua numbers) are integers.
        ({"generation": {"n_predict": 64.0}}, lambda s: s.generation.n_predict, 64),
        ({"cache_size": 100.0}, lambda s: s.cache_size, 100),
        # Lists and tuples of stop strings.
        ({"generation": {"stop": ("a", "b")}}, lambda s: s.generation.stop, ("a", "b")),
        ({"generation": {"stop": []}}, lambda s: s.generation.stop, ()),
    ],
)
def test_valid_values(raw: dict[str, Any], get: Any, expected: Any) -> None:
    value = get(parse_settings(raw))
    assert value == expected
    assert type(value) is type(expected)


def test_n_ctx_just_large_enough() -> None:
    # prefix_tokens + suffix_tokens + extra_tokens + n_predict + 16 must fit in n_ctx.
    raw: dict[str, Any] = {
        "context": {"prefix_tokens": 800, "suffix_tokens": 0, "extra_tokens": 200},
        "generation": {"n_predict": 100},
        "embedded": {"n_ctx": 1116},
    }
    assert parse_settings(raw).embedded.n_ctx == 1116
    raw["embedded"]["n_ctx"] = 1115
    err = raises_for(raw, "embedded.n_ctx")
    assert "1115" in str(err)


# --------------------------------------------------------------------------------------------
# model and log_file


def test_model_tilde_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_settings({"model": "~/x.gguf"}).model == str(tmp_path / "x.gguf")
    assert parse_settings({"model": "~/models/y.gguf"}).model == str(tmp_path / "models/y.gguf")


def test_model_path_without_tilde_is_kept() -> None:
    assert parse_settings({"model": "/opt/m/x.gguf"}).model == "/opt/m/x.gguf"
    assert parse_settings({"model": "rel/x.gguf"}).model == "rel/x.gguf"


@pytest.mark.parametrize("model", [None, "", False])
def test_no_model(model: Any) -> None:
    assert parse_settings({"model": model}).model is None


@pytest.mark.parametrize("log_file", [None, ""])
def test_no_log_file(log_file: Any) -> None:
    assert parse_settings({"log_file": log_file}).log_file is None


# --------------------------------------------------------------------------------------------
# Bad values: ConfigError names the dotted key

BAD_VALUES: list[tuple[Any, str]] = [
    # the table itself
    ("not a table", "(root)"),
    # backend
    ({"backend": "llama"}, "backend"),
    ({"backend": "Embedded"}, "backend"),
    ({"backend": ""}, "backend"),
    ({"backend": None}, "backend"),
    ({"backend": 1}, "backend"),
    # model
    ({"model": 5}, "model"),
    ({"model": True}, "model"),
    ({"model": ["x.gguf"]}, "model"),
    # sections that are not tables
    ({"context": "big"}, "context"),
    ({"context": [1, 2]}, "context"),
    ({"generation": 96}, "generation"),
    ({"embedded": True}, "embedded"),
    # context
    ({"context": {"prefix_lines": 0}}, "context.prefix_lines"),
    ({"context": {"prefix_lines": -5}}, "context.prefix_lines"),
    ({"context": {"prefix_lines": "256"}}, "context.prefix_lines"),
    ({"context": {"prefix_lines": 1.5}}, "context.prefix_lines"),
    ({"context": {"prefix_lines": True}}, "context.prefix_lines"),
    ({"context": {"prefix_lines": None}}, "context.prefix_lines"),
    ({"context": {"suffix_lines": -1}}, "context.suffix_lines"),
    ({"context": {"suffix_lines": False}}, "context.suffix_lines"),
    ({"context": {"prefix_tokens": 15}}, "context.prefix_tokens"),
    ({"context": {"prefix_tokens": [1024]}}, "context.prefix_tokens"),
    ({"context": {"suffix_tokens": -1}}, "context.suffix_tokens"),
    ({"context": {"suffix_tokens": 2.5}}, "context.suffix_tokens"),
    # generation
    ({"generation": {"n_predict": 0}}, "generation.n_predict"),
    ({"generation": {"n_predict": True}}, "generation.n_predict"),
    ({"generation": {"n_predict": "96"}}, "generation.n_predict"),
    ({"generation": {"n_predict": 9.5}}, "generation.n_predict"),
    ({"generation": {"temperature": -0.1}}, "generation.temperature"),
    ({"generation": {"temperature": 5.01}}, "generation.temperature"),
    ({"generation": {"temperature": "hot"}}, "generation.temperature"),
    ({"generation": {"temperature": True}}, "generation.temperature"),
    ({"generation": {"temperature": math.nan}}, "generation.temperature"),
    ({"generation": {"top_k": -1}}, "generation.top_k"),
    ({"generation": {"top_k": 1.5}}, "generation.top_k"),
    ({"generation": {"top_k": False}}, "generation.top_k"),
    ({"generation": {"top_p": 1.5}}, "generation.top_p"),
    ({"generation": {"top_p": -0.1}}, "generation.top_p"),
    ({"generation": {"top_p": None}}, "generation.top_p"),
    ({"generation": {"min_p": 2}}, "generation.min_p"),
    ({"generation": {"repeat_penalty": 10.5}}, "generation.repeat_penalty"),
    ({"generation": {"repeat_penalty": -1}}, "generation.repeat_penalty"),
    ({"generation": {"repeat_penalty": math.inf}}, "generation.repeat_penalty"),
    ({"generation": {"time_limit_ms": 0}}, "generation.time_limit_ms"),
    ({"generation": {"time_limit_ms": True}}, "generation.time_limit_ms"),
    ({"generation": {"max_lines": 0}}, "generation.max_lines"),
    ({"generation": {"max_lines": False}}, "generation.max_lines"),
    ({"generation": {"max_lines": "12"}}, "generation.max_lines"),
    # stop
    ({"generation": {"stop": "END"}}, "generation.stop"),
    ({"generation": {"stop": [""]}}, "generation.stop"),
    ({"generation": {"stop": [1]}}, "generation.stop"),
    ({"generation": {"stop": ["ok", None]}}, "generation.stop"),
    ({"generation": {"stop": {"a": "b"}}}, "generation.stop"),
    ({"generation": {"stop": None}}, "generation.stop"),
    # embedded
    ({"embedded": {"n_ctx": 255}}, "embedded.n_ctx"),
    ({"embedded": {"n_ctx": "4096"}}, "embedded.n_ctx"),
    ({"embedded": {"n_ctx": True}}, "embedded.n_ctx"),
    ({"embedded": {"n_batch": 31}}, "embedded.n_batch"),
    ({"embedded": {"n_batch": 512.5}}, "embedded.n_batch"),
    ({"embedded": {"n_threads": -1}}, "embedded.n_threads"),
    ({"embedded": {"n_threads": True}}, "embedded.n_threads"),
    # integers that are not finite (Lua's math.huge passes Lua's own integer check)
    ({"cache_size": math.inf}, "cache_size"),
    ({"cache_size": math.nan}, "cache_size"),
    ({"embedded": {"n_threads": math.inf}}, "embedded.n_threads"),
    ({"generation": {"time_limit_ms": -math.inf}}, "generation.time_limit_ms"),
    # cache_size
    ({"cache_size": -1}, "cache_size"),
    ({"cache_size": "250"}, "cache_size"),
    ({"cache_size": True}, "cache_size"),
    # speculative
    ({"speculative": 1}, "speculative"),
    ({"speculative": "yes"}, "speculative"),
    ({"speculative": None}, "speculative"),
    # log_level and log_file
    ({"log_level": "verbose"}, "log_level"),
    ({"log_level": "WARN"}, "log_level"),
    ({"log_level": 3}, "log_level"),
    ({"log_level": None}, "log_level"),
    ({"log_file": 5}, "log_file"),
    ({"log_file": ["a.log"]}, "log_file"),
    # the context and the suggestion must fit in the model's context window
    ({"embedded": {"n_ctx": 1024}}, "embedded.n_ctx"),
    ({"generation": {"n_predict": 4000}}, "embedded.n_ctx"),
    ({"context": {"prefix_tokens": 4000}}, "embedded.n_ctx"),
    ({"context": {"suffix_tokens": 3800}}, "embedded.n_ctx"),
]


@pytest.mark.parametrize(
    ("raw", "key"), BAD_VALUES, ids=[f"{k}-{i}" for i, (_, k) in enumerate(BAD_VALUES)]
)
def test_bad_value_names_the_key(raw: dict[str, Any], key: str) -> None:
    raises_for(raw, key)


def value_at(settings: Settings, key: str) -> Any:
    """The setting a dotted config key sets (`generation.max_lines` lives at the top)."""
    key = {"generation.max_lines": "max_lines"}.get(key, key)
    value: Any = settings
    for part in key.split("."):
        value = getattr(value, part)
    return value


# Each bad value alone: the key that falls back to its default (the fit check drops the
# user's n_ctx first, then the budget that did not fit).
FALLBACK_KEYS = {
    "{'generation': {'n_predict': 4000}}": "generation.n_predict",
    "{'context': {'prefix_tokens': 4000}}": "context.prefix_tokens",
    "{'context': {'suffix_tokens': 3800}}": "context.suffix_tokens",
}


@pytest.mark.parametrize(
    ("raw", "key"),
    BAD_VALUES[1:],
    ids=[f"{k}-{i}" for i, (_, k) in enumerate(BAD_VALUES[1:])],
)
def test_read_settings_replaces_a_bad_value_by_its_default_and_says_so(
    raw: dict[str, Any], key: str
) -> None:
    """The host's reading (defense in depth: Lua filters bad values before sending)."""
    good = {"cache_size": 99, "generation": {"top_k": 7}}
    merged = {**good, **raw}
    if isinstance(raw.get("generation"), dict):
        merged["generation"] = {**good["generation"], **raw["generation"]}
    settings, problems = read_settings(merged)
    fallback = FALLBACK_KEYS.get(repr(raw), key)
    assert value_at(settings, fallback) == value_at(Settings(), fallback)
    assert len(problems) == 1 and problems[0].startswith(f"config.{key}: "), problems
    assert settings.cache_size == 99 or key == "cache_size"
    assert settings.generation.top_k == 7 or key in ("generation", "generation.top_k")


def test_read_settings_reports_every_bad_key_and_keeps_the_rest() -> None:
    raw = {
        "backend": "llama",
        "context": {"prefix_lines": 0, "suffix_lines": 10},
        "generation": {"temperature": "hot", "n_predict": 40},
        "speculative": "yes",
    }
    settings, problems = read_settings(raw)
    assert [p.split(":")[0] for p in problems] == [
        "config.backend",
        "config.context.prefix_lines",
        "config.generation.temperature",
        "config.speculative",
    ]
    assert settings == dataclasses.replace(
        Settings(),
        context=dataclasses.replace(Settings().context, suffix_lines=10),
        generation=dataclasses.replace(Settings().generation, n_predict=40),
    )
    assert read_settings({}) == (Settings(), [])
    with pytest.raises(ConfigError, match=r"config\.\(root\)"):
        read_settings("not a table")  # type: ignore[arg-type]


def test_read_settings_falls_back_from_an_openai_backend_it_cannot_use() -> None:
    settings, problems = read_settings({"backend": "openai"})
    assert settings.backend == "auto" and problems[0].startswith("config.openai.url: ")
    settings, problems = read_settings({"explain": {"backend": "openai"}})
    assert settings.explain.backend is None and problems[0].startswith("config.explain.url: ")


def test_bad_value_message_says_what_was_wrong() -> None:
    err = raises_for({"generation": {"n_predict": 0}}, "generation.n_predict")
    assert str(err) == "config.generation.n_predict: must be at least 1, got 0"
    err = raises_for({"generation": {"n_predict": True}}, "generation.n_predict")
    assert "expected an integer" in str(err)
    err = raises_for({"backend": "llama"}, "backend")
    assert "'llama'" in str(err)
    for backend in BACKENDS:
        assert backend in str(err)


def test_unknown_keys_are_ignored() -> None:
    # Lua validates the user's table; Python ignores what it does not use, even misspellings.
    raw = {
        "enabled": False,
        "debounce_ms": "not even a number",
        "no_such_key": object(),
        "generation": {"n_predictt": 5},
        "context": {"extra": True},
    }
    assert parse_settings(raw) == Settings()


# --------------------------------------------------------------------------------------------
# The Lua defaults, from a real Neovim

DUMP_LUA = """
vim.opt.rtp:prepend(_G.arg[1])
io.stdout:write(vim.json.encode(require('localllm.config').defaults))
"""


@pytest.fixture(scope="module")
def lua_defaults(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    binary = nvim_binary()
    tmp = tmp_path_factory.mktemp("nvim_defaults")
    script = tmp / "dump.lua"
    script.write_text(DUMP_LUA)
    env = dict(os.environ)
    env.update(
        XDG_CONFIG_HOME=str(tmp / "config"),
        XDG_DATA_HOME=str(tmp / "data"),
        XDG_STATE_HOME=str(tmp / "state"),
        XDG_CACHE_HOME=str(tmp / "cache"),
    )
    try:
        proc = subprocess.run(
            [binary, "--clean", "-n", "-i", "NONE", "-l", str(script), str(REPO)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp,
            env=env,
        )
    except FileNotFoundError:
        pytest.skip(f"no Neovim binary ({binary})")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert isinstance(data, dict)
    return data


def test_lua_defaults_are_read(lua_defaults: dict[str, Any]) -> None:
    assert lua_defaults["backend"] == "auto"
    assert set(SECTIONS) <= set(lua_defaults)
    assert "model" not in lua_defaults  # `model = nil`


@pytest.mark.parametrize("key", sorted(python_defaults()))
def test_lua_default_matches_python(lua_defaults: dict[str, Any], key: str) -> None:
    python = python_defaults()[key]
    parsed = python_values(parse_settings({}))[key]
    assert parsed == python
    if python is None:
        # nil in Lua (model, URLs, fim_template); log_file is added when the host starts.
        assert isinstance(lua_get(lua_defaults, key), KeyError), key
        return
    lua = lua_get(lua_defaults, key)
    if isinstance(python, tuple):
        assert lua == list(python), key
    else:
        assert lua == python, key
        assert type(lua) is type(python) or isinstance(python, float), key


def test_lua_sections_have_exactly_the_python_keys(lua_defaults: dict[str, Any]) -> None:
    for name, cls in SECTIONS.items():
        defaults = cls()
        expected = {f for f in field_names(cls) if getattr(defaults, f) is not None}
        expected |= {"max_lines"} if name == "generation" else set()
        assert set(lua_defaults[name]) == expected, name  # nil (None) keys are absent in Lua


def test_every_lua_key_is_known_to_python_or_ui_only(lua_defaults: dict[str, Any]) -> None:
    python_top = {key.split(".")[0] for key in python_defaults()}
    assert set(lua_defaults) - python_top == set(UI_KEYS)


def test_parse_settings_accepts_the_lua_defaults(lua_defaults: dict[str, Any]) -> None:
    without_ui = {k: v for k, v in lua_defaults.items() if k not in UI_KEYS}
    assert parse_settings(without_ui) == Settings()
    # The UI-only keys are ignored, so the whole table parses too.
    assert parse_settings(lua_defaults) == Settings()


# --------------------------------------------------------------------------------------------
# The help file

DOC = (REPO / "doc" / "localllm.txt").read_text(encoding="utf-8")
TAG_RE = re.compile(r"^\*localllm-config-(\w+)\*", re.MULTILINE)


def doc_section(key: str) -> str:
    """The text of the help entry `*localllm-config-<key>*`, up to the next entry."""
    match = re.search(rf"^\*localllm-config-{key}\*", DOC, re.MULTILINE)
    assert match is not None, f"doc/localllm.txt has no *localllm-config-{key}* entry"
    rest = DOC[match.end() :]
    end = re.search(r"^\*localllm-config-\w+\*|^={10,}", rest, re.MULTILINE)
    text = DOC[match.start() : match.end() + (end.start() if end else len(rest))]
    return " ".join(text.split())  # lines are wrapped anywhere


def lua_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, (list, tuple)):
        return "{ " + ", ".join(map(lua_literal, value)) + " }" if value else "{}"
    return str(value)


def test_doc_has_an_entry_for_every_top_level_key(lua_defaults: dict[str, Any]) -> None:
    documented = set(TAG_RE.findall(DOC))
    nil_keys = {"model", "fim_template"}  # nil by default, so absent from the Lua table
    assert set(lua_defaults) | nil_keys <= documented
    assert documented - set(lua_defaults) == nil_keys  # nothing documented that does not exist


def test_doc_gives_the_top_level_defaults(lua_defaults: dict[str, Any]) -> None:
    for key, value in lua_defaults.items():
        if isinstance(value, dict):
            continue
        section = doc_section(key)
        assert f"default `{lua_literal(value)}`" in section, key
    assert "default `nil`" in doc_section("model")
    assert "default `nil`" in doc_section("fim_template")


@pytest.mark.parametrize(
    "table",
    [
        *("context", "generation", "embedded", "keymaps", "llama_server", "ollama", "openai"),
        *("explain", "rules", "privacy"),
    ],
)
def test_doc_lists_every_key_of_the_nested_tables(lua_defaults: dict[str, Any], table: str) -> None:
    section = doc_section(table)
    assert lua_defaults[table], table
    for key, value in lua_defaults[table].items():
        # `key` (default) or `key` (default, limits); Python's spelling of numbers (0.0, not 0).
        python = python_defaults().get(f"{table}.{key}", value)
        shown = lua_literal(python) if python not in ((), []) else "{}"
        assert re.search(rf"`{key}` \({re.escape(shown)}[,)]", section), f"{table}.{key}"


def test_the_generated_files_are_fresh() -> None:
    """lua/localllm/schema.lua and the help's option entries are made from config_schema.py:
    made again in memory, they are the files as committed."""
    assert config_gen.lua_source() == config_gen.LUA_PATH.read_text(encoding="utf-8"), (
        f"lua/localllm/schema.lua is stale: run {config_gen.COMMAND}"
    )
    assert config_gen.help_text(DOC) == DOC, f"doc/localllm.txt is stale: run {config_gen.COMMAND}"
    assert config_gen.stale() == []
    assert config_gen.main(["--check"]) == 0


def test_a_schema_change_makes_the_generated_files_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    options = tuple(
        dataclasses.replace(o, default=30) if o.key == "cache_size" else o
        for o in config_gen.OPTIONS
    )
    monkeypatch.setattr(config_gen, "OPTIONS", options)
    assert "default = 30" in config_gen.lua_source()
    assert "integer, default `30`" in config_gen.help_text(DOC)
    assert config_gen.stale() == [config_gen.LUA_PATH, config_gen.DOC_PATH]
    assert config_gen.main(["--check"]) == 1
