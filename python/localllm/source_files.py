"""Files on disk the context reads (a buffer's siblings, the folders of the packages it
uses): each one read and parsed at most once per version, and never one privacy denies.

One cache serves every reader of such files (the definitions index, the Go package types):
what a reader made of a file is kept while the file's (mtime_ns, size) stays the same. A
reader turns (language, tree, bytes, path) into the facts it keeps; trees are not kept. Files
are parsed with parsers of this module's own, so a sibling's parse never waits for the
parse of a request's buffer.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar, cast

from tree_sitter import Tree

from .treesitter import OwnParsers

__all__ = ["Reader", "SourceFiles"]

T = TypeVar("T")
Reader = Callable[[str, Tree, bytes, str], T]  # (lang, tree, data, path) -> facts

_Key = tuple[str, str, Callable[..., object]]  # (path, lang, reader)


class SourceFiles:
    """Files on disk by path, each reader's facts of each kept for `max_files` (file, reader)
    pairs, the least recently used dropped first. `exclude` (privacy.deny) names the files
    never opened: every read goes through `facts`, which asks it first. Thread-safe."""

    def __init__(self, max_files: int = 512, exclude: Callable[[str], bool] | None = None) -> None:
        self.max_files = max(1, max_files)
        self.parsed_files = 0  # parses of files on disk, all readers
        self._exclude = exclude
        self._lock = threading.Lock()
        self._parsers = OwnParsers()
        self._facts: OrderedDict[_Key, tuple[tuple[int, int], object]] = OrderedDict()

    def denied(self, path: str) -> bool:
        """Whether the file must never be read (privacy.deny)."""
        return self._exclude is not None and self._exclude(path)

    def facts(
        self,
        path: str,
        lang: str,
        read: Reader[T],
        *,
        max_bytes: int,
        version: tuple[int, int] | None = None,
    ) -> T | None:
        """What `read` makes of the file at `path` parsed as `lang`: from the cache while the
        file is unchanged, else read and parsed now. None for a file that is denied, cannot
        be read, is larger than `max_bytes` or whose language has no grammar. `version`: the
        file's (mtime_ns, size), when the caller has it already (a folder scan)."""
        if self.denied(path):
            return None
        if version is None:
            try:
                stat = os.stat(path)
            except OSError:
                return None
            version = (stat.st_mtime_ns, stat.st_size)
        if version[1] > max_bytes:
            return None
        key: _Key = (path, lang, read)
        with self._lock:
            cached = self._facts.get(key)
            if cached is not None and cached[0] == version:
                self._facts.move_to_end(key)
                return cast(T, cached[1])
        try:
            with open(path, "rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError:
            return None
        tree = self._parsers.parse(lang, data)
        if tree is None:
            return None
        found = read(lang, tree, data, path)
        with self._lock:
            self.parsed_files += 1
            self._facts[key] = (version, found)
            self._facts.move_to_end(key)
            while len(self._facts) > self.max_files:
                self._facts.popitem(last=False)
        return found
