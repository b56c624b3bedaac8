"""The structure of a log call's text: the chain of method calls after the logger expression
(`parse_call`), each with its arguments, and what an argument is (a literal, a keyword
argument, a field constructor ...)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .families import FAMILIES, INNER_PRINTF, Rule
from .lexer import Tok, string_body, tokenize


@dataclass(slots=True)
class Arg:
    tokens: list[Tok]
    start: int  # where the argument may be cut off: just after the `(` or the previous arg
    complete: bool = False  # followed by `,` or `)`


@dataclass(slots=True)
class Segment:
    method: str
    family: str
    rule: Rule | None
    dot: int  # where this segment starts (the `.` or `::` before the method name)
    name_end: int
    open_end: int = -1  # just after `(`, -1 while not opened
    args: list[Arg] = field(default_factory=list)
    close_end: int = -1  # just after `)`, -1 while open


@dataclass(slots=True)
class Parsed:
    segments: list[Segment]
    stack: list[str]  # brackets still open at the end, innermost last
    open_string: bool  # the text ends inside a string
    end: int | None  # where the call ended (after its last `)`), if it did
    bad: int | None  # where the text stops making sense as this call
    comment: int | None


CLOSER = {"(": ")", "[": "]", "{": "}"}


def parse_call(text: str, start: int, lang: str, family: str, rust: bool) -> Parsed:
    """The chain of method calls in `text[start:]` (just after the logger expression)."""
    tokens, comment = tokenize(text[start:], lang)
    tokens = [
        Tok(t.kind, t.start + start, t.end + start, t.text, t.closed, t.prefix) for t in tokens
    ]
    if comment is not None:
        comment += start
    segments: list[Segment] = []
    stack: list[str] = []
    i = 0
    n = len(tokens)
    bad: int | None = None
    end: int | None = None
    open_string = bool(tokens) and tokens[-1].kind == "str" and not tokens[-1].closed
    current = family
    while i < n:
        tok = tokens[i]
        if rust and not segments:
            # `info!(` / `log::info!(`: the method is the macro name, already in the typed text
            segments.append(Segment("", current, None, start, start))
        elif tok.kind == "op" and tok.text in (".", "?."):
            if i + 1 >= n:
                segments.append(Segment("", current, None, tok.start, tok.end))
                break
            name = tokens[i + 1]
            if name.kind != "id":
                bad = tok.start
                break
            rule = FAMILIES.get(current, {}).get(name.text)
            segments.append(Segment(name.text, current, rule, tok.start, name.end))
            i += 2
            if i >= n:
                break
            if tokens[i].text != "(":
                bad = tok.start
                break
        elif (segments and segments[-1].close_end >= 0) or not segments:
            # after a finished call: anything but `.` ends it
            if segments:
                end = segments[-1].close_end
            else:
                bad = tok.start
            break
        seg = segments[-1]
        if rust:
            seg.rule = FAMILIES[current].get(_rust_method(text[:start]))
        if tokens[i].text != "(":
            bad = tokens[i].start
            break
        seg.open_end = tokens[i].end
        i, bad, arg = _read_arguments(tokens, i + 1, seg, stack)
        if bad is not None:
            break
        if seg.close_end < 0:
            if arg.tokens or (seg.args and text[seg.args[-1].tokens[-1].end :].strip()):
                seg.args.append(arg)
            break
        rule = seg.rule
        current = rule.then if rule is not None and rule.then else ""
        if rule is None or rule.then is None:
            end = seg.close_end
            break
        if rust:
            end = seg.close_end
            break
    return Parsed(segments, stack, open_string, end, bad, comment)


def _read_arguments(
    tokens: list[Tok], i: int, seg: Segment, stack: list[str]
) -> tuple[int, int | None, Arg]:
    """Read `seg`'s arguments from `tokens[i]` (just after its `(`) to its `)`, which sets
    `seg.close_end`; brackets opened inside go on `stack`. Returns where reading stopped, where
    the text stops making sense (None: it does not), and the argument the text ends in."""
    arg = Arg([], seg.open_end)
    depth = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind == "open":
            depth += 1
            stack.append(tok.text)
        elif tok.kind == "close":
            if depth == 0:
                if tok.text != ")":
                    return i, tok.start, arg
                if arg.tokens:
                    arg.complete = True
                    seg.args.append(arg)
                seg.close_end = tok.end
                return i + 1, None, arg
            if not stack or CLOSER[stack[-1]] != tok.text:
                return i, tok.start, arg
            stack.pop()
            depth -= 1
        elif tok.text == "," and depth == 0:
            arg.complete = True
            seg.args.append(arg)
            arg = Arg([], tokens[i - 1].end)
            i += 1
            continue
        arg.tokens.append(tok)
        i += 1
    return i, None, arg


def _rust_method(typed_head: str) -> str:
    match = re.search(r"(\w+)!\s*$", typed_head)
    return match.group(1) if match else ""


def inner_printf_call(tokens: list[Tok], i: int, packages: frozenset[str]) -> Segment | None:
    """The printf call (`fmt.Errorf(`...) that starts at `tokens[i]`, as a segment with its
    arguments, the same shape parse_call gives a log call's; None if none starts there."""
    if i + 3 >= len(tokens) or (i and tokens[i - 1].text in (".", "?.")):
        return None
    pkg, dot, name, paren = tokens[i : i + 4]
    family = INNER_PRINTF.get(pkg.text)
    if family is None or pkg.text not in packages or dot.text != "." or paren.text != "(":
        return None
    rule = FAMILIES[family].get(name.text)
    if rule is None or rule.kind != "printf":
        return None
    call = Segment(name.text, family, rule, pkg.start, name.end, open_end=paren.end)
    arg = Arg([], paren.end)
    depth = 0
    for j in range(i + 4, len(tokens)):
        tok = tokens[j]
        if tok.kind == "close" and depth == 0:
            if arg.tokens:
                arg.complete = True
                call.args.append(arg)
            call.close_end = tok.end
            return call
        if tok.text == "," and depth == 0:
            arg.complete = True
            call.args.append(arg)
            arg = Arg([], tokens[j - 1].end)
            continue
        depth += tok.kind == "open"
        depth -= tok.kind == "close"
        arg.tokens.append(tok)
    if arg.tokens:
        call.args.append(arg)
    return call


def string_prefix(arg: Arg) -> str:
    return arg.tokens[0].prefix if arg.tokens and arg.tokens[0].kind == "str" else ""


def format_index(seg: Segment) -> int | None:
    """Which argument is the format string / message, counting as the rule does."""
    rule = seg.rule
    if rule is None:
        return None
    kind = rule.kind
    args = seg.args
    if kind == "tracing":
        for index, arg in enumerate(args):
            if index < rule.lead:
                continue
            if len(arg.tokens) >= 1 and arg.tokens[0].kind == "str":
                return index
        return None
    if kind == "rustfmt":
        index = rule.lead
        while index < len(args) and is_target(args[index]):
            index += 1
        return index
    if kind == "pino":
        if args and rule.lead < len(args):
            first = args[rule.lead]
            if first.tokens and first.tokens[0].kind != "str":
                return rule.lead + 1
        return rule.lead
    if kind == "console":
        if (
            len(args) > rule.lead
            and args[rule.lead].tokens
            and args[rule.lead].tokens[0].kind == "str"
        ):
            return rule.lead
        return None
    return rule.lead


def is_target(arg: Arg) -> bool:
    toks = arg.tokens
    return len(toks) >= 2 and toks[0].kind == "id" and toks[1].text == ":"


def is_kwarg(tokens: list[Tok]) -> bool:
    """`name = value` (Python keyword argument, Rust named format argument or tracing field,
    dotted field names included)."""
    i = 0
    while i < len(tokens) and (tokens[i].kind == "id" or tokens[i].text == "."):
        i += 1
    return 0 < i < len(tokens) and tokens[i].text == "=" and tokens[0].kind == "id"


def rust_named_args(seg: Segment) -> set[str]:
    return {a.tokens[0].text for a in seg.args if is_kwarg(a.tokens)}


def literal(arg: Arg) -> str | None:
    """The text of an argument made only of string literals (implicit concatenation joined)."""
    parts = []
    for tok in arg.tokens:
        if tok.kind != "str":
            return None
        parts.append(string_body(tok))
    return "".join(parts) if parts else None


def is_constructor(arg: Arg, package: str) -> bool:
    toks = arg.tokens
    return (
        len(toks) >= 4
        and toks[0].text == package
        and toks[1].text == "."
        and toks[2].kind == "id"
        and toks[2].text[:1].isupper()
        and toks[3].text == "("
    )


def is_spread(arg: Arg) -> bool:
    return bool(arg.tokens) and arg.tokens[-1].text == "..."


def could_become(arg: Arg, prefix: str) -> bool:
    text = "".join(t.text for t in arg.tokens)
    return prefix.startswith(text) or text.startswith(prefix)
