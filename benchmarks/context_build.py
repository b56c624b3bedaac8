"""Context build per keystroke on 10,000-line Go and Python files, as the engine does it for
each request: the window of lines the editor sends, tree-sitter analysis, budgets, far context.

Prints JSON: per-keystroke build time (typing a statement at several places), and the time of
a full tree-sitter parse of the whole file next to it. Includes the definitions lookup.
Target: p50 <= 2 ms, p99 <= 10 ms.
"""

from __future__ import annotations

import json
import time
from typing import Any

from _nvim import summary
from localllm import treesitter
from localllm.buffers import BufferStore
from localllm.config import parse_settings
from localllm.context import build_context
from localllm.definitions import DefinitionIndex
from localllm.types import BufferSnapshot

# A whole statement per place, typed a character at a time (brackets open while typing, all
# closed at the end, as the user leaves them).
TYPED = {
    "go": "msg := strings.ToUpper(strings.TrimSpace(name))",
    "python": 'msg = name.strip().upper().replace(",", "-")',
}


def go_source(lines: int) -> str:
    out = ["package big", "", "import (", '\t"fmt"', '\t"strings"', ")", ""]
    i = 0
    while len(out) < lines:
        out += [
            f"// F{i} formats item {i}.",
            f"func (s *Server) F{i}(name string, n int) (string, error) {{",
            "\tif n < 0 {",
            f'\t\treturn "", fmt.Errorf("f{i}: bad n %d", n)',
            "\t}",
            '\tparts := strings.Split(name, ",")',
            "\tfor i, p := range parts {",
            "\t\tfmt.Println(i, p)",
            "\t}",
            '\treturn strings.Join(parts, "-"), nil',
            "}",
            "",
        ]
        i += 1
    return "\n".join(out[:lines]) + "\n"


def python_source(lines: int) -> str:
    out = ["import os", "import sys", "from typing import Any", ""]
    i = 0
    while len(out) < lines:
        out += [
            f"def f{i}(name: str, n: int) -> str:",
            f'    """Format item {i}."""',
            "    if n < 0:",
            f'        raise ValueError(f"f{i}: bad n {{n}}")',
            '    parts = name.split(",")',
            "    for i, p in enumerate(parts):",
            "        print(i, p, file=sys.stderr)",
            '    return "-".join(parts)',
            "",
            "",
        ]
        i += 1
    return "\n".join(out[:lines]) + "\n"


def window(lines: list[str], row: int, before: int, after: int) -> tuple[list[str], int]:
    first = max(0, row - before)
    return lines[first : min(len(lines), row + after + 1)], first


def measure(
    text: str, lang: str, path: str, filetype: str, mirrored: bool = False
) -> dict[str, Any]:
    settings = parse_settings({})
    c = settings.context
    lines = text.split("\n")[:-1]
    indent = "\t" if lang == "go" else "    "
    # Five places ~2,000 lines apart, each a new line in a function body (after `parts = ...`),
    # where the typed statement is valid code.
    rows = []
    for k in range(5):
        row = len(lines) * k // 5 + 7
        while not lines[row - 1].lstrip().startswith("parts"):
            row += 1
        rows.append(row)
    times: list[float] = []
    after_jump: list[float] = []  # the first keystroke at each new place (a jump of ~2,000 lines)
    index = DefinitionIndex()  # as the engine does: definitions near the cursor included
    store = BufferStore()  # and each request's Document from the buffer's last one
    # One editing session: what was typed at one place stays when the user moves on and opens
    # a new line ~2,000 lines further down.
    base = list(lines)
    for row in rows:
        base = list(base)
        base.insert(row, indent)
        statement = TYPED[lang]
        for n in range(len(statement) + 1):
            typed = list(base)
            typed[row] = indent + statement[:n]
            win, first = window(typed, row, c.prefix_lines * 2, c.suffix_lines + 16)
            snap = BufferSnapshot(
                path=path,
                filetype=filetype,
                lines=tuple(win),
                first_line=first,
                row=row,
                col=len(typed[row].encode()),
                line_count=len(typed),
                head=tuple(typed[:64]) if first > 0 else (),
            )
            if mirrored:  # the host's copy of the buffer, kept in step
                store.attach(1, "\n".join(typed).encode(), n)
            started = time.perf_counter_ns()
            document = store.document(1, snap)
            build_context(snap, c, root="/src", definitions=index, document=document)
            elapsed = (time.perf_counter_ns() - started) / 1e6
            (after_jump if n == 0 else times).append(elapsed)
        base = typed
    parser = treesitter.get_parser(lang)
    assert parser is not None
    data = text.encode()
    full: list[float] = []
    for _ in range(5):
        started = time.perf_counter_ns()
        parser.parse(data)
        full.append((time.perf_counter_ns() - started) / 1e6)
    return {
        "lines": len(lines),
        "per_keystroke_ms": summary(times),
        "first_keystroke_after_a_jump_ms": summary(after_jump[1:]),
        "full_parse_ms": summary(full),
    }


def main() -> dict[str, Any]:
    go, py = go_source(10_000), python_source(10_000)
    return {
        "benchmark": "context_build",
        "go": measure(go, "go", "/src/big/server.go", "go"),
        "python": measure(py, "python", "/src/big/server.py", "python"),
        # With the buffer mirrored in the host: imports and definitions from the whole file.
        "go_mirrored": measure(go, "go", "/src/big/server.go", "go", mirrored=True),
        "python_mirrored": measure(py, "python", "/src/big/server.py", "python", mirrored=True),
        "target": {"p50_ms": 2, "p99_ms": 10},
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
