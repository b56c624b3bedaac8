"""Checking a model's suggestion: its error returns give the zero values we know."""

from __future__ import annotations

import re

from ...treesitter import TreeOf
from .functions import _at_cursor
from .packages import GoPackages
from .syntax import _text
from .zero_values import zero_value


def expected_returns(
    text: str,
    row: int,
    col: int,
    *,
    path: str = "",
    packages: GoPackages | None = None,
    tree_of: TreeOf | None = None,
) -> tuple[list[str], int] | None:
    """The values an error path returns from the function at (row, col): the zero values with
    "err" in the error result's place, and that place; None without results, an error result
    or a type we would guess. `tree_of`: the tree of `text`, when the caller has one."""
    found = _at_cursor(text, row, col, path, packages, tree_of)
    if found is None:
        return None
    _root, _node, _functions, fn, scope = found
    data = scope.data
    values: list[str] = []
    error_at = -1
    for i, (_name, kind) in enumerate(fn.results):
        if _text(data, kind) == "error":
            error_at = i
        zero = zero_value(kind, scope)
        if zero is None:
            return None  # a type parameter: `var zero T` is one way among several
        values.append(zero)
    if error_at < 0:
        return None
    values[error_at] = "err"
    return values, error_at


def _split_top(expressions: str) -> list[str]:
    """`a, f(b, c), "x,y"` -> ["a", "f(b, c)", '"x,y"']."""
    parts: list[str] = []
    depth = 0
    quote = ""
    current = ""
    i = 0
    while i < len(expressions):
        ch = expressions[i]
        if quote:
            current += ch
            if ch == "\\" and quote != "`" and i + 1 < len(expressions):
                current += expressions[i + 1]
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
            current += ch
        elif ch in "([{":
            depth += 1
            current += ch
        elif ch in ")]}":
            depth -= 1
            current += ch
        elif ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current.strip())
    return parts


_RETURN = re.compile(r"^(\s*)return (.+?)\s*$")


def correct_returns(suggestion: str, values: list[str], error_at: int) -> str:
    """A model's suggestion with its error-path returns (`return ..., err` in the function at
    the cursor) giving our zero values: the model keeps its error expression (a wrap with a
    message), the other values are ours."""
    out: list[str] = []
    in_literal = False
    for line in suggestion.split("\n"):
        if "func(" in line:
            in_literal = True  # returns of a function literal answer to its own results
        match = None if in_literal else _RETURN.match(line)
        if match is not None:
            parts = _split_top(match.group(2))
            errors = [p for p in parts if re.search(r"\berr\b", p)]
            if errors and (len(parts) != len(values) or parts[error_at] in errors):
                fixed = list(values)
                fixed[error_at] = parts[error_at] if len(parts) == len(values) else errors[-1]
                line = f"{match.group(1)}return {', '.join(fixed)}"
        out.append(line)
    return "\n".join(out)
