"""Turn raw model output into the text shown as ghost text.

`clean` is called on every streamed partial output (``final=False``) and once at the end
(``final=True``). It is pure and cheap (a few linear passes over the suggestion, never over the
whole buffer), and it is built so that, while streaming, a shown text is normally a prefix of
every later one: a trailing partial line after the first is held back until it is complete, and
text that may still turn out to repeat the buffer is held back instead of shown and withdrawn.

Reasons reported in `Cleaned.reason`:

- ``ok``: nothing special, ``pending``: text held back while streaming (it may still repeat the
  buffer), ``blank``: nothing but whitespace,
- ``special-token``: the model leaked a special token as text; the output was cut there,
- ``single-line``: single-line position and the model began a second line,
- ``max-lines``: the line budget is used up,
- ``scope-end``: the suggestion tried to leave the scope around the cursor (a closing bracket of
  an outer block, a bracket the buffer already closes, a dedent below the cursor line),
- ``block-end``: the suggestion finished the block opened at or just before the cursor,
- ``repeats-suffix``, ``repeats-next-line``, ``repeats-following-lines``: the suggestion repeats
  text that is already in the buffer after the cursor,
- ``suffix-overlap``: the tail of a single-line suggestion duplicated the start of the rest of
  the line and was dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from localllm import languages
from localllm.types import FimContext, IndentStyle

__all__ = ["SPECIAL_TOKENS", "Cleaned", "clean", "strip_typed"]

SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|fim_pad|>",
    "<|file_sep|>",
    "<|fim_prefix|>",
    "<|fim_suffix|>",
    "<|fim_middle|>",
    "<fim_prefix>",
    "<fim_suffix>",
    "<fim_middle>",
    "<|im_end|>",
    "<end_of_turn>",
    "<eos>",
    "</s>",
    "<EOT>",
    "<｜fim▁end｜>",
)
_SPECIAL_MAX = max(len(t) for t in SPECIAL_TOKENS)


@dataclass(frozen=True, slots=True)
class Cleaned:
    """What to show: `text` is inserted at the cursor on accept ("" = show nothing).

    `complete` is True when no further model output can change `text` (the engine may stop
    generating). `reason` is a short tag for logs and tests (see the module docstring).
    """

    text: str
    complete: bool
    reason: str


def strip_typed(text: str, typed: str) -> str | None:
    """The rest of suggestion `text` after the user typed `typed` through it.

    None when `typed` is not a prefix of `text` (the user diverged); "" when all was typed.
    """
    return text[len(typed) :] if text.startswith(typed) else None


# --------------------------------------------------------------------------------------------
# Language knowledge (only what the scanner and the block rules need)

_OPEN_TO_CLOSE = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(")]}")
# Words that close a keyword block, per language (a trivial line such as `end` is never a
# "repeat" of the next line on its own).
_CLOSE_WORDS = frozenset({"end", "fi", "done", "esac", "until"})


@dataclass(frozen=True, slots=True)
class _Lang:
    comment: str  # line comment marker
    comment_at_word: bool  # `#` starts a comment only at the start of a word (shells)
    colon_blocks: bool  # `:` at the end of a line opens a block (python)
    keyword_blocks: tuple[tuple[str, frozenset[str]], ...]  # opener word -> closing words
    lifetimes: bool  # `'a` is a lifetime, not a string (rust)
    pattern: re.Pattern[str]


def _make_lang(language: str | None) -> _Lang:
    lang = languages.get(language)
    comment = "//" if lang is None else lang.line_comment
    pattern = re.compile(r"[()\[\]{}'\"`\\]|" + re.escape(comment))
    return _Lang(
        comment=comment,
        comment_at_word=lang is not None and lang.comment_at_word,
        colon_blocks=lang is not None and lang.colon_blocks,
        keyword_blocks=() if lang is None else lang.keyword_blocks,
        lifetimes=lang is not None and lang.lifetimes,
        pattern=pattern,
    )


_lang = lru_cache(maxsize=32)(_make_lang)


@dataclass(frozen=True, slots=True)
class _Scan:
    events: tuple[tuple[int, str], ...]  # (index, bracket char) outside strings and comments
    comment: int  # index where a line comment starts, len(line) if none
    quote: str  # the string delimiter still open at the end of the line ("" if none)


def _scan(line: str, lang: _Lang, quote: str = "") -> _Scan:
    """Brackets of one line outside string literals and line comments.

    `quote` is the string delimiter open at the start of `line` (a line continued at the cursor).
    """
    events: list[tuple[int, str]] = []
    skip = 0
    for m in lang.pattern.finditer(line):
        i = m.start()
        if i < skip:
            continue
        tok = m.group()
        if tok == "\\":
            skip = i + 2
            continue
        if quote:
            if tok == quote:
                quote = ""
            continue
        if tok in "'\"`":
            if tok == "'" and lang.lifetimes and not _char_literal(line, i):
                continue
            quote = tok
        elif tok == lang.comment:
            if lang.comment_at_word and i > 0 and not line[i - 1].isspace():
                continue
            return _Scan(tuple(events), i, "")
        else:
            events.append((i, tok))
    return _Scan(tuple(events), len(line), quote)


def _char_literal(line: str, i: int) -> bool:
    """Rust: `'x'` or `'\\n'` is a char literal; `'a` (no closing quote right after) a lifetime."""
    return line[i + 1 : i + 2] == "\\" or line[i + 2 : i + 3] == "'"


def _opener(code: str, lang: _Lang, unclosed: bool) -> str | frozenset[str] | None:
    """What block `code` (a line without its comment) opens at its end.

    A bracket character, the closing words of a keyword block (empty for a python `:` block),
    or None. `unclosed` tells whether a bracket is still open on the line (then `:` is a slice or
    a dict entry, not a block).
    """
    code = code.rstrip()
    if not code:
        return None
    last = code[-1]
    if last in _OPEN_TO_CLOSE:
        return last
    if lang.colon_blocks and last == ":" and not unclosed:
        return frozenset()
    for word, closers in lang.keyword_blocks:
        if code.endswith(word):
            before = code[-len(word) - 1 : -len(word)]
            if not before or not (before.isalnum() or before == "_"):
                return closers
    return None


def _width(line: str, tabstop: int) -> int:
    """Display width of the leading whitespace of `line` (a tab counts `tabstop`)."""
    w = 0
    for ch in line:
        if ch == " ":
            w += 1
        elif ch == "\t":
            w += tabstop
        else:
            break
    return w


def _first_word(body: str) -> str:
    m = re.match(r"\w+", body)
    return m.group() if m else ""


def _trivial(stripped: str) -> bool:
    """A line that is only closing brackets/punctuation or a block-closing word."""
    return not stripped.strip(")]}>;, \t") or stripped in _CLOSE_WORDS


# --------------------------------------------------------------------------------------------
# Per-context facts, computed once per context (clean is called once per token)

_PREV, _MID, _LINE0, _LATER = 0, 1, 2, 3
_Entry = tuple[str, int, int]  # (expected closer, origin, indentation width of the opener line)
_NEXT_LIMIT = 64


@dataclass(frozen=True, slots=True)
class _Info:
    lang: _Lang
    tabstop: int
    mid_stack: tuple[_Entry, ...]  # brackets opened in `middle` and still open
    mid_quote: str  # string delimiter open at the cursor
    mid_comment: bool  # the cursor is inside a line comment
    prev_bracket: _Entry | None  # block opened by a bracket at the end of the line above
    prev_words: tuple[int, frozenset[str]] | None  # keyword/colon block opened on the line above
    next_nb: tuple[str, ...]  # next non-blank buffer lines after the cursor line
    next_nb_stripped: tuple[str, ...]


def _following_lines(ctx: FimContext) -> tuple[str, ...]:
    if ctx.next_lines:
        return ctx.next_lines
    lines = ctx.suffix.split("\n", 4 * _NEXT_LIMIT)
    return tuple(lines[: 4 * _NEXT_LIMIT])


@lru_cache(maxsize=8)
def _info(ctx: FimContext) -> _Info:
    lang = _lang(ctx.language)
    tabstop = max(1, ctx.indent.tabstop)
    middle = ctx.middle

    scan = _scan(middle, lang)
    mid_w = _width(middle, tabstop)
    stack: list[_Entry] = []
    for _, ch in scan.events:
        if ch in _OPEN_TO_CLOSE:
            stack.append((_OPEN_TO_CLOSE[ch], _MID, mid_w))
        elif stack:
            stack.pop()

    prev_bracket: _Entry | None = None
    prev_words: tuple[int, frozenset[str]] | None = None
    if not middle.strip() and not ctx.line_suffix.strip() and ctx.prefix:
        body = ctx.prefix[:-1] if ctx.prefix.endswith("\n") else ctx.prefix
        prev = body[body.rfind("\n") + 1 :]
        pscan = _scan(prev, lang)
        if not pscan.quote:
            depth = 0
            for _, ch in pscan.events:
                depth = depth + 1 if ch in _OPEN_TO_CLOSE else max(0, depth - 1)
            op = _opener(prev[: pscan.comment], lang, depth > 0)
            prev_w = _width(prev, tabstop)
            if isinstance(op, str):
                prev_bracket = (_OPEN_TO_CLOSE[op], _PREV, prev_w)
            elif op is not None:
                prev_words = (prev_w, op)

    nb: list[str] = []
    for line in _following_lines(ctx):
        if line.strip():
            nb.append(line)
            if len(nb) >= _NEXT_LIMIT:
                break
    return _Info(
        lang=lang,
        tabstop=tabstop,
        mid_stack=tuple(stack),
        mid_quote=scan.quote,
        mid_comment=scan.comment < len(middle),
        prev_bracket=prev_bracket,
        prev_words=prev_words,
        next_nb=tuple(nb),
        next_nb_stripped=tuple(s.strip() for s in nb),
    )


# --------------------------------------------------------------------------------------------
# Small steps


def _cut_special(raw: str, final: bool) -> tuple[str, bool]:
    """Cut at the first leaked special token; while streaming hold back a possible token start."""
    if "<" not in raw:
        return raw, False
    cut = -1
    for tok in SPECIAL_TOKENS:
        j = raw.find(tok, 0, len(raw) if cut < 0 else cut + len(tok) - 1)
        if j != -1 and (cut < 0 or j < cut):
            cut = j
    if cut >= 0:
        return raw[:cut], True
    if not final:
        j = raw.rfind("<", max(0, len(raw) - _SPECIAL_MAX))
        if j != -1:
            tail = raw[j:]
            if any(tok.startswith(tail) for tok in SPECIAL_TOKENS):
                return raw[:j], False
    return raw, False


def _normalise(text: str, settled: bool) -> str:
    if "\0" in text:
        text = text.replace("\0", "")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if not settled and text.endswith("\r"):
            text = text[:-1]  # maybe the first half of "\r\n"
        text = text.replace("\r", "")
    return text


def _fix_indent(line: str, style: IndentStyle) -> str:
    """Re-indent a continuation line in the buffer's style (leading whitespace only)."""
    body = line.lstrip(" \t")
    lead = line[: len(line) - len(body)]
    width = style.width
    if not lead or not body or width <= 0:
        return line
    if style.use_tabs:
        if " " not in lead:
            return line
        out: list[str] = []
        spaces = 0
        for ch in lead:
            if ch == " ":
                spaces += 1
                if spaces == width:
                    out.append("\t")
                    spaces = 0
            else:
                out.append(" " * spaces + "\t")
                spaces = 0
        out.append(" " * spaces)
        return "".join(out) + body
    if "\t" not in lead:
        return line
    return lead.replace("\t", " " * width) + body


def _cut_at(lines: list[str], i: int, pos: int) -> list[str]:
    """Lines up to just before column `pos` of line `i` (a line left blank is dropped)."""
    head = lines[i][:pos].rstrip()
    if i == 0 or head.strip():
        return [*lines[:i], head]
    return lines[:i]


def _buffer_closes(ch: str, opener_w: int, line_w: int, ctx: FimContext, info: _Info) -> bool:
    """Does the buffer already close the bracket the suggestion is closing with `ch`?"""
    if ctx.line_suffix.strip():
        return ch in ctx.line_suffix
    if not info.next_nb:
        return False
    nxt = info.next_nb[0]
    return nxt.lstrip(" \t").startswith(ch) and _width(nxt, info.tabstop) in (opener_w, line_w)


def _buffer_has_word(word: str, block_w: int, line_w: int, info: _Info) -> bool:
    if not info.next_nb:
        return False
    nxt = info.next_nb[0]
    return _first_word(nxt.lstrip(" \t")) == word and _width(nxt, info.tabstop) in (
        block_w,
        line_w,
    )


def _follow_scope(
    lines: list[str], n_done: int, ctx: FimContext, info: _Info, cut_line0: bool
) -> tuple[list[str], bool, str]:
    """Keep the suggestion inside the scope around the cursor.

    `lines[:n_done]` are complete, a further last line is still being generated. Returns the
    lines to show, whether that is decided for good, and the reason.
    """
    lang, tabstop = info.lang, info.tabstop
    stack: list[_Entry] = []
    words: tuple[int, frozenset[str]] | None = info.prev_words
    if info.prev_bracket is not None:
        stack.append(info.prev_bracket)
    stack.extend(info.mid_stack)

    middle = ctx.middle
    line0 = lines[0]
    cur = middle + line0
    ref_w = _width(cur if cur.strip() else middle + ctx.line_suffix, tabstop)
    scan0 = _Scan((), 0, "") if info.mid_comment else _scan(line0, lang, info.mid_quote)
    decided = _first_line_in_scope(lines, n_done, ctx, info, cut_line0, scan0, stack, ref_w)
    if decided is not None:
        return decided
    if n_done < 1:
        return [line0], False, "ok"

    if not ctx.line_suffix.strip() and not scan0.quote and not info.mid_comment:
        code = middle + line0[: scan0.comment]
        unclosed = any(e[1] in (_MID, _LINE0) for e in stack)
        op = _opener(code, lang, unclosed)
        if isinstance(op, frozenset):
            words = (ref_w, op)
    return _later_lines_in_scope(lines, n_done, ctx, info, stack, words, ref_w)


def _first_line_in_scope(
    lines: list[str],
    n_done: int,
    ctx: FimContext,
    info: _Info,
    cut_line0: bool,
    scan0: _Scan,
    stack: list[_Entry],
    ref_w: int,
) -> tuple[list[str], bool, str] | None:
    """_follow_scope() on the first line's brackets (`stack` updated): the decision when the
    first line leaves the scope, else None."""
    line0 = lines[0]
    for pos, ch in scan0.events:
        if ch in _OPEN_TO_CLOSE:
            stack.append((_OPEN_TO_CLOSE[ch], _LINE0, ref_w))
            continue
        if not stack:
            if cut_line0:  # closes a bracket opened on an earlier line
                return _cut_at(lines, 0, pos), True, "scope-end"
            continue
        expected, origin, opener_w = stack[-1]
        if cut_line0 and origin != _LINE0 and ch != expected:
            return _cut_at(lines, 0, pos), True, "scope-end"  # not ours: closes an outer bracket
        if cut_line0 and origin in (_MID, _PREV) and _buffer_closes(ch, opener_w, ref_w, ctx, info):
            return _cut_at(lines, 0, pos), True, "scope-end"
        if cut_line0 and origin == _PREV:  # closes the block opened on the line above
            return [line0], n_done >= 1, "block-end" if n_done >= 1 else "ok"
        stack.pop()
    return None


def _later_lines_in_scope(
    lines: list[str],
    n_done: int,
    ctx: FimContext,
    info: _Info,
    stack: list[_Entry],
    words: tuple[int, frozenset[str]] | None,
    ref_w: int,
) -> tuple[list[str], bool, str]:
    """_follow_scope() on the lines after the first: where they leave the scope."""
    lang, tabstop = info.lang, info.tabstop
    n = len(lines)
    for i in range(1, n):
        line = lines[i]
        done = i < n_done
        body = line.lstrip(" \t")
        if not body:
            continue
        w = _width(line, tabstop)
        if words is not None and w <= words[0]:
            word = _first_word(body)
            if not done and len(word) == len(body) and any(c.startswith(word) for c in words[1]):
                return lines[:i], False, "ok"  # the first word may still become a closing word
            if word in words[1]:
                if _buffer_has_word(word, words[0], w, info):
                    return lines[:i], True, "scope-end"
                if done:
                    return lines[: i + 1], True, "block-end"
                return lines[:i], False, "ok"
            return lines[:i], True, "block-end"
        if w < ref_w and body[0] not in _CLOSERS:
            # Left the scope of the cursor line. (Decided on what is known as soon as the
            # line's indentation is, so that streaming never changes the decision; a dedented
            # line that starts with a closing bracket may finish a block: see below.)
            return lines[:i], True, "scope-end"
        for pos, ch in _scan(line, lang).events:
            if ch in _OPEN_TO_CLOSE:
                stack.append((_OPEN_TO_CLOSE[ch], _LATER, w))
                continue
            if not stack:
                return _cut_at(lines, i, pos), True, "scope-end"
            expected, origin, opener_w = stack[-1]
            if origin != _LATER and ch != expected:
                return _cut_at(lines, i, pos), True, "scope-end"  # closes an outer bracket
            if origin != _LATER:  # closes the block around / opened at the cursor
                if _buffer_closes(ch, opener_w, w, ctx, info):
                    return _cut_at(lines, i, pos), True, "scope-end"
                if done:
                    return lines[: i + 1], True, "block-end"
                return lines[:i], False, "ok"
            stack.pop()
            if w < ref_w:  # a dedented line is decided by its leading closing bracket alone
                return lines[:i], True, "scope-end"
    return lines[: max(1, n_done)], False, "ok"


def _repeat_cut(lines: list[str], following: tuple[str, ...]) -> tuple[int, bool] | None:
    """Where lines 2.. of the suggestion start repeating the buffer lines after the cursor.

    Returns (index to cut at, whether that is certain) or None. A match running to the end of
    the suggestion is a candidate that more output may still refute; two or more matching lines
    are taken as certain.
    """
    if not following:
        return None
    first = following[0]
    n = len(lines)
    for i in range(1, n):
        if lines[i].strip() != first:
            continue
        j, k, matched, nontrivial = i, 0, 0, False
        while j < n and k < len(following):
            s = lines[j].strip()
            if not s:
                j += 1
                continue
            if s != following[k]:
                break
            matched += 1
            nontrivial = nontrivial or not _trivial(s)
            j += 1
            k += 1
        if nontrivial and (matched >= 2 or j == n):
            return i, matched >= 2
    return None


def _bad(line: str, lang: _Lang) -> int:
    """How unbalanced a line is: closing brackets without opener, plus an unterminated string."""
    scan = _scan(line, lang)
    depth = bad = 0
    for _, ch in scan.events:
        if ch in _OPEN_TO_CLOSE:
            depth += 1
        elif depth:
            depth -= 1
        else:
            bad += 1
    return bad + (1 if scan.quote else 0)


def _overlap(text: str, ctx: FimContext, info: _Info, guarded: bool) -> int:
    """Length of the longest tail of `text` that the rest of the line already starts with.

    With `guarded`, a tail with brackets or quotes is dropped only when that makes the line
    better balanced (`foo()` before `)` is a call, `foo)` before `)` a duplicate).
    """
    suffix = ctx.line_suffix
    for k in range(min(len(text), len(suffix)), 0, -1):
        if not text.endswith(suffix[:k]):
            continue
        tail = text[-k:]
        if not guarded or not any(c in "()[]{}'\"`" for c in tail):
            return k
        whole = ctx.middle + text + suffix
        trimmed = ctx.middle + text[:-k] + suffix
        if _bad(trimmed, info.lang) < _bad(whole, info.lang):
            return k
    return 0


# --------------------------------------------------------------------------------------------


def _opens_a_block(line0: str, ctx: FimContext, info: _Info) -> bool:
    """Whether the first line of a suggestion at a one-line place opens a block (then the
    block may follow it)."""
    if ctx.line_suffix.strip() or info.mid_comment:
        return False
    s0 = _scan(line0, info.lang, info.mid_quote)
    depth = len(info.mid_stack)
    for _, ch in s0.events:
        depth = depth + 1 if ch in _OPEN_TO_CLOSE else max(0, depth - 1)
    code = ctx.middle + line0[: s0.comment]
    return not s0.quote and _opener(code, info.lang, depth > 0) is not None


def clean(raw: str, ctx: FimContext, *, final: bool, max_lines: int = 12) -> Cleaned:
    """Post-process raw model output (the text to insert at the cursor) for display.

    Call with `final=False` for each streamed partial output and `final=True` once at the end.
    """
    max_lines = max(1, max_lines)
    text, special = _cut_special(raw, final)
    settled = final or special
    text = _normalise(text, settled)

    parts = text.split("\n", max_lines)
    has_newline = len(parts) > 1
    over = len(parts) > max_lines
    if over:
        parts = parts[:max_lines]
    last_done = settled or over
    info = _info(ctx)
    lines = [parts[0].rstrip()]
    lines.extend(_fix_indent(p.rstrip(), ctx.indent) for p in parts[1:])

    reason = "special-token" if special else "ok"
    complete = settled
    multiline = ctx.multiline
    line0_fixed = has_newline or settled
    if not multiline and has_newline:
        if _opens_a_block(lines[0], ctx, info):
            multiline = True
        else:
            complete, reason = True, "single-line"

    kept: list[str]
    if not multiline:
        kept = lines[:1]
    else:
        n_done = len(lines) if last_done else len(lines) - 1
        kept, decided, why = _follow_scope(lines, n_done, ctx, info, ctx.multiline)
        if decided:
            complete, reason = True, why
            line0_fixed = True
        elif over:
            complete, reason = True, "max-lines"
        if len(kept) > 1:
            cut = _repeat_cut(kept, info.next_nb_stripped)
            if cut is not None:
                kept = kept[: cut[0]]
                reason = "repeats-following-lines"
                complete = complete or cut[1]

    first = kept[0] if kept else ""
    if first.strip() and info.next_nb:
        joined = (ctx.middle + first).strip()
        nxt = info.next_nb_stripped[0]
        if not _trivial(nxt):
            if line0_fixed and joined == nxt:
                return Cleaned("", True, "repeats-next-line")
            if not line0_fixed and nxt.startswith(joined):
                return Cleaned("", False, "pending")

    if len(kept) == 1 and ctx.line_suffix and first:
        if ctx.line_suffix.startswith(first):
            return Cleaned("", complete, "repeats-suffix" if complete else "pending")
        k = _overlap(first, ctx, info, guarded=complete)
        if k:
            kept = [first[:-k]]
            if complete:
                reason = "suffix-overlap"

    out = "\n".join(kept).rstrip()
    if not out.strip():
        if reason in ("ok", "special-token", "single-line", "max-lines", "suffix-overlap"):
            reason = "blank"
        return Cleaned("", complete, reason)
    return Cleaned(out, complete, reason)
