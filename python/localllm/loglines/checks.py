"""The checks on a log call's arguments: format verbs against arguments (`format_problem`),
each family's argument rule (`rule_problem`: arity, slog pairs, zap fields), and in Go the
printf calls passed to a log call and `%d` written as code after a `)` (`inner_problem`)."""

from __future__ import annotations

from dataclasses import dataclass

from .calls import (
    Arg,
    Parsed,
    Segment,
    could_become,
    format_index,
    inner_printf_call,
    is_constructor,
    is_kwarg,
    is_spread,
    literal,
    string_prefix,
)
from .families import Rule
from .formats import GO_VERB, named_placeholders, verb_count
from .lexer import Tok


@dataclass(frozen=True, slots=True)
class Context:
    """What the checks know of the call: its language, whether it is a Rust macro, where the
    suggestion starts in the line (`base`), the names in scope and the imported packages."""

    lang: str
    rust: bool
    base: int
    identifiers: frozenset[str]
    packages: frozenset[str]


def inner_problem(
    ctx: Context, arg: Arg, full: str, settled: bool, final: bool
) -> tuple[int, str] | None:
    """The earliest of: a printf call in `arg` (`fmt.Errorf(...)`) whose verbs do not match
    its arguments, and a `%verb` right after a `)`: format text the model wrote as code
    (`fmt.Errorf("n: %d") %d` is valid Go, `%` being modulo)."""
    if ctx.lang != "go":
        return None
    found: list[tuple[int, str]] = []
    tokens = arg.tokens
    for i in range(len(tokens)):
        call = inner_printf_call(tokens, i, ctx.packages)
        if call is not None:
            assert call.rule is not None
            problem = format_problem(ctx, call, call.rule, call.close_end >= 0, final)
            if problem is not None:
                # Nothing of the call would be left but its `(`: drop the whole call.
                cut = call.dot if problem[0] <= call.open_end else problem[0]
                found.append((max(cut, ctx.base), problem[1]))
        elif stray_verb(ctx, tokens, i, full, settled):
            found.append((tokens[i].start, "verbs"))
    found = [f for f in found if f[0] >= ctx.base]
    return min(found) if found else None


def stray_verb(ctx: Context, tokens: list[Tok], i: int, full: str, settled: bool) -> bool:
    """`) %d`: a format verb glued to a `%` after a call. `f(x)%d` stays modulo when `d` is
    a name in scope (gofmt may write it so); with a space before only, it never is."""
    tok = tokens[i]
    if tok.text != "%" or i == 0 or tokens[i - 1].text != ")" or i + 1 >= len(tokens):
        return False
    nxt = tokens[i + 1]
    verb = GO_VERB.match(full, tok.start)
    if nxt.start != tok.end or verb is None or verb.group(0) == "%%":
        return False
    if full[tok.start - 1] in " \t":
        return True
    if i + 2 == len(tokens) and not settled:
        return False  # the name may still be typed
    return nxt.kind != "id" or nxt.text not in ctx.identifiers


def rule_problem(
    ctx: Context, seg: Segment, parsed: Parsed, full: str, final: bool
) -> tuple[int, str] | None:
    """(cut position, kind) of the first argument of `seg` its family's rule rejects."""
    rule = seg.rule
    if rule is None:
        return None
    args = seg.args
    closed = seg.close_end >= 0
    kind = rule.kind
    if kind == "any":
        return None
    if kind == "fixed":
        if len(args) > rule.n:
            return _cut(ctx, args[rule.n].start, "arity")
        if closed and len(args) < rule.n:
            return _cut(ctx, seg.close_end - 1, "arity")
        return None
    if kind in _VERB_STYLE:
        return format_problem(ctx, seg, rule, closed, final)
    if kind in ("pairs", "attrs", "fields"):
        return _pairs_problem(ctx, seg, rule, closed, final)
    return None


def _cut(ctx: Context, pos: int, what: str) -> tuple[int, str] | None:
    """Only what the suggestion wrote can be cut; a problem inside the typed text is the
    user's business."""
    return (pos, what) if pos >= ctx.base else None


def _pairs_problem(
    ctx: Context, seg: Segment, rule: Rule, closed: bool, final: bool
) -> tuple[int, str] | None:
    """slog's key/value pairs or slog.Attr values ("pairs", "attrs"), zap's field
    constructors ("fields"), after the leading arguments and the message."""
    args = seg.args
    kind = rule.kind
    first = rule.lead + (1 if rule.msg else 0)
    if closed and len(args) < first:
        return _cut(ctx, seg.close_end - 1, "arity")
    position = first
    while position < len(args):
        arg = args[position]
        settled = arg.complete or final
        ctor = is_constructor(arg, "zap" if kind == "fields" else "slog")
        if kind == "fields":
            if ctor or is_spread(arg):
                position += 1
                continue
            if not settled and could_become(arg, "zap."):
                return None
            return _cut(ctx, arg.start, "fields")
        if ctor or is_spread(arg):
            position += 1
            continue
        if kind == "attrs":
            if not settled and could_become(arg, "slog."):
                return None
            return _cut(ctx, arg.start, "pairs")
        # a key: a string (or a constant name), then its value
        if arg.tokens and arg.tokens[0].kind == "num":
            return _cut(ctx, arg.start, "pairs")
        if position + 1 >= len(args):
            if closed:
                return _cut(ctx, arg.start, "pairs")
            return None
        position += 2
    return None


# The format style (see formats.verb_count) of each rule kind that takes a format string.
_VERB_STYLE = {
    "printf": "go",
    "pct": "python",
    "event": "python",
    "brace": "brace",
    "console": "js",
    "pino": "js",
    "winston": "js",
    "rustfmt": "rust",
    "tracing": "rust",
}


def format_problem(
    ctx: Context, seg: Segment, rule: Rule, closed: bool, final: bool
) -> tuple[int, str] | None:
    """(cut position, kind) of the first thing wrong with a format call's arguments: a
    keyword argument logging does not take, a missing message, verbs and arguments that do
    not match in number, `{name}` placeholders without their keyword argument."""
    args = seg.args
    kind = rule.kind
    keyword = _keyword_problem(ctx, args, rule, final)
    if keyword is not None:
        return keyword
    positional = [a for a in args if not (is_kwarg(a.tokens) and ctx.lang == "python")]
    fmt_index = format_index(seg)
    if fmt_index is None:
        needs_message = kind in ("printf", "pct", "brace", "event", "pino", "winston")
        if closed and needs_message and len(positional) <= rule.lead:
            return _cut(ctx, seg.close_end - 1, "arity")
        return None
    named = args if kind == "tracing" else positional
    if fmt_index >= len(named):
        if closed and kind != "tracing" and kind != "console":
            return _cut(ctx, seg.close_end - 1, "arity")
        return None
    fmt_arg = named[fmt_index]
    style = _VERB_STYLE[kind]
    if style == "go":
        go_problem = _go_format_problem(ctx, fmt_arg, rule)
        if go_problem is not None:
            return go_problem
    fmt = literal(fmt_arg)
    if fmt is None:
        return None  # a format we cannot read: no count to check
    if ctx.lang == "python" and "f" in string_prefix(fmt_arg) and style == "brace":
        count: int | None = 0
    else:
        count = verb_count(fmt, style)
    if count is None:
        return None
    extra = named[fmt_index + 1 :]
    if ctx.rust:
        extra = [a for a in extra if not is_kwarg(a.tokens)]
    if kind == "brace" and ctx.lang == "python":
        names = named_placeholders(fmt) if "f" not in string_prefix(fmt_arg) else []
        kw = {a.tokens[0].text for a in args if is_kwarg(a.tokens)}
        if closed and names and any(n not in kw for n in names):
            return _cut(ctx, fmt_arg.start, "verbs")
    if not (fmt_arg.complete or final):
        return None
    return _count_problem(ctx, seg, fmt_arg, extra, count, at_least=kind in ("console", "winston"))


def _go_format_problem(ctx: Context, fmt_arg: Arg, rule: Rule) -> tuple[int, str] | None:
    """A Go printf format the model wrote that go vet rejects: not a string literal
    (`err)`, `fmt.Sprintf(...)`), or with `%w` where the callee is not fmt.Errorf or an errors
    wrapper (no other formats an error so)."""
    first = fmt_arg.tokens[0] if fmt_arg.tokens else None
    if first is None:
        return None
    if first.kind != "str":
        return _cut(ctx, fmt_arg.start, "format")
    if not rule.wraps:
        for tok in fmt_arg.tokens:
            verb = next((v for v in GO_VERB.finditer(tok.text) if v.group(0).endswith("w")), None)
            if verb is not None:
                return _cut(ctx, tok.start + verb.start(), "wrap")
    return None


def _keyword_problem(
    ctx: Context, args: list[Arg], rule: Rule, final: bool
) -> tuple[int, str] | None:
    """Python: a keyword argument (they come last) the rule does not allow (logging accepts
    only a few), unless it is still being typed towards one it does."""
    if ctx.lang != "python":
        return None
    for arg in args:
        if is_kwarg(arg.tokens) and rule.kwargs is not None:
            name = arg.tokens[0].text
            still_typed = not (arg.complete or final) and any(
                k.startswith(name) for k in rule.kwargs
            )
            if name not in rule.kwargs and not still_typed:
                return _cut(ctx, arg.start, "arity")
    return None


def _count_problem(
    ctx: Context, seg: Segment, fmt_arg: Arg, extra: list[Arg], count: int, at_least: bool
) -> tuple[int, str] | None:
    """More arguments than the format's `count` verbs (allowed when `at_least`: the rest is
    metadata), or, once the call is closed, fewer. Python logging formats only when given
    arguments, but a verb without one is still a mistake."""
    closed = seg.close_end >= 0
    if not at_least and len(extra) > count:
        return _cut(ctx, extra[count].start, "verbs")
    if closed and len(extra) < count:
        if count and not extra:
            return (
                _cut(ctx, fmt_arg.start, "verbs")
                if fmt_arg.start >= ctx.base
                else _cut(ctx, seg.close_end - 1, "verbs")
            )
        return _cut(ctx, seg.close_end - 1, "verbs")
    return None
