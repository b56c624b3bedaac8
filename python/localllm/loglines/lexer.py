"""The tokens of a log call's text: a small lexer that knows each language's strings (Python
prefixes and triple quotes, Go raw strings, JS templates, Rust raw strings and lifetimes) and
line comments, and what a string reads (f-string fields, `${}` expressions)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import languages
from .records import BLOCK_COMMENT, COMMENT, JS_LANGUAGES, LIFETIMES


@dataclass(frozen=True, slots=True)
class Tok:
    kind: str  # "id", "str", "num", "op", "open", "close"
    start: int
    end: int
    text: str
    closed: bool = True  # strings: the closing quote is there
    prefix: str = ""  # strings: Python prefix (f, r, b...), "`" for JS templates, "r" for Rust raw


_OPS = ("...", "::", ":=", "=>", "==", "!=", "<=", ">=", "&&", "||", "->", "?.", "**", "<-")
_IDENT_RE = re.compile(r"[A-Za-z_$][\w$]*")
_NUM_RE = re.compile(r"\d[\w.]*")
_PY_STRING_PREFIX = re.compile(r"(?i)(?:[rbuf]|rb|br|fr|rf)(?=['\"])")


def tokenize(text: str, lang: str) -> tuple[list[Tok], int | None]:
    """Tokens of `text`, and where a line comment starts (None without one)."""
    tokens: list[Tok] = []
    comment = COMMENT.get(lang, "//")
    block = BLOCK_COMMENT.get(lang)
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if text.startswith(comment, i):
            return tokens, i
        if block is not None and text.startswith(block[0], i):
            end = text.find(block[1], i + len(block[0]))
            if end < 0:
                return tokens, i
            i = end + len(block[1])
            continue
        prefix = ""
        if lang == "python":
            match = _PY_STRING_PREFIX.match(text, i)
            if match:
                prefix = match.group(0).lower()
                ch = text[match.end()]
        elif lang == "rust" and ch in "rb" and re.match(r"(?:br|r|b)#*\"", text[i:]):
            raw = _rust_raw_string(text, i)
            if raw is not None:
                tokens.append(raw)
                i = raw.end
                continue
            prefix = "b"
            ch = '"'
        if ch in "\"'`" and not (lang in LIFETIMES and ch == "'" and _lifetime(text, i)):
            start = i
            i += len(prefix)
            tok, i = _string(text, start, i, ch, lang, prefix)
            tokens.append(tok)
            continue
        tok = _plain_token(text, i, ch)
        tokens.append(tok)
        i = tok.end
    return tokens, None


def _rust_raw_string(text: str, i: int) -> Tok | None:
    """The Rust raw string (`r"..."`, `r#"..."#`, `br"..."`) at `text[i]`; None for a byte
    string (`b"..."`), which is read as an ordinary string."""
    raw = re.match(r"(?:br|r|b)(#*)\"", text[i:])
    assert raw is not None
    if "r" not in raw.group(0):
        return None
    hashes = raw.group(1)
    body = i + len(raw.group(0))
    end = text.find('"' + hashes, body)
    closed = end >= 0
    stop = end + 1 + len(hashes) if closed else len(text)
    return Tok("str", i, stop, text[i:stop], closed, "r")


def _plain_token(text: str, i: int, ch: str) -> Tok:
    """The identifier, number, bracket or operator at `text[i]` (whose character is `ch`)."""
    match = _IDENT_RE.match(text, i)
    if match:
        return Tok("id", i, match.end(), match.group(0))
    match = _NUM_RE.match(text, i)
    if match:
        return Tok("num", i, match.end(), match.group(0))
    if ch in "([{":
        return Tok("open", i, i + 1, ch)
    if ch in ")]}":
        return Tok("close", i, i + 1, ch)
    for op in _OPS:
        if text.startswith(op, i):
            return Tok("op", i, i + len(op), op)
    return Tok("op", i, i + 1, ch)


def _lifetime(text: str, i: int) -> bool:
    """A Rust `'a` lifetime (not a char literal)."""
    return not re.match(r"'(?:\\.[^']*|[^'\\])'", text[i:])


def _string(text: str, start: int, i: int, quote: str, lang: str, prefix: str) -> tuple[Tok, int]:
    n = len(text)
    triple = lang == "python" and text.startswith(quote * 3, i)
    close = quote * 3 if triple else quote
    i += len(close)
    record = languages.get(lang)
    raw = record is not None and quote in record.raw_quotes
    template = lang in JS_LANGUAGES and quote == "`"
    while i < n:
        ch = text[i]
        if ch == "\\" and not raw and "r" not in prefix:
            i += 2
            continue
        if template and text.startswith("${", i):
            depth = 0
            while i < n:
                if text[i] == "{":
                    depth += 1
                elif text[i] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            i += 1
            continue
        if text.startswith(close, i):
            stop = i + len(close)
            return Tok(
                "str", start, stop, text[start:stop], True, "`" if template else prefix
            ), stop
        if ch == "\n" and not (raw or template or triple):
            break
        i += 1
    stop = min(i, n)
    return Tok("str", start, stop, text[start:stop], False, "`" if template else prefix), stop


def string_body(tok: Tok) -> str:
    """The text between a string token's quotes (escapes left as they are)."""
    text = tok.text
    if tok.prefix == "r" and not text.startswith(("'", '"')):  # Rust raw
        match = re.match(r"b?r(#*)\"", text)
        hashes = match.group(1) if match else ""
        body = text[len(match.group(0)) if match else 0 :]
        end = '"' + hashes
        return body[: -len(end)] if tok.closed and body.endswith(end) else body
    body = text[len(tok.prefix) if tok.prefix != "`" else 0 :]
    quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    body = body[len(quote) :]
    if tok.closed and body.endswith(quote):
        body = body[: -len(quote)]
    return body


def interpolated_names(tok: Tok, lang: str) -> list[tuple[str, bool]]:
    """Names read inside a string: Python f-string fields, JS `${}` expressions, Rust inline
    `{name}` (only for format strings: the caller decides). Each with whether it is complete."""
    body = string_body(tok)
    out: list[tuple[str, bool]] = []
    exprs: list[tuple[str, bool]] = []
    if lang == "python" and "f" in tok.prefix:
        for match in re.finditer(r"\{\{|\}\}|\{([^{}]*)(\}?)", body):
            if match.group(1) is not None:
                expr = re.split(r"(?<![=!<>])[:!](?!=)", match.group(1), maxsplit=1)[0]
                exprs.append((expr.rstrip("= "), bool(match.group(2))))
    elif tok.prefix == "`":
        for match in re.finditer(r"\$\{([^}]*)(\}?)", body):
            exprs.append((match.group(1), bool(match.group(2))))
    for expr, complete in exprs:
        for name_match in re.finditer(r"(?<![\w.$])[A-Za-z_$][\w$]*", _strip_strings(expr)):
            last = name_match.end() == len(expr.rstrip())
            out.append((name_match.group(0), complete or not last))
    return out


def _strip_strings(expr: str) -> str:
    return re.sub(r"'[^']*'|\"[^\"]*\"", "''", expr)
