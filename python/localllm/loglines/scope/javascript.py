"""What JavaScript and TypeScript code binds: imports, declarations, class fields and
`this.x` members, constructor parameter properties, loop and catch bindings."""

from __future__ import annotations

from tree_sitter import Node

from .base import Analysis, descendants, pattern_names


class JsAnalysis(Analysis):
    def top(self, root: Node) -> None:
        for node in root.named_children:
            self._statement(node, local=False, top=True)

    def _statement(self, node: Node, local: bool, top: bool = False) -> None:
        kind = node.type
        if kind == "export_statement":
            declaration = node.child_by_field_name("declaration")
            if declaration is not None:
                self._statement(declaration, local, top)
            return
        if kind == "import_statement":
            source = self.text(node.child_by_field_name("source")).strip("'\"`")
            for clause in node.named_children:
                if clause.type != "import_clause":
                    continue
                for part in clause.named_children:
                    if part.type == "identifier":
                        self.scope.packages[self.text(part)] = source
                    elif part.type == "namespace_import":
                        for ident in part.named_children:
                            self.scope.packages[self.text(ident)] = source
                    elif part.type == "named_imports":
                        for spec in part.named_children:
                            alias = spec.child_by_field_name("alias") or spec.child_by_field_name(
                                "name"
                            )
                            if alias is not None:
                                original = self.text(spec.child_by_field_name("name"))
                                self.bind(alias, "", f"import:{source}:{original}", local=False)
            return
        if kind in ("lexical_declaration", "variable_declaration"):
            for declarator in node.named_children:
                if declarator.type != "variable_declarator":
                    continue
                value = declarator.child_by_field_name("value")
                type_text = self.text(declarator.child_by_field_name("type"))
                value_text = self.text(value)
                for name in pattern_names(declarator.child_by_field_name("name")):
                    self.bind(name, type_text, value_text, local=local)
            return
        if kind in (
            "function_declaration",
            "generator_function_declaration",
            "class_declaration",
            "abstract_class_declaration",
            "enum_declaration",
            "interface_declaration",
            "type_alias_declaration",
        ):
            declared = node.child_by_field_name("name")
            if declared is not None:
                self.bind(declared, local=local)

    def enter(self, node: Node, inner: Node | None) -> None:
        kind = node.type
        if kind in ("statement_block", "switch_case"):
            for child in node.named_children:
                if inner is not None and child.start_byte >= inner.start_byte:
                    break
                if self.before(child):
                    self._statement(child, local=True)
        if kind in ("class_declaration", "class", "abstract_class_declaration"):
            self._class_members(node)
        elif kind in ("for_in_statement", "for_statement"):
            left = node.child_by_field_name("left") or node.child_by_field_name("initializer")
            if left is not None:
                if left.type in ("lexical_declaration", "variable_declaration"):
                    self._statement(left, local=True)
                else:
                    for name in pattern_names(left):
                        self.bind(name, local=True)
        elif kind == "catch_clause":
            for name in pattern_names(node.child_by_field_name("parameter")):
                self.bind(name, local=True)

    def _class_members(self, node: Node) -> None:
        """`this.x` members of the class around the cursor: fields, constructor parameter
        properties and `this.x = ...` in any method."""
        body = node.child_by_field_name("body")
        if body is None:
            return
        for member in body.named_children:
            if member.type in ("field_definition", "public_field_definition"):
                name = member.child_by_field_name("property") or member.child_by_field_name("name")
                if name is not None:
                    self.member(
                        "this." + self.text(name),
                        self.text(member.child_by_field_name("type")),
                        self.text(member.child_by_field_name("value")),
                        name,
                    )
            elif member.type == "method_definition":
                if self.text(member.child_by_field_name("name")) == "constructor":
                    self._parameter_properties(member.child_by_field_name("parameters"))
                fn_body = member.child_by_field_name("body")
                if fn_body is not None:
                    self._this_assignments(fn_body)

    def _parameter_properties(self, params: Node | None) -> None:
        """TypeScript `constructor(private log: Logger)`: the parameter is a member too."""
        if params is None:
            return
        for param in params.named_children:
            if any(c.type == "accessibility_modifier" for c in param.children):
                pattern = param.child_by_field_name("pattern")
                if pattern is not None:
                    self.member(
                        "this." + self.text(pattern),
                        self.text(param.child_by_field_name("type")),
                        "",
                        pattern,
                    )

    def _this_assignments(self, fn_body: Node) -> None:
        """`this.x = value` anywhere in a method's body."""
        for assign in descendants(fn_body, "assignment_expression"):
            left = assign.child_by_field_name("left")
            if left is not None and left.type == "member_expression":
                obj = left.child_by_field_name("object")
                if obj is not None and obj.type == "this":
                    prop = left.child_by_field_name("property")
                    self.member(
                        "this." + self.text(prop),
                        "",
                        self.text(assign.child_by_field_name("right")),
                        left,
                    )
