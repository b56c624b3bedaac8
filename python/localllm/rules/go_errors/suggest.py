"""The `if err != nil` block to offer at the cursor, and the message a model may give it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

from ... import utf8
from ...treesitter import TreeOf
from ...types import IndentStyle
from .functions import _at_cursor, _Function, _returns_error, _test_around, _testing_receiver
from .habits import (
    _closures_stop_tests,
    _main_habit,
    _message_for,
    _nearest_noerror,
    _nearest_test_body,
    _nearest_test_check,
    _test_habit,
    _testify,
    _uses_require,
    _wrap_style,
    _WrapStyle,
)
from .packages import GoPackages
from .syntax import _text
from .tree import (
    _assigns_err,
    _block_at,
    _block_closed,
    _block_has_body,
    _err_in_sight,
    _if_above,
    _next_line,
    _statement_above,
    _statement_before,
)
from .zero_values import _Scope, zero_value

IF_ERR = "if err != nil {"


@dataclass(frozen=True, slots=True)
class ErrCheck:
    """A suggestion to insert at the cursor.

    `kind` is "block" (the whole `if err != nil {...}` on an empty line), "rest" (the rest of
    it after a typed `if e...`), "body" (inside a fresh block) or "noerror" (testify's
    `require.NoError(t, err)` line). `returns` is the statement(s) of the body. In a file that
    wraps its errors, `message` is the guessed message inside `text`, which is exactly
    `message_prefix + message + message_suffix` (otherwise those are empty)."""

    text: str
    kind: str
    returns: str
    message: str = ""
    message_prefix: str = ""
    message_suffix: str = ""

    def with_message(self, message: str) -> ErrCheck:
        """The same suggestion with another error message (wrap mode only)."""
        if not self.message_prefix:
            return self
        text = self.message_prefix + message + self.message_suffix
        returns = self.returns.replace(self.message, message, 1) if self.message else self.returns
        return ErrCheck(text, self.kind, returns, message, self.message_prefix, self.message_suffix)


def _http_writer(fn: _Function, scope: _Scope) -> str | None:
    """The ResponseWriter of an HTTP handler (w http.ResponseWriter, r *http.Request)."""
    kinds = {_text(scope.data, kind).replace(" ", ""): name for name, kind in fn.params}
    writer = kinds.get("http.ResponseWriter")
    if writer and "*http.Request" in kinds and scope.imports.get("http") == "net/http":
        return writer
    return None


def _stopping_test(
    fn: _Function, functions: list[Node], scope: _Scope, root: Node
) -> tuple[str, Node] | None:
    """(the testing receiver, its test) when the check stops the test rather than returns:
    tests and test helpers that return no error; a function literal inside a test as the
    file's other literals do (`db.Update(func(tx *Tx) error {...})` in a test often stops
    with t.Fatal), else when it has no error to return."""
    data = scope.data
    returns_error = _returns_error(fn, data)
    own = None if returns_error else _testing_receiver(fn, data, scope.imports)
    if own:
        return own, fn.node
    if fn.node.type != "func_literal" or _http_writer(fn, scope):
        return None
    around = _test_around(functions[1:], data, scope.imports)
    if around is None:
        return None
    habit = _closures_stop_tests(root, data, scope.imports, scope.cursor, with_error=returns_error)
    stops = not returns_error if habit is None else habit
    return around if stops else None


def _test_stop(fn: _Function, test: tuple[str, Node], scope: _Scope) -> str:
    """The statement that stops the test, in the family of the nearest check (Error in a
    goroutine: Fatal must not be called there)."""
    receiver, test_node = test
    data = scope.data
    nearby = _nearest_test_body(fn.node, data, scope.cursor)
    if fn.node is not test_node:
        call = fn.node.parent
        if call is not None and call.type == "call_expression" and call.parent is not None:
            nearby = "Error" if call.parent.type == "go_statement" else nearby
        nearby = nearby or _nearest_test_body(test_node, data, scope.cursor)
    return _test_habit(data.decode("utf-8", "replace"), receiver, nearby)


def _body_statements(
    fn: _Function,
    test: tuple[str, Node] | None,
    scope: _Scope,
    root: Node,
    wrap: _WrapStyle | None,
) -> tuple[list[str], list[str], str, str]:
    """(statements before the return, the body's statements, the message prefix inside the
    return (wrap mode), the text after the message); `test` is the test it stops, if any."""
    data = scope.data
    if test is not None:
        return [], [_test_stop(fn, test, scope)], "", ""
    if not fn.results:
        if fn.node.type == "function_declaration" and fn.name == "main" and scope.package == "main":
            return [], _main_habit(fn.node, root, data, scope.imports), "", ""
        # An HTTP handler answers with an error; a helper that only writes to w cannot (the
        # response may be under way).
        writer = _http_writer(fn, scope)
        if writer:
            return (
                [],
                [f"http.Error({writer}, err.Error(), http.StatusInternalServerError)", "return"],
                "",
                "",
            )
        return [], ["return"], "", ""
    values: list[str] = []
    declarations: list[str] = []
    error_at = -1
    for i, (_name, kind) in enumerate(fn.results):
        written = _text(data, kind)
        if written == "error":
            error_at = i
        zero = zero_value(kind, scope)
        if zero is None:  # a type parameter
            name = "zero" if not declarations else f"zero{written}"
            declarations.append(f"var {name} {written}")
            zero = name
        values.append(zero)
    if error_at < 0:
        return declarations, [f"return {', '.join(values)}"], "", ""
    head = ", ".join([*values[:error_at], "__ERR__", *values[error_at + 1 :]])
    before, _, after = head.partition("__ERR__")
    if wrap is not None and wrap.kind == "fmt":
        prefix = f'return {before}fmt.Errorf("'
        suffix = f'{wrap.separator}{wrap.verb}", err){after}'
        return declarations, [], prefix, suffix
    if wrap is not None and wrap.kind == "pkg":
        return declarations, [], f'return {before}errors.Wrap(err, "', f'"){after}'
    return declarations, [f"return {before}err{after}"], "", ""


@dataclass(slots=True)
class _Cursor:
    """The cursor line of a Go buffer, as the check sees it."""

    lines: list[str]
    row: int
    line_before: str
    typed: str  # what is typed of `if err != nil {` ("" on an empty line)
    above: str  # the line above
    in_block: bool  # in a fresh `if err != nil {` block

    @property
    def indent(self) -> str:
        return _indentation(self.line_before)

    def at_cursor(self, indentation: str, line: str) -> str:
        """`line` (meant at `indentation`) as typed from the cursor: the indentation the
        cursor line still lacks, or none when it has its own."""
        if self.typed:
            return line
        if indentation.startswith(self.indent):
            return indentation[len(self.indent) :] + line
        return line


def _indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _cursor(text: str, row: int, line_before: str, line_after: str) -> _Cursor | None:
    """The cursor line, when a check may belong there at all."""
    if line_after.strip():
        return None
    typed = line_before.lstrip()
    if typed and not (IF_ERR.startswith(typed) or typed == IF_ERR):
        return None
    if "err" not in text:
        return None
    lines = text.split("\n")
    if not 0 <= row < len(lines):
        return None
    above = lines[row - 1] if row > 0 else ""
    in_block = not typed and above.strip() == IF_ERR
    return _Cursor(lines, row, line_before, typed, above, in_block)


def _failed_statement(
    cur: _Cursor, root: Node, node: Node, functions: list[Node], fn: _Function, data: bytes
) -> tuple[bool, Node | None]:
    """(whether a check belongs at the cursor, the statement whose error it checks)."""
    lines, row, above = cur.lines, cur.row, cur.above
    if cur.in_block:
        if _block_has_body(lines, row, _indentation(above)):
            return False, None  # the block already handles the error: a second return is no help
        if_node = _if_above(root, row, len(above) - len(above.lstrip()))
        if if_node is None:
            return True, None
        prev = if_node.prev_named_sibling
        return True, prev if prev is not None and _assigns_err(prev, data) else None
    if _next_line(lines, row).strip() == IF_ERR:
        return False, None  # the check follows already
    # The statement right above the cursor line (blank lines between are a style some
    # projects keep) must assign err; `if err` typed in full needs only err in sight: an
    # earlier assignment or a named result.
    statement = _statement_above(root, row, above)
    if statement is None:
        block = _block_at(node, functions[0])
        statement = _statement_before(block, row) if block is not None else None
    assigns = (
        statement is not None
        and not any(line.strip() for line in lines[statement.end_point.row + 1 : row])
        and _assigns_err(statement, data)
    )
    if not assigns and (
        len(cur.typed) < len("if err") or not _err_in_sight(fn, functions[0], row, data)
    ):
        return False, None
    return True, statement


def _block_indent(cur: _Cursor, statement: Node | None) -> str:
    """The indentation of the `if err != nil {` line."""
    if cur.in_block:
        return _indentation(cur.above)
    if cur.indent or statement is None:
        return cur.indent
    # An empty line without indentation: the block goes where the statement is.
    return _indentation(cur.lines[statement.start_point.row])


def _moved(statement: str, inner: str, fn_indent: str) -> str:
    """A type written over several lines in the signature, re-indented for the body."""
    first, *rest = statement.split("\n")
    return "\n".join(
        [
            first,
            *(
                inner + (r[len(fn_indent) :] if r.startswith(fn_indent) else r.lstrip())
                for r in rest
            ),
        ]
    )


def _rendered(cur: _Cursor, statements: list[str], block_indent: str, inner: str) -> ErrCheck:
    """The block (or its body) as inserted at the cursor, without the message parts."""
    if cur.in_block:
        out_lines = [cur.at_cursor(inner, statements[0])] + [inner + s for s in statements[1:]]
        if not _block_closed(cur.lines, cur.row, block_indent):
            out_lines.append(block_indent + "}")
        kind = "body"
    else:
        out_lines = [
            cur.at_cursor(block_indent, IF_ERR)[len(cur.typed) :],
            *(inner + s for s in statements),
            block_indent + "}",
        ]
        kind = "rest" if cur.typed else "block"
    return ErrCheck("\n".join(out_lines), kind, "\n".join(statements))


def _with_message_parts(
    check: ErrCheck, message_prefix: str, message: str, suffix: str
) -> ErrCheck:
    """`check` (in a file that wraps its errors) with the text around its message."""
    out = check.text
    at = out.rindex(message_prefix + message + suffix) + len(message_prefix)
    return ErrCheck(
        out,
        check.kind,
        check.returns,
        message=message,
        message_prefix=out[:at],
        message_suffix=out[at + len(message) :],
    )


def _noerror(
    cur: _Cursor, test: tuple[str, Node] | None, scope: _Scope, text: str, indent: str
) -> ErrCheck | None:
    """testify's `require.NoError(t, err)` line, in a test of a file that checks that way."""
    testify = _testify(scope.imports)
    if test is None or not testify or cur.typed or cur.in_block:
        return None
    receiver, test_node = test
    if not _checks_with_require(test_node, scope, text, testify):
        return None
    line = f"{testify}.NoError({receiver}, err)"
    return ErrCheck(cur.at_cursor(indent, line), "noerror", line)


def _checks_with_require(test_node: Node, scope: _Scope, text: str, testify: str) -> bool:
    """Whether the test checks errors with `require.NoError`: as its nearest check does (a
    file may do both), else as the file mostly does."""
    line = _nearest_noerror(test_node, scope.data, scope.cursor, testify)
    block = _nearest_test_check(test_node, scope.data, scope.cursor)
    if line is not None and block is not None:
        return line < block[0]
    if line is not None or block is not None:
        return line is not None
    return _uses_require(text, testify)


def suggest(
    text: str,
    row: int,
    line_before: str,
    line_after: str,
    indent: IndentStyle,
    *,
    path: str = "",
    packages: GoPackages | None = None,
    tree_of: TreeOf | None = None,
) -> ErrCheck | None:
    """The error check to offer at the cursor of a Go buffer, or None.

    `text` is the whole buffer, `row` the cursor's row, `line_before`/`line_after` the cursor
    line's text before and after the cursor, `path` the file (its folder is the package),
    `tree_of` gives the tree of `text` when the caller has one (asked only when needed)."""
    cur = _cursor(text, row, line_before, line_after)
    if cur is None:
        return None
    found = _at_cursor(text, row, utf8.byte_len(line_before), path, packages, tree_of)
    if found is None:
        return None
    root, node, functions, fn, scope = found
    belongs, statement = _failed_statement(cur, root, node, functions, fn, scope.data)
    if not belongs:
        return None
    test = _stopping_test(fn, functions, scope, root)
    block_indent = _block_indent(cur, statement)
    noerror = _noerror(cur, test, scope, text, block_indent)
    if noerror is not None:
        return noerror  # a line of its own: no block to build
    wrap = _wrap_style(text) if fn.results else None
    declarations, body, message_prefix, message_suffix = _body_statements(
        fn, test, scope, root, wrap
    )
    message = _message_for(statement, scope.data) if message_prefix else ""
    # The file's own indentation wins over the editor's setting (gofmt indents with tabs).
    inner = block_indent + ("\t" if "\t" in block_indent else indent.unit)
    statements = [*declarations, *body]
    if message_prefix:
        statements.append(message_prefix + message + message_suffix)
    fn_indent = _indentation(cur.lines[functions[0].start_point.row])
    statements = [_moved(statement, inner, fn_indent) for statement in statements]
    check = _rendered(cur, statements, block_indent, inner)
    if not message_prefix:
        return check
    return _with_message_parts(check, message_prefix, message, message_suffix)


def clean_message(raw: str, suffix: str = "") -> str:
    """The error message in a model's continuation of `fmt.Errorf("`: up to the quote, without
    the verb and separator the block adds itself; "" when it is not a plain short message."""
    message = raw.split('"', 1)[0].split("\n", 1)[0]
    for verb in ("%w", "%v", "%s"):
        if message.endswith(verb):
            message = message[: -len(verb)]
    message = message.rstrip(" :")
    if suffix.startswith(('"', ")")):  # errors.Wrap: nothing to strip
        pass
    if not message or len(message) > 80 or re.search(r"[%\\`{}\x00-\x1f]", message):
        return ""
    if len(message) > 1 and message[0].isupper() and not message[1].isupper():
        message = message[0].lower() + message[1:]  # Go error strings are not capitalised
    return message
