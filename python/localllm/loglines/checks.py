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
    rule = seg.rule
    if rule is None:
        return None
    args = seg.args
    closed = seg.close_end >= 0
    base = ctx.base
    kind = rule.kind

    # Only what the suggestion wrote can be cut; a problem inside the typed text is the
    # user's business.
    def at(pos: int, what: str) -> tuple[int, str] | None:
        return (pos, what) if pos >= base or what.startswith("unknown") else None

    if kind == "any":
        return None
    if kind == "fixed":
        if len(args) > rule.n:
            return at(args[rule.n].start, "arity")
        if closed and len(args) < rule.n:
            return at(seg.close_end - 1, "arity")
        return None
    if kind in ("printf", "pct", "brace", "event", "console", "pino", "winston", "rustfmt"):
        return format_problem(ctx, seg, rule, closed, final)
    if kind == "tracing":
        return format_problem(ctx, seg, rule, closed, final)
    if kind in ("pairs", "attrs", "fields"):
        first = rule.lead + (1 if rule.msg else 0)
        if closed and len(args) < first:
            return at(seg.close_end - 1, "arity")
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
                return at(arg.start, "fields")
            if ctor or is_spread(arg):
                position += 1
                continue
            if kind == "attrs":
                if not settled and could_become(arg, "slog."):
                    return None
                return at(arg.start, "pairs")
            # a key: a string (or a constant name), then its value
            if arg.tokens and arg.tokens[0].kind == "num":
                return at(arg.start, "pairs")
            if position + 1 >= len(args):
                if closed:
                    return at(arg.start, "pairs")
                return None
            position += 2
        return None
    return None


def format_problem(
    ctx: Context, seg: Segment, rule: Rule, closed: bool, final: bool
) -> tuple[int, str] | None:
    base = ctx.base
    args = seg.args
    kind = rule.kind

    def at(pos: int, what: str) -> tuple[int, str] | None:
        return (pos, what) if pos >= base else None

    positional = [a for a in args if not (is_kwarg(a.tokens) and ctx.lang == "python")]
    if ctx.lang == "python":
        # keyword arguments come last; logging accepts only a few
        for arg in args:
            if is_kwarg(arg.tokens) and rule.kwargs is not None:
                name = arg.tokens[0].text
                still_typed = not (arg.complete or final) and any(
                    k.startswith(name) for k in rule.kwargs
                )
                if name not in rule.kwargs and not still_typed:
                    return at(arg.start, "arity")
    fmt_index = format_index(seg)
    if fmt_index is None:
        needs_message = kind in ("printf", "pct", "brace", "event", "pino", "winston")
        if closed and needs_message and len(positional) <= rule.lead:
            return at(seg.close_end - 1, "arity")
        return None
    named = args if kind == "tracing" else positional
    if fmt_index >= len(named):
        if closed and kind != "tracing" and kind != "console":
            return at(seg.close_end - 1, "arity")
        return None
    fmt_arg = named[fmt_index]
    fmt = literal(fmt_arg)
    fmt_settled = fmt_arg.complete or final
    if fmt is None:
        return None  # a format we cannot read: no count to check
    style = {
        "printf": "go",
        "pct": "python",
        "event": "python",
        "brace": "brace",
        "console": "js",
        "pino": "js",
        "winston": "js",
        "rustfmt": "rust",
        "tracing": "rust",
    }[kind]
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
            return at(fmt_arg.start, "verbs")
    if not fmt_settled:
        return None
    at_least = kind in ("console", "winston")
    if kind == "pct" or kind == "event":
        # logging formats only with arguments, but a verb without one is still a mistake
        pass
    if not at_least and len(extra) > count:
        return at(extra[count].start, "verbs")
    if closed and len(extra) < count:
        if count and not extra:
            return (
                at(fmt_arg.start, "verbs")
                if fmt_arg.start >= base
                else at(seg.close_end - 1, "verbs")
            )
        return at(seg.close_end - 1, "verbs")
    return None
