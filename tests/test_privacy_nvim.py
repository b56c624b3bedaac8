"""Privacy in a real headless Neovim: secrets files and disabled buffers send nothing to the
Python host (no request, no mirrored lines, no activity chunk, no explain question), and the
log file holds no buffer text below the debug level."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nvim_helpers import (
    insert_at,
    mode,
    open_buffer,
    setup_plugin,
    stats,
    wait_final,
    wait_for,
)

pytestmark = pytest.mark.nvim

GO_FILE = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\n\tfmt.Println(x)\n}\n'
HELLO = 'fmt.Println("hello")'
SECRET = "zqxSecret42"


def big_go(lines: int = 700) -> str:
    body = "".join(f"\tv{i} := {i}\n" for i in range(lines))
    return f"package main\n\nfunc main() {{\n{body}\n}}\n"


def status(nvim: Any) -> dict[str, Any]:
    st = nvim.exec_lua("return (require('localllm.bridge').status())")
    assert isinstance(st, dict), st
    return st


def normal(nvim: Any, keys: str) -> None:
    nvim.input("<Esc>")
    wait_for(lambda: mode(nvim) == "n")
    nvim.input(keys)
    wait_for(lambda: mode(nvim) == "n" and not nvim.api.get_mode()["blocking"])


def type_in(nvim: Any, row: int, text: str) -> None:
    insert_at(nvim, row, 0)
    nvim.input(text)
    wait_for(lambda: nvim.current.buffer[row - 1].startswith(text))


def test_a_secrets_file_and_a_disabled_buffer_send_nothing(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = nvim_factory()
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20)
    # Large enough that a request would mirror the whole file into the host.
    env_text = "".join(f"VAR_{i}=value{i}\n" for i in range(700))
    env_buf = open_buffer(nvim, str(tmp_path / ".env"), env_text)
    type_in(nvim, 350, f"API_TOKEN={SECRET} ")
    nvim.exec_lua("require('localllm').trigger()")  # asked by hand: refused all the same
    normal(nvim, "yy")
    nvim.command("write")
    assert nvim.exec_lua("return require('localllm.privacy').denied(...)", env_buf)

    notes = open_buffer(nvim, str(tmp_path / "notes.go"), big_go())
    nvim.command("let b:localllm_disable = v:true")
    type_in(nvim, 300, f"\tnotes := {SECRET}")
    normal(nvim, "yy")
    assert stats(nvim)["requests"] == 0  # nothing was even asked

    # A buffer that may be sent works as usual (the positive control).
    main = open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_final(nvim, HELLO)
    normal(nvim, "yy")
    nvim.command(f"buffer {env_buf}")  # leaving main.go: its region joins the activity

    st = status(nvim)
    dump = json.dumps(st)
    assert SECRET not in dump and "API_TOKEN" not in dump and "VAR_1" not in dump
    assert str(env_buf) not in st["mirrored"] and str(notes) not in st["mirrored"]
    chunks = st["queued_chunks"] + st["extra_chunks"]
    assert any(path.endswith("main.go") for path in chunks), chunks
    assert not any(path.endswith((".env", "notes.go")) for path in chunks), chunks
    ids = nvim.exec_lua("return vim.tbl_keys(require('localllm.session').records)")
    assert stats(nvim)["requests"] == len(ids) >= 1  # every request came from main.go
    assert {r["id"] for r in st["history"]} <= set(ids)
    assert main not in (env_buf, notes)

    status_text = "\n".join(nvim.exec_lua("return require('localllm').status_lines()"))
    assert "this buffer: nothing of it is sent (the file name matches '.env'" in status_text

    # :LocalLLMExplain says why and asks nothing.
    nvim.command("LocalLLMExplain what is this?")
    messages = nvim.api.exec2("messages", {"output": True})["output"]
    assert "nothing of this buffer is sent to the model" in messages
    assert "privacy.deny" in messages
    explained = nvim.exec_lua("return require('localllm.bridge').explain_status()")
    assert explained == {"history": []}  # no "busy": no question was ever asked


def test_a_buffer_renamed_to_a_secrets_file_loses_its_mirror(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = nvim_factory()
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20)
    buf = open_buffer(nvim, str(tmp_path / "big.go"), big_go())
    insert_at(nvim, 300, 0)
    nvim.input("\t")
    wait_final(nvim)
    assert str(buf) in status(nvim)["mirrored"]  # larger than a request's window: mirrored
    before = stats(nvim)["requests"]
    nvim.input("<Esc>")
    nvim.command(f"file {tmp_path / 'deploy.key'}")
    insert_at(nvim, 300, 0)
    nvim.input("x")
    wait_for(lambda: str(buf) not in status(nvim)["mirrored"])
    assert stats(nvim)["requests"] == before


@pytest.mark.parametrize("level", ["info", "debug"])
def test_the_log_holds_buffer_text_only_at_debug(
    nvim_factory: Any,
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    level: str,
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # a log file of our own
    nvim = nvim_factory()
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20, log_level=level)
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    marker = "zqxTyped9"
    insert_at(nvim, 7, 0)
    nvim.input(f"\t{marker} := ")
    wait_final(nvim)
    log_file = Path(nvim.eval("stdpath('log')")) / "localllm.log"
    text = wait_for(lambda: log_file.exists() and log_file.read_text(encoding="utf-8"))
    assert "configured: backend" in text  # the log is written at this level
    if level == "debug":
        wait_for(lambda: marker in log_file.read_text(encoding="utf-8"))
    else:
        assert marker not in text
        assert "fmt.Println" not in text  # nor the model's output


def test_setup_checks_and_merges_the_privacy_options(nvim_factory: Any) -> None:
    nvim = nvim_factory()

    def validate(opts: dict[str, Any]) -> Any:
        return nvim.exec_lua("return require('localllm.config').validate(...)", opts)

    assert validate({"privacy": {"deny": ".env"}}) == (
        'config.privacy.deny: expected a list of file name patterns, got ".env"'
    )
    assert validate({"privacy": {"deny_extra": ["ok", ""]}}) == (
        'config.privacy.deny_extra: expected file name patterns (non-empty strings), got ""'
    )
    assert validate({"privacy": {"allow_remote_http": "yes"}}) == (
        "config.privacy.allow_remote_http: expected boolean, got string"
    )
    assert validate({"privacy": {"deny_extra": ["secrets.*"], "allow_remote_http": True}}) is None
    merged = nvim.exec_lua(
        "return require('localllm.config').merge(...).privacy", {"privacy": {"deny": ["a.txt"]}}
    )
    assert merged["deny"] == ["a.txt"]  # replaces the list, not merged by index
    extra = nvim.exec_lua(
        "return require('localllm.config').merge(...).privacy",
        {"privacy": {"deny_extra": ["secrets.*"]}},
    )
    assert extra["deny_extra"] == ["secrets.*"] and ".env" in extra["deny"]
    # A plain-http URL to another machine is refused by setup() with the host's message, and
    # left out: the host never gets it.
    ok = nvim.exec_lua(
        "return require('localllm').setup(...)",
        {"backend": "llama_server", "llama_server": {"url": "http://10.0.0.9:8012"}},
    )
    assert ok is False
    refused = "config.llama_server.url: http://10.0.0.9:8012 is plain http"
    wait_for(lambda: refused in nvim.api.exec2("messages", {"output": True})["output"])
    url = nvim.exec_lua("return require('localllm').config.llama_server.url")
    assert url != "http://10.0.0.9:8012"


# -- a buffer that becomes secret, a symlink to one, g:localllm_disable = 0 -------------------

NOTE = f'\tnote := "{SECRET} token value"'


def _idle(nvim: Any) -> None:
    wait_for(lambda: status(nvim).get("running") is None)  # left out when idle


def _ask(nvim: Any, row: int, text: str) -> None:
    """Type `text` at the start of `row` and wait for the answer to the request it makes."""
    before = stats(nvim)["requests"]
    type_in(nvim, row, text)
    wait_for(lambda: stats(nvim)["requests"] > before)
    wait_final(nvim)


def _sent_after(server: Any, mark: int) -> list[str]:
    return [json.dumps(seen.body) for seen in server.seen[mark:]]


@pytest.mark.parametrize("transition", ["saveas", "b:localllm_disable", "deny_extra"])
def test_a_buffer_that_becomes_secret_is_purged_from_later_requests(
    nvim_factory: Any, tmp_path: Path, transition: str
) -> None:
    from misbehaving_server import MisbehavingServer

    with MisbehavingServer("llama_server") as server:
        nvim = nvim_factory()
        setup_plugin(nvim, **server.plugin_config(debounce_ms=20))
        notes = open_buffer(nvim, str(tmp_path / "notes.go"), GO_FILE)
        _ask(nvim, 7, NOTE)
        normal(nvim, "yy")  # InsertLeave: the edit and the yank join the activity
        chunks = wait_for(lambda: status(nvim)["queued_chunks"] + status(nvim)["extra_chunks"])
        assert any(path.endswith("notes.go") for path in chunks)  # sent while allowed
        _idle(nvim)
        if transition == "saveas":
            nvim.command(f"saveas {tmp_path / '.env.production'}")
        elif transition == "deny_extra":
            setup_plugin(
                nvim, **server.plugin_config(debounce_ms=20, privacy={"deny_extra": ["notes.*"]})
            )
        else:
            nvim.command("let b:localllm_disable = v:true")
        assert nvim.exec_lua("return require('localllm.privacy').denied(...)", notes)
        mark = len(server.seen)

        open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
        _ask(nvim, 7, "\tm")
        normal(nvim, "yy")  # promote (a prewarm with the last request) and a yank
        _ask(nvim, 8, "\tn")
        _idle(nvim)
        bodies = _sent_after(server, mark)
        assert bodies  # main.go was asked about
        assert not any(SECRET in body for body in bodies)
        st = status(nvim)
        assert SECRET not in json.dumps(st)
        kept = st["queued_chunks"] + st["extra_chunks"]
        assert not any(p.endswith(("notes.go", ".env.production")) for p in kept), kept
        assert str(notes) not in st["mirrored"]


def test_a_buffer_turned_on_again_is_sent_again(nvim_factory: Any, tmp_path: Path) -> None:
    from misbehaving_server import MisbehavingServer

    with MisbehavingServer("llama_server") as server:
        nvim = nvim_factory()
        setup_plugin(nvim, **server.plugin_config(debounce_ms=20))
        open_buffer(nvim, str(tmp_path / "notes.go"), GO_FILE)
        _ask(nvim, 7, "\tx")
        nvim.input("<Esc>")
        nvim.command("let b:localllm_disable = v:true")
        open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
        _ask(nvim, 7, "\ty")  # the purge goes with this request
        nvim.command("edit " + str(tmp_path / "notes.go"))
        nvim.command("unlet b:localllm_disable")
        before = len(server.seen)
        _ask(nvim, 8, "\tz")
        _idle(nvim)
        asked = _sent_after(server, before)
        assert any('"\\tz' in body for body in asked), asked  # its cursor line, "\tz"


def test_a_symlink_to_a_secrets_file_sends_nothing(nvim_factory: Any, tmp_path: Path) -> None:
    from misbehaving_server import MisbehavingServer

    secret_file = tmp_path / ".env"
    secret_file.write_text(f"API_TOKEN={SECRET}\n", encoding="utf-8")
    (tmp_path / "config.txt").symlink_to(secret_file)
    with MisbehavingServer("llama_server") as server:
        nvim = nvim_factory()
        setup_plugin(nvim, **server.plugin_config(debounce_ms=20))
        nvim.command(f"edit {tmp_path / 'config.txt'}")
        nvim.command(f"edit {secret_file}")  # the same buffer, still named config.txt
        buf = nvim.current.buffer.number
        assert nvim.api.buf_get_name(buf).endswith("config.txt")
        assert nvim.exec_lua("return require('localllm.privacy').denied(...)", buf)
        type_in(nvim, 1, f"OTHER={SECRET} ")
        normal(nvim, "yy")
        open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
        _ask(nvim, 7, "\tm")
        normal(nvim, "yy")
        _ask(nvim, 8, "\tn")
        _idle(nvim)
        bodies = _sent_after(server, 0)
        assert bodies and not any(SECRET in body for body in bodies)
        assert SECRET not in json.dumps(status(nvim))


def test_g_localllm_disable_0_means_not_disabled(nvim_factory: Any, tmp_path: Path) -> None:
    nvim = nvim_factory()
    buf = open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)

    def denied() -> Any:
        return nvim.exec_lua("return require('localllm.privacy').denied(...)", buf)

    for value in ("0", "v:false"):
        nvim.command(f"let g:localllm_disable = {value}")
        nvim.command(f"let b:localllm_disable = {value}")
        assert denied() is None, value
    nvim.command("let g:localllm_disable = 1")
    assert denied() == "vim.g.localllm_disable is set"
    nvim.command("let g:localllm_disable = 0 | let b:localllm_disable = 1")
    assert denied() == "vim.b.localllm_disable is set"


def test_the_default_deny_lists_are_the_same_in_lua_and_python(nvim_factory: Any) -> None:
    from localllm.privacy import DEFAULT_DENY

    nvim = nvim_factory()
    lua = nvim.exec_lua("return require('localllm.config').merge(nil).privacy.deny")
    assert lua == list(DEFAULT_DENY)
    match = (
        "return require('localllm.privacy')"
        ".match(..., require('localllm.config').merge(nil).privacy.deny)"
    )
    for path, glob in [
        ("/home/me/.config/gh/hosts.yml", "gh/hosts.yml"),
        ("/home/me/.vault-token", ".vault-token"),
        ("/home/me/keys/AuthKey_ABC123.p8", "*.p8"),
        (
            "/home/me/.config/gcloud/application_default_credentials.json",
            ".config/gcloud/*credentials*",
        ),
        ("/home/me/app/main.go", None),
    ]:
        assert nvim.exec_lua(match, path) == glob, path
