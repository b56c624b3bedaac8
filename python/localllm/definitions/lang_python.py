"""Python: classes (their header, docstring line, fields and method signatures; methods on
their own too), functions, module-level assignments and type aliases, also inside module-level
`if`/`try` blocks; what the buffer imports from the modules of its folder."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from .model import Definition, Definitions, Extractor, Found, Imports, add, add_member
from .text import block_indent, cap, dedented, indent_text, node_text

__all__ = ["EXTRACTOR"]

# Module-level blocks whose statements count as module level (`if TYPE_CHECKING:`, `try:`).
_NESTING = frozenset(
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
_STRING_RE = re.compile(r"""^[rRbBuUfF]*("{3}|'{3}|"|')(.*?)(?:\1)?$""", re.DOTALL)


def _top(node: Node, data: bytes, path: str, found: Found, _lang: str) -> None:
    _node(node, data, path, found, 0)


def _block(block: Node, data: bytes, path: str, found: Found, depth: int) -> None:
    for node in block.named_children:
        _node(node, data, path, found, depth)


def _node(node: Node, data: bytes, path: str, found: Found, depth: int) -> None:
    """The definitions of one module-level Python statement."""
    kind = node.type
    inner = _undecorated(node)
    if inner is None:
        return
    if inner.type == "function_definition":
        name = inner.child_by_field_name("name")
        if name is not None and not name.is_missing:
            text = _function_text(inner, node, data)
            add(
                found.defs,
                Definition(node_text(data, name), "func", path, node.start_point.row, text),
            )
    elif inner.type == "class_definition":
        _class(inner, node, data, path, found)
    elif kind == "expression_statement":
        _assignment(node, data, path, found.defs)
    elif kind == "type_alias_statement":
        name = _first_identifier(node.child_by_field_name("left"))
        if name is not None:
            text = cap(dedented(data, node.start_byte, node.end_byte), "python")
            add(
                found.defs,
                Definition(node_text(data, name), "type", path, node.start_point.row, text),
            )
    elif kind in _NESTING and depth < 3:
        _block(node, data, path, found, depth + 1)


def _undecorated(node: Node) -> Node | None:
    """The definition a decorated definition decorates; any other node itself."""
    if node.type == "decorated_definition":
        return node.child_by_field_name("definition")
    return node


def _first_identifier(node: Node | None) -> Node | None:
    while node is not None and node.type != "identifier":
        node = node.named_children[0] if node.named_child_count else None
    return node


def _assignment_in(statement: Node) -> Node | None:
    """The assignment that an expression statement is, if it is one."""
    if statement.named_child_count != 1 or statement.named_children[0].type != "assignment":
        return None
    return statement.named_children[0]


def _assignment(node: Node, data: bytes, path: str, defs: Definitions) -> None:
    assignment = _assignment_in(node)
    left = None if assignment is None else assignment.child_by_field_name("left")
    if left is None or left.type != "identifier":
        return
    name = node_text(data, left)
    if name.startswith("__") and name.endswith("__"):
        return  # __all__, __version__
    kind = "const" if name.upper() == name and any(ch.isalpha() for ch in name) else "var"
    text = cap(dedented(data, node.start_byte, node.end_byte), "python")
    add(defs, Definition(name, kind, path, node.start_point.row, text))


def _header(definition: Node, outer: Node, data: bytes) -> str:
    """Decorators and header of a def/class, up to its `:`; later lines dedented."""
    end = definition.end_byte
    body = definition.child_by_field_name("body")
    for child in definition.children:
        if body is not None and child.start_byte >= body.start_byte:
            break
        if child.type == ":":
            end = child.end_byte
    return dedented(data, outer.start_byte, end).rstrip()


def _indent(definition: Node, outer: Node, data: bytes) -> str:
    body = definition.child_by_field_name("body")
    if body is None:
        return "    "
    return block_indent(body, definition.start_point.row, outer.start_point.column, data)


def _docline(definition: Node, data: bytes) -> str | None:
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
        match = _STRING_RE.match(node_text(data, string))
        if match is None:
            return None
        for line in match.group(2).split("\n"):
            line = line.strip()
            if line:
                return None if '"""' in line or line.endswith("\\") else line
        return None
    return None


def _function_text(definition: Node, outer: Node, data: bytes) -> str:
    lines = [_header(definition, outer, data)]
    indent = _indent(definition, outer, data)
    doc = _docline(definition, data)
    if doc is not None:
        lines.append(f'{indent}"""{doc}"""')
    lines.append(indent + "...")
    return cap("\n".join(lines), "python")


def _class(definition: Node, outer: Node, data: bytes, path: str, found: Found) -> None:
    """A class as its header, docstring line, fields and method signatures; its methods on
    their own (inside the bare class header), its fields as members."""
    name_node = definition.child_by_field_name("name")
    if name_node is None or name_node.is_missing:
        return
    name = node_text(data, name_node)
    indent = _indent(definition, outer, data)
    lines = [_header(definition, outer, data)]
    doc = _docline(definition, data)
    if doc is not None:
        lines.append(f'{indent}"""{doc}"""')
    body = definition.child_by_field_name("body")
    attributes = _class_body(definition, body, data, path, found, name, indent, lines)
    if len(lines) == 1 or (len(lines) == 2 and doc is not None):
        lines.append(indent + "...")
    text = cap("\n".join(lines), "python")
    class_ = Definition(name, "class", path, outer.start_point.row, text)
    add(found.defs, class_)
    for attribute in attributes:
        add_member(found, attribute, class_)


def _class_body(
    definition: Node,
    body: Node | None,
    data: bytes,
    path: str,
    found: Found,
    owner: str,
    indent: str,
    lines: list[str],
) -> list[str]:
    """Adds the class's methods to `found` and its members' lines to `lines`; the names of
    its attributes."""
    bare_header = _header(definition, definition, data)  # without decorators
    attributes: list[str] = []
    for member in body.named_children if body is not None else ():
        inner = _undecorated(member)
        if inner is None:
            continue
        if inner.type == "function_definition":
            lines.append(indent_text(_header(inner, member, data) + " ...", indent))
            method = inner.child_by_field_name("name")
            if method is not None and not method.is_missing:
                function = indent_text(_function_text(inner, member, data), indent)
                text = cap(bare_header + "\n" + function, "python")
                row = member.start_point.row
                add(
                    found.defs,
                    Definition(node_text(data, method), "method", path, row, text, owner),
                )
        elif inner.type == "class_definition":
            lines.append(indent_text(_header(inner, member, data) + " ...", indent))
        elif (
            member.type == "expression_statement"
            and (assignment := _assignment_in(member)) is not None
        ):
            lines.append(indent_text(dedented(data, member.start_byte, member.end_byte), indent))
            left = assignment.child_by_field_name("left")
            if left is not None and left.type == "identifier":
                attributes.append(node_text(data, left))
    return attributes


def _imports(root: Node, data: bytes) -> Imports:
    found = Imports()
    stack = list(reversed(root.named_children))
    while stack:
        node = stack.pop()
        kind = node.type
        if kind in _NESTING:
            stack.extend(reversed(node.named_children))
        elif kind == "import_statement":
            _import(node, data, found)
        elif kind == "import_from_statement":
            _import_from(node, data, found)
    return found


def _import(node: Node, data: bytes, found: Imports) -> None:
    """`import a.b as m` -> module alias m of b; `import m` -> m."""
    for name in node.children_by_field_name("name"):
        if name.type == "aliased_import":
            dotted = name.child_by_field_name("name")
            alias = name.child_by_field_name("alias")
            if dotted is not None and alias is not None:
                stem = node_text(data, dotted).rsplit(".", 1)[-1]
                found.modules[node_text(data, alias)] = stem
        elif name.type == "dotted_name" and name.named_child_count == 1:
            module = node_text(data, name)
            found.modules[module] = module


def _import_from(node: Node, data: bytes, found: Imports) -> None:
    """`from .m import a as b` -> b is a of m; `from . import m` -> module m; `import *`."""
    module_node = node.child_by_field_name("module_name")
    if module_node is None:
        return
    module = node_text(data, module_node).lstrip(".")
    stem = module.rsplit(".", 1)[-1] if module else "__init__"
    if any(child.type == "wildcard_import" for child in node.named_children):
        found.star.add(stem)
    for name in node.children_by_field_name("name"):
        alias = None
        if name.type == "aliased_import":
            alias = name.child_by_field_name("alias")
            name = name.child_by_field_name("name") or name
        original = node_text(data, name)
        local = node_text(data, alias) if alias is not None else original
        found.names[local] = (stem, original)
        if not module:  # `from . import models`: a sibling module
            found.modules[local] = original


def _parameters(node: Node, data: bytes) -> Iterator[str]:
    if node.type not in ("function_definition", "lambda"):
        return
    params = node.child_by_field_name("parameters")
    for param in params.named_children if params is not None else ():
        if param.type == "identifier":
            yield node_text(data, param)
        elif param.type in ("default_parameter", "typed_default_parameter"):
            name = param.child_by_field_name("name")
            if name is not None:
                yield node_text(data, name)
        else:
            name = _first_identifier(param)
            if name is not None:
                yield node_text(data, name)


def _owner(node: Node, data: bytes) -> str:
    if node.type != "class_definition":
        return ""
    name = node.child_by_field_name("name")
    return node_text(data, name) if name is not None else ""


EXTRACTOR = Extractor(node=_top, parameters=_parameters, owner=_owner, imports=_imports)
