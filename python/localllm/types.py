"""Plain values passed between the editor, the context builder, the backends and the UI."""

from __future__ import annotations

from dataclasses import dataclass, field

from .utf8 import byte_len, split_at_byte


@dataclass(frozen=True, slots=True)
class IndentStyle:
    """How the buffer indents: tabs or `width` spaces; `tabstop` is the display width of a tab."""

    use_tabs: bool = False
    width: int = 4
    tabstop: int = 8

    @property
    def unit(self) -> str:
        return "\t" if self.use_tabs else " " * self.width

    @classmethod
    def guess(cls, text: str) -> IndentStyle:
        """Tabs if the file indents with tabs, else the smallest space indent seen (default 4)."""
        tabs = spaces = 0
        widths: list[int] = []
        for line in text.split("\n")[:2000]:
            if line.startswith("\t"):
                tabs += 1
            elif line.startswith(" "):
                spaces += 1
                width = len(line) - len(line.lstrip(" "))
                if line.strip():
                    widths.append(width)
        if tabs > spaces:
            return cls(use_tabs=True, width=4, tabstop=4)
        width = min((w for w in widths if w > 0), default=4)
        return cls(use_tabs=False, width=width if width in (2, 3, 4, 8) else 4, tabstop=8)


@dataclass(frozen=True, slots=True)
class BufferSnapshot:
    """What the editor sends for one request: a window of the buffer around the cursor.

    `lines[0]` is buffer line `first_line` (0-based). `row` is the 0-based cursor row in the
    buffer, `col` the 0-based byte column in that line (as `nvim_win_get_cursor`).
    `head` holds the first lines of the buffer when the window does not start at line 0,
    so imports and package clauses stay visible.
    """

    path: str
    filetype: str
    lines: tuple[str, ...]
    first_line: int
    row: int
    col: int
    line_count: int
    indent: IndentStyle = field(default_factory=IndentStyle)
    head: tuple[str, ...] = ()

    @property
    def cursor_line(self) -> str:
        return self.lines[self.row - self.first_line]

    def with_insertion(self, text: str) -> BufferSnapshot:
        """The snapshot as it would be after inserting `text` at the cursor (cursor after it)."""
        index = self.row - self.first_line
        head, tail = split_at_byte(self.lines[index], self.col)
        inserted = (head + text).split("\n")
        new_lines = [*inserted[:-1], inserted[-1] + tail]
        return BufferSnapshot(
            path=self.path,
            filetype=self.filetype,
            lines=self.lines[:index] + tuple(new_lines) + self.lines[index + 1 :],
            first_line=self.first_line,
            row=self.row + len(inserted) - 1,
            col=byte_len(inserted[-1]),
            line_count=self.line_count + len(inserted) - 1,
            indent=self.indent,
            head=self.head,
        )

    @classmethod
    def from_text(
        cls,
        text: str,
        row: int,
        col: int,
        *,
        path: str = "",
        filetype: str = "",
        indent: IndentStyle | None = None,
    ) -> BufferSnapshot:
        """A snapshot of a whole buffer given as text (CLI and tests)."""
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        if not lines:
            lines = [""]
        if not 0 <= row < len(lines):
            raise ValueError(f"line {row + 1} is outside the buffer (1..{len(lines)})")
        line_bytes = byte_len(lines[row])
        if not 0 <= col <= line_bytes:
            raise ValueError(f"column {col} is outside line {row + 1} (0..{line_bytes})")
        return cls(
            path=path,
            filetype=filetype,
            lines=tuple(lines),
            first_line=0,
            row=row,
            col=col,
            line_count=len(lines),
            indent=indent or IndentStyle(),
        )


@dataclass(frozen=True, slots=True)
class FimContext:
    """The text around the cursor, cut to budget, ready to be turned into a FIM prompt.

    The cursor sits between `middle` and `line_suffix`. `prefix` is the full lines above the
    cursor (each ending in "\\n"); `suffix` is the lines below the cursor line (each ending in
    "\\n"). `header` is far context placed before `prefix` (imports, the enclosing signature) and
    is stable while the user types, so the KV cache of the prompt start stays valid.
    """

    filename: str
    language: str | None
    header: str
    prefix: str
    middle: str
    line_suffix: str
    suffix: str
    multiline: bool
    indent: IndentStyle
    next_lines: tuple[str, ...] = ()
    first_line: int = 0
    # Other files' text for the prompt, as (path, text) chunks placed before this file:
    # definitions from sibling files, recent edits, yanks, other buffers. Ordered so the
    # most stable chunks come first (the KV cache of the prompt start stays valid).
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def after_cursor(self) -> str:
        """The text after the cursor as a FIM suffix: the rest of the line, then the lines
        below ("" when there is nothing after the cursor)."""
        if not (self.line_suffix or self.suffix):
            return ""
        return self.line_suffix + "\n" + self.suffix

    @property
    def indentation(self) -> str:
        """Leading whitespace of the cursor line."""
        line = self.middle + self.line_suffix
        return line[: len(line) - len(line.lstrip(" \t"))]


@dataclass(frozen=True, slots=True)
class GenerationParams:
    n_predict: int = 96
    temperature: float = 0.0
    top_k: int = 40
    top_p: float = 0.9
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    time_limit_ms: int = 2000
    stop: tuple[str, ...] = ()


@dataclass(slots=True)
class RequestTimings:
    """Per-request measurements; `*_ns` are time.monotonic_ns() stamps (CLOCK_MONOTONIC,
    the same clock as Neovim's vim.uv.hrtime())."""

    fired_ns: int = 0
    received_ns: int = 0
    backend_start_ns: int = 0
    first_token_ns: int = 0
    last_token_ns: int = 0
    done_ns: int = 0
    context_ms: float = 0.0
    queue_ms: float = 0.0
    tokens_prompt: int = 0
    tokens_reused: int = 0
    tokens_evaluated: int = 0
    tokens_generated: int = 0
    source: str = ""
    finish: str = ""

    def as_dict(self) -> dict[str, float | int | str]:
        def ms(a: int, b: int) -> float:
            return round((b - a) / 1e6, 3) if a and b else -1.0

        return {
            "fired_ns": self.fired_ns,
            "received_ns": self.received_ns,
            "backend_start_ns": self.backend_start_ns,
            "first_token_ns": self.first_token_ns,
            "last_token_ns": self.last_token_ns,
            "done_ns": self.done_ns,
            "context_ms": round(self.context_ms, 3),
            "queue_ms": round(self.queue_ms, 3),
            "ttft_ms": ms(self.backend_start_ns, self.first_token_ns),
            "total_ms": ms(self.received_ns, self.done_ns),
            "tokens_prompt": self.tokens_prompt,
            "tokens_reused": self.tokens_reused,
            "tokens_evaluated": self.tokens_evaluated,
            "tokens_generated": self.tokens_generated,
            "source": self.source,
            "finish": self.finish,
        }
