"""Leaving insert mode, type-through and backspacing, and late answers after a partial accept,
in a real headless Neovim against a local llama-server-protocol server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from misbehaving_server import ANSWER, MisbehavingServer
from nvim_helpers import (
    cursor,
    drawn,
    drawn_display,
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
SUGGESTION = "return require('localllm.session').suggestion(vim.api.nvim_get_current_buf())"


@pytest.fixture
def server() -> Iterator[MisbehavingServer]:
    with MisbehavingServer("llama_server") as srv:
        yield srv


def start(nvim_factory: Any, server: MisbehavingServer) -> Any:
    nvim = nvim_factory()
    setup_plugin(nvim, debounce_ms=20, speculative=False, **server.plugin_config())
    return nvim


def our_marks(nvim: Any) -> list[Any]:
    return nvim.exec_lua(  # type: ignore[no-any-return]
        "return vim.api.nvim_buf_get_extmarks(0, require('localllm.ghost').ns, 0, -1, {})"
    )


def test_ctrl_c_clears_the_ghost_and_j_dd_insert_nothing(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, server)
    open_buffer(nvim, str(tmp_path / "main.go"), GO)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_for(lambda: drawn(nvim) == HELLO)
    nvim.input("<C-c>")  # leaves insert mode without InsertLeave
    wait_for(lambda: mode(nvim) == "n")
    assert our_marks(nvim) == []
    nvim.input("k")
    nvim.input("dd")
    wait_for(lambda: len(lines(nvim)) == len(GO_LINES) - 1)
    expected = list(GO_LINES)
    del expected[5]  # `x := 1`, deleted by dd; line 7 keeps only the typed tab
    expected[5] = "\t"
    assert lines(nvim) == expected
    assert our_marks(nvim) == []
    assert nvim.exec_lua(SUGGESTION) is None


def test_backspacing_into_typed_through_text_shows_the_rest_again(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, server)
    open_buffer(nvim, str(tmp_path / "main.go"), GO)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_for(lambda: drawn(nvim) == HELLO)
    requests = stats(nvim)["requests"]
    nvim.input("fmt.P")
    wait_for(lambda: lines(nvim)[6] == "\tfmt.P" and drawn(nvim) == HELLO[5:])
    nvim.input("<BS><BS>")
    wait_for(lambda: lines(nvim)[6] == "\tfmt")
    wait_for(lambda: drawn(nvim) == HELLO[3:])
    nvim.input("<BS><BS><BS>")
    wait_for(lambda: lines(nvim)[6] == "\t")
    wait_for(lambda: drawn(nvim) == HELLO)
    assert stats(nvim)["requests"] == requests  # shown again without asking
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[6] == "\t" + HELLO)
    # Moving left without deleting is not a way back into the suggestion.
    nvim.input("<Left>")
    wait_for(lambda: cursor(nvim) == (7, len(HELLO)))
    assert drawn(nvim) != HELLO[-1:]


def test_a_late_answer_after_accept_word_does_not_replace_the_rest(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    """The final of the request, sent before its cancel arrived, comes after accept-word."""
    server.state.answer = ["世", "界 🎉", "\tok"]
    nvim = start(nvim_factory, server)
    # In a string: the suggestion parses there.
    open_buffer(nvim, str(tmp_path / "wide.go"), 'package main\n\nfunc main() {\n\ts := ""\n}\n')
    insert_at(nvim, 4, len('\ts := "'))
    nvim.exec_lua("require('localllm').trigger()")
    wait_for(lambda: drawn(nvim) == "世界 🎉\tok")
    old_id = nvim.exec_lua(SUGGESTION)["id"]
    nvim.input("<M-Right>")
    wait_for(lambda: lines(nvim)[3] == '\ts := "世界"')
    assert drawn(nvim) == " 🎉\tok"
    nvim.exec_lua(
        "require('localllm.session').on_update({id = ..., bufnr = vim.api.nvim_get_current_buf(),"
        " text = '世界 🎉\\tok', final = true, source = 'model'})",
        old_id,
    )
    assert drawn(nvim) == " 🎉\tok"
    # What the server answers from now on has no 世: a ghost with one can only be the old one.
    server.state.answer = ["!"]
    nvim.input("<Tab>")
    wait_for(lambda: "ok" in lines(nvim)[3])
    assert lines(nvim)[3] == '\ts := "世界 🎉\tok"'
    assert drawn_display(nvim) is None or "世" not in (drawn_display(nvim) or "")


def test_dot_repeats_an_insert_that_accepted_a_suggestion(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    """`S`, the suggestion accepted with Tab, more typed: `.` elsewhere repeats all of it, and
    `u` takes back the repeat, the typed text, the accepted text and the `S` one at a time."""
    nvim = start(nvim_factory, server)
    open_buffer(nvim, str(tmp_path / "main.go"), GO)
    nvim.input("<Esc>")
    nvim.current.window.cursor = (6, 0)  # `\tx := 1`
    nvim.input("S")
    wait_for(lambda: mode(nvim) == "i" and drawn(nvim) == HELLO)
    indent = lines(nvim)[5]
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[5] == indent + HELLO)
    nvim.input(" // x")
    wait_for(lambda: lines(nvim)[5] == indent + HELLO + " // x")
    nvim.input("<Esc>")
    wait_for(lambda: mode(nvim) == "n")
    nvim.input("j.")  # line 7, the empty one
    wait_for(lambda: lines(nvim)[6] != "")
    assert lines(nvim)[6] == indent + HELLO + " // x"
    assert mode(nvim) == "n"
    for line_6 in (indent + HELLO + " // x", indent + HELLO, indent, "\tx := 1"):
        nvim.input("u")
        wait_for(lambda want=[line_6, ""]: lines(nvim)[5:7] == want)


def test_dot_repeats_a_multi_line_accept_exactly(
    nvim_factory: Any, server: MisbehavingServer, tmp_path: Path
) -> None:
    """The lines after the first come back byte for byte: no indent added, none lost."""
    server.state.answer = ["if x > 0 {", "\n\t\tx--", "\n\t}"]
    nvim = start(nvim_factory, server)
    open_buffer(nvim, str(tmp_path / "main.go"), GO)
    nvim.input("<Esc>")
    nvim.current.window.cursor = (8, 0)  # `\tfmt.Println(x)`
    nvim.input("o")
    wait_for(lambda: mode(nvim) == "i" and drawn(nvim) == "if x > 0 {\n\t\tx--\n\t}")
    indent = lines(nvim)[8]
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[8:11] == [indent + "if x > 0 {", "\t\tx--", "\t}"])
    nvim.input("<Esc>")
    wait_for(lambda: mode(nvim) == "n")
    nvim.input("G.")  # `o` on the closing brace of main
    wait_for(lambda: len(lines(nvim)) == len(GO_LINES) + 6)
    assert lines(nvim)[-3].lstrip("\t ") == "if x > 0 {"
    assert lines(nvim)[-2:] == ["\t\tx--", "\t}"]
