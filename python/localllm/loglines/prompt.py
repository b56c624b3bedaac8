"""The prompt chunk of a log site: the logger's declaration, the file's nearest log calls as
style examples, and the names in scope."""

from __future__ import annotations

import re

from ..quotes import unquoted
from .records import COMMENT
from .scope import Scope

_MAX_CHUNK = 600


def nearest_log_calls(lines: list[str], row: int, logger: str, lang: str) -> list[tuple[int, str]]:
    """The nearest complete one-line log calls of the file (row, text), nearest first."""
    if lang == "rust":
        pattern = re.compile(r"^\s*(?:(?:log|tracing)::)?(?:error|warn|info|debug|trace)!\s*\(")
    else:
        last = logger.rsplit(".", 1)[-1]
        head = re.escape(logger) if "." not in logger else r"[\w.]*\." + re.escape(last)
        pattern = re.compile(r"^\s*(?:(?:defer|await)\s+)?" + head + r"\.\w+\(")
    found: list[tuple[int, str]] = []
    # Look outwards from the cursor, a bounded number of lines each way.
    for distance in range(1, min(len(lines), 1500)):
        for candidate in (row - distance, row + distance):
            if 0 <= candidate < len(lines) and pattern.match(lines[candidate]):
                text = lines[candidate].strip()
                if _balanced(text) and len(text) <= 160:
                    found.append((candidate, text))
        if len(found) >= 3:
            break
    return found[:3]


def _balanced(text: str) -> bool:
    """Every bracket outside the strings closes, none too early, and no string is left open."""
    code, quote = unquoted(text)
    depth = 0
    for ch in code:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quote


def prompt_chunk(
    lang: str, logger: str, declaration: str, examples: list[tuple[int, str]], scope: Scope
) -> str:
    comment = COMMENT[lang]
    parts = []
    if declaration:
        parts.append(f"{comment} logger: {declaration}")
    for _row, text in sorted(examples):
        parts.append(text)
    names = list(reversed(scope.local_names))[:14]
    receiver = scope.receiver or ("self" if lang == "python" else "this")
    fields = [f"{receiver}.{name}" for name in scope.member_names[:6]]
    scope_line = f"{comment} in scope: " + ", ".join([*names, *fields])
    chunk = "\n".join(parts)
    room = _MAX_CHUNK - len(chunk) - 1
    if room > 20:
        if len(scope_line) > room:
            scope_line = scope_line[:room].rsplit(",", 1)[0]
        chunk = (chunk + "\n" + scope_line).strip("\n")
    return chunk[:_MAX_CHUNK]
