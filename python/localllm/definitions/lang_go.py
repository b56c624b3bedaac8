"""Go: types (with their fields and interface methods as members), functions, methods by
receiver, const/var blocks; the package clause and the names of the imported packages."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from .. import languages
from .model import MAX_LINES, Definition, Definitions, Extractor, Found, Imports, add, add_member
from .text import cap, dedented, first_child, line_end, line_start, node_text, span

__all__ = ["EXTRACTOR"]

_RECORD = languages.GO
_FUNCTIONS = _RECORD.function_types | _RECORD.lambda_types
_PARAMETER_LISTS = ("receiver", "type_parameters", "parameters", "result")
_PARAMETERS = frozenset(
    {"parameter_declaration", "variadic_parameter_declaration", "type_parameter_declaration"}
)


def _node(node: Node, data: bytes, path: str, found: Found, _lang: str) -> None:
    """The definitions of one top-level Go node."""
    kind = node.type
    if kind == "package_clause":
        found.package = _package_name(node, data) or found.package
    elif kind in ("function_declaration", "method_declaration"):
        name = node.child_by_field_name("name")
        if name is None or name.is_missing:
            return
        method = kind == "method_declaration"
        definition = Definition(
            name=node_text(data, name),
            kind="method" if method else "func",
            path=path,
            row=node.start_point.row,
            text=cap(_function_text(node, data), "go"),
            owner=_receiver(node, data) if method else "",
        )
        add(found.defs, definition)
    elif kind == "type_declaration":
        _types(node, data, path, found)
    elif kind in ("const_declaration", "var_declaration"):
        _values(node, data, path, found.defs)


def _package_name(clause: Node, data: bytes) -> str:
    """The name of a package clause ("" when it has none yet)."""
    name = ""
    for child in clause.named_children:
        if child.type == "package_identifier":
            name = node_text(data, child)
    return name


def _types(node: Node, data: bytes, path: str, found: Found) -> None:
    """The types of a type declaration: `type T ...` whole, one spec of a `type (...)` group."""
    grouped = any(child.type == "(" for child in node.children)
    for spec in node.named_children:
        if spec.type not in ("type_spec", "type_alias"):
            continue
        name = spec.child_by_field_name("name")
        if name is None or name.is_missing:
            continue
        if grouped:
            text = "type " + dedented(data, spec.start_byte, spec.end_byte)
        else:
            text = node_text(data, node)
        definition = Definition(
            name=node_text(data, name),
            kind="type",
            path=path,
            row=spec.start_point.row if grouped else node.start_point.row,
            text=cap(text, "go"),
        )
        add(found.defs, definition)
        for member in _members(spec.child_by_field_name("type"), data):
            add_member(found, member, definition)


def _members(kind: Node | None, data: bytes) -> Iterator[str]:
    """The field names of a struct type, the method names of an interface type."""
    if kind is None or kind.type not in ("struct_type", "interface_type"):
        return
    for child in kind.named_children:
        if child.type == "field_declaration_list":
            for declaration in child.named_children:
                if declaration.type == "field_declaration":
                    for name in declaration.children_by_field_name("name"):
                        yield node_text(data, name)
        elif child.type == "method_elem":
            method = child.child_by_field_name("name")
            if method is not None:
                yield node_text(data, method)


def _function_text(node: Node, data: bytes) -> str:
    body = node.child_by_field_name("body")
    if body is None:
        return node_text(data, node)
    return span(data, node.start_byte, body.start_byte).rstrip() + " { ... }"


def _receiver(node: Node, data: bytes) -> str:
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
            return node_text(data, kind)
    return ""


def _values(node: Node, data: bytes, path: str, defs: Definitions) -> None:
    """The names of a const or var declaration; a block stays whole unless it is too long."""
    keyword = "const" if node.type == "const_declaration" else "var"
    specs: list[Node] = []
    for child in node.named_children:
        if child.type in ("const_spec", "var_spec"):
            specs.append(child)
        elif child.type == "var_spec_list":
            specs.extend(spec for spec in child.named_children if spec.type == "var_spec")
    whole = node_text(data, node)
    fits = whole.count("\n") < MAX_LINES
    for index, spec in enumerate(specs):
        names = [n for n in spec.children_by_field_name("name") if not n.is_missing]
        if not names:
            continue
        if fits or len(specs) == 1:
            text, row = whole, node.start_point.row
        else:
            text, row = _excerpt(data, keyword, specs, index), spec.start_point.row
        text = cap(text, "go")
        for name in names:
            value = node_text(data, name)
            if value != "_":
                add(defs, Definition(name=value, kind=keyword, path=path, row=row, text=text))


def _excerpt(data: bytes, keyword: str, specs: list[Node], index: int) -> str:
    """A long block as its first spec (an iota sets the pattern for the rest) and spec `index`."""
    parts = [f"{keyword} ("]
    if index > 0:
        parts.append(_spec_lines(data, specs[0]))
    if index > 1:
        parts.append("\t// ...")
    parts.append(_spec_lines(data, specs[index]))
    if index + 1 < len(specs):
        parts.append("\t// ...")
    parts.append(")")
    return "\n".join(parts)


def _spec_lines(data: bytes, spec: Node) -> str:
    """The whole lines of a spec in a block, with their comments and indentation."""
    return span(data, line_start(data, spec.start_byte), line_end(data, spec.end_byte))


def _imports(root: Node, data: bytes) -> Imports:
    """The names the imported packages are used by: `str "strings"` -> str, "net/http" -> http
    (the record's package_name when the import names none)."""
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
            name = _import_name(spec, data)
            if name:
                names.add(name)
    return Imports(packages=names)


def _import_name(spec: Node, data: bytes) -> str:
    alias = spec.child_by_field_name("name")
    if alias is not None:
        return node_text(data, alias) if alias.type == "package_identifier" else ""
    target = spec.child_by_field_name("path")
    if target is None or _RECORD.package_name is None:
        return ""
    return _RECORD.package_name(node_text(data, target).strip('"`'))


def _package(root: Node, data: bytes) -> str:
    clause = first_child(root, "package_clause")
    return "" if clause is None else _package_name(clause, data)


def _parameters(node: Node, data: bytes) -> Iterator[str]:
    """The receiver, type parameters, parameters and named results of a function."""
    if node.type not in _FUNCTIONS:
        return
    for field_name in _PARAMETER_LISTS:
        params = node.child_by_field_name(field_name)
        if params is None:
            continue
        for param in params.named_children:
            if param.type in _PARAMETERS:
                yield from (node_text(data, n) for n in param.children_by_field_name("name"))


def _owner(node: Node, data: bytes) -> str:
    return _receiver(node, data) if node.type == "method_declaration" else ""


def _map_key(key: Node) -> bool:
    """Whether a composite literal's key is a value (a map key), not a struct field name."""
    node = key.parent
    while node is not None and node.type != "composite_literal":
        node = node.parent
    kind = None if node is None else node.child_by_field_name("type")
    return kind is not None and kind.type == "map_type"


EXTRACTOR = Extractor(
    node=_node,
    parameters=_parameters,
    owner=_owner,
    imports=_imports,
    package=_package,
    key_is_value=_map_key,
    test_suffix="_test.go",
)
