"""Tests for localllm.buffers: buffers mirrored from Neovim change by change, and Documents.

Changes are splices of the buffer seen the way Neovim reports it: its lines each followed by
"\\n" (the last one too). `edit_doc()` forwards one as the host gets it, the whole lines it
touched (`replace_lines`); the last tests record real events from a headless Neovim and replay
them.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import nvim_binary
from localllm import treesitter
from localllm.buffers import BufferDoc, BufferStore, EditError, snapshot_window
from localllm.document import Document
from localllm.treesitter import available_languages
from localllm.types import BufferSnapshot

# --------------------------------------------------------------------------------------------
# Helpers


def line_edit(text: bytes, start: int, old_len: int, new: bytes) -> tuple[int, int, list[bytes]]:
    """The splice of `old_len` bytes at `start` with `new` as `replace_lines` arguments: the
    rows it touches, [first, last), and their new lines.

    `text` is the buffer's lines joined with "\\n"; like Neovim, positions may reach one byte
    past its end (the newline that ends the last line).
    """
    view = text + b"\n"
    assert 0 <= start <= start + old_len <= len(view)
    count = view.count(b"\n")
    first = view.count(b"\n", 0, start)
    last = min(count, view.count(b"\n", 0, start + old_len) + 1)
    after = view[:start] + new + view[start + old_len :]
    kept = count - last  # the lines after the touched ones, unchanged
    return first, last, after.split(b"\n")[first : after.count(b"\n") - kept]


def splice(text: bytes, start: int, old_len: int, new: bytes) -> bytes:
    """The buffer text after the edit, as Neovim has it (never less than one empty line)."""
    view = text + b"\n"
    view = view[:start] + new + view[start + old_len :]
    return view[:-1] if view else b""


def assert_consistent(doc: BufferDoc, text: bytes) -> None:
    """The document holds `text` and its line views agree."""
    assert doc.text == text
    lines = text.decode("utf-8", "surrogateescape").split("\n")
    assert doc.line_count == len(lines)
    assert doc.lines(0, doc.line_count) == lines
    for row in range(len(lines)):
        assert doc.lines(row, row + 1) == [lines[row]]


def edit_doc(doc: BufferDoc, start: int, old_len: int, new: bytes, tick: int = 0) -> bytes:
    """Forward the Neovim splice to `doc` by the lines it touches; return the expected text."""
    expected = splice(doc.text, start, old_len, new)
    doc.replace_lines(*line_edit(doc.text, start, old_len, new), tick)
    return expected


def needs(*langs: str) -> pytest.MarkDecorator:
    missing = [lang for lang in langs if lang not in available_languages()]
    return pytest.mark.skipif(bool(missing), reason=f"no grammar for {missing}")


GO = b"""package main

import (
\t"fmt"
\t"strings"
)

// greet says hello to everyone in names.
func greet(names []string) string {
\tvar b strings.Builder
\tfor i, name := range names {
\t\tif i > 0 {
\t\t\tb.WriteString(", ")
\t\t}
\t\tb.WriteString(name)
\t}
\treturn "h\xc3\xa9llo " + b.String()
}

func main() {
\tfmt.Println(greet([]string{"ada", "\xe4\xb8\xad\xe6\x96\x87"}))
}"""

GO_2 = b"""package queue

type Queue[T any] struct {
\titems []T
}

func (q *Queue[T]) Push(v T) { q.items = append(q.items, v) }

func (q *Queue[T]) Pop() (T, bool) {
\tvar zero T
\tif len(q.items) == 0 {
\t\treturn zero, false
\t}
\tv := q.items[0]
\tq.items = q.items[1:]
\treturn v, true
}
"""

PY = b'''"""Tiny inventory."""

from dataclasses import dataclass


@dataclass
class Item:
    name: str
    count: int = 0

    def label(self) -> str:
        return f"{self.name} \xc3\x97{self.count}"


def total(items: list[Item]) -> int:
    n = 0
    for item in items:
        if item.count > 0:
            n += item.count
    return n'''

PY_2 = b"""import sys

def main(argv):
    try:
        value = int(argv[1])
    except (IndexError, ValueError):
        print("usage: prog N", file=sys.stderr)
        return 2
    print([x * x for x in range(value)])
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv))
"""

SOURCES = [("go", GO), ("go", GO_2), ("python", PY), ("python", PY_2)]


# --------------------------------------------------------------------------------------------
# Deterministic edits


def test_new_document_views() -> None:
    doc = BufferDoc(b"a\nb\xc3\xa9\n\nlast", 7)
    assert doc.text == b"a\nb\xc3\xa9\n\nlast"
    assert doc.tick == 7
    assert doc.line_count == 4
    assert doc.lines(0, 4) == ["a", "bé", "", "last"]
    assert doc.lines(1, 3) == ["bé", ""]
    assert doc.lines(-5, 1) == ["a"]
    assert doc.lines(3, 99) == ["last"]
    assert doc.lines(2, 2) == []
    assert doc.lines(9, 12) == []


def test_empty_buffer_has_one_empty_line() -> None:
    doc = BufferDoc(b"", 1)
    assert doc.line_count == 1
    assert doc.lines(0, 1) == [""]
    assert doc.text == b""
    # typing "hi" then `o` + "x"
    edit_doc(doc, 0, 0, b"hi", 2)
    edit_doc(doc, 3, 0, b"\n", 3)
    edit_doc(doc, 3, 0, b"x", 4)
    assert doc.text == b"hi\nx"
    assert doc.lines(0, 2) == ["hi", "x"]
    assert doc.tick == 4


def test_invalid_utf8_lines_use_surrogateescape() -> None:
    doc = BufferDoc(b"ok\n\xff\xfe bad \xe4\xb8", 1)
    assert doc.lines(0, 2) == ["ok", "\udcff\udcfe bad \udce4\udcb8"]
    assert doc.lines(1, 2)[0].encode("utf-8", "surrogateescape") == b"\xff\xfe bad \xe4\xb8"


def test_insert_and_delete_a_character() -> None:
    doc = BufferDoc(GO, 1)
    at = GO.index(b"var b")
    expected = edit_doc(doc, at, 0, b"x", 2)  # typed "x"
    assert doc.text == GO[:at] + b"x" + GO[at:]
    assert_consistent(doc, expected)
    expected = edit_doc(doc, at, 1, b"", 3)  # `x` deletes it again
    assert expected == GO
    assert_consistent(doc, GO)
    assert doc.tick == 3


def test_newline_splits_a_line_and_join_merges_it_back() -> None:
    doc = BufferDoc(GO, 1)
    at = GO.index(b"b.WriteString(name)") + len(b"b.WriteString(")
    # Enter in insert mode inside the call (with the indent Neovim adds)
    edit_doc(doc, at, 0, b"\n\t\t\t", 2)
    split = GO[:at] + b"\n\t\t\t" + GO[at:]
    assert_consistent(doc, split)
    # `J`: the newline and the indent become nothing
    edit_doc(doc, at, 4, b"", 3)
    assert_consistent(doc, GO)


def test_delete_whole_lines() -> None:
    doc = BufferDoc(PY, 1)
    lines = PY.split(b"\n")
    # `dd` on line 7 (0-based 6, "class Item:")
    start = sum(len(line) + 1 for line in lines[:6])
    edit_doc(doc, start, len(lines[6]) + 1, b"", 2)
    assert_consistent(doc, b"\n".join(lines[:6] + lines[7:]))
    # `3dd` from the top
    edit_doc(doc, 0, sum(len(line) + 1 for line in lines[:3]), b"", 3)
    assert_consistent(doc, b"\n".join(lines[3:6] + lines[7:]))


def test_delete_last_line_reaches_past_the_text() -> None:
    # `Gdd` on "a\nb": "b\n" at byte 2 goes, one past the end of "a\nb"
    doc = BufferDoc(b"a\nb", 1)
    edit_doc(doc, 2, 2, b"", 2)
    assert doc.text == b"a"
    assert doc.line_count == 1


def test_delete_every_line() -> None:
    # `dd` on the only line: "a\n" becomes "\n"
    doc = BufferDoc(b"a", 1)
    edit_doc(doc, 0, 2, b"\n", 2)
    assert (doc.text, doc.line_count, doc.lines(0, 1)) == (b"", 1, [""])
    # `nvim_buf_set_lines(buf, 0, -1, false, {})` and `ggdG`: everything goes, one empty line
    # is left although the change does not say so
    doc = BufferDoc(b"a\nb", 1)
    edit_doc(doc, 0, 4, b"", 2)
    assert (doc.text, doc.line_count, doc.lines(0, 1)) == (b"", 1, [""])
    # and what Neovim reports next fits that one empty line: `o` + "x"
    edit_doc(doc, 1, 0, b"\n", 3)
    edit_doc(doc, 1, 0, b"x", 4)
    assert doc.text == b"\nx"


def test_delete_every_line_then_type() -> None:
    doc = BufferDoc(PY, 1)
    edit_doc(doc, 0, len(PY) + 1, b"", 2)
    assert_consistent(doc, b"")
    edit_doc(doc, 0, 0, b"x = 1", 3)
    assert_consistent(doc, b"x = 1")


def test_paste_multiple_lines() -> None:
    doc = BufferDoc(GO, 1)
    pasted = b"func extra() int {\n\treturn 42\n}\n\n"
    at = GO.index(b"func main")
    edit_doc(doc, at, 0, pasted, 2)  # linewise `P` above "func main"
    assert_consistent(doc, GO[:at] + pasted + GO[at:])
    # characterwise multi-line paste in the middle of a line
    at = doc.text.index(b"greet([]")
    expected = edit_doc(doc, at, 0, b"strings.ToUpper(\n\t\t", 3)
    assert_consistent(doc, expected)


def test_edits_at_the_end_of_the_buffer() -> None:
    doc = BufferDoc(GO, 1)
    n = doc.line_count
    # `o` on the last line: a newline inserted after the final newline, at (n, 0)
    edit_doc(doc, len(GO) + 1, 0, b"\n", 2)
    assert doc.line_count == n + 1
    edit_doc(doc, len(GO) + 1, 0, b"// end", 3)
    assert_consistent(doc, GO + b"\n// end")
    # `p` of two lines after the last line
    edit_doc(doc, len(doc.text) + 1, 0, b"var a = 1\nvar b = 2\n", 4)
    assert_consistent(doc, GO + b"\n// end\nvar a = 1\nvar b = 2")
    # appending to the last line (`A`)
    expected = edit_doc(doc, len(doc.text), 0, b" // two", 5)
    assert_consistent(doc, expected)
    # `nvim_buf_set_text` at the end with {"", "tail"}
    expected = edit_doc(doc, len(doc.text), 0, b"\ntail", 6)
    assert_consistent(doc, expected)
    assert doc.lines(doc.line_count - 1, doc.line_count) == ["tail"]


def test_multibyte_characters_are_counted_in_bytes() -> None:
    doc = BufferDoc(GO, 1)
    at = GO.index("h\u00e9llo".encode())
    # `x` on "é" (two bytes)
    edit_doc(doc, at + 1, 2, b"", 2)
    assert_consistent(doc, GO.replace("h\u00e9llo".encode(), b"hllo"))
    # typing "中🙂" after the quote: 3 + 4 bytes
    edit_doc(doc, at, 0, "中🙂".encode(), 3)
    expected = GO.replace("h\u00e9llo".encode(), "中🙂hllo".encode())
    assert_consistent(doc, expected)
    row = expected[:at].count(b"\n")
    assert doc.lines(row, row + 1) == ['\treturn "中🙂hllo " + b.String()']


def test_line_edit_touches_only_the_rows_of_the_splice() -> None:
    assert line_edit(b"abc\ndef", 1, 1, b"X") == (0, 1, [b"aXc"])
    assert line_edit(b"abc\ndef", 4, 0, b"1\n") == (1, 2, [b"1", b"def"])
    assert line_edit(b"abc\ndef", 8, 0, b"g\n") == (2, 2, [b"g"])
    assert line_edit(b"abc\ndef", 0, 8, b"") == (0, 2, [])


# --------------------------------------------------------------------------------------------
# The store


def test_store_drops_a_document_that_goes_out_of_sync() -> None:
    store = BufferStore()
    assert store.get(1) is None
    assert not store.replace_lines(1, 0, 1, ["x"], 2)
    store.attach(1, b"abc", 1)
    store.attach(2, b"other", 1)
    assert store.replace_lines(1, 0, 1, ["xabc"], 4)
    assert store.replace_lines(1, 0, 1, ["xabc!"], 5)
    doc = store.get(1)
    assert doc is not None
    assert (doc.text, doc.tick) == (b"xabc!", 5)
    assert not store.replace_lines(1, 3, 4, ["x"], 6)
    assert store.get(1) is None  # the caller must attach it again
    assert store.get(2) is not None
    store.attach(1, b"fresh", 7)
    doc = store.get(1)
    assert doc is not None and doc.text == b"fresh"
    store.detach(1)
    store.detach(1)
    assert store.get(1) is None


def test_store_does_not_drop_a_document_attached_meanwhile() -> None:
    store = BufferStore()
    store.attach(1, b"abc", 1)
    stale = store.get(1)
    assert stale is not None
    store.attach(1, b"new", 2)
    store._drop(1, stale)
    doc = store.get(1)
    assert doc is not None and doc.text == b"new"


def _snap(lines: list[str], row: int, first: int = 0, count: int | None = None) -> BufferSnapshot:
    return BufferSnapshot(
        path="/src/a.go",
        filetype="go",
        lines=tuple(lines),
        first_line=first,
        row=row,
        col=0,
        line_count=len(lines) + first if count is None else count,
    )


@needs("go")
def test_store_document_is_the_window_with_the_mirror_s_whole_text() -> None:
    store = BufferStore()
    text = GO.decode()
    lines = text.split("\n")
    window = lines[8:14]
    snap = _snap(window, 10, first=8, count=len(lines))
    doc = store.document(1, snap)  # not mirrored: the window alone
    assert (doc.text, doc.first_line, doc.whole, doc.lang) == ("\n".join(window), 8, None, "go")
    assert doc.tree is not None and doc.tree.root_node.end_point.row == len(window) - 1
    store.attach(1, GO, 1)
    mirrored = store.document(1, snap)
    assert mirrored.whole == text and mirrored.text == doc.text
    assert mirrored.whole_lines == lines
    # the mirror is not the buffer the request describes (a line more): no whole text
    assert store.document(1, _snap(window, 10, first=8, count=len(lines) + 1)).whole is None
    store.detach(1)
    assert store.document(1, snap).whole is None


@needs("go")
def test_store_document_reparses_from_the_previous_one() -> None:
    store = BufferStore()
    lines = GO.decode().split("\n")
    first = store.document(1, _snap(lines, 9))
    tree = first.tree
    assert tree is not None
    assert store.document(1, _snap(lines, 9)).tree is tree  # the same text: the same tree
    typed = list(lines)
    typed[9] = "\tvar b strings.Builder // ("
    second = store.document(1, _snap(typed, 9))
    assert second.tree is not None and second.tree is not tree
    fresh = Document.of_lines("a.go", "go", typed).tree
    assert fresh is not None and str(second.tree.root_node) == str(fresh.root_node)
    assert store.document(1, _snap(lines, 9), keep=False).tree is not None  # speculative: not kept
    assert store.document(1, _snap(typed, 9)).tree is second.tree
    assert store.document(2, _snap(typed, 9)).tree is not second.tree  # another buffer
    unknown = store.document(3, dataclasses.replace(_snap(typed, 9), filetype="", path="a.txt"))
    assert unknown.lang is None and unknown.tree is None


@needs("go")
def test_a_document_s_three_texts_and_their_trees() -> None:
    store = BufferStore()
    lines = GO.decode().split("\n")
    whole = "\n".join(lines)
    store.attach(1, whole.encode(), 1)
    window = _snap(lines[4:12], 9, first=4, count=len(lines))
    doc = store.document(1, window)
    assert doc.buffer_text == whole and doc.buffer_row == 9
    blanked = treesitter.with_line_blanked(lines, 9, "go")
    assert doc.blanked_text == blanked and doc.blanked_data == blanked.encode()
    for tree, text in ((doc.tree, doc.text), (doc.buffer_tree, whole), (doc.blanked_tree, blanked)):
        fresh = treesitter.parse("go", text.encode())
        assert tree is not None and fresh is not None
        assert str(tree.root_node) == str(fresh.root_node)
    # Not mirrored, the window is all of the buffer there is: one tree for both.
    alone = Document.of_snapshot(_snap(lines, 9))
    assert alone.buffer_text == alone.text and alone.buffer_tree is alone.tree
    assert alone.buffer_row == 9


@needs("go")
def test_typing_on_the_cursor_line_keeps_the_blanked_tree_and_what_was_carried() -> None:
    store = BufferStore()
    lines = GO.decode().split("\n")
    first = store.document(1, _snap(lines, 9))
    blanked = first.blanked_tree
    made: list[int] = []

    def make() -> str:
        made.append(1)
        return "scope"

    assert first.carried("rule", (first.blanked_data, 9), make) == "scope"
    typed = list(lines)
    typed[9] = "\tvar b strings.Builder // ("
    second = store.document(1, _snap(typed, 9))
    assert second.blanked_tree is blanked  # the line is blanked: the same text, the same tree
    assert second.carried("rule", (second.blanked_data, 9), lambda: "new") == "scope"
    # The cursor moves to another line: both lines change, the tree is reparsed from the old.
    third = store.document(1, _snap(typed, 3))
    fresh = treesitter.parse("go", treesitter.with_line_blanked(typed, 3, "go").encode())
    assert third.blanked_tree is not blanked and fresh is not None
    assert str(third.blanked_tree.root_node) == str(fresh.root_node)  # type: ignore[union-attr]
    assert third.carried("rule", (third.blanked_data, 3), lambda: "new") == "new"
    assert made == [1]


# --------------------------------------------------------------------------------------------
# Lines and windows


def test_replace_lines_like_nvim_buf_set_lines() -> None:
    doc = BufferDoc(b"a\nb\nc", 1)
    doc.replace_lines(1, 2, [b"B1", "B2é"], 2)
    assert doc.text == "a\nB1\nB2é\nc".encode()
    doc.replace_lines(4, 4, ["end"], 3)  # append
    doc.replace_lines(0, 0, [], 4)  # nothing
    assert doc.lines(0, 9) == ["a", "B1", "B2é", "c", "end"]
    doc.replace_lines(0, 5, [], 5)  # every line: one empty line is left
    assert (doc.text, doc.line_count, doc.tick) == (b"", 1, 5)
    with pytest.raises(EditError):
        doc.replace_lines(0, 2, ["x"], 6)
    with pytest.raises(EditError):
        doc.replace_lines(0, 1, ["x\ny"], 6)
    assert doc.tick == 5
    store = BufferStore()
    store.attach(3, b"x", 1)
    assert store.replace_lines(3, 0, 1, ["y", "z"], 2)
    assert not store.replace_lines(3, 5, 6, ["y"], 3)
    assert store.get(3) is None
    assert not store.replace_lines(3, 0, 0, ["y"], 3)


def test_replace_lines_of_a_block() -> None:
    doc = BufferDoc(GO, 1)
    lines = GO.split(b"\n")
    new = [b"\tfor _, name := range names {", b"\t\tb.WriteString(name)"]
    doc.replace_lines(9, 12, new, 2)
    assert_consistent(doc, b"\n".join([*lines[:9], *new, *lines[12:]]))


def test_snapshot_window() -> None:
    doc = BufferDoc(b"\n".join(b"line %d" % i for i in range(10)), 1)
    assert snapshot_window(doc, 5, 2, 2, 1) == (["line 3", "line 4", "line 5", "line 6"], 3)
    assert snapshot_window(doc, 1, 0, 4, 0) == (["line 0", "line 1"], 0)
    lines, first = snapshot_window(doc, 8, 6, 1, 10)
    assert (lines, first) == (["line 7", "line 8", "line 9"], 7)
    with pytest.raises(ValueError):
        snapshot_window(doc, 10, 0, 1, 1)
    with pytest.raises(ValueError):
        snapshot_window(doc, 3, 7, 1, 1)
    with pytest.raises(ValueError):
        snapshot_window(doc, -1, 0, 1, 1)


def test_edits_and_reads_from_two_threads() -> None:
    doc = BufferDoc(GO, 1)
    at = GO.index(b"var b")
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                with doc._lock:  # the text and the lines of one moment
                    text = doc.text
                    lines = doc.lines(0, doc.line_count)
                assert "\n".join(lines).encode() == text
        except BaseException as e:  # reported below
            errors.append(e)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(300):
            if i % 3 == 2:
                edit_doc(doc, at, 1, b"", i)
            else:
                edit_doc(doc, at, 0, b"a\n" if i % 2 else b"z", i)
    finally:
        done.set()
        reader.join()
    assert not errors
    assert_consistent(doc, doc.text)


# --------------------------------------------------------------------------------------------
# Random edit sequences: the document keeps the text and its line index every time

TOKENS = [
    "x",
    "name",
    "42",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\t",
    "\n    ",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ":",
    ";",
    ",",
    ".",
    "=",
    ":=",
    "+",
    '"',
    "'",
    "`",
    "#",
    "//",
    "/*",
    "*/",
    '"""',
    "def ",
    "func ",
    "return ",
    "if ",
    "for ",
    "é",
    "中",
    "🙂",
]


@st.composite
def random_edit(draw: st.DrawFn, text: bytes) -> tuple[int, int, bytes]:
    """(start, old length, new text) for the buffer `text`, at UTF-8 boundaries.

    Tokens typed or deleted anywhere; a letter typed after a letter (names grow, the code
    mostly stays valid); whole lines deleted, copied or replaced the way `dd`, `p`, `o` and
    nvim_buf_set_lines report them, reaching past the end of `text` like Neovim.
    """
    view = text + b"\n"
    kind = draw(st.sampled_from(["tokens", "tokens", "letter", "lines", "lines"]))
    if kind == "tokens":
        chars = text.decode("utf-8")
        a = draw(st.integers(0, len(chars)))
        b = draw(st.integers(a, min(len(chars), a + draw(st.sampled_from([0, 1, 3, 40])))))
        typed = "".join(draw(st.lists(st.sampled_from(TOKENS), max_size=4)))
        start = len(chars[:a].encode())
        return start, len(chars[a:b].encode()), typed.encode()
    if kind == "letter":
        after_letters = [i + 1 for i, c in enumerate(text) if chr(c).isascii() and chr(c).isalpha()]
        after_letters = after_letters or [0]
        return draw(st.sampled_from(after_letters)), 0, draw(st.sampled_from([b"x", b"Q"]))
    starts = [0] + [i + 1 for i, c in enumerate(view) if c == 0x0A]  # the last is len(view)
    count = len(starts) - 1
    first = draw(st.integers(0, count))
    last = draw(st.integers(first, min(count, first + 3)))
    existing = view.split(b"\n")[:-1]
    pool = st.sampled_from(existing) | st.sampled_from([b"", b"x = 1", b"\tif y {", b"}", b"pass"])
    new = b"".join(line + b"\n" for line in draw(st.lists(pool, max_size=3)))
    if first == 0 and last == count and not new and draw(st.booleans()):
        return 0, len(view), b"\n"  # `dd` on the only line: "\n" is left
    return starts[first], starts[last] - starts[first], new


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_edits_keep_the_text(data: st.DataObject) -> None:
    _lang, source = data.draw(st.sampled_from(SOURCES), label="source")
    doc = BufferDoc(source, 0)
    text = source
    for tick in range(1, data.draw(st.integers(1, 12), label="edits") + 1):
        start, old_len, new = data.draw(random_edit(text))
        doc.replace_lines(*line_edit(text, start, old_len, new), tick)
        text = splice(text, start, old_len, new)
        assert doc.text == text
        if data.draw(st.booleans(), label="check now"):
            assert_consistent(doc, text)
    assert_consistent(doc, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_edits_undone_give_back_the_source(data: st.DataObject) -> None:
    """Edits, then the same edits undone in reverse order (as `u` does): the source again."""
    _lang, source = data.draw(st.sampled_from(SOURCES), label="source")
    doc = BufferDoc(source, 0)
    text = source
    undo: list[tuple[int, int, bytes]] = []
    for tick in range(1, data.draw(st.integers(1, 10), label="edits") + 1):
        start, old_len, new = data.draw(random_edit(text))
        before = text
        doc.replace_lines(*line_edit(text, start, old_len, new), tick)
        text = splice(text, start, old_len, new)
        if text + b"\n" == (before + b"\n")[:start] + new + (before + b"\n")[start + old_len :]:
            undo.append((start, len(new), (before + b"\n")[start : start + old_len]))
        else:  # every line went, one empty line is left: undo puts the whole text back
            undo.append((0, len(text) + 1, before + b"\n"))
    for tick, (start, old_len, new) in enumerate(reversed(undo), start=100):
        doc.replace_lines(*line_edit(text, start, old_len, new), tick)
        text = splice(text, start, old_len, new)
    assert text == source
    assert_consistent(doc, source)


@given(data=st.data())
@settings(max_examples=200, deadline=None)
def test_random_edits_keep_the_line_index(data: st.DataObject) -> None:
    """Many small edits all over a buffer: lines() always agrees."""
    text = b"\n".join(b"line %d" % i for i in range(40))
    doc = BufferDoc(text, 0)
    for tick in range(data.draw(st.integers(1, 30))):
        start, old_len, new = data.draw(random_edit(text))
        doc.replace_lines(*line_edit(text, start, old_len, new), tick)
        text = splice(text, start, old_len, new)
        row = data.draw(st.integers(0, doc.line_count))
        expected = text.decode().split("\n")
        assert doc.lines(row, row + 2) == expected[row : row + 2]
        assert doc.line_count == len(expected)
    assert_consistent(doc, text)


# --------------------------------------------------------------------------------------------
# A real Neovim: record its events for many kinds of edits, replay them here

RECORD_LUA = r"""
-- Records, for each step, what nvim_buf_attach reports: on_bytes events with the new text
-- read inside the callback; on_lines events with the new lines read inside the callback; and
-- the rows the on_bytes events touched, with the lines read after the step (the "hull").
local out_path, init_path = _G.arg[1], _G.arg[2]
local f = assert(io.open(init_path, "rb"))
local initial = vim.json.decode(f:read("*a"))
f:close()
vim.o.undolevels = 1000
local buf = vim.api.nvim_get_current_buf()
vim.bo[buf].textwidth = 0
vim.api.nvim_buf_set_lines(buf, 0, -1, false, initial)
local function text() return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n") end
local result = { text = text(), tick = vim.api.nvim_buf_get_changedtick(buf), steps = {} }
local bytes_events, lines_events, hull = {}, {}, nil
local known_lc = vim.api.nvim_buf_line_count(buf)

-- The new text of an on_bytes region: the lines it spans, each followed by "\n".
local function region_text(sr, sc, ner, nb)
  local ls = vim.api.nvim_buf_get_lines(buf, sr, sr + ner + 1, false)
  return (table.concat(ls, "\n") .. "\n"):sub(sc + 1, sc + nb)
end

vim.api.nvim_buf_attach(buf, false, {
  on_bytes = function(_, _, tick, sr, sc, sb, oer, oec, ob, ner, nec, nb)
    table.insert(bytes_events,
      { tick, sr, sc, sb, oer, oec, ob, ner, nec, nb, region_text(sr, sc, ner, nb) })
    local old_last, new_last = sr + oer + 1, sr + ner + 1
    if hull == nil then
      hull = { first = sr, last = new_last }
    else
      hull.first = math.min(hull.first, sr)
      if hull.last >= old_last then
        hull.last = hull.last + ner - oer
      else
        hull.last = new_last
      end
    end
  end,
  on_lines = function(_, _, tick, first, last, new_last)
    table.insert(lines_events,
      { tick, first, last, vim.api.nvim_buf_get_lines(buf, first, new_last, false) })
  end,
})

local function step(name, fn)
  bytes_events, lines_events, hull = {}, {}, nil
  fn()
  local lc = vim.api.nvim_buf_line_count(buf)
  local s = { name = name, bytes = bytes_events, lines = lines_events, text = text(),
              tick = vim.api.nvim_buf_get_changedtick(buf) }
  if hull then
    -- rows after the hull did not change: count them from the end, old and new
    local last = math.min(hull.last, lc)
    local first = math.min(hull.first, last)
    s.hull = { first, known_lc - (lc - last), vim.api.nvim_buf_get_lines(buf, first, last, false) }
  end
  known_lc = lc
  table.insert(result.steps, s)
  vim.cmd("let &undolevels = &undolevels") -- an undo break between steps
end

local function keys(k)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(k, true, false, true), "xt", false)
end
local function normal(k)
  vim.cmd("normal! " .. vim.api.nvim_replace_termcodes(k, true, false, true))
end
local function cursor(r, c) vim.api.nvim_win_set_cursor(0, { r, c }) end

step("type at end of line", function() cursor(1, 0); keys("A // note<Esc>") end)
step("type a new line with backspaces", function() cursor(3, 0); keys("ox := 1<BS><BS>2<Esc>") end)
step("split a line (Enter)", function() cursor(1, 4); keys("i<CR><Esc>") end)
step("x", function() cursor(2, 0); normal("x") end)
step("5x", function() cursor(2, 0); normal("5x") end)
step("type multibyte", function() cursor(2, 0); keys("iñé中🙂 <Esc>") end)
step("x on multibyte", function() cursor(2, 0); normal("lx") end)
step("r multibyte", function() cursor(2, 0); normal("ré") end)
step("dd in the middle", function() cursor(3, 0); normal("dd") end)
step("dd the last line", function() normal("Gdd") end)
step("yyp after the last line", function() normal("Gyyp") end)
step("yyP at the top", function() normal("ggyyP") end)
step("p two lines at the end", function() normal("gg2yyGp") end)
step("J", function() cursor(2, 0); normal("J") end)
step("3J", function() cursor(2, 0); normal("3J") end)
step(":s once per line", function() vim.cmd("silent! %s/func/fn/") end)
step(":s several per line", function() vim.cmd("silent! %s/e/E/g") end)
step("undo :s", function() normal("u") end)
step("undo :s again", function() normal("u") end)
step("redo :s", function() normal("<C-r>") end)
step("undo an insert session", function()
  cursor(1, 0); keys("oa<CR>b<CR>c<Esc>"); vim.cmd("let &undolevels = &undolevels"); normal("u")
end)
step("visual block insert", function() cursor(1, 0); keys("<C-v>2jIZZ<Esc>") end)
step(">>", function() cursor(2, 0); normal(">>") end)
step(">2j", function() cursor(2, 0); normal(">2j") end)
step("ciw", function() cursor(1, 0); keys("wciwNEW<Esc>") end)
step("set_text multi-line", function()
  vim.api.nvim_buf_set_text(buf, 1, 2, 2, 1, { "AA", "BB", "CC" })
end)
step("set_text at the end", function()
  local lc = vim.api.nvim_buf_line_count(buf)
  local last = vim.api.nvim_buf_get_lines(buf, lc - 1, lc, true)[1]
  vim.api.nvim_buf_set_text(buf, lc - 1, #last, lc - 1, #last, { "", "tail" })
end)
step("set_lines append", function()
  vim.api.nvim_buf_set_lines(buf, -1, -1, false, { "app1", "app2" })
end)
step("set_lines replace", function() vim.api.nvim_buf_set_lines(buf, 1, 3, false, { "one" }) end)
step(":g delete", function() vim.cmd("silent! g/^\\s*$/d") end)
step("sort", function() vim.cmd("2,5sort") end)
step("ggdG", function() normal("ggdG") end)
step("type in an empty buffer", function() keys("ihello<CR>world<Esc>") end)
step("dj the whole buffer", function() normal("ggdj") end)
step("set_lines everything", function() vim.api.nvim_buf_set_lines(buf, 0, -1, false, initial) end)
step("set_lines to nothing", function() vim.api.nvim_buf_set_lines(buf, 0, -1, false, {}) end)
step("o in an empty buffer", function() keys("ofirst<Esc>") end)
step("set_lines back", function() vim.api.nvim_buf_set_lines(buf, 0, -1, false, initial) end)

local o = assert(io.open(out_path, "wb"))
o:write(vim.json.encode(result))
o:close()
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    binary = shutil.which(nvim_binary())
    if binary is None:
        pytest.skip("no nvim")
    work = tmp_path_factory.mktemp("on_bytes")
    script = work / "record.lua"
    script.write_text(RECORD_LUA, encoding="utf-8")
    init = work / "init.json"
    init.write_text(json.dumps(GO.decode().split("\n")), encoding="utf-8")
    out = work / "out.json"
    subprocess.run(
        [binary, "--headless", "--clean", "-l", str(script), str(out), str(init)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert len(result["steps"]) == 38
    return result


def replay(recorded: dict[str, Any], apply: Any, skip: frozenset[str] = frozenset()) -> list[str]:
    """Replay every step into a store; resync (attach) after the skipped ones.

    Returns the names of the steps that were applied and checked.
    """
    store = BufferStore()
    store.attach(1, recorded["text"].encode(), recorded["tick"])
    checked = []
    for step in recorded["steps"]:
        want = step["text"].encode()
        if step["name"] in skip:
            store.attach(1, want, step["tick"])
            continue
        assert apply(store, step), step["name"]
        doc = store.get(1)
        assert doc is not None, step["name"]
        assert doc.text == want, step["name"]
        assert doc.tick <= step["tick"], step["name"]  # undo also bumps the tick alone
        assert_consistent(doc, want)
        checked.append(step["name"])
    return checked


def _on_lines(store: BufferStore, step: dict[str, Any]) -> bool:
    return all(
        store.replace_lines(1, first, last, lines, tick)
        for tick, first, last, lines in step["lines"]
    )


def _hull(store: BufferStore, step: dict[str, Any]) -> bool:
    if "hull" not in step:
        return True
    first, last, lines = step["hull"]
    return store.replace_lines(1, first, last, lines, step["tick"])


@needs("go")
@pytest.mark.nvim
def test_neovim_on_lines_events_replay(recorded: dict[str, Any]) -> None:
    assert len(replay(recorded, _on_lines)) == 38


@needs("go")
@pytest.mark.nvim
def test_neovim_on_bytes_rows_with_lines_read_after_the_change_replay(
    recorded: dict[str, Any],
) -> None:
    assert len(replay(recorded, _hull)) == 38
    events = [event for step in recorded["steps"] for event in step["bytes"]]
    assert any(event[5] > 0 for event in events)  # edits within a line
    assert any(event[4] > 0 for event in events)  # edits across lines (old extent)
    assert any(event[7] > 0 for event in events)  # edits across lines (new extent)
