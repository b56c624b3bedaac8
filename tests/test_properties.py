"""Property-based tests (hypothesis): any text, any cursor.

- Context building never fails, keeps the cursor line exactly (before and after the cursor)
  and stays within its budget.
- Accepting (all, a line, a word), run by the real Lua code in a headless Neovim, inserts
  exactly a prefix of the suggestion at the cursor and nothing else: the buffer never loses or
  corrupts a byte, and repeated accepts always make progress.

Example counts are bounded to keep CI time reasonable.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localllm.config import parse_settings
from localllm.context import build_context, estimate_tokens
from localllm.types import BufferSnapshot, IndentStyle
from nvim_helpers import mode, setup_plugin, wait_for

# Characters that matter here: ASCII code, whitespace and tabs, multibyte and wide characters,
# emoji (4 bytes), combining marks, and FIM-marker look-alikes.
ALPHABET = st.sampled_from(
    [
        *"abcxyz_(){}[];:=,.'\"#/\\ \t",
        *[
            "é",
            "ß",
            "世",
            "界",
            "🎉",
            "👍🏽",
            "\u0301",
            "\u200b",
            "<|fim_prefix|>",
            "<PRE>",
            "\x00",
        ],
    ]
)
LINE = st.lists(ALPHABET, max_size=30).map("".join)
LINES = st.lists(LINE, min_size=1, max_size=12)
FILETYPES = st.sampled_from(["go", "python", "javascript", "lua", "text", ""])


@st.composite
def snapshots(draw: st.DrawFn) -> BufferSnapshot:
    lines = draw(LINES)
    row = draw(st.integers(0, len(lines) - 1))
    line = lines[row]
    chars = draw(st.integers(0, len(line)))
    col = len(line[:chars].encode())
    filetype = draw(FILETYPES)
    ext = {"go": "go", "python": "py", "javascript": "js", "lua": "lua"}.get(filetype, "txt")
    return BufferSnapshot(
        path=f"/src/p/file.{ext}",
        filetype=filetype,
        lines=tuple(lines),
        first_line=0,
        row=row,
        col=col,
        line_count=len(lines),
        indent=IndentStyle(use_tabs=draw(st.booleans()), width=4, tabstop=8),
    )


@settings(max_examples=300, deadline=None)
@given(
    snap=snapshots(),
    prefix_tokens=st.integers(16, 80),
    suffix_tokens=st.integers(16, 48),
)
def test_context_keeps_the_cursor_line_and_its_budget(
    snap: BufferSnapshot, prefix_tokens: int, suffix_tokens: int
) -> None:
    budget = parse_settings(
        {"context": {"prefix_tokens": prefix_tokens, "suffix_tokens": suffix_tokens}}
    ).context
    ctx = build_context(snap, budget, root="/src/p")
    line = snap.cursor_line.encode()
    before, after = line[: snap.col].decode(), line[snap.col :].decode()
    # The cursor line is never cut: the typed part and the rest are exact.
    assert before.endswith(ctx.middle)
    assert (ctx.prefix + ctx.middle).endswith(before)
    assert ctx.line_suffix == after
    # The text above and below comes from the buffer, in order.
    above = "\n".join(snap.lines[: snap.row])
    below = "\n".join(snap.lines[snap.row + 1 :])
    if ctx.prefix[: -len(before) or None]:
        kept = (ctx.prefix + ctx.middle)[: -len(before) or None]
        assert (above + "\n").endswith(kept) or kept == "", (kept, above)
    assert below.startswith(ctx.suffix.rstrip("\n")) or not ctx.suffix.strip()
    # Within budget (the cursor line itself always goes in).
    assert estimate_tokens(ctx.prefix) <= prefix_tokens + estimate_tokens(before) + 1
    assert estimate_tokens(ctx.suffix) <= suffix_tokens + 1


# -- accept, in a real Neovim --------------------------------------------------------------

ACCEPT = """
local lines, row, col, text, kind = ...
local buf = vim.api.nvim_get_current_buf()
vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
vim.api.nvim_win_set_cursor(0, { row + 1, col })
local session = require('localllm.session')
session.after_accept(buf, row, col, text) -- shows `text` as the suggestion at the cursor
local shown = session.suggestion(buf).text
local part = require('localllm.accept').part(text, kind)
local ok = require('localllm').accept(kind)
local sug = session.suggestion(buf)
local pos = vim.api.nvim_win_get_cursor(0)
return {
  ok = ok, shown = shown, part = part,
  lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false),
  cursor = { pos[1] - 1, pos[2] },
  rest = sug and sug.text or '',
}
"""

SUGGESTION = st.lists(st.one_of(ALPHABET, st.just("\n"), st.just("\n\t")), min_size=1, max_size=25)


@pytest.fixture
def accept_nvim(nvim_factory: Any) -> Any:
    nvim = nvim_factory()
    setup_plugin(nvim, backend="none", auto_trigger=False)
    nvim.command("enew")
    nvim.command("startinsert")
    wait_for(lambda: mode(nvim) == "i")
    return nvim


@pytest.mark.nvim
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    lines=st.lists(LINE.filter(lambda s: "\x00" not in s), min_size=1, max_size=5),
    data=st.data(),
    suggestion=SUGGESTION.map("".join).filter(lambda s: "\x00" not in s),
    kind=st.sampled_from(["all", "line", "word"]),
)
def test_accepting_inserts_exactly_a_prefix_of_the_suggestion(
    accept_nvim: Any, lines: list[str], data: st.DataObject, suggestion: str, kind: str
) -> None:
    nvim = accept_nvim
    row = data.draw(st.integers(0, len(lines) - 1))
    line = lines[row]
    col = len(line[: data.draw(st.integers(0, len(line)))].encode())
    result = nvim.exec_lua(ACCEPT, lines, row, col, suggestion, kind)
    assert result["ok"] is True
    assert result["shown"] == suggestion
    part: str = result["part"]
    part.encode("utf-8")  # whole characters only: never half of a multibyte one
    assert part and suggestion.startswith(part)  # progress, and only what was shown
    if kind == "all":
        assert part == suggestion
    raw = line.encode()
    head, tail = raw[:col].decode(), raw[col:].decode()
    inserted = (head + part + tail).split("\n")
    expected = lines[:row] + inserted + lines[row + 1 :]
    assert result["lines"] == expected
    end_row = row + part.count("\n")
    end_col = len((head + part).split("\n")[-1].encode())
    assert tuple(result["cursor"]) == (end_row, end_col)
    assert result["rest"] == suggestion[len(part) :]
