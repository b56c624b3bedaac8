"""What is in scope at the cursor: the walk common to every language (`Analysis`), what it
finds (`Scope`, `Binding`) and the tree helpers the language walkers share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from tree_sitter import Node

from ... import utf8
from ..records import FUNCTIONS, JS_LANGUAGES


@dataclass(slots=True)
class Binding:
    type_text: str = ""
    value_text: str = ""
    row: int = -1
    line: str = ""


@dataclass(slots=True)
class Scope:
    names: set[str] = field(default_factory=set)
    local_names: list[str] = field(default_factory=list)  # params and locals, in order
    packages: dict[str, str] = field(default_factory=dict)  # name -> import path / module
    bindings: dict[str, Binding] = field(default_factory=dict)  # innermost wins
    members: dict[str, Binding] = field(default_factory=dict)  # "c.logger" -> binding
    member_names: list[str] = field(default_factory=list)  # receiver fields
    receiver: str = ""
    semicolon: bool = False


_PATTERN_SKIP = frozenset({"type", "value", "right", "return_type", "default", "type_parameters"})
_NAME_TYPES = frozenset(
    {"identifier", "shorthand_property_identifier_pattern", "shorthand_field_identifier"}
)


def pattern_names(node: Node | None) -> Iterator[Node]:
    if node is None:
        return
    kind = node.type
    if kind in _NAME_TYPES:
        yield node
        return
    if kind in ("default_parameter", "typed_default_parameter"):
        yield from pattern_names(node.child_by_field_name("name"))
        return
    if kind in ("assignment_pattern", "object_assignment_pattern"):
        yield from pattern_names(node.child_by_field_name("left"))
        return
    if kind == "pair_pattern":
        yield from pattern_names(node.child_by_field_name("value"))
        return
    if kind in ("attribute", "subscript", "member_expression", "field_expression", "this"):
        return
    for index, child in enumerate(node.children):
        name = node.field_name_for_child(index)
        if name in _PATTERN_SKIP or not child.is_named:
            continue
        yield from pattern_names(child)


OPEN_ENDED = frozenset(
    {
        "expression_case",
        "default_case",
        "type_case",
        "communication_case",
        "switch_case",
        "switch_default",
    }
)


class Analysis:
    """The names bound at the cursor's row and column. A walker per language (a subclass)
    says what the top level binds (`top`), what an ancestor of the cursor binds (`enter`) and
    what a function's parameters bind (`params`)."""

    def __init__(self, lang: str, data: bytes, lines: list[str], row: int, column: int) -> None:
        self.lang = lang
        self.data = data
        self.lines = lines
        self.row = row
        self.column = column
        self.scope = Scope()

    def text(self, node: Node | None) -> str:
        if node is None:
            return ""
        return utf8.decode(self.data[node.start_byte : node.end_byte])

    def bind(
        self, name_node: Node, type_text: str = "", value_text: str = "", local: bool = False
    ) -> None:
        name = self.text(name_node)
        if not name:
            return
        row = name_node.start_point.row
        self.scope.names.add(name)
        self.scope.bindings[name] = Binding(
            type_text, value_text, row, prompt_line(self.lines[row])
        )
        if local and name not in self.scope.local_names:
            self.scope.local_names.append(name)

    def before(self, node: Node) -> bool:
        return node.end_point.row < self.row

    def run(self, root: Node) -> Scope:
        lang = self.lang
        self.top(root)
        point = (self.row, self.column)
        node = root.descendant_for_point_range(point, point)
        while node is not None:
            # A blank line at the end of a case clause belongs to it, though its node ends on
            # the line above.
            last = None
            for child in node.named_children:
                if child.start_point >= point:
                    break
                last = child
            if last is None or last.type not in OPEN_ENDED or last.end_point > point:
                break
            node = last
        chain = []
        while node is not None:
            chain.append(node)
            node = node.parent
        chain.reverse()  # outermost first: inner bindings override outer ones
        for index, ancestor in enumerate(chain):
            inner = chain[index + 1] if index + 1 < len(chain) else None
            self._enter(ancestor, inner)
        self.scope.semicolon = self._semicolon_style() if lang in JS_LANGUAGES else False
        return self.scope

    def _semicolon_style(self) -> bool:
        ends = [ln.rstrip() for ln in self.lines[:: max(1, len(self.lines) // 200)]]
        with_semi = sum(1 for ln in ends if ln.endswith(";"))
        closers = sum(1 for ln in ends if ln.endswith((")", "]")) and not ln.endswith(";"))
        return with_semi >= closers

    def _enter(self, node: Node, inner: Node | None) -> None:
        """Bindings that `node` (an ancestor of the cursor) makes visible at the cursor."""
        lang = self.lang
        kind = node.type
        if kind in FUNCTIONS[lang]:
            self.params(node)
        self.enter(node, inner)

    def top(self, root: Node) -> None:
        """The bindings of the file's top level."""
        raise NotImplementedError

    def enter(self, node: Node, inner: Node | None) -> None:
        """The bindings `node`, an ancestor of the cursor, makes visible in its child `inner`."""
        raise NotImplementedError

    def params(self, fn: Node) -> None:
        """The bindings of a function's parameters."""
        params = fn.child_by_field_name("parameters") or fn.child_by_field_name("parameter")
        if params is None:
            return
        if params.type == "identifier":  # `x => ...`
            self.bind(params, local=True)
            return
        for param in params.named_children:
            if param.type == "self_parameter":
                self.scope.names.add("self")
                continue
            type_text = self.text(param.child_by_field_name("type"))
            for name in pattern_names(param):
                self.bind(name, type_text, local=True)
            # TypeScript constructor parameter properties: `constructor(private log: Logger)`
            if param.type in ("required_parameter", "optional_parameter") and any(
                c.type == "accessibility_modifier" for c in param.children
            ):
                pattern = param.child_by_field_name("pattern")
                if pattern is not None:
                    self.member("this." + self.text(pattern), type_text, "", pattern)

    def member(self, expr: str, type_text: str, value_text: str, node: Node) -> None:
        row = node.start_point.row
        self.scope.members[expr] = Binding(type_text, value_text, row, prompt_line(self.lines[row]))
        short = expr.split(".", 1)[1]
        if short not in self.scope.member_names:
            self.scope.member_names.append(short)


def prompt_line(text: str) -> str:
    """A source line for the prompt: trimmed, runs of blanks (alignment) made one space."""
    return " ".join(text.split())


def descendants(
    node: Node, kinds: str | tuple[str, ...], stop: frozenset[str] = frozenset()
) -> Iterator[Node]:
    wanted = (kinds,) if isinstance(kinds, str) else kinds
    stack = list(reversed(node.named_children))
    while stack:
        child = stack.pop()
        if child.type in wanted:
            yield child
        if child.type in stop:
            continue
        stack.extend(reversed(child.named_children))
