"""Cut a suggestion back to the part that parses where it would be inserted.

The document is the window of the buffer that the model saw, as it would be after accepting the
suggestion: ``prefix + middle + suggestion + line_suffix + "\\n" + suffix``. The far-context
header is left out: it is not contiguous with the prefix (imports, then the enclosing signature,
possibly cut) and tells nothing about the syntax at the cursor. The window is cut out of a buffer
to a budget, so it often starts or ends in the middle of a construct and already has ERROR and
MISSING nodes; what counts is whether the suggestion *adds* some. The baseline is the count of
the same document without the suggestion (``middle + line_suffix`` on the cursor line): a
suggestion that stops inside a block whose closer is in the suffix leaves that count as it is, a
stray ``}``, an unterminated string or half a statement raises it.

Error recovery is not local: a broken start or end of the window can turn a whole construct,
the cursor's included, into one ERROR node that swallows whatever the suggestion adds. So the
window is mended before anything is counted (the same way for both documents):

- Blocks still open at the end of the window (the suffix was cut to budget) are closed by a tail
  of closers appended after the suffix. It closes at most as many blocks as the baseline needed,
  so a suggestion that supplies one of those closers itself is not punished (the buffer may
  really lack it; closers of outer blocks are postprocess's scope-end rule), and one that leaves
  a block of its own open is.
- Closers without an opener (the window starts inside blocks) get one in a prelude before the
  prefix where a bare block is valid code (``{`` in Go, Rust, JavaScript/TypeScript; ``do`` for
  Lua's ``end``), so the window reads as the nested code it is.
- When errors remain above the cursor's line (the window starts inside a string, a comment or
  half a statement), the document starts instead at one of the least indented lines of the
  prefix, up to `_RESTARTS` of them tried, until one has none.

A multi-line suggestion that adds errors is cut at line ends, longest first, and the longest
prefix that adds none is kept. The shortest prefix tried ends with the first non-blank line, which
is always kept. When every prefix adds errors (the suggestion opens a block it does not close,
for instance because the line budget ran out), the one adding the fewest is kept, the longest
among equals: then a suggestion that is merely unfinished stays whole.

A one-line suggestion is cut at token boundaries instead, longest first, to the longest prefix
that adds none once finished: as it is, with its open strings and brackets closed (an open call
the user will close), or after a placeholder operand (`x := `), and in Python with a body after
a trailing `:`. When none but the empty prefix holds (`def 1st_price(self):`, a stray `}`),
nothing is left. Half-typed lines that already have errors compare against that count, so a
suggestion that keeps the line's error as it is passes.

Cost: one full parse of the window (a few more when its start is broken, see above), then
incremental re-parses (tree-sitter reuses the unchanged subtrees) for the suggestion and each
shorter prefix (two when closers are appended), each a small fraction of a full parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from tree_sitter import Parser, Point, Tree

from . import languages, utf8
from .quotes import unquoted
from .treesitter import OwnParsers, count_errors
from .types import FimContext

__all__ = ["adds_errors", "fit_to_syntax"]

# Our own parser per language: the shared ones are for the requests' Documents.
_parsers = OwnParsers()


def adds_errors(text: str, ctx: FimContext) -> bool:
    """Whether inserting `text` at the cursor adds ERROR/MISSING nodes to the parse of the window.

    False when the language has no grammar (nothing can be said).
    """
    with _document(ctx) as doc:
        return doc is not None and doc.insert(_encode(text)) > doc.base


def fit_to_syntax(text: str, ctx: FimContext) -> str:
    """`text`, or its longest prefix ending at a line end that adds no syntax errors.

    Any text in a language without a grammar is returned as is. See the module docstring for
    the rules; a single line is cut at a token boundary (`_fit_line`).
    """
    if "\n" not in text:
        return _fit_line(text, ctx)
    cuts = _cuts(text)
    if not cuts:
        return text
    with _document(ctx) as doc:
        if doc is None:
            return text
        best, best_added = text, doc.insert(_encode(text)) - doc.base
        for cut in reversed(cuts):
            if best_added <= 0:
                break
            candidate = text[:cut]
            count = doc.insert(_encode(candidate))
            if count < 0:  # the parser gave up: no verdict
                return text
            if count - doc.base < best_added:
                best, best_added = candidate, count - doc.base
        return best


def _fit_line(text: str, ctx: FimContext) -> str:
    """A one-line `text`, or its longest prefix ending at a token boundary that adds no errors,
    where a prefix counts as it would be once finished: its open strings and brackets closed
    (and, in Python, a block opener given a body), so an open call the user will close stays.
    Nothing when no prefix but the empty one holds."""
    if not text.strip():
        return text
    with _document(ctx) as doc:
        if doc is None:
            return text
        for cut in [len(text), *reversed(_token_ends(text))]:
            candidate = text[:cut]
            # As it is, closed, or closed after a placeholder operand (`x := ` waits for one).
            endings = {"", _finish(ctx.middle + candidate, ctx.language)}
            if not candidate[-1:].isalnum():
                endings.add(" x" + _finish(ctx.middle + candidate + " x", ctx.language))
            for finished in (candidate + ending for ending in sorted(endings)):
                count = doc.insert(_encode(finished))
                if count < 0:  # the parser gave up: no verdict
                    return text
                if count <= doc.base:
                    return candidate
        return ""


_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def _token_ends(text: str) -> list[int]:
    """The ends of the tokens of `text` (ascending), not after blanks, the whole text excluded."""
    ends = [m.end() for m in _TOKEN.finditer(text) if not m.group().isspace()]
    return [end for end in ends if end < len(text)]


def _finish(line: str, language: str | None) -> str:
    """What closes the strings and brackets left open in `line` (a simple scan: quotes with
    backslash escapes, brackets outside them); in Python, a body for a trailing block opener."""
    closing = {"(": ")", "[": "]", "{": "}"}
    stack: list[str] = []
    code, quote = unquoted(line)
    for ch in code:
        if ch in closing:
            stack.append(closing[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
    tail = quote + "".join(reversed(stack))
    record = languages.get(language)
    if record is not None and record.colon_blocks and (line + tail).rstrip().endswith(":"):
        tail += " pass"
    return tail


@contextmanager
def _document(ctx: FimContext) -> Iterator[_Document | None]:
    """The window around the cursor, parsed without a suggestion; None without a grammar.

    The parser's lock is held while the block runs.
    """
    language = ctx.language
    entry = _parsers.get(language) if language is not None else None
    if language is None or entry is None:
        yield None
        return
    parser, lock = entry
    middle = _encode(ctx.middle)
    after = _encode(ctx.line_suffix + "\n" + ctx.suffix)
    with lock:
        doc = _Document(parser, language, _encode(ctx.prefix), middle, after)
        above = doc.errors_above()
        if above:
            for start in _restarts(ctx.prefix):
                other = _Document(parser, language, _encode(ctx.prefix[start:]), middle, after)
                errors = other.errors_above()
                if errors < above:
                    doc, above = other, errors
                    if not above:
                        break
        yield doc if doc.base >= 0 else None


def _restarts(prefix: str) -> list[int]:
    """Where the document may start instead of the window start: up to `_RESTARTS` lines of
    `prefix` (after its first) that do not continue or close something (they begin with a word
    character, ``@`` or ``/``, not with a closing word); the least indented first and, among
    equals, the closest to the cursor."""
    lines: list[tuple[int, int]] = []  # (indentation, start)
    start = prefix.find("\n") + 1
    while 0 < start < len(prefix):
        end = prefix.find("\n", start)
        if end < 0:
            end = len(prefix)
        line = prefix[start:end]
        body = line.lstrip(" \t")
        if body and (body[0].isalnum() or body[0] in "_@/"):
            word = _WORD.match(body)
            if word is None or word.group() not in _CONTINUING_WORDS:
                lines.append((len(line) - len(body), start))
        start = end + 1
    lines.sort(key=lambda line: (line[0], -line[1]))  # least indented, then closest first
    return [start for _, start in lines[:_RESTARTS]]


def _encode(text: str) -> bytes:
    return utf8.encode(text)  # as treesitter.py


def _cuts(text: str) -> list[int]:
    """Where `text` may be cut (exclusive ends, ascending): the ends of its non-blank lines,
    from the first non-blank line on, the last line excluded (that is the whole text)."""
    cuts: list[int] = []
    start = 0
    end = text.find("\n")
    while end >= 0:
        if text[start:end].strip():
            cuts.append(end)
        start = end + 1
        end = text.find("\n", start)
    return cuts


_RESTARTS = 4
_WORD = re.compile(r"\w+")
# Lines beginning with these words continue a construct: a document cannot start there.
_CONTINUING_WORDS = frozenset(
    {"end", "else", "elif", "elseif", "except", "finally", "until", "then", "do", "fi", "done"}
    | {"esac", "case", "default", "catch", "and", "or", "in", "is", "not", "where", "as"}
)

# Token that opens a block -> (token that closes it, text appended to close it).
_BRACKETS = {"{": ("}", "}"), "(": (")", ")"), "[": ("]", "]")}

_INSERTED = 1  # the segments of a _Document: before the cursor, inserted, after it, tail


class _Document:
    """The window with a replaceable insertion at the cursor, kept parsed (see the module
    docstring). Use under the parser's lock.

    The text is four segments: before the cursor (an opening prelude, prefix, middle), the
    insertion, after the cursor (line_suffix, suffix) and a tail of closers. Every change is an
    edit of the previous tree and an incremental re-parse.
    """

    def __init__(
        self, parser: Parser, language: str, prefix: bytes, middle: bytes, after: bytes
    ) -> None:
        self._parser = parser
        record = languages.get(language)
        self._openers = dict(_BRACKETS)
        if record is not None:
            self._openers.update((o, (closer, text)) for o, closer, text in record.block_openers)
        self._closers = frozenset(closer for closer, _ in self._openers.values())
        self._after = after
        self._segments = [prefix + middle, b"", after, b""]
        self._tree: Tree | None = parser.parse(b"".join(self._segments))
        strays, open_blocks = self._scan()
        prelude = dict(record.preludes if record is not None else ())
        # The openers of the closers found without one (the window starts inside blocks),
        # innermost last.
        lead = b"".join(prelude[kind] for kind in reversed(strays) if kind in prelude)
        self._before = lead + prefix + middle
        self._line_start = len(lead) + len(prefix)
        if lead:
            self._set([self._before, b"", after, b""])
            _, open_blocks = self._scan()
        self._depth = len(open_blocks)
        self.base = self._close(open_blocks)  # the error count without a suggestion

    def insert(self, text: bytes) -> int:
        """Put `text` at the cursor instead of the current insertion; the new error count
        (-1 when the parser gave up)."""
        self._set([self._before, text, self._after, b""])
        if not self._depth:  # nothing may be closed at the end: no need to look
            return count_errors(self._tree)
        _, open_blocks = self._scan()
        return self._close(open_blocks)

    def errors_above(self) -> int:
        """How many ERROR and MISSING nodes start above the cursor's line."""
        if self._tree is None or not self._tree.root_node.has_error:
            return 0
        count = 0
        todo = [self._tree.root_node]
        while todo:
            node = todo.pop()
            if node.is_error or node.is_missing:
                count += 1
            todo.extend(
                child
                for child in node.children
                if child.has_error and child.start_byte < self._line_start
            )
        return count

    def _scan(self) -> tuple[list[str], list[bytes]]:
        """The closers found without an opener, and what closes the blocks still open at the
        end (innermost first), from the tokens of the parts with errors (a subtree without
        errors is balanced)."""
        if self._tree is None or not self._tree.root_node.has_error:
            return [], []
        strays: list[str] = []
        expected: list[tuple[str, str]] = []
        todo = [self._tree.root_node]
        while todo:
            node = todo.pop()
            if node.child_count:
                if node.has_error:
                    todo.extend(reversed(node.children))
                continue
            if node.is_missing:
                continue
            kind = node.type
            closer = self._openers.get(kind)
            if closer is not None:
                expected.append(closer)
            elif kind in self._closers:
                if any(kind == token for token, _ in expected):
                    while expected.pop()[0] != kind:
                        pass
                elif not expected:
                    strays.append(kind)
        return strays, [text.encode() for _, text in reversed(expected)]

    def _close(self, open_blocks: list[bytes]) -> int:
        """Append closers for the innermost open blocks, at most as many as the baseline
        needed; the error count of the result."""
        if self._tree is None:
            return -1
        closing = open_blocks[: self._depth]
        if closing:
            lead = b"\n" if self._after.endswith(b"\n") else b"\n\n"
            self._set(
                [
                    self._before,
                    self._segments[_INSERTED],
                    self._after,
                    lead + b"\n".join(closing) + b"\n",
                ]
            )
        return count_errors(self._tree)

    def _set(self, segments: list[bytes]) -> None:
        """Make the text `segments`, editing the tree segment by segment from the last (the
        offsets before an edit stay valid) and re-parsing once."""
        if self._tree is None:
            return
        current = list(self._segments)
        for index in range(len(segments) - 1, -1, -1):
            old, new = current[index], segments[index]
            if old == new:
                continue
            same = _common(old, new, min(len(old), len(new)), suffix=False)
            tail = _common(old, new, min(len(old), len(new)) - same, suffix=True)
            offset = sum(len(segment) for segment in current[:index])
            before = b"".join(current)
            current[index] = new
            after = b"".join(current)
            start = offset + same
            self._tree.edit(
                start_byte=start,
                old_end_byte=offset + len(old) - tail,
                new_end_byte=offset + len(new) - tail,
                start_point=_point(before, start),
                old_end_point=_point(before, offset + len(old) - tail),
                new_end_point=_point(after, offset + len(new) - tail),
            )
        self._segments = current
        self._tree = self._parser.parse(b"".join(current), self._tree)


def _common(a: bytes, b: bytes, limit: int, *, suffix: bool) -> int:
    """The length (at most `limit`) of the longest common prefix, or suffix, of `a` and `b`."""
    low, high = 0, limit
    while low < high:  # binary search: the slices compare in C
        mid = (low + high + 1) // 2
        if (a[len(a) - mid :] == b[len(b) - mid :]) if suffix else (a[:mid] == b[:mid]):
            low = mid
        else:
            high = mid - 1
    return low


def _point(data: bytes, offset: int) -> Point:
    """The row and (byte) column of `offset` in `data`."""
    return Point(data.count(b"\n", 0, offset), offset - data.rfind(b"\n", 0, offset) - 1)
