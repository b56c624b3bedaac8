"""`DefinitionIndex`: the definitions of buffers and of the files of their folders, cached.

A buffer's text is reparsed incrementally and only its changed top-level nodes are read again
(`extract` with a memo); a file on disk is read once per (path, mtime_ns, size); a folder's
merged definitions are kept while none of its files changes. Which files of a folder count is
`siblings.py`'s business.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import replace

from tree_sitter import Tree

from ..source_files import SourceFiles
from .extractors import EXTRACTORS, PACKAGED
from .model import Definitions, Found
from .parsing import encode, parse_buffer
from .siblings import MAX_FILE_BYTES, Signature, file_lang, norm, scan

__all__ = ["DefinitionIndex", "extract"]

_MAX_FOLDERS = 16
_MAX_BUFFERS = 8

# A top-level node's definitions by (start column, source), with the row they were read at: a
# node that only moved (lines inserted above it) is not read again, its rows are shifted.
Memo = dict[tuple[int, bytes], tuple[int, Found]]
_FolderKey = tuple[str, str, str, str | None, frozenset[str] | None]


def _shifted(part: Found, delta: int) -> Found:
    if not delta:
        return part

    def move(defs: Definitions) -> Definitions:
        return {
            name: [replace(d, row=d.row + delta) for d in items] for name, items in defs.items()
        }

    return Found(defs=move(part.defs), members=move(part.members), package=part.package)


def _merge(into: Found, part: Found) -> None:
    for name, defs in part.defs.items():
        into.defs.setdefault(name, []).extend(defs)
    for name, defs in part.members.items():
        into.members.setdefault(name, []).extend(defs)


def extract(
    lang: str, tree: Tree, data: bytes, path: str, memo: Memo | None = None
) -> tuple[Found, Memo]:
    """The definitions of a file, node by node; a top-level node whose source is in `memo` (the
    previous version of the buffer) is not read again. Also the new memo."""
    read = EXTRACTORS[lang].node
    found = Found()
    fresh: Memo = {}
    for node in tree.root_node.children:
        row, column = node.start_point
        key = (column, data[node.start_byte : node.end_byte])
        remembered = memo.get(key) if memo else None
        if remembered is not None:
            part = _shifted(remembered[1], row - remembered[0])
        else:
            part = Found()
            if node.is_named:
                read(node, data, path, part, lang)
        fresh[key] = (row, part)
        if part.package:
            found.package = part.package
        _merge(found, part)
    return found, fresh


class DefinitionIndex:
    """Definitions of one file (parsed once) and of a package folder: for Go (Java) the sibling
    .go (.java) files of the same package, for Python the modules in the same folder, for the
    other languages the files `definitions_in_folder` tells.

    Files on disk are read through `files` (a SourceFiles, shared with the other readers of
    sibling files; one of its own of `max_files` files by default): parsed once per version,
    a changed file parsed again. A folder's merged definitions are cached as long as
    none of its files changes (the same dict comes back). A folder with more than `max_files`
    candidate files contributes its `max_files` most recently modified ones; files larger than
    MAX_FILE_BYTES are left out. `parsed_files` counts this index's parses of files on disk.
    `exclude` (privacy.deny; the files' when shared) names the files never read: no path here
    opens one.

    Safe to share between threads. The dicts it returns belong to its cache: do not modify them.
    """

    def __init__(
        self,
        max_files: int = 64,
        exclude: Callable[[str], bool] | None = None,
        files: SourceFiles | None = None,
    ) -> None:
        self.max_files = max(1, max_files)
        self.parsed_files = 0
        self.files = files if files is not None else SourceFiles(self.max_files, exclude)
        self._lock = threading.Lock()
        self._folders: OrderedDict[_FolderKey, tuple[Signature, Found]]
        self._folders = OrderedDict()
        self._buffers: OrderedDict[tuple[str, str], tuple[bytes, Found, Memo]]
        self._buffers = OrderedDict()

    def definitions_in_text(self, text: str, lang: str, path: str = "") -> Definitions:
        """Name -> definitions of a buffer's text; their `path` is `path`.

        The last result per (path, lang) is kept: the same text gives the same dict back, a new
        text is reparsed incrementally.
        """
        return self.buffer(text, lang, path).defs

    def definitions_in_folder(
        self, folder: str, lang: str, *, exclude: str = "", package: str | None = None
    ) -> Definitions:
        """Name -> definitions of the files in `folder` (not its subfolders), `exclude` left out.

        Go: the *.go files (*_test.go ones only when `exclude` is a test file) whose package
        clause is `package` (default: the package of `exclude` on disk, else the most common
        one); Java likewise with *.java files. Python: the *.py files; Rust: the *.rs files;
        JavaScript/TypeScript: the files of those languages; C/C++: the headers (read in the
        language asked for); Lua: the *.lua files. Each file is parsed once per version; while
        no file changes, the same dict comes back.
        """
        return self.folder(folder, lang, exclude, package).defs

    def buffer(self, text: str, lang: str, path: str, tree: Tree | None = None) -> Found:
        """What a buffer's text defines (see definitions_in_text); `tree`: its tree, when the
        caller has it."""
        if lang not in EXTRACTORS:
            return Found()
        data = encode(text)
        key = (path, lang)
        with self._lock:
            cached = self._buffers.get(key)
            if cached is not None and cached[0] == data:
                self._buffers.move_to_end(key)
                return cached[1]
        tree = parse_buffer(lang, data, tree)
        if tree is None:
            return Found()
        found, memo = extract(lang, tree, data, path, cached[2] if cached else None)
        with self._lock:
            self._buffers[key] = (data, found, memo)
            self._buffers.move_to_end(key)
            while len(self._buffers) > _MAX_BUFFERS:
                self._buffers.popitem(last=False)
        return found

    def folder(
        self,
        folder: str,
        lang: str,
        exclude: str,
        package: str | None,
        only: frozenset[str] | None = None,
    ) -> Found:
        """What the files of `folder` define (see definitions_in_folder); `only`: the stems or
        names of the files that count (None: all)."""
        if lang not in EXTRACTORS or not folder:
            return Found()
        files = scan(folder, lang, exclude, only, self.files.denied, self.max_files)
        if files is None:
            return Found()
        key = (norm(folder), lang, norm(exclude), package, only)
        with self._lock:
            cached = self._folders.get(key)
            if cached is not None and cached[0] == files:
                self._folders.move_to_end(key)
                return cached[1]
        parsed: list[Found] = []
        for path, mtime, size in files:
            file_lang_ = file_lang(lang, path)
            found = None if file_lang_ is None else self._file(path, file_lang_, (mtime, size))
            if found is not None:
                parsed.append(found)
        if lang in PACKAGED:
            parsed = self._same_package(parsed, lang, exclude, package)
        merged = Found(package=package or "")
        for found in parsed:
            _merge(merged, found)
        with self._lock:
            self._folders[key] = (files, merged)
            self._folders.move_to_end(key)
            while len(self._folders) > _MAX_FOLDERS:
                self._folders.popitem(last=False)
        return merged

    def _same_package(
        self, parsed: list[Found], lang: str, exclude: str, package: str | None
    ) -> list[Found]:
        """The files of `package`: by default the package of `exclude` on disk, else the most
        common one."""
        wanted = package
        if wanted is None and file_lang(lang, exclude) is not None:
            own = self._file(exclude, lang)
            wanted = own.package if own is not None and own.package else None
        if wanted is None:
            counts = Counter(found.package for found in parsed if found.package)
            wanted = counts.most_common(1)[0][0] if counts else ""
        return [found for found in parsed if found.package == wanted]

    def _file(self, path: str, lang: str, version: tuple[int, int] | None = None) -> Found | None:
        """A file's definitions (None for one that is denied, unreadable or too large);
        `version`: its (mtime_ns, size) when the folder scan has read it."""
        return self.files.facts(path, lang, self._read, max_bytes=MAX_FILE_BYTES, version=version)

    def _read(self, lang: str, tree: Tree, data: bytes, path: str) -> Found:
        with self._lock:
            self.parsed_files += 1
        return extract(lang, tree, data, path)[0]
