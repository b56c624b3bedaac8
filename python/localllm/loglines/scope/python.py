"""What Python code binds: imports, assignments (and `self.x` members), definitions,
`global`, loop and `with`/`except` targets; the function's statements above the cursor."""

from __future__ import annotations

from tree_sitter import Node

from ..records import FUNCTIONS
from .base import Analysis, descendants, pattern_names


class PythonAnalysis(Analysis):
    def top(self, root: Node) -> None:
        self._block(root, top=True)

    def _block(self, block: Node, top: bool = False) -> None:
        for child in block.named_children:
            if not top and child.start_point.row >= self.row:
                break
            self._statement(child, top)

    def _statement(self, node: Node, top: bool) -> None:
        kind = node.type
        local = not top
        if kind == "import_statement":
            self._import(node)
        elif kind == "import_from_statement":
            self._import_from(node, local)
        elif kind == "expression_statement":
            for child in node.named_children:
                if child.type == "assignment":
                    self._assignment(child, local)
        elif kind in ("function_definition", "class_definition"):
            declared = node.child_by_field_name("name")
            if declared is not None:
                self.bind(declared, local=local)
        elif kind == "decorated_definition":
            definition = node.child_by_field_name("definition")
            if definition is not None:
                self._statement(definition, top)
        elif kind in ("global_statement", "nonlocal_statement"):
            for name in node.named_children:
                self.scope.names.add(self.text(name))
        elif top and kind in ("if_statement", "try_statement", "with_statement"):
            for child in node.named_children:
                if child.type == "block":
                    self._block(child, top=True)
                elif child.type in (
                    "else_clause",
                    "except_clause",
                    "finally_clause",
                    "elif_clause",
                ):
                    for block in child.named_children:
                        if block.type == "block":
                            self._block(block, top=True)
        elif local and kind in (
            "if_statement",
            "for_statement",
            "while_statement",
            "try_statement",
            "with_statement",
            "elif_clause",
            "else_clause",
            "except_clause",
            "finally_clause",
            "block",
        ):
            self._compound(node)

    def _import(self, node: Node) -> None:
        """`import a.b` binds package `a`; `import a.b as c` binds `c` to `a.b`."""
        for name in node.children_by_field_name("name"):
            if name.type == "aliased_import":
                alias = name.child_by_field_name("alias")
                module = self.text(name.child_by_field_name("name"))
                if alias is not None:
                    self.scope.packages[self.text(alias)] = module
            else:
                module = self.text(name)
                self.scope.packages[module.split(".")[0]] = module.split(".")[0]

    def _import_from(self, node: Node, local: bool) -> None:
        """`from m import x (as y)` binds the name to the value `m.x`."""
        module = self.text(node.child_by_field_name("module_name"))
        for name in node.children_by_field_name("name"):
            if name.type == "aliased_import":
                alias = name.child_by_field_name("alias")
                original = self.text(name.child_by_field_name("name"))
                if alias is not None:
                    self.bind(alias, "", f"{module}.{original}", local=local)
            else:
                self.bind(name, "", f"{module}.{self.text(name)}", local=local)

    def _compound(self, node: Node) -> None:
        """Names bound anywhere above the cursor in a compound statement (function scope)."""
        if node.start_point.row >= self.row:
            return
        kind = node.type
        if kind == "for_statement":
            for name in pattern_names(node.child_by_field_name("left")):
                self.bind(name, local=True)
        for target in descendants(node, "as_pattern_target", stop=FUNCTIONS["python"]):
            if target.start_point.row < self.row:
                for name in pattern_names(target):
                    self.bind(name, local=True)
        for child in node.named_children:
            if child.type == "block":
                self._block(child)
            elif child.type in (
                "else_clause",
                "except_clause",
                "finally_clause",
                "elif_clause",
                "block",
            ):
                self._compound(child)

    def _assignment(self, node: Node, local: bool) -> None:
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        type_text = self.text(node.child_by_field_name("type"))
        value = self.text(right)
        if right is not None and right.type == "assignment":
            self._assignment(right, local)
            value = self.text(right.child_by_field_name("right"))
        if left is None:
            return
        if left.type == "attribute":
            obj = left.child_by_field_name("object")
            if obj is not None and self.text(obj) in ("self", "cls"):
                self.member(
                    "self." + self.text(left.child_by_field_name("attribute")),
                    type_text,
                    value,
                    left,
                )
            return
        for name in pattern_names(left):
            self.bind(name, type_text, value, local=local)

    def enter(self, node: Node, inner: Node | None) -> None:
        kind = node.type
        if kind == "class_definition":
            self._class_members(node)
        elif kind == "function_definition":
            body = node.child_by_field_name("body")
            if body is not None:
                self._block(body)
        elif kind in ("for_statement",):
            for name in pattern_names(node.child_by_field_name("left")):
                self.bind(name, local=True)
        elif kind == "with_statement" or kind == "except_clause":
            for target in descendants(node, "as_pattern_target", stop=frozenset({"block"})):
                for name in pattern_names(target):
                    self.bind(name, local=True)

    def _class_members(self, node: Node) -> None:
        """`self.x` members of the class around the cursor: class attributes and `self.x = ...`
        in any method."""
        body = node.child_by_field_name("body")
        if body is None:
            return
        for child in body.named_children:
            definition = child
            if child.type == "decorated_definition":
                definition = child.child_by_field_name("definition") or child
            if definition.type == "expression_statement":
                for assign in definition.named_children:
                    if assign.type == "assignment":
                        left = assign.child_by_field_name("left")
                        if left is not None and left.type == "identifier":
                            self.member(
                                "self." + self.text(left),
                                self.text(assign.child_by_field_name("type")),
                                self.text(assign.child_by_field_name("right")),
                                left,
                            )
            elif definition.type == "function_definition":
                fn_body = definition.child_by_field_name("body")
                if fn_body is not None:
                    self._self_assignments(fn_body)

    def _self_assignments(self, fn_body: Node) -> None:
        """`self.x = value` in a method's body (not in functions nested in it)."""
        for assign in descendants(fn_body, "assignment", stop=FUNCTIONS["python"]):
            left = assign.child_by_field_name("left")
            if left is not None and left.type == "attribute":
                obj = left.child_by_field_name("object")
                if obj is not None and self.text(obj) == "self":
                    attr = left.child_by_field_name("attribute")
                    self.member(
                        "self." + self.text(attr),
                        self.text(assign.child_by_field_name("type")),
                        self.text(assign.child_by_field_name("right")),
                        left,
                    )
