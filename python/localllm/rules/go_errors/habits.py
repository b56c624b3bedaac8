"""The file's own habits: how it wraps errors, how its tests and `main` stop on one."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from tree_sitter import Node

from .functions import _function, _functions_around, _returns_error, _test_around
from .syntax import _enclosing_function, _text

_WRAP_FMT = re.compile(r'fmt\.Errorf\("([^"\\]*(?:\\.[^"\\]*)*)"\s*,[^\n]*\berr\)')
_WRAP_PKG = re.compile(r'errors\.Wrap\(err,\s*"([^"\\]*)"\)')
_PLAIN_RETURN = re.compile(r"^\s*return (?:[^\n]*, )?err\s*$", re.M)


@dataclass(frozen=True, slots=True)
class _WrapStyle:
    kind: str  # "fmt" | "pkg"
    separator: str  # between the message and %w: ": " mostly
    verb: str  # "%w" (or "%v" in old code)


def _wrap_style(text: str) -> _WrapStyle | None:
    """How the file wraps errors, if it mostly does."""
    fmt_wraps = _WRAP_FMT.findall(text)
    pkg_wraps = _WRAP_PKG.findall(text)
    plain = len(_PLAIN_RETURN.findall(text))
    if len(fmt_wraps) >= len(pkg_wraps) and fmt_wraps and len(fmt_wraps) >= plain:
        verbs = [m for m in fmt_wraps if m.endswith(("%w", "%v"))]
        if not verbs:
            return None
        verb = "%v" if sum(m.endswith("%v") for m in verbs) > len(verbs) / 2 else "%w"
        separator = ": " if sum(m.endswith(": " + verb) for m in verbs) * 2 >= len(verbs) else " "
        return _WrapStyle("fmt", separator, verb)
    if pkg_wraps and len(pkg_wraps) >= plain:
        return _WrapStyle("pkg", "", "")
    return None


def _words(name: str) -> str:
    """`loadConfig` -> "load config", `ReadFile` -> "read file", `DB` -> "db"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return spaced.replace("_", " ").lower().strip()


def _message_for(statement: Node | None, data: bytes) -> str:
    """A wrap message from the call that failed: `os.ReadFile(p)` -> "read file"."""
    if statement is None:
        return ""
    call = None
    for child in _descendants(statement, 3):
        if child.type == "call_expression":
            call = child
            break
    if call is None:
        return ""
    function = call.child_by_field_name("function")
    if function is None:
        return ""
    if function.type == "selector_expression":
        field = function.child_by_field_name("field")
        operand = function.child_by_field_name("operand")
        name = _text(data, field) if field is not None else ""
        if name in ("New", "Open", "Parse", "Get", "Do", "Run", "Load", "Read", "Write"):
            base = _text(data, operand).rsplit(".", 1)[-1] if operand is not None else ""
            if base and re.fullmatch(r"\w+", base):
                return f"{_words(name)} {_words(base)}".strip()
        return _words(name)
    if function.type == "identifier":
        return _words(_text(data, function))
    return ""


def _descendants(node: Node, depth: int) -> list[Node]:
    out: list[Node] = []
    frontier = [node]
    for _ in range(depth):
        following: list[Node] = []
        for item in frontier:
            following.extend(item.named_children)
        out.extend(following)
        frontier = following
    return out


def _main_habit(fn_node: Node, root: Node, data: bytes, imports: dict[str, str]) -> list[str]:
    """What `main` does with an error: the body of an `if err != nil` already in main (or in
    another function of the file without results), else log.Fatal / os.Exit / panic."""
    for scope in (fn_node, root):
        for body in _err_bodies(scope, data):
            statements = [_text(data, s) for s in body.named_children]
            if (
                statements
                and not any("return" in s.split("(")[0] for s in statements)
                and all(len(s) < 120 and "\n" not in s for s in statements)
            ):
                return statements
    if "log" in imports and imports["log"] == "log":
        return ["log.Fatal(err)"]
    if imports.get("fmt") == "fmt" and imports.get("os") == "os":
        return ["fmt.Fprintln(os.Stderr, err)", "os.Exit(1)"]
    return ["panic(err)"]


def _err_check_body(node: Node, data: bytes) -> Node | None:
    """The block of `node` when it is an `if err != nil` statement."""
    if node.type != "if_statement":
        return None
    condition = node.child_by_field_name("condition")
    consequence = node.child_by_field_name("consequence")
    if condition is None or _text(data, condition).replace(" ", "") != "err!=nil":
        return None
    return consequence


def _err_bodies(scope: Node, data: bytes) -> list[Node]:
    """The statement lists of the `if err != nil` blocks inside `scope` (not in nested funcs
    of other kinds' results: only blocks whose function has no results)."""
    found: list[Node] = []
    stack = [scope]
    while stack and len(found) < 4:
        node = stack.pop()
        consequence = _err_check_body(node, data)
        if consequence is not None:
            fn = _enclosing_function(node)
            if fn is not None and fn.child_by_field_name("result") is None:
                for child in consequence.named_children:
                    if child.type == "statement_list":
                        found.append(child)
        stack.extend(reversed(node.named_children))
    return found


_TEST_BODY = re.compile(r"if err != nil \{\n\s*(\w+)\.(\w+)\(([^\n]*)\)\s*\n")
_TEST_METHODS = frozenset({"Fatal", "Fatalf", "Error", "Errorf", "Skip", "Skipf", "FailNow"})


def _nearest_test_body(fn_node: Node, data: bytes, cursor: int) -> str | None:
    """The testing method (`Fatal`, `Errorf`...) of the error check nearest to the cursor in
    the same function (not in its function literals: a goroutine reports with Error)."""
    nearest = _nearest_test_check(fn_node, data, cursor)
    return None if nearest is None else nearest[1]


def _nearest_noerror(fn_node: Node, data: bytes, cursor: int, alias: str) -> int | None:
    """The distance in bytes from the cursor to the nearest `require.NoError(` in the
    function, if it has one."""
    found = [
        abs(fn_node.start_byte + m.start() - cursor)
        for m in re.finditer(
            re.escape(f"{alias}.NoError(").encode(), data[fn_node.start_byte : fn_node.end_byte]
        )
    ]
    return min(found) if found else None


def _nearest_test_check(fn_node: Node, data: bytes, cursor: int) -> tuple[int, str] | None:
    """(distance in bytes, testing method) of the `if err != nil` check nearest to the cursor
    that stops the test, in the function but not in its function literals."""
    best: tuple[int, str] | None = None
    body = fn_node.child_by_field_name("body")
    stack = [body] if body is not None else []
    visited = 0
    while stack and visited < 20_000:  # bounded work in a huge function
        node = stack.pop()
        visited += 1
        if node.type == "func_literal":
            continue
        consequence = _err_check_body(node, data)
        if consequence is not None:
            match = re.match(r"\{\s*\w+\.(\w+)\(", _text(data, consequence))
            if match and match.group(1) in _TEST_METHODS:
                distance = abs(node.start_byte - cursor)
                if best is None or distance < best[0]:
                    best = (distance, match.group(1))
        stack.extend(node.named_children)
    return best


def _test_habit(text: str, receiver: str, nearby: str | None = None) -> str:
    """How this file's tests stop on an error: the family of the nearest check in the same
    test (Fatal or Error) if there is one, else the family the file uses most; in that family
    the file's most common statement when it repeats (`t.Fatalf("unexpected error: %v", err)`)
    with this test's receiver."""
    statements: Counter[str] = Counter()
    families: Counter[str] = Counter()
    for match in _TEST_BODY.finditer(text):
        _receiver, method, arguments = match.groups()
        if method not in _TEST_METHODS:
            continue
        statements[f"{method}({arguments})"] += 1
        families["Error" if method.startswith("Error") else "Fatal"] += 1
    if nearby is not None:
        family = "Error" if nearby.startswith("Error") else "Fatal"
    else:
        family = "Error" if families["Error"] > families["Fatal"] else "Fatal"
    in_family = Counter(
        {k: n for k, n in statements.items() if k.startswith(family) and "err" in k}
    )
    if in_family:
        common, count = in_family.most_common(1)[0]
        if count >= 2 and count * 5 >= families[family] * 2:
            return f"{receiver}.{common}"
    return f"{receiver}.{family}(err)"


def _closures_stop_tests(
    root: Node, data: bytes, imports: dict[str, str], cursor: int, with_error: bool
) -> bool | None:
    """How the file's checks inside function literals of tests end (`db.Update(func(tx *Tx)
    error {...})`), nearest to the cursor first: True when more stop the test (`t.Fatal`)
    than return, False when more return, None when the file shows neither. Only literals
    that return an error, or only those that do not, as `with_error` says: the two differ."""
    stops = returns = 0
    checks = sorted(_ERR_CHECK.finditer(data), key=lambda m: abs(m.start() - cursor))
    for match in checks[:_NEAREST_CHECKS]:
        node = root.descendant_for_byte_range(match.start(), match.start() + 2)
        check = node.parent if node is not None else None
        if check is None or check.type != "if_statement":
            continue
        around = _functions_around(check)
        if not around or around[0].type != "func_literal":
            continue
        if _returns_error(_function(around[0], data), data) != with_error:
            continue
        test = _test_around(around, data, imports)
        if test is None or test[1] == around[0]:
            continue  # not in a test, or a test itself (`t.Run("x", func(t *testing.T)`)
        if match.group(1) == b"return":
            returns += 1
        elif match.group(2) is not None and match.group(2).decode() in _TEST_METHODS:
            stops += 1
    if stops == returns:
        return None
    return stops > returns


# A check and its first statement: `return` or `recv.Method(`.
_ERR_CHECK = re.compile(rb"if err != nil \{\s*(\w+)(?:\.(\w+)\()?")
_NEAREST_CHECKS = 200  # bounded work in a huge test file


def _uses_require(text: str, alias: str) -> bool:
    """Whether the file (importing testify) checks errors with it at least as often as with
    `if err != nil` blocks."""
    return text.count(f"{alias}.NoError(") >= len(_TEST_BODY.findall(text))


def _testify(imports: dict[str, str]) -> str | None:
    for alias, path in imports.items():
        if path == "github.com/stretchr/testify/require":
            return alias
    return None
