"""The names a log call's argument reads that nothing declares (`unknown_name`): scope,
builtins and keywords aside, and what the argument binds itself (Python `for` and `lambda`, JS
arrow parameters), object keys, keyword arguments and names still being typed."""

from __future__ import annotations

from .calls import Arg, Segment, format_index, is_kwarg, rust_named_args
from .checks import Context
from .formats import named_placeholders
from .lexer import interpolated_names, string_body
from .records import JS_LANGUAGES, KEYWORDS


def unknown_name(
    ctx: Context, arg: Arg, base: int, settled: bool, seg: Segment, position: int
) -> str | None:
    known = ctx.identifiers
    skip = KEYWORDS.get(ctx.lang, frozenset())
    tokens = arg.tokens
    local: set[str] = set()
    if ctx.lang == "python":
        for i, tok in enumerate(tokens):
            if tok.text == "for" and i + 1 < len(tokens):
                j = i + 1
                while j < len(tokens) and tokens[j].text != "in":
                    if tokens[j].kind == "id":
                        local.add(tokens[j].text)
                    j += 1
            if tok.text == "lambda":
                j = i + 1
                while j < len(tokens) and tokens[j].text != ":":
                    if tokens[j].kind == "id":
                        local.add(tokens[j].text)
                    j += 1
    if ctx.lang in JS_LANGUAGES:
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
            names = interpolated_names(tok, ctx.lang)
            if ctx.rust and is_format_arg(seg, position):
                body = string_body(tok)
                names += [(n, tok.closed) for n in named_placeholders(body) if n.isidentifier()]
                names = [(n, c) for n, c in names if n not in rust_named_args(seg)]
            for name, complete in names:
                if not (complete or settled):
                    continue
                if name not in known and name not in skip and name not in local:
                    return name
            continue
        if tok.kind != "id":
            continue
        prev = tokens[i - 1].text if i else ""
        nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if prev in (".", "?.", "::") or (prev == "->" and ctx.lang != "rust"):
            continue
        if nxt == "!" and ctx.rust:
            continue  # a macro
        if kw_key and i == 0:
            continue
        if nxt == ":" and (depth_braces > 0 or ctx.rust) and ctx.lang != "python":
            continue  # an object key, a struct field, `target:`
        if nxt == "=" and ctx.lang in JS_LANGUAGES:
            continue
        if tok.text in known or tok.text in skip or tok.text in local:
            continue
        if i == len(tokens) - 1 and not settled:
            continue  # still being typed
        return tok.text
    return None


def is_format_arg(seg: Segment, position: int) -> bool:
    rule = seg.rule
    if rule is None:
        return False
    fmt_index = format_index(seg)
    return fmt_index == position
