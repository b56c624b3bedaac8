"""The FIM prompt as token ids, for backends that know the model's FIM token ids
(the embedded backend and llama-server's /completion). Pure: tokenizing is passed in.

Layout (prefix-suffix-middle, the typed part of the line after the middle token):

    [BOS] [SEP path\\n chunk]... [SEP file\\n] PRE header+prefix SUF line_suffix\\n suffix
    MID middle

Everything up to MID stays identical while the user types on one line, so the server's or
llama.cpp's KV cache is reused and only the new tokens are evaluated. Other files' chunks
(FimContext.extra) come first, most stable first. A model without a file separator token gets
them as comment-headed blocks at the start of the prefix; a model without FIM tokens gets
`[BOS] chunks header prefix middle` (the suffix then only trims the output).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from . import languages
from .types import FimContext

Tokenize = Callable[[str], list[int]]


class PromptTooLong(Exception):
    """Even the cursor's own line, the lines after it and the FIM tokens do not fit the context
    window. `needed` is how many tokens they take: only a window that leaves that many helps
    (they are never cut, and the suffix budget is already within the window)."""

    def __init__(self, needed: int) -> None:
        super().__init__(f"the text around the cursor needs {needed} tokens")
        self.needed = needed


def comment_leader(language: str | None) -> str:
    """The line comment marker of our language id `language`; "" when it is not one of ours."""
    lang = languages.get(language)
    return "" if lang is None else lang.line_comment


def chunk_blocks(ctx: FimContext) -> str:
    """Other files' chunks as plain text blocks headed by a comment with their path."""
    leader = comment_leader(ctx.language) or "//"
    return "".join(f"{leader} {path}\n{text.rstrip()}\n\n" for path, text in ctx.extra)


def token_prompt(
    ctx: FimContext,
    tokenize: Tokenize,
    *,
    fim: Mapping[str, int] | None,
    bos: int | None,
    limit: int,
) -> list[int]:
    """Token ids for `ctx` in at most `limit` tokens; oldest chunks, then the prefix start, go
    first when it is too long."""
    head: list[int] = [] if bos is None else [bos]
    chunks: list[list[int]] = []
    if fim and "pre" in fim and "suf" in fim and "mid" in fim:
        if "sep" in fim:
            chunks = [
                [fim["sep"], *tokenize(f"{path}\n{text.rstrip()}\n")] for path, text in ctx.extra
            ]
            file_head = [fim["sep"], *tokenize(ctx.filename + "\n"), fim["pre"]]
            body = tokenize(ctx.header + ctx.prefix)
        else:
            file_head = [fim["pre"]]
            body = tokenize(chunk_blocks(ctx) + ctx.header + ctx.prefix)
        after = ctx.after_cursor
        tail = [fim["suf"], *tokenize(after), fim["mid"], *tokenize(ctx.middle)]
    else:
        leader = comment_leader(ctx.language)
        title = f"{leader} {ctx.filename}\n" if leader and ctx.first_line > 0 else ""
        file_head = []
        body = tokenize(chunk_blocks(ctx) + title + ctx.header + ctx.prefix)
        tail = tokenize(ctx.middle)

    def total() -> int:
        return len(head) + sum(map(len, chunks)) + len(file_head) + len(body) + len(tail)

    while chunks and total() > limit:
        chunks.pop(0)
    overflow = total() - limit
    if overflow > 0:
        body = body[overflow:]
        if total() > limit:  # the body is all gone: what is left cannot be cut
            raise PromptTooLong(total())
    return head + [t for chunk in chunks for t in chunk] + file_head + body + tail
