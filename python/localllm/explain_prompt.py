"""The question :LocalLLMExplain asks the chat model: what to explain and what surrounds it.

Pure: an ExplainRequest (the lines the editor sent, the range or the cursor, the user's
question) in, chat messages out. The code to explain is the range when there is one, else the
function around the cursor (tree-sitter), else the cursor line. Around it the prompt carries
what the context engine finds for completion too: the file's imports, the signature of the
function the code sits in, and the definitions of what it uses (same file and sibling files).
Everything is cut to the model's context size; code that does not fit is cut at a line, and
both the prompt and the user are told so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tree_sitter import Tree

from . import languages, treesitter, utf8
from .context import display_name, estimate_tokens
from .definitions import DefinitionIndex, relevant_definitions
from .document import Document
from .fim_templates import defuse_markers

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You explain source code to an experienced programmer. Be brief and concrete: say what "
    "the code does and why, refer to it by its names, and point out anything surprising (bugs, "
    "edge cases, side effects). Use only what the code and the context shown tell you. If the "
    "answer depends on code that is not shown, or you are not sure, say that you do not know "
    "instead of guessing; never invent functions, APIs or behaviour. Answer in Markdown."
)
DEFAULT_QUESTION = "Explain what this code does."

# Tokens kept free besides the answer: the chat template's own tokens and our estimate's error.
RESERVE_TOKENS = 48
# At most this share of the prompt budget goes to the context around the code.
CONTEXT_SHARE = 3
DEFINITION_CALLS = 3  # for a long selection, definitions are looked up near its start, middle...

_WRAPPERS = frozenset({"decorated_definition", "export_statement"})


class PromptTooSmall(ValueError):
    """The model's context leaves no room for the question."""


@dataclass(frozen=True, slots=True)
class ExplainRequest:
    """What the editor sends. `lines[0]` is buffer row `first_line` (0-based); rows are
    0-based buffer rows, `end_row` inclusive. With `ranged`, the code is rows `start_row` to
    `end_row`, cut at the byte columns `start_col` (first row) and `end_col` (exclusive, last
    row) for a characterwise selection; without it, `cursor_row` says where to look."""

    id: int
    path: str
    filetype: str
    lines: tuple[str, ...]
    first_line: int = 0
    ranged: bool = False
    start_row: int = 0
    end_row: int = 0
    start_col: int | None = None
    end_col: int | None = None
    cursor_row: int = 0
    question: str = ""
    root: str | None = None
    head: tuple[str, ...] = ()  # the buffer's first lines when `lines` starts further down


@dataclass(frozen=True, slots=True)
class Target:
    """The code to explain: buffer rows start_row..end_row (inclusive) and its text."""

    start_row: int
    end_row: int
    text: str
    kind: str  # "selection" | "function" | "line"
    name: str = ""

    def describe(self) -> str:
        rows = (
            f"line {self.start_row + 1}"
            if self.start_row == self.end_row
            else f"lines {self.start_row + 1}–{self.end_row + 1}"
        )
        if self.kind == "function" and self.name:
            return f"{self.name} ({rows})"
        return rows


@dataclass(frozen=True, slots=True)
class ExplainPrompt:
    messages: list[dict[str, str]]
    target: Target
    language: str | None
    note: str | None = None  # for the user: the code was cut
    context: list[str] = field(default_factory=list)  # which context parts went in

    @property
    def title(self) -> str:
        return self.target.describe()


# -- what to explain -----------------------------------------------------------------------


def _slice(req: ExplainRequest, start: int, end: int) -> list[str]:
    first = req.first_line
    return list(req.lines[max(0, start - first) : max(0, end - first + 1)])


def selection_text(req: ExplainRequest) -> str:
    """The selected text: whole rows, cut at the columns of a characterwise selection."""
    rows = _slice(req, req.start_row, req.end_row)
    if not rows:
        return ""
    if req.end_col is not None:
        rows[-1] = utf8.split_at_byte(rows[-1], req.end_col)[0]
    if req.start_col is not None:
        rows[0] = utf8.split_at_byte(rows[0], req.start_col)[1]
    return "\n".join(rows)


def _node_name(node: object, data: bytes) -> str:
    name = node.child_by_field_name("name")  # type: ignore[attr-defined]
    if name is None:
        declarator = node.child_by_field_name("declarator")  # type: ignore[attr-defined]
        while declarator is not None and declarator.child_by_field_name("declarator") is not None:
            declarator = declarator.child_by_field_name("declarator")
        name = declarator
    if name is None:
        return ""
    return data[name.start_byte : name.end_byte].decode("utf-8", "replace")[:60]


def enclosing_function(
    text: str, row: int, lang: str, *, tree: Tree | None = None
) -> tuple[int, int, str] | None:
    """(start_row, end_row, name) of the function around `row` of `text` (0-based rows, end
    inclusive; decorators and `export` included): the innermost named function or method,
    else the innermost anonymous one; None outside any function or without a grammar.

    `tree`: the tree of `text` when the caller has it (a Document's); else `text` is parsed."""
    data = utf8.encode(text)
    if tree is None:
        tree = treesitter.parse(lang, data)
    if tree is None:
        return None
    lines = text.split("\n")
    if not 0 <= row < len(lines):
        return None
    line = lines[row]
    indent = utf8.byte_len(line) - utf8.byte_len(line.lstrip(" \t"))
    end_col = max(indent, utf8.byte_len(line.rstrip()) - 1)
    node = tree.root_node.descendant_for_point_range((row, indent), (row, end_col))
    record = languages.get(lang)
    if record is None:
        return None
    named = anonymous = None
    while node is not None:
        if node.type in record.function_types:
            named = node
            break
        if anonymous is None and node.type in record.lambda_types:
            anonymous = node
        node = node.parent
    found = named or anonymous
    if found is None:
        return None
    name = _node_name(found, data)
    outer = found
    while outer.parent is not None and outer.parent.type in _WRAPPERS:
        outer = outer.parent
    end_row = outer.end_point.row
    if outer.end_point.column == 0 and end_row > outer.start_point.row:
        end_row -= 1  # a node that ends with its newline
    start_row = outer.start_point.row
    # The doc comment right above belongs to it.
    before = outer.prev_sibling
    while before is not None and "comment" in before.type and before.end_point.row >= start_row - 1:
        start_row = before.start_point.row
        before = before.prev_sibling
    return start_row, end_row, name


def document_of(req: ExplainRequest) -> Document:
    """The Document of the lines the request carries (one tree for the whole request)."""
    return Document.of_lines(req.path, req.filetype, req.lines, first_line=req.first_line)


def find_target(
    req: ExplainRequest, language: str | None, document: Document | None = None
) -> Target:
    """The range; else the function around the cursor; else the cursor line. `document`:
    the request's (document_of(req)), whose tree is used; made here without it."""
    if req.ranged:
        return Target(req.start_row, req.end_row, selection_text(req), "selection")
    row = req.cursor_row
    found = None
    if language is not None:
        doc = document if document is not None else document_of(req)
        cursor = row - req.first_line
        found = enclosing_function(doc.text, cursor, language, tree=doc.tree)
        # Lines sent from the middle of the buffer may start inside a declaration, which can
        # break the parse: try again from the first blank line on.
        offset = 0
        if found is None and req.first_line > 0:
            offset = next((i for i in range(1, cursor + 1) if not req.lines[i - 1].strip()), 0)
            if offset:
                found = enclosing_function("\n".join(req.lines[offset:]), cursor - offset, language)
        if found is not None:
            start, end, name = found
            start, end = start + req.first_line + offset, end + req.first_line + offset
            text = "\n".join(_slice(req, start, end))
            return Target(start, end, text, "function", name)
    return Target(row, row, "\n".join(_slice(req, row, row)), "line")


# -- fitting ---------------------------------------------------------------------------------


def fit_lines(text: str, budget: int) -> tuple[str, int, int]:
    """The longest run of whole lines from the start of `text` within `budget` tokens (the
    first line itself cut when even it does not fit): (text, lines kept, lines in all)."""
    lines = text.split("\n")
    total = len(lines)
    if estimate_tokens(text) <= budget:
        return text, total, total
    kept: list[str] = []
    used = 0
    for line in lines:
        cost = estimate_tokens(line) + 1
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    if not kept:
        return utf8.split_at_byte(lines[0], budget * 3 - 3)[0], 1, total
    return "\n".join(kept), len(kept), total


def _fence(*texts: str) -> str:
    longest = 2
    for text in texts:
        run = 0
        for char in text:
            run = run + 1 if char == "`" else 0
            longest = max(longest, run)
    return "`" * (longest + 1)


def _block(text: str, lang_tag: str) -> str:
    fence = _fence(text)
    return f"{fence}{lang_tag}\n{text.rstrip(chr(10))}\n{fence}"


# -- context ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Context:
    imports: str = ""
    signature: str = ""
    same_file: list[str] = field(default_factory=list)
    other_files: list[tuple[str, str]] = field(default_factory=list)


def _syntax_context(
    req: ExplainRequest, target: Target, doc: Document, language: str, found: _Context
) -> None:
    """The imports and the enclosing signature, from the document's tree."""
    start = target.start_row - req.first_line
    try:
        tree = doc.tree
        if tree is None:
            return
        info = treesitter.analyze_tree(tree, doc.text, doc.data, start, 0, language)
        if req.first_line > 0 and req.head:
            found.imports = doc.head_imports("\n".join(req.head))
        elif info.imports and info.imports_end_row <= start:
            found.imports = info.imports
        row = info.enclosing_signature_row
        signature = info.enclosing_signature
        if target.kind != "function" and signature and row is not None and row < start:
            found.signature = signature
    except Exception:  # the grammar or a query failed on odd text: go on without
        log.exception("explain: syntax context failed for %s", req.path)


def _context(
    req: ExplainRequest,
    target: Target,
    language: str,
    index: DefinitionIndex | None,
    budget_chars: int,
    document: Document | None = None,
) -> _Context:
    """Imports, the enclosing signature and the definitions the code uses (best effort: a
    failure here costs only the context, never the answer)."""
    found = _Context()
    doc = document if document is not None else document_of(req)
    text = doc.text
    start = target.start_row - req.first_line
    end = target.end_row - req.first_line
    _syntax_context(req, target, doc, language, found)
    if index is None or budget_chars <= 0:
        return found
    try:
        seen: set[tuple[str, int, str]] = set()
        length = end - start + 1
        calls = 1 if length <= 40 else DEFINITION_CALLS
        rows = sorted({min(end, start + length * (i + 1) // calls - 1) for i in range(calls)})
        per_call = budget_chars // len(rows)
        for row in rows:
            same, other = relevant_definitions(
                text,
                row,
                0,
                language,
                req.path,
                index,
                budget_chars=per_call,
                window_start_row=start,
                window_end_row=end + 1,
            )
            for d in same:
                if (d.path, d.row, d.name) not in seen:
                    seen.add((d.path, d.row, d.name))
                    found.same_file.append(d.text.rstrip())
            for d in other:
                if (d.path, d.row, d.name) not in seen:
                    seen.add((d.path, d.row, d.name))
                    found.other_files.append((display_name(d.path, req.root), d.text.rstrip()))
    except Exception:
        log.exception("explain: definitions failed for %s", req.path)
    if found.signature:
        # The function the code sits in is shown as the signature already.
        first = found.signature.split("\n", 1)[0].strip()
        found.same_file = [t for t in found.same_file if not t.startswith(first)]
    return found


def _add_context(ctx: _Context, tag: str, budget: int, parts: list[str], used: list[str]) -> int:
    """Append the context sections that fit `budget` tokens to `parts` (their kinds to
    `used`, "" for a kind already there); return the tokens spent."""
    spent = 0

    def add(title: str, body: str, kind: str) -> None:
        nonlocal spent
        section = f"{title}\n{body}"
        cost = estimate_tokens(section) + 2
        if spent + cost <= budget:
            parts.append(section)
            used.append(kind)
            spent += cost

    if ctx.imports.strip():
        add("Its imports:", _block(ctx.imports, tag), "imports")
    if ctx.same_file:
        add(
            "Definitions from this file that the code uses:",
            _block("\n\n".join(ctx.same_file), tag),
            "definitions",
        )
    by_path: dict[str, list[str]] = {}
    for path, text in ctx.other_files:
        by_path.setdefault(path, []).append(text)
    for path, texts in by_path.items():
        add(
            f"Definitions from {path} that the code uses:",
            _block("\n\n".join(texts), tag),
            "definitions" if "definitions" not in used else "",
        )
    if ctx.signature.strip():
        add(
            "The code is inside this function:",
            _block(ctx.signature.rstrip() + " …", tag),
            "signature",
        )
    return spent


# -- the prompt ------------------------------------------------------------------------------


def build_prompt(
    req: ExplainRequest,
    *,
    n_ctx: int,
    max_tokens: int,
    index: DefinitionIndex | None = None,
    document: Document | None = None,
) -> ExplainPrompt:
    """The chat messages for `req`, within `n_ctx` tokens including `max_tokens` of answer.
    `document`: the request's (document_of(req)); its tree is the one parsed for the prompt."""
    doc = document if document is not None else document_of(req)
    language = doc.lang
    target = find_target(req, language, doc)
    record = languages.get(language)
    lang_name = record.display_name if record is not None else req.filetype or ""
    tag = language or req.filetype or ""
    question = req.question.strip() or DEFAULT_QUESTION
    filename = display_name(req.path, req.root)

    budget = n_ctx - max_tokens - RESERVE_TOKENS
    head = f"File: {filename}" + (f" ({lang_name})" if lang_name else "")
    fixed = estimate_tokens(SYSTEM_PROMPT + head + question) + 40
    room = budget - fixed
    if room < 32:
        raise PromptTooSmall(
            f"the model's context ({n_ctx} tokens) leaves no room for the code after "
            f"{max_tokens} tokens of answer; lower explain.max_tokens"
        )

    parts: list[str] = [head]
    used_context: list[str] = []
    context_budget = room // CONTEXT_SHARE
    code_cost = estimate_tokens(target.text) + 8
    if code_cost < room - context_budget:
        context_budget = room - code_cost  # short code: the context may use the rest
    spent = 0
    if language is not None and context_budget > 16:
        ctx = _context(req, target, language, index, context_budget * 3, doc)
        spent = _add_context(ctx, tag, context_budget, parts, used_context)

    code_budget = room - spent
    code, kept, total = fit_lines(target.text, code_budget)
    note = None
    cut_line = ""
    if code != target.text:
        shown_end = target.start_row + kept - 1
        note = (
            f"The code was cut to its first {kept} of {total} lines (up to line "
            f"{shown_end + 1}) to fit the model's context of {n_ctx} tokens."
        )
        cut_line = (
            f"\n(Only the first {kept} of its {total} lines are shown: the rest did not fit. "
            "Do not guess what the rest does.)"
        )
    what = {"selection": "The code to explain", "function": "The function to explain"}.get(
        target.kind, "The line to explain"
    )
    parts.append(f"{what} ({target.describe()}):\n{_block(code, tag)}{cut_line}")
    parts.append(question)
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        # All of it is buffer text or our plain headings: control-token text in the code must
        # not open a new chat turn once the chat template is applied.
        {"role": "user", "content": defuse_markers("\n\n".join(parts))},
    ]
    return ExplainPrompt(messages, target, language, note, [c for c in used_context if c])
