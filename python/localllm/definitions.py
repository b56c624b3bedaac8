"""Definitions used near the cursor: the types, functions and constants the code refers to.

A small model completes better when the prompt shows what the code around the cursor refers to:
the struct it fills in, the function it calls, the constant it compares with. This module finds
the identifiers used in the lines around the cursor (`identifiers_near`), looks them up among the
top-level definitions of the current buffer and of its package folder (`DefinitionIndex`), and
hands back compact copies of those definitions within a character budget
(`relevant_definitions`).

Languages: Go (types, functions, methods, const/var blocks, type parameters; the sibling files of
the same package) and Python (classes, functions, module-level assignments; the modules of the
same folder that the buffer imports from). The brace languages too, with functions as their
signature and `{ ... }`, and types whole but for their methods' bodies: JavaScript, TypeScript
and tsx (classes, interfaces, enums, type aliases, functions, top-level const/let/var; the files
of the same folder that the buffer imports with `./name` or `require('./name')`), Rust (structs,
enums, traits, type aliases, functions, impl methods, const/static items; the .rs files of the
same folder), Java (classes, interfaces, enums, records, their methods and static final fields;
the .java files of the same folder and package) and C/C++ (functions and prototypes, structs,
unions, enums, classes, typedefs and `using` aliases, macros, global variables, inside
namespaces, `extern "C"` and #if blocks too; the headers of the same folder that the buffer
includes with quotes); and Lua (functions as `function m.f(a) ... end`, the functions and
values of module tables, top-level variables; the modules of the same folder that the buffer
binds with `local m = require("pkg.m")`). Other languages give empty results.

Speed: the current buffer is parsed incrementally (the last tree of each language is kept and
edited with the difference to the new text), so the per-keystroke work is a short reparse, one
range query over the lines around the cursor and dict lookups. Files on disk are parsed once per
version, keyed by (path, mtime_ns, size).

Thread safety: a tree-sitter parser is not thread-safe. This module keeps parsers of its own (one
for buffers, one for files on disk, per language; never `treesitter`'s shared one, so it does not
wait for `treesitter.analyze()`) and uses each under its lock. `DefinitionIndex` may be used from
several threads; the dicts it returns are shared with its cache and must not be modified.

Positions follow tree-sitter and Neovim: rows are 0-based, columns are 0-based byte offsets in the
UTF-8 encoding of the line.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from tree_sitter import Node, Parser, Query, QueryCursor, Tree

from . import languages, treesitter, utf8

__all__ = ["Definition", "DefinitionIndex", "identifiers_near", "relevant_definitions"]

MAX_LINES = 40  # the most lines one definition's text has
MAX_FILE_BYTES = 512 * 1024  # larger files on disk (generated tables, bundles) are not read
MAX_PER_NAME = 2  # the most definitions one identifier contributes
LINES_BEFORE = 40
LINES_AFTER = 10

# What this module asks about a language comes from its record (localllm.languages); these
# are views of the records of the languages that have a definitions query.
_RECORDS = {lang.name: lang for lang in languages.all() if lang.definitions_query}
_SUPPORTED = frozenset(_RECORDS)
_JS_FAMILY = frozenset(name for name, lang in _RECORDS.items() if lang.family == "javascript")
# Siblings count when the buffer imports them (and names what it uses of them).
_IMPORTING = frozenset(name for name, lang in _RECORDS.items() if lang.siblings == "imports")
# Siblings count when in the same package.
_PACKAGED = frozenset(name for name, lang in _RECORDS.items() if lang.siblings == "package")
_MAX_FOLDERS = 16
_MAX_BUFFERS = 8

# Roles of an identifier use: which kinds of definition it can refer to.
_NAME = 0  # a value, a call, a conversion: anything but a method
_TYPE = 1  # a type position (Go type_identifier): types only
_MEMBER = 2  # `x.name`: methods, and the types with a field (interface method) of that name


# Names never looked up: a language's builtins and keywords (half-typed code can turn a keyword
# into an identifier), and `_`, the blank (Go) or throwaway name.
_BUILTINS = {name: lang.builtins | lang.keywords | {"_"} for name, lang in _RECORDS.items()}

# Identifier uses and local definitions, per language. Captures: @name/@type/@member are uses,
# @def binds a name in the window (a local, a parameter, a declaration), @skip and @key are
# identifiers that are neither (a keyword argument, a struct literal's field key, the name of a
# type from another package), @import covers a whole import statement.
_QUERIES = {name: lang.definitions_query for name, lang in _RECORDS.items()}

_GO_FUNCTIONS = languages.GO.function_types | languages.GO.lambda_types
_GO_PARAMETER_LISTS = ("receiver", "type_parameters", "parameters", "result")
_GO_PARAMETERS = frozenset(
    {"parameter_declaration", "variadic_parameter_declaration", "type_parameter_declaration"}
)
_SCOPES = {name: lang.scope_types for name, lang in _RECORDS.items()}
# The field of a member access that holds the object: `x` in `x.name`.
_OPERANDS = {name: lang.operand_field for name, lang in _RECORDS.items()}
_PY_NESTING = frozenset(
    {
        "if_statement",
        "elif_clause",
        "else_clause",
        "try_statement",
        "except_clause",
        "except_group_clause",
        "finally_clause",
        "with_statement",
        "block",
    }
)
_PY_STRING_RE = re.compile(r"""^[rRbBuUfF]*("{3}|'{3}|"|')(.*?)(?:\1)?$""", re.DOTALL)
_GO_VERSION_RE = re.compile(r"^v\d+$")


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class Definition:
    """One top-level definition, compacted for a prompt.

    `kind` is "type", "func", "method", "const", "var" or "class". `path` is the file it comes
    from ("" for a buffer without a name), `row` its 0-based start row there. `text` is its
    source, compacted: types and const/var blocks whole, functions as their signature with the
    body elided (Go and the other brace languages `{ ... }`, Python `...` after the docstring's
    first line), Python classes as their header, docstring line, fields and method signatures,
    the classes, structs, traits and interfaces of the brace languages whole but for the bodies
    of their methods; never more than MAX_LINES lines. A method of the brace languages (but Go)
    comes inside the header of its class or impl block. `owner` is the receiver type of a Go
    method, the class (impl type) of a method, or the class of a Java constant ("" otherwise).
    """

    name: str
    kind: str
    path: str
    row: int
    text: str
    owner: str = ""


Definitions = dict[str, list[Definition]]


@dataclass(slots=True)
class _Found:
    """The definitions of a file (or a folder): name -> definitions; member name -> the types
    with a field or an interface method (Go), a class attribute (Python), a field, property,
    enum member or trait/interface method (the brace languages), of that name; and the Go or
    Java package clause."""

    defs: Definitions = field(default_factory=dict)
    members: Definitions = field(default_factory=dict)
    package: str = ""


@dataclass(slots=True)
class _FileEntry:
    key: tuple[int, int]  # (mtime_ns, size)
    lang: str
    found: _Found


@dataclass(slots=True)
class _PyImports:
    """What a Python buffer imports: local name -> (module stem, name in that module), local
    module aliases -> module stem, and the stems it star-imports."""

    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)
    star: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Near:
    """The identifier uses around the cursor, nearest first: (name, role, module stem)."""

    uses: list[tuple[str, int, str]]
    owners: set[str]  # type names in the window and the enclosing receiver/class
    package: str
    imports: _PyImports
    includes: frozenset[str] = frozenset()  # C/C++: the files of the folder it includes


# --------------------------------------------------------------------------------------------
# Parsing

_lock = threading.Lock()
_parsers: dict[tuple[str, str], tuple[Parser, threading.Lock]] = {}
_queries: dict[str, Query] = {}


def _parser(lang: str, role: str) -> tuple[Parser, threading.Lock] | None:
    """This module's own parser for `lang` and its lock: one for buffers, one for disk files."""
    found = _parsers.get((lang, role))
    if found is not None:
        return found
    shared = treesitter.get_parser(lang)
    language = None if shared is None else shared.language
    if language is None:
        return None
    with _lock:
        found = _parsers.get((lang, role))
        if found is None:
            found = (Parser(language), threading.Lock())
            _parsers[(lang, role)] = found
        return found


def _query(lang: str) -> Query | None:
    query = _queries.get(lang)
    if query is None and lang in _QUERIES:
        shared = treesitter.get_parser(lang)
        language = None if shared is None else shared.language
        if language is None:
            return None
        query = Query(language, _QUERIES[lang])
        _queries[lang] = query
    return query


def _parse_buffer(lang: str, data: bytes, key: str = "", via: Sequence[bytes] = ()) -> Tree | None:
    """The buffer's tree, reparsed incrementally (treesitter.parse_text, per buffer `key`)."""
    return treesitter.parse_text(lang, data, key, via)


def _parse_file(lang: str, data: bytes) -> Tree | None:
    found = _parser(lang, "disk")
    if found is None:
        return None
    parser, lock = found
    with lock:
        return parser.parse(data)


def _encode(text: str) -> bytes:
    return utf8.encode(text)  # as treesitter.analyze()


# --------------------------------------------------------------------------------------------
# Text helpers


def _text(data: bytes, start: int, end: int) -> str:
    return utf8.decode(data[start:end])


def _node_text(data: bytes, node: Node) -> str:
    return _text(data, node.start_byte, node.end_byte)


def _line_start(data: bytes, pos: int) -> int:
    return data.rfind(b"\n", 0, pos) + 1


def _line_end(data: bytes, pos: int) -> int:
    newline = data.find(b"\n", pos)
    return len(data) if newline < 0 else newline


def _dedented(data: bytes, start: int, end: int) -> str:
    """data[start:end], its later lines stripped of the indentation of the line of `start`."""
    first = _line_start(data, start)
    lead = data[first:start]
    text = _text(data, start, end)
    if not lead or lead.strip(b" \t"):
        return text  # `start` is not the first token of its line: leave the text as it is
    width = len(lead)
    lines = text.split("\n")
    for i in range(1, len(lines)):
        line = lines[i]
        strip = len(line) - len(line.lstrip(" \t"))
        lines[i] = line[min(strip, width) :]
    return "\n".join(lines)


def _indent_text(text: str, indent: str) -> str:
    return "\n".join(indent + line if line else line for line in text.split("\n"))


def _cap(text: str, lang: str) -> str:
    """At most MAX_LINES lines: the head, a marker, and the closing line of a brace block."""
    lines = text.split("\n")
    if len(lines) <= MAX_LINES:
        return text
    inner = lines[1] if len(lines) > 1 else ""
    indent = inner[: len(inner) - len(inner.lstrip(" \t"))]
    if lang == "go" or lang in _BRACE_NODES or lang == "lua":
        last = lines[-1]
        tail = [last] if last.strip() in ("}", ")", "})", "}}", "};") else []
        kept = lines[: MAX_LINES - 1 - len(tail)]
        marker = "-- ..." if lang == "lua" else "// ..."
        return "\n".join([*kept, indent + marker, *tail])
    return "\n".join([*lines[: MAX_LINES - 1], indent + "..."])


def _add(defs: Definitions, definition: Definition) -> None:
    defs.setdefault(definition.name, []).append(definition)


# --------------------------------------------------------------------------------------------
# Go definitions


def _go_node(node: Node, data: bytes, path: str, found: _Found) -> None:
    """The definitions of one top-level Go node."""
    defs = found.defs
    kind = node.type
    if kind == "package_clause":
        for child in node.named_children:
            if child.type == "package_identifier":
                found.package = _node_text(data, child)
    elif kind in ("function_declaration", "method_declaration"):
        name = node.child_by_field_name("name")
        if name is None or name.is_missing:
            return
        method = kind == "method_declaration"
        _add(
            defs,
            Definition(
                name=_node_text(data, name),
                kind="method" if method else "func",
                path=path,
                row=node.start_point.row,
                text=_cap(_go_function_text(node, data), "go"),
                owner=_go_receiver(node, data) if method else "",
            ),
        )
    elif kind == "type_declaration":
        grouped = any(child.type == "(" for child in node.children)
        for spec in node.named_children:
            if spec.type not in ("type_spec", "type_alias"):
                continue
            name = spec.child_by_field_name("name")
            if name is None or name.is_missing:
                continue
            if grouped:
                text = "type " + _dedented(data, spec.start_byte, spec.end_byte)
            else:
                text = _node_text(data, node)
            definition = Definition(
                name=_node_text(data, name),
                kind="type",
                path=path,
                row=spec.start_point.row if grouped else node.start_point.row,
                text=_cap(text, "go"),
            )
            _add(defs, definition)
            for member in _go_members(spec.child_by_field_name("type"), data):
                found.members.setdefault(member, []).append(definition)
    elif kind in ("const_declaration", "var_declaration"):
        _go_values(node, data, path, defs)


def _go_members(kind: Node | None, data: bytes) -> Iterator[str]:
    """The field names of a struct type, the method names of an interface type."""
    if kind is None or kind.type not in ("struct_type", "interface_type"):
        return
    for child in kind.named_children:
        if child.type == "field_declaration_list":
            for declaration in child.named_children:
                if declaration.type == "field_declaration":
                    for name in declaration.children_by_field_name("name"):
                        yield _node_text(data, name)
        elif child.type == "method_elem":
            method = child.child_by_field_name("name")
            if method is not None:
                yield _node_text(data, method)


def _go_function_text(node: Node, data: bytes) -> str:
    body = node.child_by_field_name("body")
    if body is None:
        return _node_text(data, node)
    return _text(data, node.start_byte, body.start_byte).rstrip() + " { ... }"


def _go_receiver(node: Node, data: bytes) -> str:
    """The type name of a method's receiver: `(s *Stack[T])` -> "Stack"."""
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return ""
    for param in receiver.named_children:
        if param.type != "parameter_declaration":
            continue
        kind = param.child_by_field_name("type")
        while kind is not None and kind.type in ("pointer_type", "generic_type"):
            if kind.type == "generic_type":
                kind = kind.child_by_field_name("type")
            else:
                kind = kind.named_children[0] if kind.named_child_count else None
        if kind is not None and kind.type == "type_identifier":
            return _node_text(data, kind)
    return ""


def _go_values(node: Node, data: bytes, path: str, defs: Definitions) -> None:
    """The names of a const or var declaration; a block stays whole unless it is too long."""
    keyword_ = "const" if node.type == "const_declaration" else "var"
    specs: list[Node] = []
    for child in node.named_children:
        if child.type in ("const_spec", "var_spec"):
            specs.append(child)
        elif child.type == "var_spec_list":
            specs.extend(spec for spec in child.named_children if spec.type == "var_spec")
    whole = _node_text(data, node)
    fits = whole.count("\n") < MAX_LINES
    for index, spec in enumerate(specs):
        names = [n for n in spec.children_by_field_name("name") if not n.is_missing]
        if not names:
            continue
        if fits or len(specs) == 1:
            text, row = whole, node.start_point.row
        else:
            # A long block: its first spec (an iota sets the pattern for the rest), and this one.
            parts = [f"{keyword_} ("]
            if index > 0:
                parts.append(_spec_lines(data, specs[0]))
            if index > 1:
                parts.append("\t// ...")
            parts.append(_spec_lines(data, spec))
            if index + 1 < len(specs):
                parts.append("\t// ...")
            parts.append(")")
            text, row = "\n".join(parts), spec.start_point.row
        text = _cap(text, "go")
        for name in names:
            value = _node_text(data, name)
            if value != "_":
                _add(defs, Definition(name=value, kind=keyword_, path=path, row=row, text=text))


def _spec_lines(data: bytes, spec: Node) -> str:
    """The whole lines of a spec in a block, with their comments and indentation."""
    return _text(data, _line_start(data, spec.start_byte), _line_end(data, spec.end_byte))


def _go_imports(root: Node, data: bytes) -> set[str]:
    """The names the imported packages are used by: `str "strings"` -> str, "net/http" -> http."""
    names: set[str] = set()
    for node in root.children:
        if node.type == "package_clause" or node.type == "comment":
            continue
        if node.type != "import_declaration":
            break
        specs = [child for child in node.named_children if child.type == "import_spec"]
        for child in node.named_children:
            if child.type == "import_spec_list":
                specs.extend(spec for spec in child.named_children if spec.type == "import_spec")
        for spec in specs:
            alias = spec.child_by_field_name("name")
            if alias is not None:
                if alias.type == "package_identifier":
                    names.add(_node_text(data, alias))
                continue
            target = spec.child_by_field_name("path")
            if target is None:
                continue
            parts = _node_text(data, target).strip('"`').split("/")
            while len(parts) > 1 and _GO_VERSION_RE.match(parts[-1]):
                parts.pop()  # "example.com/mod/v2" is package mod
            if parts and parts[-1]:
                names.add(parts[-1].removeprefix("go-").split(".")[0].replace("-", "_"))
    return names


# --------------------------------------------------------------------------------------------
# Python definitions


def _py_block(block: Node, data: bytes, path: str, found: _Found, depth: int) -> None:
    for node in block.named_children:
        _py_node(node, data, path, found, depth)


def _py_node(node: Node, data: bytes, path: str, found: _Found, depth: int) -> None:
    """The definitions of one module-level Python statement."""
    defs = found.defs
    kind = node.type
    inner = node
    if kind == "decorated_definition":
        definition = node.child_by_field_name("definition")
        if definition is None:
            return
        inner = definition
    if inner.type == "function_definition":
        name = inner.child_by_field_name("name")
        if name is not None and not name.is_missing:
            text = _py_function_text(inner, node, data)
            _add(
                defs,
                Definition(_node_text(data, name), "func", path, node.start_point.row, text),
            )
    elif inner.type == "class_definition":
        _py_class(inner, node, data, path, found)
    elif kind == "expression_statement":
        _py_assignment(node, data, path, defs)
    elif kind == "type_alias_statement":
        left = node.child_by_field_name("left")
        name = _first_identifier(left)
        if name is not None:
            text = _cap(_dedented(data, node.start_byte, node.end_byte), "python")
            value = _node_text(data, name)
            _add(defs, Definition(value, "type", path, node.start_point.row, text))
    elif kind in _PY_NESTING and depth < 3:
        # `if TYPE_CHECKING:`, `try: ... except ImportError:` at module level.
        _py_block(node, data, path, found, depth + 1)


def _first_identifier(node: Node | None) -> Node | None:
    while node is not None and node.type != "identifier":
        node = node.named_children[0] if node.named_child_count else None
    return node


def _py_assignment(node: Node, data: bytes, path: str, defs: Definitions) -> None:
    if node.named_child_count != 1 or node.named_children[0].type != "assignment":
        return
    left = node.named_children[0].child_by_field_name("left")
    if left is None or left.type != "identifier":
        return
    name = _node_text(data, left)
    if name.startswith("__") and name.endswith("__"):
        return  # __all__, __version__
    kind = "const" if name.upper() == name and any(ch.isalpha() for ch in name) else "var"
    text = _cap(_dedented(data, node.start_byte, node.end_byte), "python")
    _add(defs, Definition(name, kind, path, node.start_point.row, text))


def _py_header(definition: Node, outer: Node, data: bytes) -> str:
    """Decorators and header of a def/class, up to its `:`; later lines dedented."""
    end = definition.end_byte
    body = definition.child_by_field_name("body")
    for child in definition.children:
        if body is not None and child.start_byte >= body.start_byte:
            break
        if child.type == ":":
            end = child.end_byte
    return _dedented(data, outer.start_byte, end).rstrip()


def _py_body_indent(definition: Node, outer: Node, data: bytes) -> str:
    body = definition.child_by_field_name("body")
    if body is not None and body.start_point.row > definition.start_point.row:
        lead = _text(data, _line_start(data, body.start_byte), body.start_byte)
        if not lead.strip():
            return lead[outer.start_point.column :] or "    "
    return "    "


def _py_docline(definition: Node, data: bytes) -> str | None:
    """The first line of a def's or class's docstring, if it has one."""
    body = definition.child_by_field_name("body")
    if body is None:
        return None
    for statement in body.named_children:
        if statement.type == "comment":
            continue
        if statement.type != "expression_statement" or statement.named_child_count != 1:
            return None
        string = statement.named_children[0]
        if string.type != "string":
            return None
        match = _PY_STRING_RE.match(_node_text(data, string))
        if match is None:
            return None
        for line in match.group(2).split("\n"):
            line = line.strip()
            if line:
                return None if '"""' in line or line.endswith("\\") else line
        return None
    return None


def _py_function_text(definition: Node, outer: Node, data: bytes) -> str:
    lines = [_py_header(definition, outer, data)]
    indent = _py_body_indent(definition, outer, data)
    doc = _py_docline(definition, data)
    if doc is not None:
        lines.append(f'{indent}"""{doc}"""')
    lines.append(indent + "...")
    return _cap("\n".join(lines), "python")


def _py_class(definition: Node, outer: Node, data: bytes, path: str, found: _Found) -> None:
    name_node = definition.child_by_field_name("name")
    if name_node is None or name_node.is_missing:
        return
    name = _node_text(data, name_node)
    header = _py_header(definition, outer, data)
    bare_header = _py_header(definition, definition, data)  # without decorators
    indent = _py_body_indent(definition, outer, data)
    lines = [header]
    doc = _py_docline(definition, data)
    if doc is not None:
        lines.append(f'{indent}"""{doc}"""')
    body = definition.child_by_field_name("body")
    members = body.named_children if body is not None else []
    attributes: list[str] = []
    for member in members:
        kind = member.type
        inner = member
        if kind == "decorated_definition":
            decorated = member.child_by_field_name("definition")
            if decorated is None:
                continue
            inner = decorated
        if inner.type == "function_definition":
            signature = _py_header(inner, member, data)
            lines.append(_indent_text(signature + " ...", indent))
            method = inner.child_by_field_name("name")
            if method is not None and not method.is_missing:
                text = (
                    bare_header
                    + "\n"
                    + _indent_text(_py_function_text(inner, member, data), indent)
                )
                _add(
                    found.defs,
                    Definition(
                        name=_node_text(data, method),
                        kind="method",
                        path=path,
                        row=member.start_point.row,
                        text=_cap(text, "python"),
                        owner=name,
                    ),
                )
        elif inner.type == "class_definition":
            lines.append(_indent_text(_py_header(inner, member, data) + " ...", indent))
        elif (
            kind == "expression_statement"
            and member.named_child_count == 1
            and member.named_children[0].type == "assignment"
        ):
            lines.append(_indent_text(_dedented(data, member.start_byte, member.end_byte), indent))
            left = member.named_children[0].child_by_field_name("left")
            if left is not None and left.type == "identifier":
                attributes.append(_node_text(data, left))
    if len(lines) == 1 or (len(lines) == 2 and doc is not None):
        lines.append(indent + "...")
    text = _cap("\n".join(lines), "python")
    definition_ = Definition(name, "class", path, outer.start_point.row, text)
    _add(found.defs, definition_)
    for attribute in attributes:
        found.members.setdefault(attribute, []).append(definition_)


def _py_imports(root: Node, data: bytes) -> _PyImports:
    found = _PyImports()
    stack = list(reversed(root.named_children))
    while stack:
        node = stack.pop()
        kind = node.type
        if kind in _PY_NESTING:
            stack.extend(reversed(node.named_children))
        elif kind == "import_statement":
            for name in node.children_by_field_name("name"):
                if name.type == "aliased_import":
                    dotted = name.child_by_field_name("name")
                    alias = name.child_by_field_name("alias")
                    if dotted is not None and alias is not None:
                        stem = _node_text(data, dotted).rsplit(".", 1)[-1]
                        found.modules[_node_text(data, alias)] = stem
                elif name.type == "dotted_name" and name.named_child_count == 1:
                    module = _node_text(data, name)
                    found.modules[module] = module
        elif kind == "import_from_statement":
            module_node = node.child_by_field_name("module_name")
            if module_node is None:
                continue
            module = _node_text(data, module_node).lstrip(".")
            stem = module.rsplit(".", 1)[-1] if module else "__init__"
            if any(child.type == "wildcard_import" for child in node.named_children):
                found.star.add(stem)
            for name in node.children_by_field_name("name"):
                alias = None
                if name.type == "aliased_import":
                    alias = name.child_by_field_name("alias")
                    name = name.child_by_field_name("name") or name
                original = _node_text(data, name)
                local = _node_text(data, alias) if alias is not None else original
                found.names[local] = (stem, original)
                if not module:  # `from . import models`: a sibling module
                    found.modules[local] = original
    return found


# --------------------------------------------------------------------------------------------
# JavaScript/TypeScript, Rust, Java, C/C++ definitions (the brace languages)

# Function-like nodes whose block body a compacted text elides as `{ ... }`.
_BODY_OWNERS = frozenset(
    {
        # javascript / typescript
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "generator_function",
        "function",
        "arrow_function",
        "method_definition",
        # rust
        "function_item",
        "closure_expression",
        # java
        "method_declaration",
        "constructor_declaration",
        "compact_constructor_declaration",
        "lambda_expression",
        # c / c++
        "function_definition",
    }
)
_BODIES = frozenset({"statement_block", "block", "compound_statement", "constructor_body"})


def _compact(outer: Node, data: bytes, lang: str) -> str:
    """`outer`'s source with the bodies of the functions in it elided, dedented and capped."""
    cuts: list[tuple[int, int]] = []
    stack = [outer]
    while stack:
        node = stack.pop()
        if node.type in _BODY_OWNERS:
            body = node.child_by_field_name("body")
            if body is not None and body.type in _BODIES:
                cuts.append((body.start_byte, body.end_byte))
                stack.extend(c for c in node.named_children if c.start_byte < body.start_byte)
                continue
        stack.extend(node.named_children)
    cuts.sort()
    parts: list[str] = []
    pos = outer.start_byte
    for start, end in cuts:
        if start < pos:
            continue
        parts.append(_text(data, pos, start))
        parts.append("{ ... }")
        pos = end
    parts.append(_text(data, pos, outer.end_byte))
    return _cap(_dedent_text(data, outer.start_byte, "".join(parts)).rstrip(), lang)


def _dedent_text(data: bytes, start: int, text: str) -> str:
    """`text` (the source from `start` on, maybe edited), its later lines stripped of the
    indentation of the line of `start`."""
    lead = data[_line_start(data, start) : start]
    if not lead or lead.strip(b" \t"):
        return text
    width = len(lead)
    lines = text.split("\n")
    for i in range(1, len(lines)):
        line = lines[i]
        strip = len(line) - len(line.lstrip(" \t"))
        lines[i] = line[min(strip, width) :]
    return "\n".join(lines)


def _member_indent(container: Node, member: Node, data: bytes) -> str:
    lead = _text(data, _line_start(data, member.start_byte), member.start_byte)
    if member.start_point.row > container.start_point.row and not lead.strip():
        return lead[container.start_point.column :] or "    "
    return "    "


def _in_container(container: Node, body: Node, member: Node, data: bytes, lang: str) -> str:
    """A member's compacted text inside its container's header: `class X {\\n  m() { ... }\\n}`."""
    header = _dedented(data, container.start_byte, body.start_byte).rstrip()
    inner = _compact(member, data, lang)
    indent = _member_indent(container, member, data)
    return _cap(f"{header} {{\n{_indent_text(inner, indent)}\n}}", lang)


def _simple_name(node: Node | None, data: bytes) -> str:
    """The name of a type node: `Stack<T>` -> "Stack", `&mut a::B` -> "B"."""
    while node is not None:
        if node.type in ("type_identifier", "identifier", "field_identifier"):
            return _node_text(data, node)
        inner = node.child_by_field_name("type") or node.child_by_field_name("name")
        if inner is None and node.named_child_count:
            inner = node.named_children[-1 if node.type == "scoped_type_identifier" else 0]
        node = inner
    return ""


def _named(node: Node, data: bytes) -> str:
    name = node.child_by_field_name("name")
    if name is None or name.is_missing:
        return ""
    return _node_text(data, name)


# JavaScript / TypeScript

_JS_FUNCTIONS = frozenset(
    {"function_declaration", "generator_function_declaration", "function_signature"}
)
_JS_CLASSES = frozenset({"class_declaration", "abstract_class_declaration", "class"})
_JS_TYPES = frozenset({"interface_declaration", "type_alias_declaration", "enum_declaration"})


def _js_node(node: Node, data: bytes, path: str, found: _Found, lang: str) -> None:
    inner = node
    if node.type == "export_statement":
        declaration = node.child_by_field_name("declaration") or node.child_by_field_name("value")
        if declaration is None:
            return
        inner = declaration
    kind = inner.type
    row = node.start_point.row
    if kind in _JS_FUNCTIONS:
        name = _named(inner, data)
        if name:
            _add(found.defs, Definition(name, "func", path, row, _compact(node, data, lang)))
    elif kind in _JS_CLASSES:
        name = _named(inner, data)
        if not name:
            return
        definition = Definition(name, "class", path, row, _compact(node, data, lang))
        _add(found.defs, definition)
        body = inner.child_by_field_name("body")
        if body is None:
            return
        for member in body.named_children:
            member_name = _named(member, data)
            if not member_name:
                continue
            if member.type == "method_definition":
                text = _in_container(node, body, member, data, lang)
                row_ = member.start_point.row
                _add(found.defs, Definition(member_name, "method", path, row_, text, name))
            else:
                found.members.setdefault(member_name, []).append(definition)
    elif kind in _JS_TYPES:
        name = _named(inner, data)
        if not name:
            return
        definition = Definition(name, "type", path, row, _compact(node, data, lang))
        _add(found.defs, definition)
        body = inner.child_by_field_name("body")
        for member in body.named_children if body is not None else ():
            if member.type == "property_identifier":
                member_name = _node_text(data, member)  # an enum member
            else:
                member_name = _named(member, data)
            if member_name:
                found.members.setdefault(member_name, []).append(definition)
    elif kind in ("lexical_declaration", "variable_declaration"):
        constant = _node_text(data, inner).startswith("const")
        declarators = [c for c in inner.named_children if c.type == "variable_declarator"]
        text = _compact(node, data, lang)
        for declarator in declarators:
            name_node = declarator.child_by_field_name("name")
            if name_node is None or name_node.type != "identifier":
                continue
            value = declarator.child_by_field_name("value")
            if value is not None and _js_require(value, data):
                continue  # `const m = require('./m')` is an import
            if value is not None and value.type in ("arrow_function", "function_expression"):
                kind_ = "func"
            elif value is not None and value.type == "class":
                kind_ = "class"
            else:
                kind_ = "const" if constant else "var"
            _add(found.defs, Definition(_node_text(data, name_node), kind_, path, row, text))


def _js_require(value: Node, data: bytes) -> bool:
    if value.type != "call_expression":
        return False
    function = value.child_by_field_name("function")
    return function is not None and _node_text(data, function) == "require"


def _js_imports(root: Node, data: bytes) -> _PyImports:
    """The relative imports of a JS/TS file from its own folder (`./m`), as Python's."""
    found = _PyImports()
    for node in root.named_children:
        if node.type == "import_statement":
            source = node.child_by_field_name("source")
            stem = _js_stem(source, data)
            if stem is None:
                continue
            for clause in node.named_children:
                if clause.type != "import_clause":
                    continue
                for part in clause.named_children:
                    if part.type == "identifier":  # a default import
                        local = _node_text(data, part)
                        found.names[local] = (stem, local)
                    elif part.type == "namespace_import":
                        for child in part.named_children:
                            found.modules[_node_text(data, child)] = stem
                    elif part.type == "named_imports":
                        for spec in part.named_children:
                            name = spec.child_by_field_name("name")
                            if name is None:
                                continue
                            alias = spec.child_by_field_name("alias") or name
                            found.names[_node_text(data, alias)] = (stem, _node_text(data, name))
        elif node.type in ("lexical_declaration", "variable_declaration"):
            for declarator in node.named_children:
                if declarator.type != "variable_declarator":
                    continue
                value = declarator.child_by_field_name("value")
                target = declarator.child_by_field_name("name")
                if value is None or target is None or value.type != "call_expression":
                    continue
                function = value.child_by_field_name("function")
                arguments = value.child_by_field_name("arguments")
                if function is None or _node_text(data, function) != "require":
                    continue
                if arguments is None or arguments.named_child_count != 1:
                    continue
                stem = _js_stem(arguments.named_children[0], data)
                if stem is None:
                    continue
                if target.type == "identifier":
                    found.modules[_node_text(data, target)] = stem
                elif target.type == "object_pattern":
                    for part in target.named_children:
                        if part.type == "shorthand_property_identifier_pattern":
                            local = _node_text(data, part)
                            found.names[local] = (stem, local)
                        elif part.type == "pair_pattern":
                            key = part.child_by_field_name("key")
                            value_ = part.child_by_field_name("value")
                            if key is not None and value_ is not None:
                                local = _node_text(data, value_)
                                found.names[local] = (stem, _node_text(data, key))
    return found


def _js_stem(source: Node | None, data: bytes) -> str | None:
    """The file stem of a module specifier of the same folder: './m' and './m.js' -> "m"."""
    if source is None or source.type != "string":
        return None
    spec = _node_text(data, source)[1:-1]
    if not spec.startswith("./"):
        return None
    spec = spec[2:]
    if not spec or "/" in spec:
        return None
    stem, extension = os.path.splitext(spec)
    return stem if extension in languages.JAVASCRIPT.sibling_extensions else spec


# Rust


def _rust_node(node: Node, data: bytes, path: str, found: _Found, lang: str) -> None:
    kind = node.type
    row = node.start_point.row
    if kind in ("function_item", "function_signature_item"):
        name = _named(node, data)
        if name:
            _add(found.defs, Definition(name, "func", path, row, _compact(node, data, lang)))
    elif kind in ("struct_item", "enum_item", "union_item", "type_item", "trait_item"):
        name = _named(node, data)
        if not name:
            return
        definition = Definition(name, "type", path, row, _compact(node, data, lang))
        _add(found.defs, definition)
        body = node.child_by_field_name("body")
        for member in body.named_children if body is not None else ():
            member_name = _named(member, data)
            if member_name:
                found.members.setdefault(member_name, []).append(definition)
    elif kind in ("const_item", "static_item"):
        name = _named(node, data)
        if name:
            kind_ = "const" if kind == "const_item" else "var"
            _add(found.defs, Definition(name, kind_, path, row, _compact(node, data, lang)))
    elif kind == "impl_item":
        owner = _simple_name(node.child_by_field_name("type"), data)
        body = node.child_by_field_name("body")
        if not owner or body is None:
            return
        for member in body.named_children:
            if member.type != "function_item":
                continue
            name = _named(member, data)
            if name:
                text = _in_container(node, body, member, data, lang)
                _add(
                    found.defs,
                    Definition(name, "method", path, member.start_point.row, text, owner),
                )


# Java


def _java_node(node: Node, data: bytes, path: str, found: _Found, lang: str) -> None:
    if node.type == "package_declaration":
        for child in node.named_children:
            if child.type in ("scoped_identifier", "identifier"):
                found.package = _node_text(data, child)
    else:
        _java_type(node, data, path, found, 0)


_JAVA_TYPES = frozenset(
    {
        "class_declaration",
        "interface_declaration",
        "enum_declaration",
        "record_declaration",
        "annotation_type_declaration",
    }
)


def _java_type(node: Node, data: bytes, path: str, found: _Found, depth: int) -> None:
    if node.type not in _JAVA_TYPES:
        return
    name = _named(node, data)
    body = node.child_by_field_name("body")
    if not name:
        return
    kind = (
        "type" if node.type in ("interface_declaration", "annotation_type_declaration") else "class"
    )
    definition = Definition(name, kind, path, node.start_point.row, _compact(node, data, "java"))
    _add(found.defs, definition)
    if body is None:
        return
    members = list(body.named_children)
    for member in list(members):
        if member.type == "enum_body_declarations":
            members.extend(member.named_children)
    for member in members:
        kind_ = member.type
        row = member.start_point.row
        if kind_ == "method_declaration":  # a constructor shows in its class's text
            method = _named(member, data)
            if method:
                text = _in_container(node, body, member, data, "java")
                _add(found.defs, Definition(method, "method", path, row, text, name))
        elif kind_ in ("field_declaration", "constant_declaration"):
            modifiers = next((c for c in member.named_children if c.type == "modifiers"), None)
            words = _node_text(data, modifiers).split() if modifiers is not None else []
            constant = kind_ == "constant_declaration" or ("static" in words and "final" in words)
            for declarator in member.children_by_field_name("declarator"):
                field_name = _named(declarator, data)
                if not field_name:
                    continue
                found.members.setdefault(field_name, []).append(definition)
                if constant:
                    text = _in_container(node, body, member, data, "java")
                    _add(found.defs, Definition(field_name, "const", path, row, text, name))
        elif kind_ == "enum_constant":
            constant_name = _named(member, data)
            if constant_name:
                found.members.setdefault(constant_name, []).append(definition)
        elif kind_ in _JAVA_TYPES and depth < 2:
            _java_type(member, data, path, found, depth + 1)


# C / C++

_C_DESCEND = frozenset(
    {
        "preproc_ifdef",
        "preproc_if",
        "preproc_else",
        "preproc_elif",
        "preproc_elifdef",
        "linkage_specification",
        "declaration_list",
        "namespace_definition",
    }
)
_C_RECORDS = frozenset({"struct_specifier", "union_specifier", "class_specifier"})
_C_DECLARATORS = frozenset(
    {
        "pointer_declarator",
        "reference_declarator",
        "array_declarator",
        "init_declarator",
        "parenthesized_declarator",
        "attributed_declarator",
    }
)


def _c_declarator(node: Node | None) -> tuple[Node | None, bool]:
    """The name node of a declarator, and whether it declares a function."""
    function = False
    while node is not None and node.type in (*_C_DECLARATORS, "function_declarator"):
        if node.type == "function_declarator":
            function = True
        inner = node.child_by_field_name("declarator")
        if inner is None and node.named_child_count:
            inner = node.named_children[0]
        node = inner
    return node, function


def _c_node(node: Node, data: bytes, path: str, found: _Found, lang: str, depth: int = 0) -> None:
    kind = node.type
    row = node.start_point.row
    outer = node
    if kind == "template_declaration":
        inner = next((c for c in node.named_children if c.type != "template_parameter_list"), None)
        if inner is None:
            return
        node, kind = inner, inner.type
    if kind in _C_DESCEND:
        if depth < 4:
            body = node.child_by_field_name("body")
            for child in (body or node).named_children:
                _c_node(child, data, path, found, lang, depth + 1)
        return
    if kind == "preproc_def":
        name = _named(node, data)
        if name and node.child_by_field_name("value") is not None:
            text = _node_text(data, node).rstrip()
            _add(found.defs, Definition(name, "const", path, row, text))
    elif kind == "preproc_function_def":
        name = _named(node, data)
        if name:
            _add(found.defs, Definition(name, "func", path, row, _node_text(data, node).rstrip()))
    elif kind == "function_definition":
        name_node, _function = _c_declarator(node.child_by_field_name("declarator"))
        if name_node is None:
            return
        text = _compact(outer, data, lang)
        if name_node.type == "qualified_identifier":
            scope = name_node.child_by_field_name("scope")
            method = name_node.child_by_field_name("name")
            if scope is None or method is None:
                return
            owner = _simple_name(scope, data)
            name = _node_text(data, method)
            _add(found.defs, Definition(name, "method", path, row, text, owner))
        elif name_node.type in ("identifier", "field_identifier"):
            _add(found.defs, Definition(_node_text(data, name_node), "func", path, row, text))
    elif kind == "declaration":
        text = _compact(outer, data, lang)
        words = {_node_text(data, c) for c in node.children if c.type == "type_qualifier"}
        for declarator in node.children_by_field_name("declarator"):
            name_node, function = _c_declarator(declarator)
            if name_node is None or name_node.type != "identifier":
                continue
            name = _node_text(data, name_node)
            if function:
                kind_ = "func"
            else:
                kind_ = "const" if "const" in words or "constexpr" in words else "var"
            _add(found.defs, Definition(name, kind_, path, row, text))
        type_node = node.child_by_field_name("type")
        if type_node is not None and type_node.type in (*_C_RECORDS, "enum_specifier"):
            _c_record(outer, type_node, data, path, found, lang)
    elif kind == "type_definition":
        text = _compact(outer, data, lang)
        type_node = node.child_by_field_name("type")
        for declarator in node.children_by_field_name("declarator"):
            name_node, _function = _c_declarator(declarator)
            if name_node is None or name_node.type not in ("type_identifier", "identifier"):
                continue
            definition = Definition(_node_text(data, name_node), "type", path, row, text)
            _add(found.defs, definition)
            for member in _c_members(type_node, data):
                found.members.setdefault(member, []).append(definition)
    elif kind == "alias_declaration":
        name = _named(node, data)
        if name:
            _add(found.defs, Definition(name, "type", path, row, _compact(outer, data, lang)))
    elif kind in _C_RECORDS or kind == "enum_specifier":
        _c_record(outer, node, data, path, found, lang)


def _c_members(record: Node | None, data: bytes) -> Iterator[str]:
    """The field, method and enumerator names of a struct, class, union or enum."""
    body = None if record is None else record.child_by_field_name("body")
    for member in body.named_children if body is not None else ():
        if member.type == "enumerator":
            name = _named(member, data)
            if name:
                yield name
        elif member.type in ("field_declaration", "function_definition", "declaration"):
            for declarator in member.children_by_field_name("declarator"):
                name_node, _function = _c_declarator(declarator)
                if name_node is not None and name_node.type in ("field_identifier", "identifier"):
                    yield _node_text(data, name_node)


def _c_record(outer: Node, record: Node, data: bytes, path: str, found: _Found, lang: str) -> None:
    """A struct, union, class or enum with a name and a body."""
    name = _named(record, data)
    body = record.child_by_field_name("body")
    if not name or body is None:
        return
    kind = "class" if record.type == "class_specifier" else "type"
    if lang == "cpp" and record.type == "struct_specifier":
        has_methods = any(m.type == "function_definition" for m in body.named_children)
        kind = "class" if has_methods else "type"
    definition = Definition(name, kind, path, outer.start_point.row, _compact(outer, data, lang))
    _add(found.defs, definition)
    for member_name in _c_members(record, data):
        found.members.setdefault(member_name, []).append(definition)
    for member in body.named_children:
        if member.type != "function_definition":
            continue
        name_node, _function = _c_declarator(member.child_by_field_name("declarator"))
        if name_node is not None and name_node.type in ("field_identifier", "identifier"):
            text = _in_container(outer, body, member, data, lang)
            method = _node_text(data, name_node)
            _add(
                found.defs,
                Definition(method, "method", path, member.start_point.row, text, name),
            )


def _c_includes(root: Node, data: bytes) -> frozenset[str]:
    """The files of the same folder that a C/C++ file includes with quotes."""
    names: set[str] = set()
    stack = list(root.named_children)
    while stack:
        node = stack.pop()
        if node.type == "preproc_include":
            target = node.child_by_field_name("path")
            if target is not None and target.type == "string_literal":
                name = _node_text(data, target).strip('"').removeprefix("./")
                if name and "/" not in name:
                    names.add(name)
        elif node.type in ("preproc_ifdef", "preproc_if", "preproc_else", "preproc_elif"):
            stack.extend(node.named_children)
    return frozenset(names)


# Lua


def _lua_function_text(outer: Node, function: Node, data: bytes) -> str:
    """`local function f(a, b) ... end`: the header up to the parameters, the body elided."""
    params = function.child_by_field_name("parameters")
    if params is None:
        return _cap(_dedented(data, outer.start_byte, outer.end_byte), "lua")
    return _dedented(data, outer.start_byte, params.end_byte) + " ... end"


def _lua_target(node: Node | None, data: bytes) -> tuple[str, str, bool]:
    """(name, owner, method) of a function or variable name: `M.f` -> ("f", "M", False)."""
    if node is None:
        return "", "", False
    if node.type == "identifier":
        return _node_text(data, node), "", False
    field_name = {"dot_index_expression": "field", "method_index_expression": "method"}
    inner = field_name.get(node.type)
    if inner is None:
        return "", "", False
    name = node.child_by_field_name(inner)
    table = node.child_by_field_name("table")
    if name is None or table is None:
        return "", "", False
    method = node.type == "method_index_expression"
    return _node_text(data, name), _node_text(data, table), method


def _lua_node(node: Node, data: bytes, path: str, found: _Found, lang: str) -> None:
    inner = node
    if node.type == "variable_declaration":  # `local function f` parses as one, too
        declared = next((c for c in node.named_children if c.type != "comment"), None)
        if declared is None:
            return
        inner = declared
    row = node.start_point.row
    if inner.type == "function_declaration":
        name, owner, _method = _lua_target(inner.child_by_field_name("name"), data)
        if not name:
            return
        text = _lua_function_text(node, inner, data)
        kind = "method" if owner else "func"
        _add(found.defs, Definition(name, kind, path, row, text, owner))
    elif inner.type == "assignment_statement":
        targets = next((c for c in inner.named_children if c.type == "variable_list"), None)
        values = next((c for c in inner.named_children if c.type == "expression_list"), None)
        if targets is None:
            return
        value_nodes = values.named_children if values is not None else []
        for i, target in enumerate(targets.children_by_field_name("name")):
            name, owner, _method = _lua_target(target, data)
            if not name:
                continue
            value = value_nodes[i] if i < len(value_nodes) else None
            if value is not None and _lua_require(value, data) is not None:
                continue  # `local m = require("m")` is an import
            if value is not None and value.type == "function_definition":
                text = _lua_function_text(node, value, data)
                kind = "method" if owner else "func"
            else:
                text = _cap(_dedented(data, node.start_byte, node.end_byte), "lua")
                constant = name.upper() == name and any(ch.isalpha() for ch in name)
                kind = "const" if constant else "var"
            definition = Definition(name, kind, path, row, text, owner)
            _add(found.defs, definition)
            if owner and kind != "method":
                found.members.setdefault(name, []).append(definition)  # `M.MAX`


def _lua_require(node: Node, data: bytes) -> str | None:
    """The module stem of `require("a.b")` (with or without parentheses): "b"."""
    if node.type != "function_call":
        return None
    function = node.child_by_field_name("name")
    arguments = node.child_by_field_name("arguments")
    if function is None or arguments is None or _node_text(data, function) != "require":
        return None
    strings = [c for c in (*arguments.named_children, arguments) if c.type == "string"]
    if not strings:
        return None
    content = strings[0].child_by_field_name("content")
    module = _node_text(data, content) if content is not None else ""
    stem = module.replace("/", ".").rsplit(".", 1)[-1]
    return stem or None


def _lua_imports(root: Node, data: bytes) -> _PyImports:
    """`local m = require("pkg.m")` -> module alias m of the sibling m.lua."""
    found = _PyImports()
    for node in root.named_children:
        if node.type != "variable_declaration":
            continue
        for statement in node.named_children:
            if statement.type != "assignment_statement":
                continue
            targets = next((c for c in statement.named_children if c.type == "variable_list"), None)
            values = next(
                (c for c in statement.named_children if c.type == "expression_list"), None
            )
            if targets is None or values is None:
                continue
            for target, value in zip(
                targets.children_by_field_name("name"), values.named_children, strict=False
            ):
                stem = _lua_require(value, data)
                if stem is not None and target.type == "identifier":
                    found.modules[_node_text(data, target)] = stem
    return found


_BRACE_NODES: dict[str, Callable[[Node, bytes, str, _Found, str], None]] = {
    "javascript": _js_node,
    "typescript": _js_node,
    "tsx": _js_node,
    "rust": _rust_node,
    "java": _java_node,
    "c": _c_node,
    "cpp": _c_node,
}


# --------------------------------------------------------------------------------------------
# Identifiers near the cursor


def _near(
    tree: Tree, data: bytes, row: int, col: int, lang: str, lines_before: int, lines_after: int
) -> _Near:
    root = tree.root_node
    last_row = root.end_point.row
    row = max(0, min(row, last_row))
    first = max(0, row - max(lines_before, 0))
    last = row + max(lines_after, 0)
    query = _query(lang)
    captures: dict[str, list[Node]] = {}
    if query is not None:
        cursor = QueryCursor(query)
        cursor.set_point_range((first, 0), (last + 1, 0))
        captures = cursor.captures(root)

    if _deeper_than(root, (row, col), _MAX_DEPTH):
        # An unclosed bracket can nest the rest of the file ever deeper (thousands of levels),
        # and every step up a tree-sitter tree walks down from the root: bounded work instead.
        return _Near(uses=[], owners=set(), package="", imports=_PyImports())
    cursor_node = root.descendant_for_point_range((row, col), (row, col))
    locals_, owner = _enclosing_scope(cursor_node, data, lang)
    skipped: set[int] = set()
    scopes = _SCOPES[lang]
    for node in captures.get("def", ()):
        skipped.add(node.start_byte)
        # Top-level names stay: the index has them, and the prompt may not show them.
        if _in_scope(_c_declared(node) if lang in ("c", "cpp") else node, scopes):
            locals_.add(_node_text(data, node))
    for node in captures.get("skip", ()):
        skipped.add(node.start_byte)
    for node in captures.get("key", ()):
        if not _map_key(node):
            skipped.add(node.start_byte)
    imports = [(n.start_byte, n.end_byte) for n in captures.get("import", ())]

    package = ""
    go_imports: set[str] = set()
    py_imports = _PyImports()
    if lang == "go":
        go_imports = _go_imports(root, data)
        for node in root.children:
            if node.type == "package_clause":
                for child in node.named_children:
                    if child.type == "package_identifier":
                        package = _node_text(data, child)
                break
    elif lang == "python":
        py_imports = _py_imports(root, data)
    elif lang in _JS_FAMILY:
        py_imports = _js_imports(root, data)
    elif lang == "lua":
        py_imports = _lua_imports(root, data)
    elif lang == "java":
        for node in root.named_children:
            if node.type == "package_declaration":
                for child in node.named_children:
                    if child.type in ("scoped_identifier", "identifier"):
                        package = _node_text(data, child)
                break
    includes = _c_includes(root, data) if lang in ("c", "cpp") else frozenset()

    builtin = _BUILTINS.get(lang, frozenset())
    found: list[tuple[tuple[int, int, int], str, int, str]] = []

    def place(node: Node) -> tuple[int, int, int]:
        # Nearest row first (above before below); on the cursor's row the nearest column,
        # on other rows reading order.
        node_row, node_col = node.start_point
        if node_row == row:
            return (0, 0, abs(node_col - col))
        return (abs(node_row - row), 1 if node_row > row else 0, node_col)

    members: set[int] = set()
    for node in captures.get("member", ()):
        members.add(node.start_byte)
        if not first <= node.start_point.row <= last:
            continue
        name = _node_text(data, node)
        if name in builtin:
            continue
        parent = node.parent
        operand = None
        if parent is not None:
            operand = parent.child_by_field_name(_OPERANDS.get(lang, "object"))
        base = _node_text(data, operand) if operand is not None else ""
        if operand is not None and operand.type == "identifier":
            if lang == "go" and base in go_imports and base not in locals_:
                continue  # pkg.Name: another package
            if lang in _IMPORTING and base in py_imports.modules and base not in locals_:
                # Lua: `m.f` is a function stored in the module's table, an "owned" one.
                role = _MEMBER if lang == "lua" else _NAME
                found.append((place(node), name, role, py_imports.modules[base]))
                continue
        found.append((place(node), name, _MEMBER, ""))
    for capture, role in (("name", _NAME), ("type", _TYPE)):
        for node in captures.get(capture, ()):
            start = node.start_byte
            if start in skipped or start in members:
                continue
            if not first <= node.start_point.row <= last:
                continue
            if imports and any(a <= start < b for a, b in imports):
                continue
            name = _node_text(data, node)
            if name in locals_ or name in builtin or (lang == "go" and name in go_imports):
                continue
            found.append((place(node), name, role, ""))

    found.sort(key=lambda item: item[0])
    uses: list[tuple[str, int, str]] = []
    seen: set[tuple[str, int, str]] = set()
    owners = {owner} if owner else set()
    for _place, name, role, module in found:
        use = (name, role, module)
        if use not in seen:
            seen.add(use)
            uses.append(use)
            if role != _MEMBER:
                owners.add(name)
    return _Near(uses=uses, owners=owners, package=package, imports=py_imports, includes=includes)


_MAX_DEPTH = 256  # deeper than this around the cursor: code broken by an unclosed bracket
_SCOPE_STEPS = 64  # a top-level name sits a few levels below the root


def _deeper_than(root: Node, point: tuple[int, int], limit: int) -> bool:
    """Whether the node at `point` lies more than `limit` levels below the root (a cursor walks
    down in one pass; Node.parent would walk down from the root at every step)."""
    cursor = root.walk()
    depth = 0
    while cursor.goto_first_child_for_point(point) is not None:
        depth += 1
        if depth > limit:
            return True
    return False


def _in_scope(node: Node, scopes: frozenset[str]) -> bool:
    """Whether a defined name is local to a function (or a class body, a type's parameters).
    A name more than _SCOPE_STEPS levels deep counts as local (top-level ones are shallow)."""
    parent = node.parent
    ancestor = None if parent is None else parent.parent  # the parent may be what it names
    for _ in range(_SCOPE_STEPS):
        if ancestor is None:
            return False
        if ancestor.type in scopes:
            return True
        ancestor = ancestor.parent
    return True


def _c_declared(name: Node) -> Node:
    """A C/C++ declared name as `_in_scope` wants it: a child of what declares it (for
    `int *f(void)`, of the function definition or declaration, not of its declarators)."""
    node = name
    parent = name.parent
    while parent is not None and (
        parent.type in _C_DECLARATORS or parent.type == "function_declarator"
    ):
        node, parent = parent, parent.parent
    return node


def _map_key(key: Node) -> bool:
    """Whether a composite literal's key is a value (a map key), not a struct field name."""
    node = key.parent
    while node is not None and node.type != "composite_literal":
        node = node.parent
    kind = None if node is None else node.child_by_field_name("type")
    return kind is not None and kind.type == "map_type"


def _enclosing_scope(node: Node | None, data: bytes, lang: str) -> tuple[set[str], str]:
    """The parameters of the functions around the cursor, and the enclosing type or class."""
    names: set[str] = set()
    owner = ""
    while node is not None:
        kind = node.type
        if lang == "go" and kind in _GO_FUNCTIONS:
            for field_name in _GO_PARAMETER_LISTS:
                params = node.child_by_field_name(field_name)
                if params is None:
                    continue
                for param in params.named_children:
                    if param.type in _GO_PARAMETERS:
                        names.update(
                            _node_text(data, n) for n in param.children_by_field_name("name")
                        )
            if kind == "method_declaration" and not owner:
                owner = _go_receiver(node, data)
        elif lang == "python" and kind in ("function_definition", "lambda"):
            params = node.child_by_field_name("parameters")
            if params is not None:
                names.update(_py_parameter_names(params, data))
        elif lang == "python" and kind == "class_definition" and not owner:
            name = node.child_by_field_name("name")
            owner = _node_text(data, name) if name is not None else ""
        elif lang in _BRACE_NODES or lang == "lua":
            if kind in _BODY_OWNERS:
                names.update(_brace_parameter_names(node, data))
            if not owner:
                owner = _brace_owner(node, data)
        node = node.parent
    return names, owner


_DEFAULTS = frozenset({"value", "right", "default_value", "type", "return_type"})


def _brace_parameter_names(function: Node, data: bytes) -> Iterator[str]:
    """The names a function's parameters bind (not the identifiers of their default values)."""
    params = function.child_by_field_name("parameters") or function.child_by_field_name("parameter")
    if params is None:  # C/C++: `int f(int a)` has them in its function declarator
        declarator = function.child_by_field_name("declarator")
        while declarator is not None and declarator.type != "function_declarator":
            declarator = declarator.child_by_field_name("declarator")
        if declarator is not None:
            params = declarator.child_by_field_name("parameters")
    if params is None:
        return
    stack = [params]
    while stack:
        node = stack.pop()
        if node.type == "identifier":
            yield _node_text(data, node)
            continue
        for i, child in enumerate(node.children):
            if child.is_named and node.field_name_for_child(i) not in _DEFAULTS:
                stack.append(child)


def _brace_owner(node: Node, data: bytes) -> str:
    """The type that a class body, an impl block or a C++ `T::method` definition belongs to."""
    kind = node.type
    if kind in _JS_CLASSES or kind in _JAVA_TYPES or kind in _C_RECORDS or kind == "trait_item":
        return _named(node, data)
    if kind == "impl_item":
        return _simple_name(node.child_by_field_name("type"), data)
    if kind == "function_definition":
        name, _function = _c_declarator(node.child_by_field_name("declarator"))
        if name is not None and name.type == "qualified_identifier":
            return _simple_name(name.child_by_field_name("scope"), data)
    return ""


def _py_parameter_names(params: Node, data: bytes) -> Iterator[str]:
    for param in params.named_children:
        if param.type == "identifier":
            yield _node_text(data, param)
        elif param.type in ("default_parameter", "typed_default_parameter"):
            name = param.child_by_field_name("name")
            if name is not None:
                yield _node_text(data, name)
        else:
            name = _first_identifier(param)
            if name is not None:
                yield _node_text(data, name)


def identifiers_near(
    text: str,
    row: int,
    col: int,
    lang: str,
    *,
    lines_before: int = LINES_BEFORE,
    lines_after: int = LINES_AFTER,
) -> list[str]:
    """The identifiers that the lines around (row, col) use and do not define, nearest first.

    Type names, called functions, constants and variables, selector fields and methods (Go
    `x.Field`, Python `x.attr`), from `lines_before` lines above the cursor to `lines_after`
    below, deduplicated. Left out: keywords, builtins, imported package names and what they
    qualify (`fmt.Println`), struct literal field keys, keyword argument names, and the names
    defined in the window or as parameters of the functions around the cursor. Empty for a
    language that the module does not support (see `_SUPPORTED`).
    """
    if lang not in _SUPPORTED:
        return []
    data = _encode(text)
    tree = _parse_buffer(lang, data)
    if tree is None:
        return []
    near = _near(tree, data, row, col, lang, lines_before, lines_after)
    names: list[str] = []
    seen: set[str] = set()
    for name, _role, _module in near.uses:
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


# --------------------------------------------------------------------------------------------
# The index


# A top-level node's definitions by (start column, source), with the row they were read at: a
# node that only moved (lines inserted above it) is not read again, its rows are shifted.
_Memo = dict[tuple[int, bytes], tuple[int, _Found]]


def _shifted(part: _Found, delta: int) -> _Found:
    if not delta:
        return part

    def move(defs: Definitions) -> Definitions:
        return {
            name: [replace(d, row=d.row + delta) for d in items] for name, items in defs.items()
        }

    return _Found(defs=move(part.defs), members=move(part.members), package=part.package)


def _extract(
    lang: str, tree: Tree, data: bytes, path: str, memo: _Memo | None = None
) -> tuple[_Found, _Memo]:
    """The definitions of a file, node by node; a top-level node whose source is in `memo` (the
    previous version of the buffer) is not read again. Also the new memo."""
    found = _Found()
    fresh: _Memo = {}
    for node in tree.root_node.children:
        row, column = node.start_point
        key = (column, data[node.start_byte : node.end_byte])
        remembered = memo.get(key) if memo else None
        if remembered is not None:
            part = _shifted(remembered[1], row - remembered[0])
        else:
            part = _Found()
            if lang == "go":
                _go_node(node, data, path, part)
            elif lang == "python":
                if node.is_named:
                    _py_node(node, data, path, part, 0)
            elif lang == "lua":
                if node.is_named:
                    _lua_node(node, data, path, part, lang)
            elif node.is_named:
                _BRACE_NODES[lang](node, data, path, part, lang)
        fresh[key] = (row, part)
        if part.package:
            found.package = part.package
        for name, defs in part.defs.items():
            found.defs.setdefault(name, []).extend(defs)
        for name, defs in part.members.items():
            found.members.setdefault(name, []).extend(defs)
    return found, fresh


def _norm(path: str) -> str:
    return os.path.normcase(os.path.abspath(path)) if path else ""


_Signature = tuple[tuple[str, int, int], ...]  # (path, mtime_ns, size) of a folder's files
_FolderKey = tuple[str, str, str, str | None, frozenset[str] | None]


def _file_lang(lang: str, name: str) -> str | None:
    """The language to read a sibling file `name` in, for a buffer in `lang`; None: not one."""
    record = _RECORDS[lang]
    extension = os.path.splitext(name)[1]
    if extension in record.header_extensions:
        return lang  # a header reads as its includer
    if extension not in record.sibling_extensions:
        return None
    own = languages.for_extension(extension)  # .ts next to .js: each in its own grammar
    return own.name if own is not None and own.family == record.family else lang


class DefinitionIndex:
    """Definitions of one file (parsed once) and of a package folder: for Go (Java) the sibling
    .go (.java) files of the same package, for Python the modules in the same folder, for the
    other languages the files `definitions_in_folder` tells.

    Files on disk are parsed once and cached by (path, mtime_ns, size), at most `max_files` of
    them; a changed file is parsed again. A folder's merged definitions are cached as long as
    none of its files changes (the same dict comes back). A folder with more than `max_files`
    candidate files contributes its `max_files` most recently modified ones; files larger than
    MAX_FILE_BYTES are left out. `parsed_files` counts the parses of files on disk.

    Safe to share between threads. The dicts it returns belong to its cache: do not modify them.
    """

    def __init__(self, max_files: int = 64, exclude: Callable[[str], bool] | None = None) -> None:
        self.max_files = max(1, max_files)
        self.parsed_files = 0
        # Files never read (privacy.deny): `exclude(path)` is true for them.
        self._exclude = exclude
        self._lock = threading.Lock()
        self._files: OrderedDict[str, _FileEntry] = OrderedDict()
        self._folders: OrderedDict[_FolderKey, tuple[_Signature, _Found]]
        self._folders = OrderedDict()
        self._buffers: OrderedDict[tuple[str, str], tuple[bytes, _Found, _Memo]]
        self._buffers = OrderedDict()

    def definitions_in_text(self, text: str, lang: str, path: str = "") -> Definitions:
        """Name -> definitions of a buffer's text; their `path` is `path`.

        The last result per (path, lang) is kept: the same text gives the same dict back, a new
        text is reparsed incrementally.
        """
        return self._text(text, lang, path).defs

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
        return self._folder(folder, lang, exclude, package).defs

    def _text(self, text: str, lang: str, path: str) -> _Found:
        if lang not in _SUPPORTED:
            return _Found()
        data = _encode(text)
        key = (path, lang)
        with self._lock:
            cached = self._buffers.get(key)
            if cached is not None and cached[0] == data:
                self._buffers.move_to_end(key)
                return cached[1]
        tree = _parse_buffer(lang, data, path)
        if tree is None:
            return _Found()
        found, memo = _extract(lang, tree, data, path, cached[2] if cached else None)
        with self._lock:
            self._buffers[key] = (data, found, memo)
            self._buffers.move_to_end(key)
            while len(self._buffers) > _MAX_BUFFERS:
                self._buffers.popitem(last=False)
        return found

    def _folder(
        self,
        folder: str,
        lang: str,
        exclude: str,
        package: str | None,
        only: frozenset[str] | None = None,
    ) -> _Found:
        if lang not in _SUPPORTED or not folder:
            return _Found()
        excluded = _norm(exclude)
        tests = lang == "go" and exclude.endswith("_test.go")
        files: list[tuple[str, int, int]] = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith(".") or _file_lang(lang, name) is None:
                        continue
                    if only is not None and name not in only and _stem(name) not in only:
                        continue
                    if lang == "go" and name.endswith("_test.go") and not tests:
                        continue
                    if excluded and _norm(entry.path) == excluded:
                        continue
                    if self._exclude is not None and self._exclude(entry.path):
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
            return _Found()
        if len(files) > self.max_files:
            files.sort(key=lambda item: (-item[1], item[0]))
            del files[self.max_files :]
        files.sort()
        signature = tuple(files)
        key = (_norm(folder), lang, excluded, package, only)
        with self._lock:
            cached = self._folders.get(key)
            if cached is not None and cached[0] == signature:
                self._folders.move_to_end(key)
                return cached[1]

        parsed: list[_Found] = []
        for path, mtime, size in files:
            file_lang = _file_lang(lang, path)
            entry_ = None if file_lang is None else self._file(path, mtime, size, file_lang)
            if entry_ is not None:
                parsed.append(entry_.found)
        if lang in _PACKAGED:
            wanted = package
            if wanted is None and _file_lang(lang, exclude) is not None:
                own = self._stat_file(exclude, lang)
                wanted = own.found.package if own is not None and own.found.package else None
            if wanted is None:
                counts = Counter(found.package for found in parsed if found.package)
                wanted = counts.most_common(1)[0][0] if counts else ""
            parsed = [found for found in parsed if found.package == wanted]
        merged = _Found(package=package or "")
        for found in parsed:
            for name, defs in found.defs.items():
                merged.defs.setdefault(name, []).extend(defs)
            for name, defs in found.members.items():
                merged.members.setdefault(name, []).extend(defs)
        with self._lock:
            self._folders[key] = (signature, merged)
            self._folders.move_to_end(key)
            while len(self._folders) > _MAX_FOLDERS:
                self._folders.popitem(last=False)
        return merged

    def _stat_file(self, path: str, lang: str) -> _FileEntry | None:
        try:
            stat = os.stat(path)
        except OSError:
            return None
        if stat.st_size > MAX_FILE_BYTES:
            return None
        return self._file(path, stat.st_mtime_ns, stat.st_size, lang)

    def _file(self, path: str, mtime: int, size: int, lang: str) -> _FileEntry | None:
        """A file's definitions, from the cache while (mtime_ns, size) match."""
        key = (mtime, size)
        with self._lock:
            entry = self._files.get(path)
            if entry is not None and entry.key == key and entry.lang == lang:
                self._files.move_to_end(path)
                return entry
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError:
            return None
        tree = _parse_file(lang, data)
        if tree is None:
            return None
        entry = _FileEntry(key=key, lang=lang, found=_extract(lang, tree, data, path)[0])
        with self._lock:
            self.parsed_files += 1
            self._files[path] = entry
            self._files.move_to_end(path)
            while len(self._files) > self.max_files:
                self._files.popitem(last=False)
        return entry


# --------------------------------------------------------------------------------------------
# Putting it together


def relevant_definitions(
    text: str,
    row: int,
    col: int,
    lang: str,
    path: str,
    index: DefinitionIndex,
    *,
    budget_chars: int = 2000,
    window_start_row: int = 0,
    window_end_row: int | None = None,
    via: Sequence[bytes] = (),
) -> tuple[list[Definition], list[Definition]]:
    """(same_file, other_files): the definitions of the identifiers used around the cursor.

    `text` is the buffer (lines joined with "\\n"), (row, col) the cursor, `path` the buffer's
    file (its folder holds the siblings; "" for none). Same-file definitions are only those the
    prompt does not show: starting above `window_start_row` or at/after `window_end_row` (default:
    LINES_AFTER + 1 rows below the cursor). A name defined in the buffer is not looked up
    elsewhere. Other files: Go's and Java's package siblings; Python's, JavaScript's and
    TypeScript's sibling modules that the buffer imports the name (or its module) from; Rust's
    sibling modules; the headers of the folder that a C/C++ buffer includes with quotes; the
    Lua modules of the folder that the buffer requires.
    `x.name` finds methods, and the types that have a field or interface method `name` (those
    in sight preferred; none when it is a guess among many). Both lists are ordered most
    relevant (nearest use) first, and their texts add up to at most `budget_chars` characters
    (counting one newline per definition). `via`: see treesitter.parse_text().
    """
    if lang not in _SUPPORTED or budget_chars <= 0:
        return [], []
    data = _encode(text)
    tree = _parse_buffer(lang, data, path, via)
    if tree is None:
        return [], []
    near = _near(tree, data, row, col, lang, LINES_BEFORE, LINES_AFTER)
    if not near.uses:
        return [], []
    own = index._text(text, lang, path)
    folder = _Found()
    if path:
        package = near.package if lang in _PACKAGED and near.package else None
        only: frozenset[str] | None = None
        if lang in _JS_FAMILY:
            imports = near.imports
            only = frozenset(
                {stem for stem, _name in imports.names.values()}
                | set(imports.modules.values())
                | imports.star
            )
        elif lang in ("c", "cpp"):
            only = near.includes
        if only is None or only:
            folder = index._folder(os.path.dirname(path) or ".", lang, path, package, only)
    end_row = row + 1 + LINES_AFTER if window_end_row is None else window_end_row

    picked = _Picked(budget_chars)
    for name, role, module in near.uses:
        here = _candidates(own, name, role)
        if here:
            for definition in _choose(here, role, near.owners):
                if not window_start_row <= definition.row < end_row:
                    picked.add(definition, same_file=True)
            continue
        lookup = name
        if lang in _IMPORTING and role == _NAME and not module and name in near.imports.names:
            lookup = near.imports.names[name][1]  # `from .models import Group as G`
        there = [
            d
            for d in _candidates(folder, lookup, role)
            if lang not in _IMPORTING or _py_visible(d, name, role, module, near)
        ]
        for definition in _choose(there, role, near.owners):
            picked.add(definition, same_file=False)
    return picked.same, picked.other


def _candidates(found: _Found, name: str, role: int) -> list[Definition]:
    defs = [d for d in found.defs.get(name, ()) if _fits(d, role)]
    if role == _MEMBER:
        defs.extend(found.members.get(name, ()))
    return defs


def _fits(definition: Definition, role: int) -> bool:
    if role == _MEMBER:
        return definition.kind == "method"
    if role == _TYPE:
        return definition.kind in ("type", "class")
    return definition.kind != "method"


def _owner(definition: Definition) -> str:
    return definition.owner if definition.kind == "method" else definition.name


def _choose(candidates: list[Definition], role: int, owners: set[str]) -> list[Definition]:
    if role == _MEMBER and len(candidates) > 1:
        # `x.Close()`: the methods of the types in sight; a guess among many is noise.
        preferred = [d for d in candidates if _owner(d) in owners]
        if preferred:
            return preferred[:MAX_PER_NAME]
        return candidates if len(candidates) <= MAX_PER_NAME else []
    return candidates[:MAX_PER_NAME]


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _py_visible(definition: Definition, name: str, role: int, module: str, near: _Near) -> bool:
    """Whether the buffer imports a sibling module's definition (the module or the name)."""
    stem = _stem(definition.path)
    imports = near.imports
    if stem in imports.star:
        return True
    if role == _MEMBER:
        owner = _owner(definition)
        return stem in imports.modules.values() or any(
            (module_stem, original) == (stem, owner)
            for module_stem, original in imports.names.values()
        )
    if module:
        return module == stem
    imported = imports.names.get(name)
    return imported is not None and imported[0] == stem


class _Picked:
    """The definitions taken so far, within a character budget, without repeats."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.same: list[Definition] = []
        self.other: list[Definition] = []
        self.seen: set[tuple[str, int, str]] = set()

    def add(self, definition: Definition, *, same_file: bool) -> None:
        key = (definition.path, definition.row, definition.text)
        if key in self.seen:
            return
        chosen = self.same if same_file else self.other
        if definition.kind == "method" and any(
            d.kind == "class" and d.name == definition.owner and d.path == definition.path
            for d in chosen
        ):
            return  # a Python class already shows the method's signature
        if definition.kind == "class":
            # The class shows its methods' signatures: drop the methods taken on their own.
            for d in [d for d in chosen if d.kind == "method" and d.owner == definition.name]:
                if d.path == definition.path:
                    chosen.remove(d)
                    self.used -= len(d.text) + 1
        cost = len(definition.text) + 1
        if self.used + cost > self.budget:
            return
        self.seen.add(key)
        self.used += cost
        chosen.append(definition)
