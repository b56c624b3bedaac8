"""setup() in a real headless Neovim: every bad option named in one message, the good ones kept,
and the Lua schema's limits (lua/localllm/config.lua) the same as the Python host's."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from localllm.config import RefusedSetting, parse_settings
from localllm.errors import ConfigError

pytestmark = pytest.mark.nvim

RECORD_NOTIFY = """
_G.notices = {}
vim.notify = function(msg, level)
  table.insert(_G.notices, { msg = msg, level = level })
end
"""


def setup_with(nvim: Any, opts: dict[str, Any]) -> tuple[bool, list[str]]:
    nvim.exec_lua(RECORD_NOTIFY)
    ok = nvim.exec_lua("return require('localllm').setup(...)", opts)
    errors = [n["msg"] for n in nvim.exec_lua("return _G.notices") if n["level"] == 4]
    return ok, errors


def config(nvim: Any) -> dict[str, Any]:
    return nvim.exec_lua("return require('localllm').config")  # type: ignore[no-any-return]


def test_setup_names_every_bad_key_at_once_and_keeps_the_good_options(nvim_factory: Any) -> None:
    nvim = nvim_factory()
    ok, errors = setup_with(
        nvim,
        {
            "model": "/models/coder.gguf",
            "backend": "none",
            "no_such_option": 1,
            "generation": {"top_p": 2, "n_predict": 50, "n_predictt": 5},
            "keymaps": {"accept": 3, "dismiss": "<C-e>"},
        },
    )
    assert ok is False  # the documented contract: false on a bad option
    assert len(errors) == 1, errors  # one message...
    for key in (
        "config.no_such_option",
        "config.generation.top_p",
        "config.generation.n_predictt",
        "config.keymaps.accept",
    ):
        assert key in errors[0], errors[0]  # ... naming each bad key
    cfg = config(nvim)
    assert cfg["model"] == "/models/coder.gguf"  # the good options are applied
    assert cfg["backend"] == "none"
    assert cfg["generation"]["n_predict"] == 50
    assert cfg["keymaps"]["dismiss"] == "<C-e>"
    assert cfg["generation"]["top_p"] == 0.9  # the bad ones keep their defaults
    assert cfg["keymaps"]["accept"] == "<Tab>"
    assert "n_predictt" not in cfg["generation"] and "no_such_option" not in cfg
    # What Lua keeps, the host accepts.
    parse_settings(cfg)


@pytest.mark.parametrize(
    ("opts", "key"),
    [
        ({"backend": "openai"}, "config.openai.url"),
        (
            {"backend": "openai", "openai": {"url": "http://127.0.0.1:8000/v1"}},
            "config.openai.model",
        ),
        ({"openai": {"url": "ftp://x"}}, "config.openai.url"),
        ({"llama_server": {"url": "ftp://x"}}, "config.llama_server.url"),
        ({"ollama": {"url": "localhost:11434"}}, "config.ollama.url"),
        ({"explain": {"backend": "openai"}}, "config.explain.url"),
        ({"generation": {"top_p": 2}}, "config.generation.top_p"),
        ({"generation": {"temperature": 99}}, "config.generation.temperature"),
        ({"generation": {"n_predict": 0}}, "config.generation.n_predict"),
        ({"embedded": {"n_ctx": 100}}, "config.embedded.n_ctx"),
        ({"context": {"prefix_tokens": 4}}, "config.context.prefix_tokens"),
        ({"context": {"prefix_tokens": 4000}}, "config.embedded.n_ctx"),
        ({"embedded": {"n_ctx": 1024}}, "config.embedded.n_ctx"),
        # Lua's own checks once let these through to the host.
        ({"cache_size": math.inf}, "config.cache_size"),
        ({"embedded": {"n_threads": math.inf}}, "config.embedded.n_threads"),
        ({"generation": {"stop": [""]}}, "config.generation.stop"),
        ({"generation": {"stop": ["ok", 1]}}, "config.generation.stop"),
    ],
)
def test_setup_rejects_what_the_host_would_naming_the_key(
    nvim_factory: Any, opts: dict[str, Any], key: str
) -> None:
    nvim = nvim_factory()
    ok, errors = setup_with(nvim, opts)
    assert ok is False
    assert len(errors) == 1 and key + ":" in errors[0], errors
    parse_settings(config(nvim))  # the config in use is one the host takes


def test_every_missing_key_of_a_check_is_named(nvim_factory: Any) -> None:
    nvim = nvim_factory()
    ok, errors = setup_with(nvim, {"backend": "openai", "explain": {"backend": "openai"}})
    assert ok is False and len(errors) == 1, errors
    for key in ("openai.url", "openai.model", "explain.url", "explain.server_model"):
        assert f"config.{key}:" in errors[0], errors[0]
    assert config(nvim)["backend"] == "auto" and "backend" not in config(nvim)["explain"]
    parse_settings(config(nvim))


def test_openai_backend_with_url_and_model_is_accepted(nvim_factory: Any) -> None:
    nvim = nvim_factory()
    opts = {"backend": "openai", "openai": {"url": "http://127.0.0.1:8000/v1", "model": "m"}}
    assert setup_with(nvim, opts) == (True, [])
    assert config(nvim)["backend"] == "openai"


SCHEMA_LIMITS = """
local out = {}
local function walk(prefix, spec)
  for key, entry in pairs(spec) do
    if require('localllm.config').is_option(entry) then
      if entry.min or entry.max then
        out[#out + 1] = { key = prefix .. key, kind = entry.kind, min = entry.min, max = entry.max }
      end
    else
      walk(prefix .. key .. '.', entry)
    end
  end
end
walk('', require('localllm.config').schema)
return out
"""

UI_ONLY = {"debounce_ms"}  # the host never reads it

# Small token budgets, so that the smallest n_ctx passes the host's sum check.
SMALL_BUDGET = {
    "context": {"prefix_tokens": 16, "suffix_tokens": 0, "extra_tokens": 0},
    "generation": {"n_predict": 1},
}


def nested(key: str, value: Any, base: dict[str, Any] = SMALL_BUDGET) -> dict[str, Any]:
    """A copy of `base` with the dotted `key` set to `value`."""
    raw = copy.deepcopy(base)
    *sections, leaf = key.split(".")
    table = raw
    for s in sections:
        table = table.setdefault(s, {})
    table[leaf] = value
    return raw


def test_every_lua_limit_is_the_hosts(nvim_factory: Any) -> None:
    nvim = nvim_factory()
    limits = nvim.exec_lua(SCHEMA_LIMITS)
    assert len(limits) > 20
    step = {"integer": 1, "number": 0.01}
    for limit in limits:
        key, kind = limit["key"], limit["kind"]
        edges = [(limit.get("min"), -1), (limit.get("max"), 1)]
        for edge, sign in edges:
            if edge is None:
                continue
            inside, outside = edge, edge + sign * step[kind]
            # At the edge: both accept.
            assert (
                nvim.exec_lua(
                    "return require('localllm.config').validate(...)", nested(key, inside)
                )
                is None
            ), (key, inside)
            parse_settings(nested(key, inside))
            # Past it: both refuse, naming the key.
            err = nvim.exec_lua(
                "return require('localllm.config').validate(...)", nested(key, outside)
            )
            assert err and f"config.{key}:" in err, (key, outside, err)
            if key in UI_ONLY:
                continue
            with pytest.raises(ConfigError) as exc:
                parse_settings(nested(key, outside))
            assert exc.value.key == key, (key, outside)


def test_a_larger_context_with_a_larger_n_ctx_is_accepted(nvim_factory: Any) -> None:
    nvim = nvim_factory()
    opts = {"context": {"prefix_tokens": 4000}, "embedded": {"n_ctx": 8192}}
    assert setup_with(nvim, opts) == (True, [])
    assert config(nvim)["context"]["prefix_tokens"] == 4000
    parse_settings(config(nvim))


URLS = [
    "http://127.0.0.1:8012",
    "http://localhost:11434",
    "http://LOCALHOST:11434",
    "http://x.localhost:1",
    "http://localhost.localdomain:1",
    "http://127.3.4.5:80",
    "http://user@127.0.0.1:1/v1",
    "http://[::1]:8080",
    "http://[0:0:0:0:0:0:0:1]:1",
    "http://10.0.0.7:8012",
    "http://gpu-box:11434",
    "http://192.168.1.5/v1",
    "http://[2001:db8::1]:11434",
    "http://[1::]:1",
    "http://127.0.0.1.example.com:1",
    "http://127.256.0.1:1",
    "http://127.0.0.1@gpu-box:1",
    "https://gpu-box:11434",
]


def test_setup_refuses_plain_http_to_another_machine_as_the_host(nvim_factory: Any) -> None:
    """The host refuses the whole config (it fails closed); setup() names the key and leaves
    the URL out, so the host never sees it."""
    nvim = nvim_factory()
    for url in URLS:
        raw = {"ollama": {"url": url}}
        err = nvim.exec_lua("return require('localllm.config').validate(...)", raw)
        try:
            parse_settings(raw)
            refused = False
        except RefusedSetting:
            refused = True
        assert (err is not None) == refused, (url, err)
        if refused:
            assert err.startswith(f"config.ollama.url: {url} is plain http"), err
            assert "privacy.allow_remote_http = true" in err
        opt_in = {**raw, "privacy": {"allow_remote_http": True}}
        assert nvim.exec_lua("return require('localllm.config').validate(...)", opt_in) is None
    opts = {"backend": "openai", "openai": {"url": "http://10.0.0.7/v1", "model": "m"}}
    ok, errors = setup_with(nvim, opts)
    assert ok is False and len(errors) == 1, errors
    assert "config.openai.url: http://10.0.0.7/v1 is plain http" in errors[0]
    assert "config.openai.url: backend 'openai' needs openai.url" in errors[0]
    assert config(nvim)["backend"] == "auto" and "url" not in config(nvim)["openai"]
    parse_settings(config(nvim))


WRONG_VALUES: list[Any] = ["many", 7, 2.5, True, [1], {"x": 1}]


def test_a_value_of_any_type_for_any_option_is_a_message_never_a_lua_error(
    nvim_factory: Any,
) -> None:
    """setup() with every option set to values of every type: it returns, and each value the
    host refuses is named by its key (a string where a number belongs once raised in Lua)."""
    from localllm.config_schema import OPTIONS

    nvim = nvim_factory()
    for option in OPTIONS:
        if option.side == "host":
            continue
        for value in WRONG_VALUES:
            raw = nested(option.key, value, base={})
            err = nvim.exec_lua(
                "local ok, err = pcall(require('localllm.config').validate, ...)"
                " if not ok then return 'LUA ERROR: ' .. tostring(err) end return err",
                raw,
            )
            assert not (err or "").startswith("LUA ERROR"), (option.key, value, err)
            if option.side == "ui":
                continue
            try:
                parse_settings(raw)
                host_refuses = False
            except ConfigError:
                host_refuses = True
            if host_refuses:
                assert err and f"config.{option.key}:" in err, (option.key, value, err)
