"""Failure and edge cases in a real headless Neovim with the plugin, against a local server that
speaks llama-server's protocol and misbehaves on purpose (tests/misbehaving_server.py).

After each: the buffer holds exactly what the user typed or accepted, nothing reached the
user as a traceback, and a following request still shows a suggestion.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import NVIM_INIT, nvim_binary, nvim_env
from misbehaving_server import ANSWER, MisbehavingServer
from nvim_helpers import (
    cursor,
    drawn,
    insert_at,
    lines,
    mode,
    open_buffer,
    setup_plugin,
    stats,
    wait_for,
)

pytestmark = pytest.mark.nvim

HELLO = "".join(ANSWER)
GO = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\n\tfmt.Println(x)\n}\n'
GO_LINES = GO.split("\n")[:-1]


@pytest.fixture
def server() -> Iterator[MisbehavingServer]:
    with MisbehavingServer("llama_server") as srv:
        yield srv


def start(nvim_factory: Any, server: MisbehavingServer, **opts: Any) -> Any:
    nvim = nvim_factory()
    config: dict[str, Any] = {"debounce_ms": 20, "speculative": False}
    config.update(server.plugin_config(**opts))
    setup_plugin(nvim, **config)
    return nvim


def messages(nvim: Any) -> str:
    return str(nvim.exec_lua("return vim.api.nvim_exec2('messages', {output = true}).output"))


def assert_no_traceback(nvim: Any) -> None:
    text = messages(nvim)
    for bad in ("Traceback", "Error executing", "E5108", "stack traceback", 'File "'):
        assert bad not in text, text


def last_error(nvim: Any) -> str | None:
    return nvim.exec_lua("return require('localllm').last_error")  # type: ignore[no-any-return]


def still_suggests(nvim: Any, server: MisbehavingServer, typed: str = "q") -> None:
    """The server behaves again: typing brings a suggestion (a new place: not the cache)."""
    server.mode = "ok"
    nvim.input(typed)
    wait_for(lambda: drawn(nvim) == HELLO)


def test_broken_answers_leave_the_buffer_intact_and_the_next_request_works(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, server)
    open_buffer(nvim, str(tmp_path / "main.go"), GO)
    insert_at(nvim, 7, 0)
    typed = "\t"
    nvim.input(typed)
    wait_for(lambda: drawn(nvim) == HELLO)
    cases = {
        "garbage": "not JSON",
        "truncated_json": "not JSON",
        "invalid_utf8": "not UTF-8",
        "abrupt": "broke the connection",
        "html": "without its final event",
        "status:500": "HTTP 500",
        "status:401": "wants an API key: set $LLAMA_API_KEY",
        "status:404": "HTTP 404",
        "status:400": "HTTP 400",
        "status:502": "HTTP 502",
    }
    for i, (case, words) in enumerate(cases.items()):
        nvim.exec_lua("require('localllm.notice').set_error(nil)")
        server.mode = case
        char = str(i)  # never a start of the answer: not a cached place
        typed += char
        nvim.input(char)
        error = wait_for(lambda: last_error(nvim))
        assert words in error, (case, error)
        assert drawn(nvim) is None
        expected = list(GO_LINES)
        expected[6] = typed
        assert lines(nvim) == expected, case
        typed += "_"
        still_suggests(nvim, server, "_")
        nvim.input("<C-]>")
        wait_for(lambda: drawn(nvim) is None)
    nvim.input("<Tab>")  # nothing shown: a plain Tab
    assert_no_traceback(nvim)
    # One notification per problem, not one per keystroke.
    shown = [line for line in messages(nvim).split("\n") if line.startswith("localllm:")]
    assert len(shown) == len(set(shown)) >= len(cases) - 1, shown


def test_429_says_busy_and_the_server_is_asked_again_after_retry_after(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, server)
    open_buffer(nvim, str(tmp_path / "main.go"), GO)
    insert_at(nvim, 7, 0)
    server.mode = "status:429"
    nvim.input("\t")
    error = wait_for(lambda: last_error(nvim))
    assert "busy (HTTP 429)" in error and "2 s" in error
    server.mode = "ok"
    nvim.command("sleep 2100m")  # Retry-After: 2
    still_suggests(nvim, server, "a")
    assert lines(nvim)[6] == "\ta"
    assert_no_traceback(nvim)


def test_a_stalled_server_ends_at_the_time_limit_and_is_cancelled_by_typing(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    # The read timeout is a minute: only the time limit or a cancellation ends a stall here.
    nvim = start(
        nvim_factory,
        server,
        generation={"time_limit_ms": 300},
        llama_server={"timeout_ms": 60000},
    )
    open_buffer(nvim, str(tmp_path / "main.go"), GO)
    insert_at(nvim, 7, 0)
    # Mid-answer: what came before the stall is shown once the time limit ends it.
    server.mode = "stall_body"
    nvim.input("\t")
    wait_for(lambda: drawn(nvim) == ANSWER[0])
    wait_for(lambda: server.seen[-1].finished)
    assert server.seen[-1].disconnected
    # Before any answer: typing cancels the stalled request, and the new one is answered.
    server.mode = "stall_headers"
    nvim.input("a")
    wait_for(lambda: server.seen[-1].mode == "stall_headers" and not server.seen[-1].finished)
    stalled = server.seen[-1]
    still_suggests(nvim, server, "b")
    assert stalled.disconnected
    # Leaving insert mode cancels too.
    server.mode = "stall_headers"
    nvim.input("c")
    wait_for(lambda: server.seen[-1].mode == "stall_headers" and not server.seen[-1].finished)
    stalled = server.seen[-1]
    nvim.input("<Esc>")
    wait_for(lambda: stalled.finished)
    assert stalled.disconnected
    assert lines(nvim)[6] == "\tabc"
    assert last_error(nvim) is None
    assert_no_traceback(nvim)


def test_wiping_the_buffer_while_a_request_is_in_flight(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, server, llama_server={"timeout_ms": 60000})
    buf = open_buffer(nvim, str(tmp_path / "main.go"), GO)
    insert_at(nvim, 7, 0)
    server.mode = "stall_headers"
    nvim.input("\t")
    wait_for(lambda: server.seen and not server.seen[-1].finished)
    stalled = server.seen[-1]
    nvim.command(f"bwipeout! {buf}")
    wait_for(lambda: stalled.finished)
    assert stalled.disconnected  # cancelled, not left running
    # A late answer for the wiped buffer is dropped without an error.
    nvim.exec_lua(
        "require('localllm.bridge').on_update(...)",
        {"id": 1, "bufnr": buf, "text": "LATE", "final": True, "source": "model", "timings": {}},
    )
    assert_no_traceback(nvim)
    open_buffer(nvim, str(tmp_path / "other.go"), GO)
    insert_at(nvim, 7, 0)
    still_suggests(nvim, server, "\t")
    assert lines(nvim)[6] == "\t"
    assert last_error(nvim) is None


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_quitting_while_a_request_is_in_flight_leaves_no_process_and_prints_nothing(
    rplugin_manifest: Path, server: MisbehavingServer, tmp_path: Path
) -> None:
    import pynvim

    sock = str(tmp_path / "nvim.sock")
    path = tmp_path / "main.go"
    path.write_text(GO)
    proc = subprocess.Popen(
        [nvim_binary(), "--headless", "--listen", sock, "-u", str(NVIM_INIT), "-i", "NONE", "-n"],
        env=nvim_env(rplugin_manifest),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: os.path.exists(sock))
        nvim = pynvim.attach("socket", path=sock)
        config = {"debounce_ms": 20, "speculative": False}
        config.update(server.plugin_config(llama_server={"timeout_ms": 60000}))
        setup_plugin(nvim, **config)
        nvim.command("set noshowmode")  # headless Neovim prints the mode message otherwise
        nvim.command(f"edit {path}")
        server.mode = "stall_headers"
        insert_at(nvim, 7, 0)
        nvim.input("\t")
        wait_for(lambda: server.seen and not server.seen[-1].finished)
        hosts = [p for p in _children(proc.pid) if "python" in _cmdline(p)]
        assert hosts, "the Python host is not running"
        nvim.command("qa!", async_=True)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert out.strip() == b"" and err.strip() == b"", (out, err)
        for host in hosts:
            wait_for(lambda host=host: not _alive(host))
        wait_for(lambda: server.seen[-1].finished)
        assert server.seen[-1].disconnected
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_a_minified_megabyte_line_is_sent_cut_around_the_cursor(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, server)
    unit = "var a0=function(b){return b+1};"
    line = unit * (1_000_000 // len(unit))
    open_buffer(nvim, str(tmp_path / "app.min.js"), line + "\n")
    col = len(line) // 2 + 3  # mid-line, inside a unit
    insert_at(nvim, 1, col)
    nvim.input("Z")
    wait_for(lambda: drawn(nvim) == HELLO)
    # Bounded: what Lua sent and what the server got are a window around the cursor.
    assert stats(nvim)["payload_bytes"] <= 2 * 8192 + 16
    body = server.seen[-1]
    assert body.size < 64_000
    # ... and the window is the right one: the prompt ends with what is before the cursor.
    before = line[:col] + "Z"
    assert (
        body.body["input_prefix"] + body.body["prompt"]
        == before[-len(body.body["input_prefix"] + body.body["prompt"]) :]
    )
    assert body.body["input_suffix"].startswith(line[col : col + 20])
    nvim.input("<Tab>")
    wait_for(lambda: len(lines(nvim)[0]) > len(line) + 1)
    assert lines(nvim) == [line[:col] + "Z" + HELLO + line[col:]]
    assert cursor(nvim) == (1, col + 1 + len(HELLO))
    assert_no_traceback(nvim)


def test_a_100000_line_file_sends_a_bounded_window(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, server)
    text = "".join(f"value_{i} = compute({i}, 'x' * {i % 7})\n" for i in range(100_000))
    buf = open_buffer(nvim, str(tmp_path / "big.py"), text)
    insert_at(nvim, 50_000, 0)
    nvim.input("r")
    wait_for(lambda: drawn(nvim) == HELLO)
    assert stats(nvim)["payload_bytes"] <= 65536 + 16384 + 64 * 1024 + 8192
    assert server.seen[-1].size < 64_000
    status = nvim.exec_lua("return require('localllm.bridge').status()")
    assert str(buf) not in (status.get("mirrored") or {})  # too big to mirror: not copied
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[49_999].startswith("r" + HELLO))
    assert len(nvim.current.buffer) == 100_000
    assert lines(nvim)[49_999] == "r" + HELLO + f"value_49999 = compute(49999, 'x' * {49999 % 7})"
    assert lines(nvim)[49_998] == f"value_49998 = compute(49998, 'x' * {49998 % 7})"


def test_crlf_file_keeps_its_line_endings(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    server.state.answer = ["if err != nil {", "\r\n\t\treturn err", "\n\t}"]
    nvim = start(nvim_factory, server)
    path = tmp_path / "dos.go"
    path.write_bytes(GO.replace("\n", "\r\n").encode())
    nvim.command(f"edit {path}")
    nvim.command("setlocal noexpandtab")
    assert nvim.eval("&fileformat") == "dos"
    assert lines(nvim) == GO_LINES  # no \r in the buffer
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    # The model's \r\n is a line break like \n: no \r reaches the buffer.
    wait_for(lambda: drawn(nvim) == "if err != nil {\n\t\treturn err\n\t}")
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[6] != "\t")
    nvim.input("<Esc>")
    nvim.command("write")
    data = path.read_bytes()
    assert b"\r\r" not in data
    assert data.count(b"\n") == data.count(b"\r\n")  # every line ends in CRLF
    assert b"\tif err != nil {\r\n\t\treturn err\r\n\t}\r\n" in data
    assert_no_traceback(nvim)


def test_tabs_and_wide_characters_on_both_sides_of_the_cursor(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    server.state.answer = ["世", "界 🎉", "\tok"]
    nvim = start(nvim_factory, server)
    nvim.command("set noexpandtab tabstop=8")
    text = 'package main\n\nfunc main() {\n\ts := "héllo\t世界 🎉 ";\n}\n'
    open_buffer(nvim, str(tmp_path / "wide.go"), text)
    line = '\ts := "héllo\t世界 🎉 ";'
    col = len('\ts := "héllo\t世'.encode())  # between two wide characters
    insert_at(nvim, 4, col)
    nvim.input("<C-]>")
    nvim.exec_lua("require('localllm').trigger()")
    wait_for(lambda: drawn(nvim) == "世界 🎉\tok")
    # Drawn with the tab expanded at its screen column, never splitting a character.
    display = nvim.exec_lua("return require('localllm.ghost').drawn_text(0)")
    assert "\t" not in display and display.startswith("世界 🎉")
    nvim.input("<M-Right>")  # one word: multibyte characters are word characters
    wait_for(lambda: lines(nvim)[3] != line)
    head = '\ts := "héllo\t世'
    assert lines(nvim)[3].startswith(head) and lines(nvim)[3].endswith('界 🎉 ";')
    # The rest stays shown; nothing may replace it (a late final of the request is stale).
    assert drawn(nvim) == " 🎉\tok"
    nvim.input("<Tab>")
    wait_for(lambda: "ok" in lines(nvim)[3])
    assert lines(nvim)[3] == head + "世界 🎉\tok" + '界 🎉 ";'
    assert cursor(nvim) == (4, len((head + "世界 🎉\tok").encode()))
    assert_no_traceback(nvim)


def test_several_windows_on_one_buffer(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, server)
    open_buffer(nvim, str(tmp_path / "main.go"), GO)
    nvim.command("split")
    top = nvim.current.window
    nvim.command("wincmd j")
    bottom = nvim.current.window
    assert top.buffer.number == bottom.buffer.number
    bottom.cursor = (2, 0)
    nvim.command("wincmd k")
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_for(lambda: drawn(nvim) == HELLO)
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[6] == "\t" + HELLO)
    assert tuple(bottom.cursor) == (2, 0)  # the other window's cursor stays put
    nvim.input("<Esc>")
    wait_for(lambda: mode(nvim) == "n")
    assert drawn(nvim) is None
    # Now in the other window, at another place of the same buffer.
    nvim.command("wincmd j")
    assert nvim.current.window == bottom
    insert_at(nvim, 2, 0)
    nvim.input("x")
    wait_for(lambda: drawn(nvim) == HELLO)
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[1] == "x" + HELLO)
    assert lines(nvim)[6] == "\t" + HELLO
    assert top.cursor[0] == 7
    assert_no_traceback(nvim)


def test_macros_and_dot_repeat_around_an_accept(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, server)
    # Statements end in ";": the suggestion after them parses (a one-line suggestion that does
    # not is cut).
    text = "package main\n\nfunc main() {\n\tx := 1;\n\ty := 2;\n\tz := 3;\n}\n"
    open_buffer(nvim, str(tmp_path / "m.go"), text)
    nvim.command("setlocal noexpandtab")
    nvim.current.window.cursor = (4, 0)
    nvim.input("qa")
    nvim.input("A ")
    wait_for(lambda: drawn(nvim) == HELLO)
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[3] == "\tx := 1; " + HELLO)
    nvim.input("<Esc>q")
    wait_for(lambda: mode(nvim) == "n" and nvim.funcs.reg_recording() == "")
    # The accepted text is in the buffer once; no ghost text is left.
    assert lines(nvim)[3] == "\tx := 1; " + HELLO
    assert drawn(nvim) is None
    assert (
        nvim.exec_lua(
            "return #vim.api.nvim_buf_get_extmarks(0, require('localllm.ghost').ns, 0, -1, {})"
        )
        == 0
    )
    # `.` repeats the insert with the accepted text in it.
    nvim.input("j.")
    wait_for(lambda: lines(nvim)[4] == "\ty := 2; " + HELLO)
    assert mode(nvim) == "n"
    # The macro replays its keys: at replay time no suggestion is shown, so the recorded Tab
    # is a plain Tab (the documented passthrough), and nothing else is inserted.
    nvim.input("j@a")
    wait_for(lambda: lines(nvim)[5] != "\tz := 3;")
    assert lines(nvim)[5] == "\tz := 3; \t"
    assert mode(nvim) == "n"
    assert drawn(nvim) is None
    # The plugin still works afterwards.
    insert_at(nvim, 6, len("\tz := 3; \t"))
    still_suggests(nvim, server, "w")
    assert_no_traceback(nvim)


def test_the_completion_popup_owns_tab_while_it_is_open(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, server)
    nvim.exec_lua(
        "function _G.test_omni(findstart, base)"
        "  if findstart == 1 then return vim.fn.col('.') - 1 end"
        "  return { 'alpha', 'alphabet' }"
        " end"
    )
    open_buffer(nvim, str(tmp_path / "main.go"), GO)
    nvim.command("setlocal omnifunc=v:lua.test_omni noexpandtab")
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_for(lambda: drawn(nvim) == HELLO)
    # <C-x><C-o>: the popup opens, the suggestion hides, and <Tab> is not an accept.
    nvim.input("<C-x><C-o>")
    wait_for(lambda: nvim.funcs.pumvisible() == 1)
    wait_for(lambda: drawn(nvim) is None)
    assert nvim.exec_lua("return require('localllm').is_visible()") is False
    nvim.input("<C-e>")  # close it without inserting
    wait_for(lambda: nvim.funcs.pumvisible() == 0)
    wait_for(lambda: drawn(nvim) == HELLO)
    assert lines(nvim)[6] == "\t"
    # Choosing an item inserts it; the suggestion for the old place is gone, a new one comes.
    nvim.input("<C-x><C-o>")
    wait_for(lambda: nvim.funcs.pumvisible() == 1)
    nvim.input("<C-n><C-y>")
    wait_for(lambda: lines(nvim)[6] == "\talphabet")
    wait_for(lambda: drawn(nvim) == HELLO)
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[6] == "\talphabet" + HELLO)
    assert_no_traceback(nvim)
