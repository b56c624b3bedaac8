"""The names a log call's argument reads that nothing declares (`unknown_name`): scope,
builtins and keywords aside, and what the argument binds itself (Python `for` and `lambda`, JS
arrow parameters), object keys, keyword arguments and names still being typed."""

from __future__ import annotations

from .calls import Arg, Segment, format_index, is_kwarg, rust_named_args
from .checks import Context
from .formats import named_placeholders
from .lexer import Tok, interpolated_names, string_body
from .records import JS_LANGUAGES, KEYWORDS


def unknown_name(
    ctx: Context, arg: Arg, base: int, settled: bool, seg: Segment, position: int
) -> str | None:
    """The first name `arg` (argument `position` of `seg`) reads after `base` that nothing
    declares; names in strings only when complete or `settled`, the last token only when
    `settled` (it may still be typed)."""
    known = ctx.identifiers
    skip = KEYWORDS.get(ctx.lang, frozenset())
    tokens = arg.tokens
    local = _bound_in(tokens, ctx.lang)

    def declared(name: str) -> bool:
        return name in known or name in skip or name in local

    depth_braces = 0
    kw_key = ctx.lang in ("python", "rust") and is_kwarg(tokens)
    for i, tok in enumerate(tokens):
        if tok.kind == "open" and tok.text == "{":
            depth_braces += 1
        elif tok.kind == "close" and tok.text == "}":
            depth_braces -= 1
        if tok.end <= base:
            continue
        if tok.kind == "str":
            for name, complete in _string_names(ctx, tok, seg, position):
                if (complete or settled) and not declared(name):
                    return name
            continue
        if tok.kind != "id" or not _is_read(ctx, tokens, i, depth_braces, kw_key):
            continue
        if declared(tok.text):
            continue
        if i == len(tokens) - 1 and not settled:
            continue  # still being typed
        return tok.text
    return None


def _bound_in(tokens: list[Tok], lang: str) -> set[str]:
    """The names an argument binds for itself: Python `for` targets and `lambda` parameters,
    JS arrow function parameters."""
    local: set[str] = set()
    if lang == "python":
        for i, tok in enumerate(tokens):
            if tok.text == "for" and i + 1 < len(tokens):
                local.update(_ids_until(tokens, i + 1, "in"))
            if tok.text == "lambda":
                local.update(_ids_until(tokens, i + 1, ":"))
    if lang in JS_LANGUAGES:
        for i, tok in enumerate(tokens):
            if tok.text == "=>":
                j = i - 1
                if j >= 0 and tokens[j].kind == "id":
                    local.add(tokens[j].text)
                elif j >= 0 and tokens[j].text == ")":
                    while j >= 0 and tokens[j].text != "(":
                        if tokens[j].kind == "id":
                            local.add(tokens[j].text)
                        j -= 1
    return local


def _ids_until(tokens: list[Tok], j: int, stop: str) -> list[str]:
    """The identifiers from `tokens[j]` on, up to the token `stop` (or the end)."""
    found = []
    while j < len(tokens) and tokens[j].text != stop:
        if tokens[j].kind == "id":
            found.append(tokens[j].text)
        j += 1
    return found


def _string_names(ctx: Context, tok: Tok, seg: Segment, position: int) -> list[tuple[str, bool]]:
    """The names a string token reads, each with whether it is complete: interpolations, and
    for a Rust macro's format string its inline `{name}`s (not its named arguments)."""
    names = interpolated_names(tok, ctx.lang)
    if ctx.rust and is_format_arg(seg, position):
        body = string_body(tok)
        names += [(n, tok.closed) for n in named_placeholders(body) if n.isidentifier()]
        names = [(n, c) for n, c in names if n not in rust_named_args(seg)]
    return names


def _is_read(ctx: Context, tokens: list[Tok], i: int, depth_braces: int, kw_key: bool) -> bool:
    """Whether the identifier `tokens[i]` reads a name: not a member (`.x`, `::x`), a macro,
    a keyword argument's name, an object key or struct field, or a JS default's target."""
    prev = tokens[i - 1].text if i else ""
    nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
    if prev in (".", "?.", "::") or (prev == "->" and ctx.lang != "rust"):
        return False
    if nxt == "!" and ctx.rust:
        return False  # a macro
    if kw_key and i == 0:
        return False
    if nxt == ":" and (depth_braces > 0 or ctx.rust) and ctx.lang != "python":
        return False  # an object key, a struct field, `target:`
    return not (nxt == "=" and ctx.lang in JS_LANGUAGES)


def is_format_arg(seg: Segment, position: int) -> bool:
    rule = seg.rule
    if rule is None:
        return False
    fmt_index = format_index(seg)
    return fmt_index == position
