"""One request's view of a buffer: the lines it carries, their language and trees, each parsed once.

A Document is made per request (`BufferStore.document()`, or `Document.of_snapshot()`) and
handed to everyone who reads the buffer for that request: the context builder, the rules, the
explain prompt. It has three texts, each with a tree parsed lazily, at most once:

- `text`, the window of lines the request carries (`tree`): what the prompt is cut from;
- `buffer_text`, the whole buffer when the host mirrors it, else the window (`buffer_tree`):
  what the Go error rule reads a function from;
- the same with the cursor line blanked (`blanked_tree`): what the definitions near the cursor
  and the names in scope at a log call are read from, so that typing on the line does not
  change it.

Each tree is an incremental reparse of the same tree of the buffer's previous Document
(`previous=`) when there is one: a keystroke costs a fraction of a parse. No tree is kept
anywhere else: a Document holds its buffer's trees, and `BufferStore` its buffers' last
Documents.

While a bracket or a string is left open (the normal state while typing), tree-sitter's
incremental reparse of a 10,000-line file costs tens of milliseconds (its error recovery
reaches to the end of the file), that of a window well under one: so the prompt is cut from
the window's tree, and the whole buffer is parsed only for what asks for it (a rule, the
definitions), with the cursor line blanked where that will do.

Rows of `tree` are rows of `text`: buffer row = tree row + `first_line`; rows of the other two
trees are rows of `buffer_text` (`buffer_row` is the cursor's).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from tree_sitter import Tree

from . import languages, treesitter, utf8
from .languages.base import Language
from .treesitter import TreeOf
from .types import BufferSnapshot

__all__ = ["HEAD_LINES", "Document", "reparse"]

HEAD_LINES = 400  # the imports of a mirrored buffer are looked for in its first lines


class _LazyTree:
    """The tree of one text of a Document: parsed on first use, once (thread-safe), from the
    same tree of the previous Document when there is one. Keeps no Document alive."""

    __slots__ = ("_data", "_lock", "_make", "_old", "_parsed", "_text", "_tree", "_via", "lang")

    def __init__(self, lang: str | None, text: Callable[[], str]) -> None:
        self.lang = lang
        self._make: Callable[[], str] | None = text  # dropped once used: it holds the Document
        self._text: str | None = None
        self._data: bytes | None = None
        self._old: _LazyTree | None = None  # the previous Document's, while not parsed
        self._via: tuple[bytes, ...] = ()
        self._tree: Tree | None = None
        self._parsed = False
        self._lock = threading.Lock()

    @property
    def text(self) -> str:
        if self._text is None:
            assert self._make is not None
            self._text, self._make = self._make(), None
        return self._text

    @property
    def data(self) -> bytes:
        """The text in UTF-8 (invalid bytes kept with surrogateescape): the tree's bytes."""
        if self._data is None:
            self._data = utf8.encode(self.text)
        return self._data

    @property
    def parsed(self) -> bool:
        return self._parsed

    def follow(self, old: _LazyTree, via: Sequence[bytes] = ()) -> None:
        """Reparse from `old` (the previous Document's tree of this text) when it was parsed;
        `via`: texts it became on its way to this one (see reparse())."""
        if old.parsed and old.lang == self.lang:
            self._old, self._via = old, tuple(via)

    def tree(self) -> Tree | None:
        if self._parsed:
            return self._tree
        with self._lock:
            if not self._parsed:
                old, self._old = self._old, None
                self._tree = self._parse(old)
                self._parsed = True
            return self._tree

    def _parse(self, old: _LazyTree | None) -> Tree | None:
        if self.lang is None:
            return None
        if old is None:
            return treesitter.parse(self.lang, self.data)
        return reparse(self.lang, old.tree(), old.data, self.data, self._via)


def reparse(
    lang: str, old: Tree | None, old_data: bytes, data: bytes, via: Sequence[bytes] = ()
) -> Tree | None:
    """The tree of `data` from `old`, the tree of `old_data`: an incremental reparse of what
    differs (`old` is left as it is); a full parse without `old`.

    `via` are texts `old_data` became on its way to `data`, when known: the change is then
    several small edits rather than one span from the first to the last (a line blanked at one
    place and restored at another, far away)."""
    if old is None:
        return treesitter.parse(lang, data)
    if old_data == data:
        return old
    edited = old.copy()
    before = old_data
    for after in (*via, data):
        if after != before:
            treesitter.describe_edit(edited, before, after)
            before = after
    return treesitter.parse(lang, data, edited)


class Document:
    """The lines of a buffer a request carries, their language record and their trees (each
    parsed on first use, once), with the whole buffer's text when the host mirrors it.

    Identity matters, not value: two Documents of the same text are two requests. Thread-safe:
    a tree is parsed once even when two threads ask for it at the same time.
    """

    __slots__ = (
        "_blanked",
        "_buffer",
        "_buffer_is_window",
        "_carried",
        "_head",
        "_lines",
        "_whole_lines",
        "_window",
        "cursor_row",
        "first_line",
        "language",
        "path",
        "text",
        "whole",
    )

    def __init__(
        self,
        path: str,
        text: str,
        language: Language | None,
        *,
        first_line: int = 0,
        whole: str | None = None,
        cursor_row: int | None = None,
    ) -> None:
        self.path = path
        self.text = text  # the lines the tree covers, joined with "\n"
        self.language = language
        self.first_line = first_line  # the buffer row of text's first line
        self.whole = whole  # the whole buffer's text, when known
        self.cursor_row = cursor_row  # the buffer row of the cursor, when there is one
        self._lines: list[str] | None = None
        self._whole_lines: list[str] | None = None
        self._head: tuple[str, str] | None = None  # (head text, its imports), see head_imports
        self._carried: dict[str, tuple[object, object]] = {}  # see carried()
        lang = None if language is None else language.name
        self._window = _LazyTree(lang, lambda: self.text)
        # A buffer the window holds all of has one tree.
        self._buffer_is_window = whole is None or (first_line == 0 and whole == text)
        self._buffer = (
            self._window if self._buffer_is_window else _LazyTree(lang, lambda: self.buffer_text)
        )
        self._blanked = _LazyTree(lang, self._blanked_text)

    @classmethod
    def of_lines(
        cls,
        path: str,
        filetype: str,
        lines: Sequence[str],
        *,
        first_line: int = 0,
        whole: str | None = None,
        cursor_row: int | None = None,
        previous: Document | None = None,
    ) -> Document:
        """The Document of `lines` (buffer rows from `first_line` on) of the buffer `path`.

        `previous`: the last Document of this buffer, to reparse incrementally from its trees.
        """
        record = languages.for_buffer(filetype, path)
        doc = cls(
            path,
            "\n".join(lines),
            record,
            first_line=first_line,
            whole=whole,
            cursor_row=cursor_row,
        )
        if record is not None and previous is not None and previous.language is record:
            doc._follow(previous)
        return doc

    @classmethod
    def of_snapshot(
        cls, snap: BufferSnapshot, *, whole: str | None = None, previous: Document | None = None
    ) -> Document:
        """The Document of the lines a completion request carries (see of_lines())."""
        return cls.of_lines(
            snap.path,
            snap.filetype,
            snap.lines,
            first_line=snap.first_line,
            whole=whole,
            cursor_row=snap.row,
            previous=previous,
        )

    # ----------------------------------------------------------------------------------------
    # The window

    @property
    def lang(self) -> str | None:
        """The language id ("go", "python" …), None when the buffer's language is unknown."""
        return None if self.language is None else self.language.name

    @property
    def data(self) -> bytes:
        """`text` in UTF-8 (invalid bytes kept with surrogateescape): the tree's bytes."""
        return self._window.data

    @property
    def lines(self) -> list[str]:
        """The lines of `text` (a list made once; do not change it)."""
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines

    @property
    def parsed(self) -> bool:
        """Whether the window's tree has been asked for already (then `tree` costs nothing)."""
        return self._window.parsed

    @property
    def tree(self) -> Tree | None:
        """The syntax tree of `data`, parsed on first use; None without a grammar. Callers must
        not edit it (`Tree.copy()` first)."""
        return self._window.tree()

    # ----------------------------------------------------------------------------------------
    # The whole buffer, as far as the host knows it

    @property
    def whole_lines(self) -> list[str] | None:
        """The lines of `whole` (a list made once; do not change it); None without it."""
        if self._whole_lines is None and self.whole is not None:
            self._whole_lines = self.whole.split("\n")
        return self._whole_lines

    @property
    def buffer_text(self) -> str:
        """The buffer's text as the host knows it: the mirror's, else the window."""
        return self.text if self.whole is None else self.whole

    @property
    def buffer_lines(self) -> list[str]:
        """The lines of `buffer_text` (a list made once; do not change it)."""
        whole = self.whole_lines
        return self.lines if whole is None else whole

    @property
    def buffer_row(self) -> int:
        """The cursor's row in `buffer_text` (0 without a cursor)."""
        row = 0 if self.cursor_row is None else self.cursor_row
        return row if self.whole is not None else row - self.first_line

    @property
    def buffer_data(self) -> bytes:
        """`buffer_text` in UTF-8 (as `data`)."""
        return self._buffer.data

    @property
    def buffer_tree(self) -> Tree | None:
        """The tree of `buffer_data` (the window's own when that is all the host knows)."""
        return self._buffer.tree()

    @property
    def blanked_text(self) -> str:
        """`buffer_text` with the cursor line reduced to its indentation (see
        treesitter.with_line_blanked)."""
        return self._blanked.text

    @property
    def blanked_data(self) -> bytes:
        """`blanked_text` in UTF-8 (as `data`)."""
        return self._blanked.data

    @property
    def blanked_tree(self) -> Tree | None:
        """The tree of `blanked_data`: what typing on the cursor line does not change."""
        return self._blanked.tree()

    def tree_of(self) -> TreeOf:
        """`tree`, asked for only when called (for code that may not need it)."""
        return self._window.tree

    def buffer_tree_of(self) -> TreeOf:
        """`buffer_tree`, asked for only when called."""
        return self._buffer.tree

    def blanked_tree_of(self) -> TreeOf:
        """`blanked_tree`, asked for only when called."""
        return self._blanked.tree

    def head_imports(self, head: str) -> str:
        """`treesitter.imports_of(head)` for the first lines of this buffer, `head`: parsed
        only when they differ from the previous Document's (they seldom change)."""
        lang = self.lang
        if lang is None:
            return ""
        memo = self._head
        if memo is not None and memo[0] == head:
            return memo[1]
        imports = treesitter.imports_of(head, lang)
        self._head = (head, imports)
        return imports

    def carried(self, name: str, key: object, make: Callable[[], object]) -> object:
        """`make()`, or the value the previous Document of the buffer kept under `name` while
        `key` is the same (what a rule found that typing on the cursor line does not change)."""
        found = self._carried.get(name)
        if found is not None and found[0] == key:
            return found[1]
        value = make()
        self._carried[name] = (key, value)
        return value

    # ----------------------------------------------------------------------------------------
    # Internals

    def _blanked_text(self) -> str:
        return treesitter.with_line_blanked(self.buffer_lines, self.buffer_row, self.lang)

    def _follow(self, previous: Document) -> None:
        """Reparse from `previous`'s trees; keep what it found that may still hold."""
        self._head = previous._head
        self._carried = dict(previous._carried)
        self._window.follow(previous._window)
        if not self._buffer_is_window:
            self._buffer.follow(previous._buffer)
        # The blanked text goes back through the previous real one (its cursor line restored):
        # two small edits when the cursor moved, not one span between two far lines.
        if previous._blanked.parsed:
            self._blanked.follow(previous._blanked, (previous.buffer_data,))
