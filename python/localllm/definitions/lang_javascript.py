"""JavaScript, TypeScript and tsx: classes (their methods on their own too), interfaces, enums,
type aliases, functions, top-level const/let/var; the files of the same folder that the buffer
imports with `./name` or `require('./name')`."""

from __future__ import annotations

import os

from tree_sitter import Node

from .. import languages
from . import brace
from .model import Definition, Extractor, Found, Imports, add, add_member
from .text import named, node_text

__all__ = ["EXTRACTOR"]

FUNCTIONS = brace.Functions(
    kinds=frozenset(
        {
            "function_declaration",
            "generator_function_declaration",
            "function_expression",
            "generator_function",
            "function",
            "arrow_function",
            "method_definition",
        }
    ),
    bodies=frozenset({"statement_block"}),
)
_DECLARED_FUNCTIONS = frozenset(
    {"function_declaration", "generator_function_declaration", "function_signature"}
)
_CLASSES = frozenset({"class_declaration", "abstract_class_declaration", "class"})
_TYPES = frozenset({"interface_declaration", "type_alias_declaration", "enum_declaration"})
# What a node around the cursor can belong to.
_OWNERS = _CLASSES | {"interface_declaration", "enum_declaration"}


def _node(node: Node, data: bytes, path: str, found: Found, lang: str) -> None:
    inner = node
    if node.type == "export_statement":
        declaration = node.child_by_field_name("declaration") or node.child_by_field_name("value")
        if declaration is None:
            return
        inner = declaration
    kind = inner.type
    if kind in _DECLARED_FUNCTIONS:
        name = named(inner, data)
        if name:
            text = brace.compact(node, data, lang, FUNCTIONS)
            add(found.defs, Definition(name, "func", path, node.start_point.row, text))
    elif kind in _CLASSES:
        _type(node, inner, "class", data, path, found, lang)
    elif kind in _TYPES:
        _type(node, inner, "type", data, path, found, lang)
    elif kind in ("lexical_declaration", "variable_declaration"):
        _variables(node, inner, data, path, found, lang)


def _type(
    outer: Node, node: Node, kind: str, data: bytes, path: str, found: Found, lang: str
) -> None:
    """A class ("class") or an interface, enum or type alias ("type"), whole but for the bodies
    of its functions; a class's methods on their own; its fields, properties, interface methods
    and enum members as members."""
    name = named(node, data)
    if not name:
        return
    text = brace.compact(outer, data, lang, FUNCTIONS)
    definition = Definition(name, kind, path, outer.start_point.row, text)
    add(found.defs, definition)
    body = node.child_by_field_name("body")
    if body is None:
        return
    for member in body.named_children:
        if kind == "type" and member.type == "property_identifier":
            member_name = node_text(data, member)  # an enum member
        else:
            member_name = named(member, data)
        if not member_name:
            continue
        if kind == "class" and member.type == "method_definition":
            text = brace.in_container(outer, body, member, data, lang, FUNCTIONS)
            row = member.start_point.row
            add(found.defs, Definition(member_name, "method", path, row, text, name))
        else:
            add_member(found, member_name, definition)


def _variables(outer: Node, node: Node, data: bytes, path: str, found: Found, lang: str) -> None:
    """The names of a const/let/var declaration (functions and classes by their value)."""
    constant = node_text(data, node).startswith("const")
    declarators = [c for c in node.named_children if c.type == "variable_declarator"]
    text = brace.compact(outer, data, lang, FUNCTIONS)
    for declarator in declarators:
        name_node = declarator.child_by_field_name("name")
        if name_node is None or name_node.type != "identifier":
            continue
        value = declarator.child_by_field_name("value")
        if value is not None and _is_require(value, data):
            continue  # `const m = require('./m')` is an import
        if value is not None and value.type in ("arrow_function", "function_expression"):
            kind = "func"
        elif value is not None and value.type == "class":
            kind = "class"
        else:
            kind = "const" if constant else "var"
        row = outer.start_point.row
        add(found.defs, Definition(node_text(data, name_node), kind, path, row, text))


def _is_require(value: Node, data: bytes) -> bool:
    """Whether a value is a `require(...)` call."""
    if value.type != "call_expression":
        return False
    function = value.child_by_field_name("function")
    return function is not None and node_text(data, function) == "require"


def _imports(root: Node, data: bytes) -> Imports:
    """The relative imports of a JS/TS file from its own folder (`./m`), as Python's."""
    found = Imports()
    for node in root.named_children:
        if node.type == "import_statement":
            _import(node, data, found)
        elif node.type in ("lexical_declaration", "variable_declaration"):
            for declarator in node.named_children:
                if declarator.type == "variable_declarator":
                    _require(declarator, data, found)
    return found


def _import(node: Node, data: bytes, found: Imports) -> None:
    """`import d, * as ns, {a, b as c} from './m'`."""
    stem = _stem(node.child_by_field_name("source"), data)
    if stem is None:
        return
    for clause in node.named_children:
        if clause.type != "import_clause":
            continue
        for part in clause.named_children:
            if part.type == "identifier":  # a default import
                local = node_text(data, part)
                found.names[local] = (stem, local)
            elif part.type == "namespace_import":
                for child in part.named_children:
                    found.modules[node_text(data, child)] = stem
            elif part.type == "named_imports":
                for spec in part.named_children:
                    name = spec.child_by_field_name("name")
                    if name is None:
                        continue
                    alias = spec.child_by_field_name("alias") or name
                    found.names[node_text(data, alias)] = (stem, node_text(data, name))


def _require(declarator: Node, data: bytes, found: Imports) -> None:
    """`const m = require('./m')`, `const {a, b: c} = require('./m')`."""
    value = declarator.child_by_field_name("value")
    target = declarator.child_by_field_name("name")
    if value is None or target is None or not _is_require(value, data):
        return
    arguments = value.child_by_field_name("arguments")
    if arguments is None or arguments.named_child_count != 1:
        return
    stem = _stem(arguments.named_children[0], data)
    if stem is None:
        return
    if target.type == "identifier":
        found.modules[node_text(data, target)] = stem
    elif target.type == "object_pattern":
        for part in target.named_children:
            if part.type == "shorthand_property_identifier_pattern":
                local = node_text(data, part)
                found.names[local] = (stem, local)
            elif part.type == "pair_pattern":
                key = part.child_by_field_name("key")
                value_ = part.child_by_field_name("value")
                if key is not None and value_ is not None:
                    found.names[node_text(data, value_)] = (stem, node_text(data, key))


def _stem(source: Node | None, data: bytes) -> str | None:
    """The file stem of a module specifier of the same folder: './m' and './m.js' -> "m"."""
    if source is None or source.type != "string":
        return None
    spec = node_text(data, source)[1:-1]
    if not spec.startswith("./"):
        return None
    spec = spec[2:]
    if not spec or "/" in spec:
        return None
    stem, extension = os.path.splitext(spec)
    return stem if extension in languages.JAVASCRIPT.sibling_extensions else spec


def _siblings(imports: Imports) -> frozenset[str]:
    """The stems of the sibling files the buffer imports from: only those count."""
    stems = {stem for stem, _name in imports.names.values()}
    return frozenset(stems | set(imports.modules.values()) | imports.star)


def _owner(node: Node, data: bytes) -> str:
    return named(node, data) if node.type in _OWNERS else ""


EXTRACTOR = Extractor(
    node=_node,
    parameters=FUNCTIONS.parameters,
    owner=_owner,
    imports=_imports,
    siblings=_siblings,
)
