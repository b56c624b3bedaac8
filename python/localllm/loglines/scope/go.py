"""What Go code binds: imports, top-level declarations and struct fields (for receivers),
short variable declarations, range and if/switch initializers."""

from __future__ import annotations

import re

from tree_sitter import Node

from ...languages.go import package_name as go_package_name
from .base import OPEN_ENDED, Analysis, Binding, descendants, prompt_line


class GoAnalysis(Analysis):
    _structs: dict[str, list[tuple[str, str, int]]]  # struct type -> (field, type, row)

    def params(self, fn: Node) -> None:
        receiver = fn.child_by_field_name("receiver")
        if receiver is not None:
            for decl in receiver.named_children:
                type_text = self.text(decl.child_by_field_name("type"))
                for name in decl.children_by_field_name("name"):
                    self.bind(name, type_text, local=True)
                    self.scope.receiver = self.text(name)
                    self._receiver_fields(self.text(name), type_text)
        for field_name in ("parameters", "result"):
            params = fn.child_by_field_name(field_name)
            if params is None or params.type != "parameter_list":
                continue
            for decl in params.named_children:
                type_text = self.text(decl.child_by_field_name("type"))
                for name in decl.children_by_field_name("name"):
                    self.bind(name, type_text, local=True)

    def top(self, root: Node) -> None:
        self._structs = {}
        for node in root.children:
            kind = node.type
            if kind == "import_declaration":
                for spec in descendants(node, "import_spec"):
                    path = self.text(spec.child_by_field_name("path")).strip('"`')
                    alias = self.text(spec.child_by_field_name("name"))
                    package = alias or go_package_name(path)
                    if package not in ("_", "."):
                        self.scope.packages[package] = path
            elif kind == "function_declaration":
                declared = node.child_by_field_name("name")
                if declared is not None:
                    self.scope.names.add(self.text(declared))
            elif kind in ("var_declaration", "const_declaration"):
                self._specs(node, local=False)
            elif kind == "type_declaration":
                for spec in node.named_children:
                    declared = spec.child_by_field_name("name")
                    if declared is None:
                        continue
                    self.scope.names.add(self.text(declared))
                    struct = spec.child_by_field_name("type")
                    if struct is not None and struct.type == "struct_type":
                        fields = []
                        for decl in descendants(struct, "field_declaration"):
                            type_text = self.text(decl.child_by_field_name("type"))
                            names = decl.children_by_field_name("name")
                            if not names:  # embedded: `*zap.Logger` is reached as `.Logger`
                                names_text = [type_text.lstrip("*").rsplit(".", 1)[-1]]
                            else:
                                names_text = [self.text(n) for n in names]
                            for field_name in names_text:
                                fields.append((field_name, type_text, decl.start_point.row))
                        self._structs[self.text(declared)] = fields

    def _receiver_fields(self, receiver: str, type_text: str) -> None:
        type_name = re.sub(r"\[.*\]$", "", type_text.lstrip("*")).strip()
        for field_name, field_type, row in self._structs.get(type_name, []):
            expr = f"{receiver}.{field_name}"
            self.scope.members[expr] = Binding(field_type, "", row, prompt_line(self.lines[row]))
            if field_name not in self.scope.member_names:
                self.scope.member_names.append(field_name)

    def _specs(self, node: Node, local: bool) -> None:
        for spec in descendants(node, ("var_spec", "const_spec")):
            type_text = self.text(spec.child_by_field_name("type"))
            values = spec.child_by_field_name("value")
            value_nodes = values.named_children if values is not None else []
            for index, name in enumerate(spec.children_by_field_name("name")):
                value = self.text(value_nodes[index]) if index < len(value_nodes) else ""
                if not value and value_nodes:
                    value = self.text(value_nodes[0]) if index == 0 else ""
                self.bind(name, type_text, value, local=local)

    def _statement(self, node: Node) -> None:
        kind = node.type
        if kind == "short_var_declaration":
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right")
            values = right.named_children if right is not None else []
            if left is None:
                return
            for index, name in enumerate(left.named_children):
                if name.type != "identifier":
                    continue
                value = self.text(values[index]) if index < len(values) else ""
                if len(values) == 1 and index == 0:
                    value = self.text(values[0])
                self.bind(name, "", value, local=True)
        elif kind in ("var_declaration", "const_declaration"):
            self._specs(node, local=True)
        elif kind == "type_declaration":
            for spec in node.named_children:
                declared = spec.child_by_field_name("name")
                if declared is not None:
                    self.scope.names.add(self.text(declared))
        elif kind == "function_declaration":
            declared = node.child_by_field_name("name")
            if declared is not None:
                self.scope.names.add(self.text(declared))

    def enter(self, node: Node, inner: Node | None) -> None:
        kind = node.type
        if kind in ("statement_list", "block") or kind in OPEN_ENDED:
            for child in node.named_children:
                if inner is not None and child.start_byte >= inner.start_byte:
                    break
                if child.type == "statement_list" and child != inner:
                    for statement in child.named_children:  # the cursor is below them all
                        if self.before(statement):
                            self._statement(statement)
                elif self.before(child):
                    self._statement(child)
        elif kind == "for_statement":
            for child in node.named_children:
                if child.type == "range_clause":
                    left = child.child_by_field_name("left")
                    if left is not None:
                        for name in left.named_children:
                            self.bind(name, local=True)
                elif child.type == "for_clause":
                    init = child.child_by_field_name("initializer")
                    if init is not None:
                        self._statement(init)
        elif kind in ("if_statement", "expression_switch_statement", "type_switch_statement"):
            init = node.child_by_field_name("initializer")
            if init is not None:
                self._statement(init)
            alias = node.child_by_field_name("alias")
            if alias is not None:
                for name in alias.named_children:
                    self.bind(name, local=True)
        if kind == "communication_case":
            comm = node.child_by_field_name("communication")
            if comm is not None and comm.type == "receive_statement":
                left = comm.child_by_field_name("left")
                if left is not None:
                    for name in left.named_children:
                        self.bind(name, local=True)
