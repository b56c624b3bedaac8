"""The documents a language client has open, mirrored into the engine's BufferStore, and LSP
positions turned into the engine's (row, byte column).

The text of a document lives in one place, the engine's mirror (`engine.buffers`, a BufferDoc
per document): a request's BufferSnapshot is cut from it as the Neovim plugin's window is, and
the engine has the whole file for far context. LSP lines are the text split at "\\n", so a text
that ends with a newline has an empty last line: the mirror is given the text as it is and
counts lines the same way.

A position's `character` counts code units of the negotiated encoding: UTF-16 unless the
client offered utf-8 (Neovim does) or utf-32. A document on the privacy deny list is never
mirrored: its text is dropped on arrival.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import utf8
from .buffers import BufferStore, snapshot_window
from .config import ContextSettings
from .types import BufferSnapshot, IndentStyle

ENCODINGS = ("utf-8", "utf-16", "utf-32")
HEAD_LINES = 64  # the file's first lines sent when the window starts below them (as the UI)


def _utf16_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def to_index(line: str, character: int, encoding: str) -> int:
    """The index in `line` of a position's `character` (past the end: the end, as the
    specification says; inside a character: that character's start)."""
    if encoding == "utf-8":
        return len(utf8.split_at_byte(line, character)[0])
    if encoding == "utf-32":
        return max(0, min(character, len(line)))
    units = 0
    for index, char in enumerate(line):
        units += _utf16_units(char)
        if units > character:
            return index
    return len(line)


def to_character(line: str, index: int, encoding: str) -> int:
    """A position's `character` for the index `index` in `line`."""
    head = line[:index]
    if encoding == "utf-8":
        return utf8.byte_len(head)
    if encoding == "utf-32":
        return len(head)
    return sum(map(_utf16_units, head))


def path_of(uri: str) -> str:
    """The file a `file:` URI names; "" for any other scheme (an unsaved buffer)."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme != "file":
        return ""
    return os.path.normpath(urllib.parse.unquote(parsed.path))


@dataclass(frozen=True, slots=True)
class OpenDocument:
    uri: str
    path: str
    language_id: str
    bufnr: int  # its number in the engine's BufferStore
    indent: IndentStyle
    denied: bool  # on the privacy deny list: nothing of it is kept


class Documents:
    def __init__(
        self, buffers: BufferStore, denied: Callable[[str], bool], encoding: str = "utf-16"
    ) -> None:
        self._buffers = buffers
        self._denied = denied
        self.encoding = encoding
        self._open: dict[str, OpenDocument] = {}
        self._next_bufnr = 1

    def get(self, uri: str) -> OpenDocument | None:
        return self._open.get(uri)

    def open(self, uri: str, language_id: str, version: int, text: str) -> OpenDocument:
        old = self._open.get(uri)
        bufnr = old.bufnr if old is not None else self._take_bufnr()
        path = path_of(uri)
        denied = self._denied(path)
        doc = OpenDocument(uri, path, language_id, bufnr, IndentStyle.guess(text), denied)
        self._open[uri] = doc
        if denied:
            self._buffers.detach(bufnr)
        else:
            self._buffers.attach(bufnr, utf8.encode(text), version)
        return doc

    def close(self, uri: str) -> None:
        doc = self._open.pop(uri, None)
        if doc is not None:
            self._buffers.detach(doc.bufnr)

    def change(self, uri: str, version: int, changes: Sequence[Mapping[str, Any]]) -> None:
        """Apply didChange's content changes in order: a whole text, or a range replaced.
        Raises ValueError when the document is unknown or out of step (a range the mirror
        does not have): the document is then dropped, and requests on it get nothing until
        it is opened again."""
        doc = self._open.get(uri)
        if doc is None:
            raise ValueError("a change to a document that is not open")
        if doc.denied:
            return
        for change in changes:
            text = str(change["text"])
            if "range" not in change:
                self._open[uri] = doc = OpenDocument(
                    doc.uri, doc.path, doc.language_id, doc.bufnr, IndentStyle.guess(text), False
                )
                self._buffers.attach(doc.bufnr, utf8.encode(text), version)
            elif not self._replace(doc.bufnr, change["range"], text, version):
                self.close(uri)
                raise ValueError("a change that does not fit the document")

    def _replace(self, bufnr: int, lsp_range: Mapping[str, Any], text: str, version: int) -> bool:
        mirror = self._buffers.get(bufnr)
        if mirror is None:
            return False
        start, end = lsp_range["start"], lsp_range["end"]
        first, last = int(start["line"]), int(end["line"])
        count = mirror.line_count
        if not 0 <= first <= last or first >= count:
            return False
        if last >= count:  # past the end: the end of the document (the specification)
            last, end = count - 1, {"line": count - 1, "character": 1 << 30}
        lines = mirror.lines(first, last + 1)
        head = lines[0][: to_index(lines[0], int(start["character"]), self.encoding)]
        tail = lines[-1][to_index(lines[-1], int(end["character"]), self.encoding) :]
        new_lines = (head + text + tail).split("\n")
        return self._buffers.replace_lines(bufnr, first, last + 1, new_lines, version)

    def snapshot(
        self, doc: OpenDocument, position: Mapping[str, Any], context: ContextSettings
    ) -> BufferSnapshot:
        """The request's view of the document at `position`, the window as the Neovim
        plugin's (lua/localllm/session.lua payload()). ValueError: no such position."""
        mirror = self._buffers.get(doc.bufnr)
        if mirror is None:
            raise ValueError("the document is not open")
        row = int(position["line"])
        line = mirror.lines(row, row + 1)
        if not line:
            raise ValueError(f"line {row} is outside the document")
        index = to_index(line[0], int(position["character"]), self.encoding)
        col = utf8.byte_len(line[0][:index])
        before, after = context.prefix_lines * 2, context.suffix_lines + 16
        lines, first = snapshot_window(mirror, row, col, before, after)
        head = mirror.lines(0, min(HEAD_LINES, first)) if first > 0 else []
        return BufferSnapshot(
            path=doc.path,
            filetype=doc.language_id,
            lines=tuple(lines),
            first_line=first,
            row=row,
            col=col,
            line_count=mirror.line_count,
            indent=doc.indent,
            head=tuple(head),
        )

    def _take_bufnr(self) -> int:
        bufnr = self._next_bufnr
        self._next_bufnr += 1
        return bufnr
