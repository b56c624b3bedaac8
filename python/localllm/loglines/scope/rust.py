"""What Rust code binds: `use` declarations (and whether `log` or `tracing` is used), items,
`let` patterns, `for`, `if let` / `while let` and match arm bindings."""

from __future__ import annotations

import re

from tree_sitter import Node

from .base import Analysis, Binding, descendants, pattern_names


class RustAnalysis(Analysis):
    def top(self, root: Node) -> None:
        for node in root.named_children:
            kind = node.type
            if kind == "use_declaration":
                text = self.text(node)
                for match in re.finditer(r"\b(log|tracing)\b", text):
                    self.scope.packages.setdefault(match.group(1), match.group(1))
                self._use(node)
            elif kind in (
                "function_item",
                "struct_item",
                "enum_item",
                "const_item",
                "static_item",
                "mod_item",
                "type_item",
                "trait_item",
                "union_item",
            ):
                name = node.child_by_field_name("name")
                if name is not None:
                    self.bind(name)

    def _use(self, node: Node) -> None:
        text = self.text(node)
        body = re.sub(r"^\s*(?:pub\s*(?:\([^)]*\))?\s*)?use\s+", "", text).rstrip(";")
        crate = body.split("::", 1)[0].strip("{ ")
        for match in re.finditer(r"(\w+)\s+as\s+(\w+)|(\w+)\s*(?=[,}]|$)", body):
            name = match.group(2) or match.group(3)
            original = match.group(1) or match.group(3)
            if name and name not in ("self", "crate", "super"):
                self.scope.names.add(name)
                self.scope.bindings[name] = Binding(
                    "", f"use:{crate}:{original}", node.start_point.row, text.strip()
                )

    def enter(self, node: Node, inner: Node | None) -> None:
        kind = node.type
        if kind == "block":
            for child in node.named_children:
                if inner is not None and child.start_byte >= inner.start_byte:
                    break
                if not self.before(child):
                    continue
                if child.type == "let_declaration":
                    type_text = self.text(child.child_by_field_name("type"))
                    value = self.text(child.child_by_field_name("value"))
                    for name in pattern_names(child.child_by_field_name("pattern")):
                        self.bind(name, type_text, value, local=True)
                elif child.type == "use_declaration":
                    self._use(child)
                elif child.type in ("function_item", "const_item", "static_item"):
                    declared = child.child_by_field_name("name")
                    if declared is not None:
                        self.bind(declared)
        elif kind == "for_expression":
            for name in pattern_names(node.child_by_field_name("pattern")):
                self.bind(name, local=True)
        elif kind in ("if_expression", "while_expression"):
            for cond in descendants(node, "let_condition", stop=frozenset({"block"})):
                for name in pattern_names(cond.child_by_field_name("pattern")):
                    self.bind(name, local=True)
        elif kind == "match_arm":
            for name in pattern_names(node.child_by_field_name("pattern")):
                self.bind(name, local=True)
