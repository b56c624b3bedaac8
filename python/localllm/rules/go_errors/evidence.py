"""What a package's own code shows of a type that is not on disk (a module that is not
downloaded): whether its returns write the type's zero value as `nil` or as `T{}`, and
whether it builds `T{...}` literals. `cel.Library` is an interface when other functions
returning it return nil; `afero.File{}` would not compile."""

from __future__ import annotations

import re
from collections import Counter

from tree_sitter import Node, Query, QueryCursor

from ... import treesitter
from .syntax import _NIL_NAMES, _NUMBERS, _enclosing_function, _params, _text

_BUILT_IN = _NUMBERS | _NIL_NAMES | {"string", "bool"}

_QUERY = """
[(function_declaration result: (_) @result body: (block) @body)
 (method_declaration result: (_) @result body: (block) @body)
 (func_literal result: (_) @result body: (block) @body)]
"""
_RETURNS = "(return_statement (expression_list) @values)"
_compiled: dict[str, Query] = {}

# A vote: (type key, "nil" | "{}"). The key is "import/path.Name" for a type of another
# package, "Name" for one of this package.
Votes = Counter[tuple[str, str]]


def _query(source: str) -> Query | None:
    if source not in _compiled:
        parser = treesitter.get_parser("go")
        if parser is None or parser.language is None:
            return None
        _compiled[source] = Query(parser.language, source)
    return _compiled[source]


def zero_votes(root: Node, data: bytes, imports: dict[str, str]) -> Votes:
    """How the file writes the zero value of each named type it returns: one vote per
    `return nil, err` (or `return T{}, err`) at that type's place in the results, and a
    `{}` vote per `T{...}` literal (only structs, arrays, slices and maps have them)."""
    votes: Votes = Counter()
    functions, returns = _query(_QUERY), _query(_RETURNS)
    if functions is None or returns is None:
        return votes
    for _pattern, found in QueryCursor(functions).matches(root):
        _vote_function(found["result"][0], found["body"][0], data, imports, votes, returns)
    for key in _literal_types(data, imports):
        votes[(key, "{}")] += 1
    return votes


def votes_for(root: Node, data: bytes, imports: dict[str, str], written: str) -> Votes:
    """The votes of one file for one named type (as `written` in it), from where it is
    written: the returns of the functions whose results name it, and its literals. Cheaper
    than zero_votes: for the buffer, at every request."""
    votes: Votes = Counter()
    returns = _query(_RETURNS)
    needle = written.encode()
    key = ""
    start, results = 0, 0
    while returns is not None and results < 32:
        at = data.find(needle, start)
        if at < 0:
            break
        start = at + len(needle)
        kind = root.descendant_for_byte_range(at, start)
        while kind is not None and kind.type not in ("qualified_type", "type_identifier"):
            kind = kind.parent
        declaration = kind.parent if kind is not None else None
        result = declaration.parent if declaration is not None else None
        function = result.parent if result is not None else None
        body = function.child_by_field_name("body") if function is not None else None
        if kind is None or result is None or function is None or body is None:
            continue
        if function.child_by_field_name("result") != result:
            continue
        key = key or type_key(kind, data, imports)
        results += 1
        _vote_function(result, body, data, imports, votes, returns)
    if key:
        literal = re.compile(rb"(?<![\w.\]*])" + re.escape(needle) + rb"\{(?!\})")
        votes[(key, "{}")] += len(literal.findall(data))
    return votes


def _vote_function(
    result: Node, body: Node, data: bytes, imports: dict[str, str], votes: Votes, returns: Query
) -> None:
    """The votes of one function's `return` statements (not those of its literals)."""
    if result.type != "parameter_list" or result.named_child_count < 2:
        return
    kinds = [kind for _name, kind in _params(result, data)]
    keys = [type_key(kind, data, imports) for kind in kinds]
    if not any(keys):
        return  # pointers, slices, built-in types: nothing to learn
    function = body.parent
    cursor = QueryCursor(returns)
    cursor.set_byte_range(body.start_byte, body.end_byte)
    for values in cursor.captures(body).get("values", ()):
        if values.parent is not None and _enclosing_function(values.parent) == function:
            _vote(keys, kinds, values, data, votes)


def _vote(keys: list[str], kinds: list[Node], values: Node, data: bytes, votes: Votes) -> None:
    written = values.named_children
    if len(written) != len(keys):
        return
    for key, kind, value in zip(keys, kinds, written, strict=True):
        if not key:
            continue
        text = _text(data, value)
        if text == "nil":
            votes[(key, "nil")] += 1
        elif text == _text(data, kind) + "{}":
            votes[(key, "{}")] += 1


_LITERAL = re.compile(rb"[\w.]+\{(?!\})")


def _literal_types(data: bytes, imports: dict[str, str]) -> list[str]:
    """The keys of the named types the file builds `T{...}` literals of (a type inside `[]T{`
    or `map[K]T{` is not one: that is a slice or map literal)."""
    out = []
    for match in _LITERAL.finditer(data):
        if match.start() and data[match.start() - 1] in b"]*":
            continue
        alias, _, name = match.group()[:-1].decode("utf-8", "replace").rpartition(".")
        if not name[:1].isupper() or "." in alias:
            continue
        if not alias:
            out.append(name)
        elif alias in imports:
            out.append(f"{imports[alias]}.{name}")
    return out


def type_key(kind: Node, data: bytes, imports: dict[str, str]) -> str:
    """The key of a named type as written in a file with `imports` ("" for other types)."""
    if kind.type == "type_identifier":
        name = _text(data, kind)
        return "" if name in _BUILT_IN else name
    if kind.type != "qualified_type":
        return ""
    package = kind.child_by_field_name("package")
    type_name = kind.child_by_field_name("name")
    if package is None or type_name is None:
        return ""
    path = imports.get(_text(data, package))
    return f"{path}.{_text(data, type_name)}" if path else ""


def verdict(votes: Votes, key: str) -> str | None:
    """The verdict, "nil" or "{}", when the votes for `key` agree enough, else None."""
    nil, struct = votes[(key, "nil")], votes[(key, "{}")]
    if nil > struct:
        return "nil"
    if struct > nil:
        return "{}"
    return None
