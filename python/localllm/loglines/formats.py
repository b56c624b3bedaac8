"""Format strings: how many arguments a format consumes (`verb_count`), and the names a
`{name}` format reads."""

from __future__ import annotations

import re

GO_VERB = re.compile(r"%(?:%|[-+# 0]*(\[\d+\])?(\*|\d+)?(?:\.(\*|\d+)?)?(\[\d+\])?[a-zA-Z])")
_PY_VERB = re.compile(
    r"%(?:%|(\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[diouxXeEfFgGcrsa])"
)
_JS_VERB = re.compile(r"%[%sdifoOcj]")
_BRACE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def verb_count(fmt: str, style: str) -> int | None:
    """Arguments a format string consumes: `style` is "go", "python" (%), "js" (%), "brace"
    (loguru / str.format positional `{}`) or "rust". None when it cannot be counted (indexed
    or named placeholders)."""
    if style in ("brace", "rust"):
        count = 0
        for match in _BRACE.finditer(fmt):
            inner = match.group(1)
            if inner is None:
                continue
            name = re.split(r"[:!]", inner, maxsplit=1)[0].strip()
            if not name:
                count += 1
            elif name.isdigit():
                return None
        return count
    if style == "go":
        count = 0
        for match in GO_VERB.finditer(fmt):
            text = match.group(0)
            if text == "%%":
                continue
            if match.group(1) or match.group(4):
                return None
            count += 1 + (match.group(2) == "*") + (match.group(3) == "*")
        return count
    if style == "python":
        count = 0
        for match in _PY_VERB.finditer(fmt):
            if match.group(0) == "%%":
                continue
            if match.group(1):
                return None  # %(name)s takes a mapping
            count += 1 + (match.group(2) == "*") + (match.group(3) == "*")
        return count
    return sum(1 for m in _JS_VERB.finditer(fmt) if m.group(0) != "%%")


def named_placeholders(fmt: str) -> list[str]:
    names = []
    for match in _BRACE.finditer(fmt):
        inner = match.group(1)
        if inner:
            name = re.split(r"[:!.\[]", inner, maxsplit=1)[0].strip()
            if name and not name.isdigit():
                names.append(name)
    return names
