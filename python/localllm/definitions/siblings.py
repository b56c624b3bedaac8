"""Which files of a buffer's folder count as its siblings, and in which language each reads."""

from __future__ import annotations

import os
from collections.abc import Callable

from .. import languages
from .extractors import EXTRACTORS, RECORDS

__all__ = ["MAX_FILE_BYTES", "Signature", "file_lang", "norm", "scan", "stem"]

MAX_FILE_BYTES = 512 * 1024  # larger files on disk (generated tables, bundles) are not read

Signature = tuple[tuple[str, int, int], ...]  # (path, mtime_ns, size) of a folder's files


def norm(path: str) -> str:
    return os.path.normcase(os.path.abspath(path)) if path else ""


def stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def file_lang(lang: str, name: str) -> str | None:
    """The language to read a sibling file `name` in, for a buffer in `lang`; None: not one."""
    record = RECORDS[lang]
    extension = os.path.splitext(name)[1]
    if extension in record.header_extensions:
        return lang  # a header reads as its includer
    if extension not in record.sibling_extensions:
        return None
    own = languages.for_extension(extension)  # .ts next to .js: each in its own grammar
    return own.name if own is not None and own.family == record.family else lang


def scan(
    folder: str,
    lang: str,
    exclude: str,
    only: frozenset[str] | None,
    deny: Callable[[str], bool] | None,
    max_files: int,
) -> Signature | None:
    """The candidate files of `folder` for a buffer in `lang`, sorted: not `exclude` (the
    buffer's own file), none that `deny` is true for, none over MAX_FILE_BYTES, only the stems
    or names in `only` (None: all); test files (Go's *_test.go) only for a test buffer. At
    most `max_files`, the most recently modified. None when the folder cannot be read."""
    excluded = norm(exclude)
    suffix = EXTRACTORS[lang].test_suffix
    tests = bool(suffix) and exclude.endswith(suffix)
    files: list[tuple[str, int, int]] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith(".") or file_lang(lang, name) is None:
                    continue
                if only is not None and name not in only and stem(name) not in only:
                    continue
                if suffix and name.endswith(suffix) and not tests:
                    continue
                if excluded and norm(entry.path) == excluded:
                    continue
                if deny is not None and deny(entry.path):
                    continue
                try:
                    if not entry.is_file():
                        continue
                    stat = entry.stat()
                except OSError:
                    continue
                if stat.st_size <= MAX_FILE_BYTES:
                    files.append((entry.path, stat.st_mtime_ns, stat.st_size))
    except OSError:
        return None
    if len(files) > max_files:
        files.sort(key=lambda item: (-item[1], item[0]))
        del files[max_files:]
    files.sort()
    return tuple(files)
