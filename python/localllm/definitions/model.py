"""The records the package shares: a `Definition` and what a file defines (`Found`), what a
buffer imports (`Imports`), and the hooks one language family gives (`Extractor`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tree_sitter import Node

__all__ = [
    "MAX_LINES",
    "MEMBER",
    "NAME",
    "TYPE",
    "Definition",
    "Definitions",
    "Extractor",
    "Found",
    "Imports",
    "add",
    "add_member",
]

MAX_LINES = 40  # the most lines one definition's text has

# Roles of an identifier use: which kinds of definition it can refer to.
NAME = 0  # a value, a call, a conversion: anything but a method
TYPE = 1  # a type position (Go type_identifier): types only
MEMBER = 2  # `x.name`: methods, and the types with a field (interface method) of that name


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
class Found:
    """The definitions of a file (or a folder): name -> definitions; member name -> the types
    with a field or an interface method (Go), a class attribute (Python), a field, property,
    enum member or trait/interface method (the brace languages), of that name; and the Go or
    Java package clause."""

    defs: Definitions = field(default_factory=dict)
    members: Definitions = field(default_factory=dict)
    package: str = ""


def add(defs: Definitions, definition: Definition) -> None:
    defs.setdefault(definition.name, []).append(definition)


def add_member(found: Found, name: str, definition: Definition) -> None:
    """`definition` (a type, a class) has a member `name`."""
    found.members.setdefault(name, []).append(definition)


@dataclass(slots=True)
class Imports:
    """What a buffer imports. Python, JavaScript and Lua: local name -> (module stem, name in
    that module), local module aliases -> module stem, and the stems it star-imports. Go: the
    names its imported packages are used by. C/C++: the files of its folder it includes."""

    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)
    star: set[str] = field(default_factory=set)
    packages: set[str] = field(default_factory=set)
    includes: frozenset[str] = frozenset()


def _no_imports(_root: Node, _data: bytes) -> Imports:
    return Imports()


def _no_package(_root: Node, _data: bytes) -> str:
    return ""


def _itself(node: Node) -> Node:
    return node


def _never(_node: Node) -> bool:
    return False


def _every_sibling(_imports: Imports) -> frozenset[str] | None:
    return None


@dataclass(frozen=True, slots=True)
class Extractor:
    """What the package asks of one language family; each `lang_*.py` module gives one, and
    `extractors.py` maps language ids to them. Nodes are tree-sitter nodes of the language's
    grammar, `data` the UTF-8 source they come from."""

    # Adds the definitions of one named top-level node to `found`: (node, data, path, found,
    # language id).
    node: Callable[[Node, bytes, str, Found, str], None]
    # The names a node around the cursor binds for the code inside it (a function's
    # parameters), and the type it belongs to ("" for none: a class body, a Go method).
    parameters: Callable[[Node, bytes], Iterable[str]]
    owner: Callable[[Node, bytes], str]
    # What a buffer (its root node) imports, and its package clause.
    imports: Callable[[Node, bytes], Imports] = _no_imports
    package: Callable[[Node, bytes], str] = _no_package
    # A captured @def name as `scope.in_scope` wants it (C: the declarator it is in).
    declared: Callable[[Node], Node] = _itself
    # Whether a captured @key is a value after all (Go: a map literal's key).
    key_is_value: Callable[[Node], bool] = _never
    # `m.f` of an imported module `m` is a member of the module's table (Lua), not a name.
    module_members: bool = False
    # The stems or file names of the folder's files that count, from the imports; None: all.
    siblings: Callable[[Imports], frozenset[str] | None] = _every_sibling
    # The file name ending of test files: siblings only of a test buffer (Go: "_test.go").
    test_suffix: str = ""
