"""One request's view of a buffer: the lines it carries, their language and tree, parsed once.

A Document is made per request (`BufferStore.document()`, or `Document.of_snapshot()`) and
handed to everyone who reads the buffer for that request: the context builder, the explain
prompt, the rules. Its tree is parsed lazily, at most once, from the cheapest source there is:

- the previous request's Document of the same buffer (`previous=`): an incremental reparse of
  what changed since (a keystroke, mostly);
- else a full parse.

The tree covers `text`: the window of lines the request carries (all of the buffer when the
window is all of it), never more. A tree of the whole buffer is not kept, on purpose: while a
bracket or a string is left open (the normal state while typing), tree-sitter's incremental
reparse of a 10,000-line file costs tens of milliseconds a keystroke (its error recovery
reaches to the end of the file), that of a window well under one. What only the whole buffer
shows is read from its text: `whole` (the host's mirror of it, when there is one) gives the
file's imports (`head_imports()`) and the definitions near the cursor.

Rows of the tree are rows of `text`: buffer row = tree row + `first_line`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from tree_sitter import Tree

from . import languages, treesitter, utf8
from .languages.base import Language
from .types import BufferSnapshot

__all__ = ["HEAD_LINES", "Document"]

HEAD_LINES = 400  # the imports of a mirrored buffer are looked for in its first lines

TreeSource = Callable[[], "Tree | None"]


class Document:
    """The lines of a buffer a request carries, their language record and their tree (parsed
    on first use, once), with the whole buffer's text when the host mirrors it.

    Identity matters, not value: two Documents of the same text are two requests. Thread-safe:
    the tree is parsed once even when two threads ask for it at the same time.
    """

    __slots__ = (
        "_data",
        "_head",
        "_key",
        "_lines",
        "_lock",
        "_parsed",
        "_source",
        "_tree",
        "_whole_lines",
        "first_line",
        "language",
        "path",
        "previous_definitions_text",
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
    ) -> None:
        self.path = path
        self.text = text  # the lines the tree covers, joined with "\n"
        self.language = language
        self.first_line = first_line  # the buffer row of text's first line
        self.whole = whole  # the whole buffer's text, when known
        self._data: bytes | None = None
        self._lines: list[str] | None = None
        self._whole_lines: list[str] | None = None
        self._source: TreeSource | None = None
        self._tree: Tree | None = None
        self._parsed = False
        self._lock = threading.Lock()
        self._head: tuple[str, str] | None = None  # (head text, its imports), see head_imports
        self._key: str | None = None
        # What the previous Document of the buffer gave the definitions (definitions_text).
        self.previous_definitions_text: str | None = None

    @classmethod
    def of_lines(
        cls,
        path: str,
        filetype: str,
        lines: Sequence[str],
        *,
        first_line: int = 0,
        whole: str | None = None,
        previous: Document | None = None,
        key: str | None = None,
    ) -> Document:
        """The Document of `lines` (buffer rows from `first_line` on) of the buffer `path`.

        `previous`: the last Document of this buffer, to reparse incrementally from its tree.
        `key`: TEMPORARY, for callers that keep no previous Document (build_context() without
        `document=`): trees then come from `treesitter.parse_text()`'s string-keyed cache.
        """
        record = languages.for_buffer(filetype, path)
        doc = cls(path, "\n".join(lines), record, first_line=first_line, whole=whole)
        if record is None:
            return doc
        if previous is not None and previous.language is record:
            doc._head = previous._head
            doc.previous_definitions_text = previous.definitions_text
            if previous.parsed:
                # The tree and its bytes, not the document: no chain of documents kept alive.
                old, old_data = previous.tree, previous.data
                doc._source = lambda: doc.reparsed(old, old_data)
        elif key is not None:
            name = record.name
            doc._key = key
            doc._source = lambda: treesitter.parse_text(name, doc.data, key + "\0window")
        return doc

    @classmethod
    def of_snapshot(
        cls,
        snap: BufferSnapshot,
        *,
        whole: str | None = None,
        previous: Document | None = None,
        key: str | None = None,
    ) -> Document:
        """The Document of the lines a completion request carries (see of_lines())."""
        return cls.of_lines(
            snap.path,
            snap.filetype,
            snap.lines,
            first_line=snap.first_line,
            whole=whole,
            previous=previous,
            key=key,
        )

    # ----------------------------------------------------------------------------------------
    # Views

    @property
    def lang(self) -> str | None:
        """The language id ("go", "python" …), None when the buffer's language is unknown."""
        return None if self.language is None else self.language.name

    @property
    def data(self) -> bytes:
        """`text` in UTF-8 (invalid bytes kept with surrogateescape): the tree's bytes."""
        if self._data is None:
            self._data = utf8.encode(self.text)
        return self._data

    @property
    def lines(self) -> list[str]:
        """The lines of `text` (a list made once; do not change it)."""
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines

    @property
    def whole_lines(self) -> list[str] | None:
        """The lines of `whole` (a list made once; do not change it); None without it."""
        if self._whole_lines is None and self.whole is not None:
            self._whole_lines = self.whole.split("\n")
        return self._whole_lines

    @property
    def definitions_text(self) -> str:
        """The text the definitions near the cursor are looked for in: the whole buffer when
        known and the window does not start it, else the window."""
        if self.whole is not None and self.first_line > 0:
            return self.whole
        return self.text

    @property
    def parsed(self) -> bool:
        """Whether the tree has been asked for already (then `tree` costs nothing)."""
        return self._parsed

    @property
    def tree(self) -> Tree | None:
        """The syntax tree of `data`, parsed on first use; None without a grammar. Callers must
        not edit it (`Tree.copy()` first)."""
        if self._parsed:
            return self._tree
        with self._lock:
            if not self._parsed:
                self._tree = self._parse()
                self._parsed = True
                self._source = None  # what it held (an older tree) can go
            return self._tree

    def head_imports(self, head: str) -> str:
        """`treesitter.imports_of(head)` for the first lines of this buffer, `head`: parsed
        only when they differ from the previous Document's (they seldom change)."""
        lang = self.lang
        if lang is None:
            return ""
        memo = self._head
        if memo is not None and memo[0] == head:
            return memo[1]
        key = None if self._key is None else self._key + "\0head"
        imports = (
            treesitter.imports_of(head, lang, key) if key else treesitter.imports_of(head, lang)
        )
        self._head = (head, imports)
        return imports

    def reparsed(self, old: Tree | None, old_data: bytes) -> Tree | None:
        """The tree of `data` from `old`, the tree of `old_data`: an incremental reparse of
        what differs (`old` itself is left as it is); a full parse without `old`."""
        lang = self.lang
        if lang is None:
            return None
        data = self.data
        if old is None:
            return treesitter.parse(lang, data)
        if old_data == data:
            return old
        edited = old.copy()
        treesitter.describe_edit(edited, old_data, data)
        return treesitter.parse(lang, data, edited)

    # ----------------------------------------------------------------------------------------
    # Internals

    def _parse(self) -> Tree | None:
        lang = self.lang
        if lang is None:
            return None
        if self._source is not None:
            return self._source()
        return treesitter.parse(lang, self.data)
