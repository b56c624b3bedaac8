"""Build the FIM context around the cursor: budgeted prefix/suffix windows plus far context.

Pure: a BufferSnapshot in, a FimContext out. Two properties matter for speed:
- the prefix window starts on an anchored line (a multiple of ANCHOR_STEP), so moving the cursor
  or typing does not shift the start of the prompt and the model's KV cache stays valid;
- the far context (imports, the enclosing signature) depends only on lines far above the cursor.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from . import treesitter
from .config import ContextSettings
from .definitions import DefinitionIndex, relevant_definitions
from .document import HEAD_LINES, Document
from .types import BufferSnapshot, FimContext
from .utf8 import byte_len, split_at_byte

ANCHOR_STEP = 16
NEXT_LINES = 16
_OPENERS = ("{", "(", "[")


def estimate_tokens(text: str) -> int:
    """A cheap, slightly pessimistic token count for code (about 3 bytes per token)."""
    return (byte_len(text) + 2) // 3


def display_name(path: str, root: str | None = None) -> str:
    """The file name as the model should see it: relative to `root` when inside it."""
    if not path:
        return "untitled"
    if root:
        try:
            rel = os.path.relpath(path, root)
        except ValueError:
            rel = ""
        if rel and rel != os.pardir and not rel.startswith(os.pardir + os.sep):
            return rel.replace(os.sep, "/")
    return os.path.basename(path)


def prefix_start(lines: list[str], cursor: int, first: int, budget: ContextSettings) -> int:
    """Index (into `lines`) of the first prefix line: fits the budget, anchored for KV reuse."""
    tokens = 0
    start = cursor
    while start > 0 and cursor - start < budget.prefix_lines:
        cost = estimate_tokens(lines[start - 1]) + 1
        if tokens + cost > budget.prefix_tokens:
            break
        tokens += cost
        start -= 1
    if start == 0:
        return 0
    # Round the buffer line up to the next anchor so the window start moves in steps.
    buffer_line = start + first
    anchored = -(-buffer_line // ANCHOR_STEP) * ANCHOR_STEP
    return min(anchored - first, cursor)


def suffix_end(lines: list[str], cursor: int, budget: ContextSettings) -> int:
    tokens = 0
    end = cursor + 1
    while end < len(lines) and end - cursor - 1 < budget.suffix_lines:
        cost = estimate_tokens(lines[end]) + 1
        if tokens + cost > budget.suffix_tokens:
            break
        tokens += cost
        end += 1
    return end


def _fallback_multiline(middle: str, line_suffix: str) -> bool:
    if line_suffix.strip():
        return False
    stripped = middle.rstrip()
    return not stripped or stripped.endswith(_OPENERS)


def definitions_for(
    doc: Document,
    start: int,
    end: int,
    index: DefinitionIndex,
    root: str | None,
    budget_chars: int,
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Definitions of what the code around the cursor uses: the same file's (outside the
    window, rows [start, end) of `doc.buffer_text`) as header text, sibling files' as
    (path, text) chunks sorted by path and row.

    The cursor line is left out of the search (`doc.blanked_tree`), so typing on it never
    changes them and the prompt start (where they go) stays the same from one keystroke to
    the next."""
    language = doc.lang
    if language is None:
        return "", ()
    lines, row = doc.buffer_lines, doc.buffer_row
    indent = lines[row][: len(lines[row]) - len(lines[row].lstrip(" \t"))]
    same, other = relevant_definitions(
        doc.blanked_text,
        row,
        byte_len(indent),
        language,
        doc.path,
        index,
        budget_chars=budget_chars,
        window_start_row=start,
        window_end_row=end,
        tree=doc.blanked_tree,
    )
    header = "".join(d.text.rstrip() + "\n\n" for d in sorted(same, key=lambda d: d.row))
    by_path: dict[str, list[str]] = {}
    for d in sorted(other, key=lambda d: (d.path, d.row)):
        by_path.setdefault(display_name(d.path, root), []).append(d.text.rstrip())
    chunks = tuple((p, "\n\n".join(texts)) for p, texts in by_path.items())
    return header, chunks


def build_context(
    snap: BufferSnapshot,
    budget: ContextSettings,
    *,
    root: str | None = None,
    definitions: DefinitionIndex | None = None,
    whole: str | None = None,
    document: Document | None = None,
) -> FimContext:
    """Cut the snapshot into a FimContext within the budget; with `definitions`, add what the
    code around the cursor refers to (from this file and its package folder).

    `document` is this request's Document of the buffer (`BufferStore.document()`): the lines
    sent, with the whole buffer's text when the host mirrors it (imports and definitions then
    come from all of it); its tree is the only one parsed here. Without it, one is made from
    the snapshot and `whole` (the whole buffer's text, when the host mirrors it), parsed in
    full."""
    lines = list(snap.lines)
    cursor = snap.row - snap.first_line
    if not 0 <= cursor < len(lines):
        raise ValueError(f"cursor row {snap.row} is outside the lines sent")
    middle, line_suffix = split_at_byte(lines[cursor], snap.col)
    doc = document if document is not None else Document.of_snapshot(snap, whole=whole)
    language = doc.lang

    start = prefix_start(lines, cursor, snap.first_line, budget)
    end = suffix_end(lines, cursor, budget)
    multiline = _fallback_multiline(middle, line_suffix)
    header_parts: list[str] = []
    has_imports = False
    if language is not None:
        syntax = _syntax(doc, snap, lines, start, cursor, end, byte_len(middle))
        start, end = syntax.start, syntax.end
        if syntax.multiline is not None and (syntax.multiline is False or not line_suffix.strip()):
            multiline = syntax.multiline
        header_parts, has_imports = syntax.header_parts, syntax.has_imports
    prefix = "".join(line + "\n" for line in lines[start:cursor])
    suffix = "".join(line + "\n" for line in lines[cursor + 1 : end])

    extra: tuple[tuple[str, str], ...] = ()
    if definitions is not None and language is not None and budget.extra_tokens:
        offset = snap.first_line if doc.whole is not None else 0  # window rows -> buffer_text's
        defs_header, extra = definitions_for(
            doc, start + offset, end + offset, definitions, root, budget.extra_tokens * 3 // 2
        )
        if defs_header:
            # After the imports, before the enclosing signature.
            header_parts.insert(1 if has_imports else 0, defs_header)

    return FimContext(
        filename=display_name(snap.path, root),
        language=language,
        header="\n".join(header_parts),
        prefix=prefix,
        middle=middle,
        line_suffix=line_suffix,
        suffix=suffix,
        multiline=multiline,
        indent=snap.indent,
        next_lines=tuple(lines[cursor + 1 : cursor + 1 + NEXT_LINES]),
        first_line=snap.first_line + start,
        extra=extra,
    )


@dataclass(slots=True)
class _Syntax:
    """What the tree says about the window: where to cut it, multi-line or not, the header."""

    start: int
    end: int
    multiline: bool | None = None  # None: as the text alone suggests
    header_parts: list[str] = field(default_factory=list)
    has_imports: bool = False


def _syntax(
    doc: Document,
    snap: BufferSnapshot,
    lines: list[str],
    start: int,
    cursor: int,
    end: int,
    col: int,
) -> _Syntax:
    """Cut the window [start, end) at statement boundaries (never inside a multi-line string,
    comment or expression) and find the imports and the enclosing signature to show above it.
    Rows of `lines` (the window); `base` turns them into rows of the document's tree."""
    tree = doc.tree
    lang = doc.lang
    if tree is None or lang is None:
        return _Syntax(start, end)
    base = snap.first_line - doc.first_line
    new_start, new_end = treesitter.window_in_tree(tree, start + base, cursor + base, end + base)
    found = _Syntax(new_start - base, new_end - base)
    start = found.start
    whole_lines = doc.whole_lines if snap.first_line > 0 else None
    head = snap.head if whole_lines is None else whole_lines[:HEAD_LINES]
    from_head = snap.first_line > 0 and bool(head)
    want_imports = start + snap.first_line > 0 and not from_head
    info = treesitter.analyze_tree(
        tree, doc.text, doc.data, cursor + base, col, lang, imports=want_imports
    )
    if info.in_string or info.in_comment or info.mid_expression:
        found.multiline = False
    elif info.block_opener:
        found.multiline = True  # when nothing follows the cursor on its line
    if start + snap.first_line <= 0:
        return found
    if from_head:
        imports, imports_end = doc.head_imports("\n".join(head)), 0
    else:
        imports, imports_end = info.imports, info.imports_end_row - base
    if imports and imports_end <= start:
        found.header_parts.append(imports.rstrip("\n") + "\n")
        found.has_imports = True
    sig_row = info.enclosing_signature_row
    if info.enclosing_signature and sig_row is not None and sig_row - base < start:
        sig_end = sig_row + info.enclosing_signature.count("\n")
        sig_lines = doc.lines[sig_row : min(sig_end, start + base - 1) + 1]
        found.header_parts.append("".join(line + "\n" for line in sig_lines))
    return found
