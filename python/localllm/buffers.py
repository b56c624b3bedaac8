"""Buffers mirrored from Neovim, kept in sync edit by edit, each with an incremental syntax tree.

Neovim's Lua side attaches to a buffer (`nvim_buf_attach`) and forwards its changes: each
`on_bytes` event becomes a ByteEdit. A BufferDoc splices the edit into its copy of the text,
keeps a line-offset index up to date and tells the syntax tree about the edit, so the next
`tree()` reparses only what changed instead of the whole file.

Coordinates follow Neovim and tree-sitter: rows are 0-based, columns are byte offsets in the
line, byte offsets count from the start of the buffer with every line ending in "\\n".

Like Neovim's own reports, a BufferDoc sees the buffer as its lines each followed by "\\n":
the last line too, so an edit can reach one byte past the end of `text` (deleting the last line
deletes "line\\n"; appending a line inserts "line\\n" after the final newline). Internally the
text is kept with that final newline, and the tree is parsed from it; `text` and `lines()`
leave it out. A buffer has at least one line: an edit that would leave nothing at all (Neovim
reports deleting every line like that) leaves one empty line, as the buffer itself does.

An edit that does not fit what the document knows (positions out of range, a start byte or an
end that disagrees with the rows and columns, new text of the wrong size or shape) raises
EditError and changes nothing: the mirror is out of sync and the caller must resync.

Where the new text comes from matters. Neovim 0.11 calls `on_bytes` for `J` and `:s` before it
rewrites the line, so text read with `nvim_buf_get_text` inside the callback is the old text
there (positions are right; `:s` then gives text of the right size but wrong content, which no
check here can see). Text read inside an `on_lines` callback is current, as its documentation
promises; so are lines read after the command. `replace_lines()` takes either: `on_lines`
events as they come, or the rows the `on_bytes` events of one command touched, read once the
command is over. tests/test_buffers.py records all three from a real Neovim and replays them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from tree_sitter import Parser, Tree

from localllm import treesitter, utf8

__all__ = [
    "BufferDoc",
    "BufferStore",
    "ByteEdit",
    "EditError",
    "snapshot_window",
]

_NL = 0x0A

Point = tuple[int, int]


class EditError(ValueError):
    """An edit that does not fit the document: its copy of the buffer is out of sync."""


@dataclass(frozen=True, slots=True)
class ByteEdit:
    """One change to a buffer, as Neovim's `on_bytes` reports it, with the new text.

    `start_*` is where the change starts (row, byte column, byte offset in the buffer). The
    `old_end_*` and `new_end_*` fields are extents relative to the start: rows spanned, then the
    column (relative to `start_col` when the row extent is 0, else from the start of the
    line), then the length in bytes; `old_*` for the text replaced, `new_*` for its
    replacement. `text` is the replacement itself, `new_end_byte` bytes, newlines included.
    """

    start_row: int
    start_col: int
    start_byte: int
    old_end_row: int
    old_end_col: int
    old_end_byte: int
    new_end_row: int
    new_end_col: int
    new_end_byte: int
    text: bytes


def _end_point(row: int, col: int, extent_row: int, extent_col: int) -> Point:
    """The absolute end of an extent that starts at (row, col)."""
    return (row + extent_row, col + extent_col if extent_row == 0 else extent_col)


class BufferDoc:
    """One buffer: its text, changedtick, language and an incrementally updated syntax tree.

    `text` is the buffer's lines joined with "\\n" (as `nvim_buf_get_lines` gives them, without
    a trailing newline). Every method is thread-safe: the editor applies edits while the engine
    reads. A tree returned by `tree()` is never modified afterwards (edits go to a copy), so a
    reader may keep using it; it describes the text as it was when it was returned.
    `full_parses` and `incremental_parses` count the parses made, for tests and benchmarks.
    """

    def __init__(self, text: bytes, tick: int, lang: str | None) -> None:
        self.tick = tick
        self.lang = lang
        self.full_parses = 0
        self.incremental_parses = 0
        self._lock = threading.RLock()
        self._buf = bytearray(text)
        self._buf.append(_NL)
        # Byte offset where each line starts, plus len(self._buf) at the end. Entries from index
        # _shift_from on are stored `_shift` bytes short: typing on one line then moves the rest
        # of the index by changing one number, and moving to another line costs the distance.
        self._starts = [0, *accumulate(len(line) + 1 for line in text.split(b"\n"))]
        self._shift_from = 0
        self._shift = 0
        self._text: bytes | None = bytes(text)
        self._data: bytes | None = None
        self._parser: Parser | None = None
        self._parser_loaded = False
        self._tree: Tree | None = None  # the last tree parsed; never edited in place
        self._edited: Tree | None = None  # a copy of it with the edits since, when there are any

    # ----------------------------------------------------------------------------------------
    # Views

    @property
    def text(self) -> bytes:
        """The buffer's lines joined with "\\n", without a trailing newline."""
        with self._lock:
            if self._text is None:
                self._text = bytes(memoryview(self._buf)[:-1])
            return self._text

    @property
    def line_count(self) -> int:
        with self._lock:
            return len(self._starts) - 1

    def lines(self, start: int, end: int) -> list[str]:
        """Lines [start, end) decoded from UTF-8 (invalid bytes kept with surrogateescape).

        Out-of-range bounds are clamped, as `nvim_buf_get_lines` does with `strict_indexing`
        off.
        """
        with self._lock:
            count = len(self._starts) - 1
            start = max(0, min(start, count))
            end = max(start, min(end, count))
            if start == end:
                return []
            chunk = self._buf[self._start(start) : self._start(end) - 1]
            return utf8.decode(chunk).split("\n")

    def tree(self) -> Tree | None:
        """The syntax tree of the text (with its final newline); None without a grammar.

        Parses the whole text the first time, then only reparses after edits, incrementally
        from the previous tree.
        """
        with self._lock:
            parser = self._get_parser()
            if parser is None:
                return None
            if self._tree is None:
                self._tree = parser.parse(self._bytes())
                self._edited = None
                self.full_parses += 1
            elif self._edited is not None:
                self._tree = parser.parse(self._bytes(), self._edited)
                self._edited = None
                self.incremental_parses += 1
            return self._tree

    def parsed(self) -> tuple[bytes, Tree | None, int]:
        """`(text, tree, tick)` taken together, so the tree's byte offsets index that text."""
        with self._lock:
            return self.text, self.tree(), self.tick

    # ----------------------------------------------------------------------------------------
    # Edits

    def apply(self, edit: ByteEdit, tick: int) -> None:
        """Apply one `on_bytes` change; raise EditError (changing nothing) when it does not fit."""
        with self._lock:
            start, old_end, start_point, old_end_point, new_end_point = self._check(edit)
            self._splice(start, old_end, edit.text, start_point, old_end_point, new_end_point)
            self._keep_final_newline()
            self.tick = tick

    def replace_lines(self, first: int, last: int, lines: Sequence[bytes | str], tick: int) -> None:
        """Replace lines [first, last) with `lines`, as `nvim_buf_set_lines` does.

        This is what an `on_lines` event describes (firstline, lastline, and the new lines
        read from the buffer), and a way to forward a batch of changes whose region is known
        by whole lines. Raises EditError (changing nothing) when the range does not fit.
        """
        encoded = [
            utf8.encode(line) if isinstance(line, str) else line for line in lines
        ]
        if any(b"\n" in line for line in encoded):
            raise EditError("a line contains a newline")
        with self._lock:
            count = len(self._starts) - 1
            if not 0 <= first <= last <= count:
                raise EditError(f"lines [{first}, {last}) outside the buffer (0..{count})")
            new = b"".join(line + b"\n" for line in encoded)
            self._splice(
                self._start(first),
                self._start(last),
                new,
                (first, 0),
                (last, 0),
                (first + len(encoded), 0),
            )
            self._keep_final_newline()
            self.tick = tick

    # ----------------------------------------------------------------------------------------
    # Internals

    def _start(self, row: int) -> int:
        """Byte offset where line `row` starts; row == line_count gives the end of the text."""
        offset = self._starts[row]
        return offset + self._shift if row >= self._shift_from else offset

    def _line_length(self, row: int) -> int:
        """Bytes in line `row` without its newline; 0 for the position after the last line."""
        if row == len(self._starts) - 1:
            return 0
        return self._start(row + 1) - 1 - self._start(row)

    def _check(self, edit: ByteEdit) -> tuple[int, int, Point, Point, Point]:
        fields = (
            edit.start_row,
            edit.start_col,
            edit.start_byte,
            edit.old_end_row,
            edit.old_end_col,
            edit.old_end_byte,
            edit.new_end_row,
            edit.new_end_col,
            edit.new_end_byte,
        )
        if min(fields) < 0:
            raise EditError(f"negative position in {edit}")
        count = len(self._starts) - 1
        row, col = edit.start_row, edit.start_col
        if row > count or col > self._line_length(row):
            raise EditError(f"start ({row}, {col}) outside the buffer")
        start = self._start(row) + col
        if start != edit.start_byte:
            raise EditError(f"start byte {edit.start_byte} is not ({row}, {col}) = byte {start}")
        old_end_point = _end_point(row, col, edit.old_end_row, edit.old_end_col)
        end_row, end_col = old_end_point
        if end_row > count or end_col > self._line_length(end_row):
            raise EditError(f"old end {old_end_point} outside the buffer")
        old_end = self._start(end_row) + end_col
        if old_end - start != edit.old_end_byte:
            raise EditError(
                f"old end {old_end_point} is {old_end - start} bytes from the start,"
                f" not {edit.old_end_byte}"
            )
        text = edit.text
        newlines = text.count(b"\n")
        last_line = len(text) - (text.rfind(b"\n") + 1) if newlines else len(text)
        if (len(text), newlines, last_line) != (
            edit.new_end_byte,
            edit.new_end_row,
            edit.new_end_col,
        ):
            raise EditError(
                f"new text of {len(text)} bytes, {newlines} newlines, {last_line} bytes on its"
                f" last line does not match the new end ({edit.new_end_row},"
                f" {edit.new_end_col}, {edit.new_end_byte})"
            )
        new_end_point = _end_point(row, col, edit.new_end_row, edit.new_end_col)
        return start, old_end, (row, col), old_end_point, new_end_point

    def _splice(
        self,
        start: int,
        old_end: int,
        text: bytes,
        start_point: Point,
        old_end_point: Point,
        new_end_point: Point,
    ) -> None:
        """Replace bytes [start, old_end) with `text`; the points are absolute (row, col)."""
        self._buf[start:old_end] = text
        # The index: the starts of the lines after the start row that began inside the old
        # region go; those of the lines begun by newlines in `text` come; later ones move.
        first = start_point[0] + 1
        self._move_shift(first)
        self._shift += len(text) - (old_end - start)
        base = start + 1 - self._shift
        new_starts: list[int] = []
        at = text.find(b"\n")
        while at >= 0:
            new_starts.append(base + at)
            at = text.find(b"\n", at + 1)
        self._starts[first : old_end_point[0] + 1] = new_starts
        self._text = None
        self._data = None
        if self._tree is not None:
            if self._edited is None:
                self._edited = self._tree.copy()
            self._edited.edit(
                start,
                old_end,
                start + len(text),
                start_point,
                old_end_point,
                new_end_point,
            )

    def _move_shift(self, index: int) -> None:
        """Make the pending shift of the index apply from `index` on (cost: the distance)."""
        old, shift = self._shift_from, self._shift
        if shift and old != index:
            starts = self._starts
            if old < index:
                starts[old:index] = [offset + shift for offset in starts[old:index]]
            else:
                starts[index:old] = [offset - shift for offset in starts[index:old]]
        self._shift_from = index

    def _keep_final_newline(self) -> None:
        """Give back the final newline (and so the one empty line) an edit took away."""
        if self._buf and self._buf[-1] == _NL:
            return
        end = len(self._buf)
        row = len(self._starts) - 1  # the unterminated last line (or row 0 of nothing)
        point = (row, end - self._start(row))
        self._splice(end, end, b"\n", point, point, (row + 1, 0))

    def _bytes(self) -> bytes:
        if self._data is None:
            self._data = bytes(self._buf)
        return self._data

    def _get_parser(self) -> Parser | None:
        if not self._parser_loaded:
            self._parser_loaded = True
            shared = treesitter.get_parser(self.lang) if self.lang else None
            language = shared.language if shared is not None else None
            # A parser of our own: no lock shared with other documents, and its reuse state
            # follows this document's trees.
            self._parser = Parser(language) if language is not None else None
        return self._parser


class BufferStore:
    """All attached buffers by number; thread-safe: the engine reads while the editor writes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._docs: dict[int, BufferDoc] = {}

    def attach(self, bufnr: int, text: bytes, tick: int, lang: str | None) -> None:
        """Start (or restart, after a resync) mirroring a buffer from its whole text."""
        doc = BufferDoc(text, tick, lang)
        with self._lock:
            self._docs[bufnr] = doc

    def edit(self, bufnr: int, edits: Sequence[ByteEdit], tick: int) -> bool:
        """Apply a batch of edits, in order, as one change ending at `tick`.

        False when the buffer is unknown or an edit does not fit; the document is then
        dropped, and the caller must attach the buffer again with its whole text.
        """
        doc = self.get(bufnr)
        if doc is None:
            return False
        try:
            with doc._lock:  # readers see the batch whole or not at all
                for one in edits:
                    doc.apply(one, tick)
                doc.tick = tick
        except EditError:
            self._drop(bufnr, doc)
            return False
        return True

    def replace_lines(
        self, bufnr: int, first: int, last: int, lines: Sequence[bytes | str], tick: int
    ) -> bool:
        """`BufferDoc.replace_lines` on a buffer; False (and dropped) as `edit()`."""
        doc = self.get(bufnr)
        if doc is None:
            return False
        try:
            doc.replace_lines(first, last, lines, tick)
        except EditError:
            self._drop(bufnr, doc)
            return False
        return True

    def detach(self, bufnr: int) -> None:
        with self._lock:
            self._docs.pop(bufnr, None)

    def get(self, bufnr: int) -> BufferDoc | None:
        with self._lock:
            return self._docs.get(bufnr)

    def line_counts(self) -> dict[int, int]:
        """bufnr -> line count of every mirrored buffer (status, tests)."""
        with self._lock:
            docs = dict(self._docs)
        return {bufnr: doc.line_count for bufnr, doc in docs.items()}

    def _drop(self, bufnr: int, doc: BufferDoc) -> None:
        with self._lock:
            if self._docs.get(bufnr) is doc:  # not a document attached since
                del self._docs[bufnr]


def snapshot_window(
    doc: BufferDoc, row: int, col: int, before: int, after: int
) -> tuple[list[str], int]:
    """The lines around the cursor for the context builder: `(lines, first_line)`.

    `lines` are buffer lines [row - before, row + after] clipped to the buffer; `lines[0]` is
    line `first_line`. The cursor (0-based row, byte column in that line) must be in the
    buffer, else ValueError: the cursor and the document disagree, the mirror is stale.
    """
    with doc._lock:
        count = doc.line_count
        if not 0 <= row < count:
            raise ValueError(f"cursor row {row} outside the buffer (0..{count - 1})")
        length = doc._line_length(row)
        if not 0 <= col <= length:
            raise ValueError(f"cursor column {col} outside line {row} (0..{length})")
        first = max(0, row - max(0, before))
        return doc.lines(first, row + max(0, after) + 1), first
