"""Tests for localllm.context: cutting a buffer snapshot into a budgeted FIM context.

A `‸` in a snippet marks the cursor; `snap()` removes it and turns its place into the (row,
byte column) pair that Neovim would report.
"""

from __future__ import annotations

import itertools
import os

import pytest

from localllm.buffers import BufferStore
from localllm.config import ContextSettings
from localllm.context import (
    ANCHOR_STEP,
    NEXT_LINES,
    build_context,
    display_name,
    estimate_tokens,
    prefix_start,
    split_at_byte,
    suffix_end,
)
from localllm.document import Document
from localllm.types import BufferSnapshot, FimContext, IndentStyle

CURSOR = "‸"
HUGE = 10**9


def budget(
    prefix_lines: int = 256,
    suffix_lines: int = 64,
    prefix_tokens: int = HUGE,
    suffix_tokens: int = HUGE,
) -> ContextSettings:
    """A budget where only the limits a test sets bind (tokens are unlimited by default)."""
    return ContextSettings(
        prefix_lines=prefix_lines,
        suffix_lines=suffix_lines,
        prefix_tokens=prefix_tokens,
        suffix_tokens=suffix_tokens,
    )


def snap(src: str, filetype: str = "go", path: str = "") -> BufferSnapshot:
    """A whole-buffer snapshot of `src` with the cursor where `‸` is."""
    assert src.count(CURSOR) == 1, "mark exactly one cursor"
    before, after = src.split(CURSOR)
    row = before.count("\n")
    col = len(before.rsplit("\n", 1)[-1].encode("utf-8"))
    return BufferSnapshot.from_text(before + after, row, col, filetype=filetype, path=path)


def ctx_of(src: str, filetype: str = "go", path: str = "", **limits: int) -> FimContext:
    return build_context(snap(src, filetype, path), budget(**limits))


def window(
    lines: list[str], first: int, row: int, col: int = 1, *, head: int = 64, ft: str = "go"
) -> BufferSnapshot:
    """What the editor sends: lines[first:] of the buffer, and its first lines as `head`."""
    return BufferSnapshot(
        path="/src/main.go" if ft == "go" else "/src/app.py",
        filetype=ft,
        lines=tuple(lines[first:]),
        first_line=first,
        row=row,
        col=col,
        line_count=len(lines),
        head=tuple(lines[: min(head, first)]) if first > 0 else (),
    )


def whole(lines: list[str], row: int, col: int = 1, ft: str = "go") -> BufferSnapshot:
    return window(lines, 0, row, col, ft=ft)


def cost(lines: list[str]) -> int:
    """The prefix/suffix budget cost of whole lines, as context.py counts it."""
    return sum(estimate_tokens(line) + 1 for line in lines)


GO_PROCESS_SIG = "func process(items []string, w *os.File) error {"
GO_IMPORTS = 'package main\nimport (\n\t"fmt"\n\t"os"\n)\n'


def go_file(n: int = 600) -> list[str]:
    """A Go file of `n` lines: imports, a small helper, then one function with a long body.

    The body lines all cost the same number of tokens, so budgets cut at predictable lines.
    """
    lines = [
        "package main",  # 0
        "",
        "import (",  # 2
        '\t"fmt"',
        '\t"os"',
        ")",  # 5
        "",
        "func helper(x int) int {",  # 7
        "\treturn x * 2",
        "}",
        "",
        GO_PROCESS_SIG,  # 11
    ]
    i = 0
    while len(lines) < n - 2:
        lines.append(f"\tfmt.Fprintln(w, items[{i % 7}], {i % 1000:03d})")
        i += 1
    lines += ["\treturn nil", "}"]
    assert len(lines) == n
    return lines


GO = go_file()
GO_SIG_ROW = GO.index(GO_PROCESS_SIG)


def py_file() -> list[str]:
    """A Python module whose one function has a signature on three lines and a long body."""
    lines = [
        "import os",
        "from typing import Any",
        "",
        "",
        "def handle(",  # 4
        "    request: Any, verbose: bool = False",
        ") -> dict:",
        "    result = {}",
    ]
    lines += [f"    result['k{i:03d}'] = os.sep * {i}" for i in range(300)]
    lines += ["    return result"]
    return lines


PY = py_file()
PY_SIG = "def handle(\n    request: Any, verbose: bool = False\n) -> dict:\n"


# --------------------------------------------------------------------------------------------
# estimate_tokens, split_at_byte, display_name


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("a", 1),
        ("abc", 1),
        ("abcd", 2),
        ("abcdef", 2),
        ("é", 1),  # 2 bytes
        ("世界", 2),  # 6 bytes
        ("🙂🙂", 3),  # 8 bytes
        ("\t" * 30, 10),
    ],
)
def test_estimate_tokens_is_a_third_of_the_utf8_bytes_rounded_up(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_estimate_tokens_counts_invalid_bytes_from_the_editor() -> None:
    # pynvim hands over invalid UTF-8 bytes as lone surrogates ("surrogateescape").
    assert estimate_tokens("caf\udce9") == 2  # 4 bytes


@pytest.mark.parametrize(
    ("line", "col", "head", "tail"),
    [
        ("hello", 0, "", "hello"),
        ("hello", 2, "he", "llo"),
        ("hello", 5, "hello", ""),
        ("hello", 99, "hello", ""),  # past the end: clamped
        ("hello", -3, "", "hello"),  # before the start: clamped
        ("", 0, "", ""),
        ("héllo", 3, "hé", "llo"),  # é is 2 bytes: column 3 is after it
        ("héllo", 2, "h", "éllo"),  # column 2 is inside é: snaps back to its start
        ("héllo", 1, "h", "éllo"),
        ('s := "世界"', 9, 's := "世', '界"'),
        ('s := "世界"', 7, 's := "', '世界"'),  # inside 世 (bytes 6..8)
        ('s := "世界"', 8, 's := "', '世界"'),
        ('s := "世界"', 12, 's := "世界', '"'),
        ("a🙂b", 1, "a", "🙂b"),
        ("a🙂b", 2, "a", "🙂b"),  # inside the 4-byte emoji
        ("a🙂b", 4, "a", "🙂b"),
        ("a🙂b", 5, "a🙂", "b"),
        ("a🙂b", 6, "a🙂b", ""),
    ],
)
def test_split_at_byte(line: str, col: int, head: str, tail: str) -> None:
    assert split_at_byte(line, col) == (head, tail)


def test_split_at_byte_every_column_gives_the_longest_whole_character_head() -> None:
    line = "x = 'é世🙂' + \"界\"  # ok"
    raw = line.encode("utf-8")
    for col in range(len(raw) + 1):
        head, tail = split_at_byte(line, col)
        assert head + tail == line
        size = len(head.encode("utf-8"))
        assert size <= col
        if tail:  # one more character would pass the column
            assert size + len(tail[0].encode("utf-8")) > col


def test_split_at_byte_keeps_invalid_bytes_from_the_editor_one_byte_wide() -> None:
    line = "caf\udce9 = 1"  # "café" in Latin-1, as pynvim decodes it
    assert split_at_byte(line, 3) == ("caf", "\udce9 = 1")
    assert split_at_byte(line, 4) == ("caf\udce9", " = 1")
    assert split_at_byte(line, 8) == (line, "")


@pytest.mark.parametrize(
    ("path", "root", "name"),
    [
        ("", None, "untitled"),
        ("", "/src", "untitled"),
        ("/src/pkg/main.go", None, "main.go"),
        ("/src/pkg/main.go", "/src", "pkg/main.go"),
        ("/src/pkg/main.go", "/src/", "pkg/main.go"),
        ("/src/main.go", "/src", "main.go"),
        ("/other/pkg/main.go", "/src", "main.go"),  # outside the root: the base name
        ("/srcx/pkg/main.go", "/src", "main.go"),  # a sibling with the root as name prefix
        ("/src/..hidden/main.go", "/src", "..hidden/main.go"),  # inside, despite the dots
    ],
)
def test_display_name(path: str, root: str | None, name: str) -> None:
    assert display_name(path, root) == name


def test_display_name_of_a_relative_path_is_relative_to_the_root() -> None:
    assert display_name(os.path.join("pkg", "x.go"), os.getcwd()) == "pkg/x.go"


def test_build_context_filename() -> None:
    s = BufferSnapshot.from_text("x\n", 0, 0, path="/src/pkg/main.go", filetype="go")
    assert build_context(s, budget()).filename == "main.go"
    assert build_context(s, budget(), root="/src").filename == "pkg/main.go"
    assert build_context(s, budget(), root="/elsewhere").filename == "main.go"
    nameless = BufferSnapshot.from_text("x\n", 0, 0, filetype="go")
    assert build_context(nameless, budget(), root="/src").filename == "untitled"


# --------------------------------------------------------------------------------------------
# Prefix, middle, suffix

SMALL_GO = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\t%s\n\tfmt.Println(x)\n}\n'


def test_prefix_middle_suffix_around_the_cursor() -> None:
    src = SMALL_GO % "fmt.Print‸ln(x, 2)"
    c = ctx_of(src, path="/src/main.go")
    assert c.prefix == 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n'
    assert c.middle == "\tfmt.Print"
    assert c.line_suffix == "ln(x, 2)"
    assert c.suffix == "\tfmt.Println(x)\n}\n"
    assert c.language == "go"
    assert c.filename == "main.go"
    assert c.first_line == 0
    assert c.header == ""
    # Everything fits: the pieces put back together are the buffer.
    assert c.prefix + c.middle + c.line_suffix + "\n" + c.suffix == src.replace(CURSOR, "")


@pytest.mark.parametrize(
    ("line", "col", "middle", "line_suffix"),
    [
        ('\ts := "café"', 10, '\ts := "caf', 'é"'),
        ('\ts := "café"', 11, '\ts := "caf', 'é"'),  # inside é
        ('\ts := "café"', 12, '\ts := "café', '"'),
        ('\ts := "世界"', 10, '\ts := "世', '界"'),
        ('\ts := "世界"', 11, '\ts := "世', '界"'),  # inside 界
        ('\ts := "世界"', 13, '\ts := "世界', '"'),
        ('\ts := "🙂!"', 9, '\ts := "', '🙂!"'),  # inside the emoji
        ('\ts := "🙂!"', 11, '\ts := "🙂', '!"'),
    ],
)
def test_middle_and_line_suffix_split_at_a_byte_column(
    line: str, col: int, middle: str, line_suffix: str
) -> None:
    lines = ["package main", "", "func main() {", line, "}"]
    s = BufferSnapshot.from_text("\n".join(lines) + "\n", 3, col, filetype="go")
    c = build_context(s, budget())
    assert (c.middle, c.line_suffix) == (middle, line_suffix)
    assert c.prefix == "package main\n\nfunc main() {\n"
    assert c.suffix == "}\n"


def test_wide_characters_above_and_below_are_kept_whole() -> None:
    src = "// 世界 🙂 é\nx‸\n// ñ 界\n"
    c = ctx_of(src, filetype="")
    assert c.prefix == "// 世界 🙂 é\n"
    assert c.suffix == "// ñ 界\n"


def test_invalid_bytes_from_the_editor_do_not_break_the_context() -> None:
    lines = ["package main", "", "// caf\udce9", 'var s = "caf\udce9 ok"', "var t = 1"]
    # As the editor sends it (from_text is for files and checks columns in strict UTF-8).
    s = BufferSnapshot(
        path="/src/main.go",
        filetype="go",
        lines=tuple(lines),
        first_line=0,
        row=3,
        col=14,  # after 'var s = "caf\xe9 '
        line_count=len(lines),
    )
    c = build_context(s, budget())
    assert c.prefix == "package main\n\n// caf\udce9\n"
    assert (c.middle, c.line_suffix) == ('var s = "caf\udce9 ', 'ok"')
    assert c.suffix == "var t = 1\n"
    assert c.multiline is False  # inside a string


def test_cursor_on_the_first_line() -> None:
    c = ctx_of("pack‸age main\n\nfunc main() {}\n")
    assert c.prefix == ""
    assert (c.middle, c.line_suffix) == ("pack", "age main")
    assert c.suffix == "\nfunc main() {}\n"
    assert c.first_line == 0


def test_cursor_on_the_last_line() -> None:
    c = ctx_of("package main\n\nfunc main() {}\nvar x = ‸")
    assert c.prefix == "package main\n\nfunc main() {}\n"
    assert (c.middle, c.line_suffix) == ("var x = ", "")
    assert c.suffix == ""
    assert c.next_lines == ()


def test_single_line_buffer() -> None:
    c = ctx_of("print('hi'‸)\n", filetype="python")
    assert (c.prefix, c.suffix, c.header) == ("", "", "")
    assert (c.middle, c.line_suffix) == ("print('hi'", ")")
    assert c.next_lines == ()


def test_empty_buffer() -> None:
    c = build_context(BufferSnapshot.from_text("", 0, 0), budget())
    assert (c.prefix, c.middle, c.line_suffix, c.suffix, c.header) == ("", "", "", "", "")
    assert c.language is None
    assert c.filename == "untitled"
    assert c.multiline is True


def test_cursor_on_an_empty_line() -> None:
    c = ctx_of("a = 1\n\n‸\n\nb = 2\n", filetype="python")
    assert c.prefix == "a = 1\n\n"
    assert (c.middle, c.line_suffix) == ("", "")
    assert c.suffix == "\nb = 2\n"


def test_indent_style_is_passed_through() -> None:
    style = IndentStyle(use_tabs=True, width=8, tabstop=8)
    s = BufferSnapshot.from_text("\tx\n", 0, 2, indent=style)
    c = build_context(s, budget())
    assert c.indent == style
    assert c.indentation == "\t"


# --------------------------------------------------------------------------------------------
# Budgets


def prefix_lines_of(c: FimContext) -> list[str]:
    assert c.prefix == "" or c.prefix.endswith("\n")
    return c.prefix.split("\n")[:-1]


def suffix_lines_of(c: FimContext) -> list[str]:
    assert c.suffix == "" or c.suffix.endswith("\n")
    return c.suffix.split("\n")[:-1]


@pytest.mark.parametrize("limit", [16, 40, 100, 256])
def test_prefix_lines_budget(limit: int) -> None:
    row = 400
    c = build_context(whole(GO, row), budget(prefix_lines=limit))
    got = prefix_lines_of(c)
    assert got == GO[c.first_line : row]
    assert len(got) <= limit
    # The start is rounded up to an anchor: at most ANCHOR_STEP - 1 lines are given up.
    assert len(got) > limit - ANCHOR_STEP


@pytest.mark.parametrize("limit", [200, 500, 1000])
def test_prefix_tokens_budget(limit: int) -> None:
    row = 400
    c = build_context(whole(GO, row), budget(prefix_tokens=limit))
    got = prefix_lines_of(c)
    assert got == GO[c.first_line : row]
    assert cost(got) <= limit
    # Another anchor step further up would not have fit.
    assert cost(GO[c.first_line - ANCHOR_STEP : row]) > limit


def test_the_tighter_prefix_budget_wins() -> None:
    row = 400
    by_lines = build_context(whole(GO, row), budget(prefix_lines=40))
    by_tokens = build_context(whole(GO, row), budget(prefix_tokens=200))
    both = build_context(whole(GO, row), budget(prefix_lines=40, prefix_tokens=200))
    assert len(prefix_lines_of(by_tokens)) < len(prefix_lines_of(by_lines))
    assert both.prefix == by_tokens.prefix
    loose = build_context(whole(GO, row), budget(prefix_lines=40, prefix_tokens=HUGE))
    assert loose.prefix == by_lines.prefix


@pytest.mark.parametrize("limit", [0, 1, 5, 64])
def test_suffix_lines_budget(limit: int) -> None:
    row = 100
    c = build_context(whole(GO, row), budget(suffix_lines=limit))
    assert suffix_lines_of(c) == GO[row + 1 : row + 1 + limit]


@pytest.mark.parametrize("limit", [0, 10, 100, 400])
def test_suffix_tokens_budget(limit: int) -> None:
    row = 100
    c = build_context(whole(GO, row), budget(suffix_tokens=limit))
    got = suffix_lines_of(c)
    assert got == GO[row + 1 : row + 1 + len(got)]
    assert cost(got) <= limit
    assert cost(GO[row + 1 : row + 2 + len(got)]) > limit  # the next line would not fit


def test_suffix_stops_at_the_end_of_the_buffer() -> None:
    row = len(GO) - 5
    c = build_context(whole(GO, row), budget(suffix_lines=64))
    assert suffix_lines_of(c) == GO[row + 1 :]


def test_prefix_stops_at_the_start_of_the_buffer() -> None:
    c = build_context(whole(GO, 30), budget(prefix_lines=256))
    assert c.first_line == 0
    assert prefix_lines_of(c) == GO[:30]


def test_prefix_start_and_suffix_end_directly() -> None:
    lines = [f"line {i:03d}" for i in range(100)]  # 8 bytes: 3 tokens, cost 4 per line
    assert prefix_start(lines, 50, 0, budget(prefix_lines=10)) == 48  # 40 rounded up to 48
    assert prefix_start(lines, 50, 0, budget(prefix_lines=20)) == 32  # 30 rounded up to 32
    assert prefix_start(lines, 50, 0, budget(prefix_lines=50)) == 0
    assert prefix_start(lines, 50, 0, budget(prefix_tokens=80)) == 32  # 20 lines: start 30
    # A window that starts at buffer line 7: anchors are buffer lines, not window indexes.
    assert prefix_start(lines, 50, 7, budget(prefix_lines=20)) == 48 - 7
    assert suffix_end(lines, 50, budget(suffix_lines=10)) == 61
    assert suffix_end(lines, 50, budget(suffix_tokens=20)) == 56
    assert suffix_end(lines, 99, budget()) == 100


# --------------------------------------------------------------------------------------------
# Anchoring: the prefix window starts on a multiple of ANCHOR_STEP and does not follow the cursor


def test_prefix_start_is_anchored_for_every_cursor_row() -> None:
    b = budget(prefix_lines=40)
    for row in range(len(GO)):
        c = build_context(whole(GO, row), b)
        assert c.first_line == 0 or c.first_line % ANCHOR_STEP == 0, row
        assert c.first_line <= row
        assert prefix_lines_of(c) == GO[c.first_line : row]


def test_prefix_start_stays_put_while_the_cursor_moves_down() -> None:
    b = budget(prefix_lines=40, suffix_lines=8)
    contexts = [build_context(whole(GO, row), b) for row in (300, 301, 303, 306, 312)]
    starts = {c.first_line for c in contexts}
    assert starts == {272}
    assert 272 % ANCHOR_STEP == 0
    headers = {c.header for c in contexts}
    assert len(headers) == 1
    # Each prompt extends the one before: the model's KV cache for it stays valid.
    for before, after in itertools.pairwise(contexts):
        assert after.prefix.startswith(before.prefix)
        assert len(after.prefix) > len(before.prefix)


def test_prefix_start_moves_one_anchor_step_at_a_time() -> None:
    b = budget(prefix_lines=40)
    starts = [build_context(whole(GO, row), b).first_line for row in range(200, 300)]
    assert starts == sorted(starts)
    steps = {later - earlier for earlier, later in itertools.pairwise(starts)}
    assert steps == {0, ANCHOR_STEP}
    assert len(set(starts)) < 10  # about 100 / 16 distinct starts, not 100


def test_prefix_start_stays_put_while_typing_on_the_cursor_line() -> None:
    b = budget(prefix_lines=40, prefix_tokens=400)
    row = 305
    typed = '\tfmt.Fprintf(w, "%d\\n", len(items))'
    contexts = []
    for n in range(1, len(typed) + 1):
        lines = [*GO[:row], typed[:n], *GO[row + 1 :]]
        contexts.append(build_context(whole(lines, row, col=n), b))
    assert {c.first_line for c in contexts} == {contexts[0].first_line}
    assert contexts[0].first_line % ANCHOR_STEP == 0
    assert {c.prefix for c in contexts} == {contexts[0].prefix}
    assert {c.header for c in contexts} == {contexts[0].header}
    assert contexts[-1].middle == typed


def test_window_snapshots_anchor_on_buffer_lines() -> None:
    # The editor sends 2 * prefix_lines above the cursor, so the window itself moves with
    # every line; the prefix start must not.
    b = budget(prefix_lines=40, suffix_lines=8)
    expected = build_context(whole(GO, 300), b)
    for row in (300, 301, 303, 306, 312):
        c = build_context(window(GO, row - 80, row), b)
        assert c.first_line == 272
        assert c.prefix == "".join(line + "\n" for line in GO[272:row])
        if row == 300:
            assert c.prefix == expected.prefix
            assert c.suffix == expected.suffix


# --------------------------------------------------------------------------------------------
# Header: imports and the enclosing signature, when the prefix window does not start at line 0


def test_header_has_imports_and_enclosing_go_signature() -> None:
    c = build_context(whole(GO, 300), budget(prefix_lines=40))
    assert c.first_line == 272
    assert c.header == GO_IMPORTS + "\n" + GO_PROCESS_SIG + "\n"
    assert "helper" not in c.header
    assert GO_PROCESS_SIG not in c.prefix


def test_header_in_a_window_takes_imports_from_head() -> None:
    first = 10  # the window holds the signature (row 11) but not the imports
    s = window(GO, first, 300)
    assert s.head == tuple(GO[:10])
    c = build_context(s, budget(prefix_lines=40))
    assert c.first_line == 272
    assert c.header == GO_IMPORTS + "\n" + GO_PROCESS_SIG + "\n"


def test_header_without_head_has_no_imports() -> None:
    s = window(GO, 10, 300, head=0)
    assert s.head == ()
    c = build_context(s, budget(prefix_lines=40))
    assert "import" not in c.header
    assert "package" not in c.header
    assert c.header == GO_PROCESS_SIG + "\n"


def test_header_of_a_window_below_the_signature_has_only_imports() -> None:
    s = window(GO, 220, 300)
    c = build_context(s, budget(prefix_lines=40))
    assert c.first_line == 272
    assert c.header == GO_IMPORTS


def test_signature_inside_the_prefix_is_not_repeated_in_the_header() -> None:
    # The window starts at buffer line 6, after the imports; the whole function head fits.
    s = window(GO, 6, 40)
    c = build_context(s, budget(prefix_lines=256))
    assert c.first_line == 6
    assert c.header == GO_IMPORTS
    assert GO_PROCESS_SIG + "\n" in c.prefix


def test_header_has_imports_and_a_multiline_python_signature() -> None:
    row = 200
    c = build_context(whole(PY, row, col=4, ft="python"), budget(prefix_lines=40))
    assert c.first_line == 160
    assert c.language == "python"
    assert c.header == "import os\nfrom typing import Any\n" + "\n" + PY_SIG
    assert "def handle" not in c.prefix


def test_python_window_header_with_head() -> None:
    s = window(PY, 3, 200, col=4, ft="python")
    assert s.head == tuple(PY[:3])
    c = build_context(s, budget(prefix_lines=40))
    assert c.first_line == 160
    assert c.header == "import os\nfrom typing import Any\n" + "\n" + PY_SIG


def test_a_window_never_starts_inside_a_multi_line_signature() -> None:
    # The anchored start (buffer line 16) falls inside the parameter list of lines 14-17: the
    # window starts after it, and the header carries the whole signature once.
    lines = ["import os", *["" for _ in range(13)], "def f(", "    a,", "    b,", "):"]
    lines += ["    x = a" for _ in range(60)]
    row = 60
    c = build_context(whole(lines, row, col=4, ft="python"), budget(prefix_lines=44))
    assert c.first_line == 18
    assert c.prefix.startswith("    x = a\n")
    assert c.header == "import os\n\ndef f(\n    a,\n    b,\n):\n"


def test_windows_do_not_cut_a_multi_line_string_or_call() -> None:
    go = ["package main", "", "func f() {", "\tq := `SELECT *", *["\t\tFROM t" for _ in range(30)]]
    go += ["\t`", *["\tx := 1" for _ in range(30)], "\tcall(", *["\t\targ," for _ in range(20)]]
    go += ["\t)", "}"]
    row = 60  # the suffix budget (rows 61-72) ends inside the call of rows 65-86
    c = build_context(whole(go, row, col=1), budget(prefix_lines=40, suffix_lines=12))
    # The start (anchored inside the raw string) moved past the string's end.
    assert c.first_line == 35 and go[c.first_line - 1] == "\t`"
    # The suffix stops before the call whose arguments the budget would have cut.
    assert c.suffix == "\tx := 1\n" * 4
    assert "call(" not in c.suffix


@pytest.mark.parametrize("row", [20, 30, 39])
def test_no_header_when_the_prefix_starts_at_line_0(row: int) -> None:
    c = build_context(whole(GO, row), budget(prefix_lines=40))
    assert c.first_line == 0
    assert c.header == ""
    assert c.prefix.startswith("package main\n")


def test_no_header_for_a_language_without_grammar() -> None:
    lines = ["#include <stdio.h>", *[f"x{i}" for i in range(100)]]
    s = BufferSnapshot.from_text("\n".join(lines), 80, 0, filetype="text")
    c = build_context(s, budget(prefix_lines=20))
    assert c.language is None
    assert c.first_line > 0
    assert c.header == ""


# --------------------------------------------------------------------------------------------
# Single line or multi-line suggestion

GO_BODY = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n%s\n}\n'


@pytest.mark.parametrize(
    ("line", "multiline"),
    [
        ("\t‸", True),  # an indented empty line in a block
        ("‸", True),  # an empty line
        ("    ‸", True),
        ("\tfmt.Println(x, ‸", False),  # mid-expression
        ("\tfoo(‸", False),  # an open call: one line, although it ends with an opener
        ("\tfmt.Println(x, ‸)", False),  # text after the cursor
        ("\t‸fmt.Println(x)", False),  # text after the cursor on an otherwise blank start
        ("\tif err != nil {‸", True),  # a block opener at the end of the line
        ("\tif err != nil {‸  ", True),  # trailing blanks are not text after the cursor
        ("\tif x > 0 {‸ }", False),  # a block opener with text after the cursor
        ('\ts := "abc ‸', False),  # in a string
        ('\ts := "{‸', False),  # in a string that ends with an opener
        ("\t// note ‸", False),  # in a comment
        ("\t// see {‸", False),  # in a comment that ends with an opener
        ("\tfmt.Println(x)‸", False),  # a finished statement
    ],
)
def test_multiline_decision_go(line: str, multiline: bool) -> None:
    assert ctx_of(GO_BODY % line).multiline is multiline


@pytest.mark.parametrize(
    ("line", "multiline"),
    [
        ("    if a:‸", True),  # a Python header's colon opens a block
        ("    ‸", True),
        ("    s = 'abc ‸", False),
        ("    # todo: ‸", False),
        ("    print(a, ‸", False),
        ("    return a‸", False),
    ],
)
def test_multiline_decision_python(line: str, multiline: bool) -> None:
    src = "import os\n\n\ndef f(a):\n" + line + "\n"
    assert ctx_of(src, filetype="python").multiline is multiline


@pytest.mark.parametrize(
    ("line", "multiline"),
    [
        ("  ‸", True),  # blank
        ("‸", True),
        ("fmt.Println(‸", True),  # ends with an opener: the plain rule says multi-line
        ("items = [‸", True),
        ("if x {‸", True),
        ("fmt.Println(x, ‸", False),
        ("hello world‸", False),
        ("hello ‸world", False),  # text after the cursor
        ("if x {‸ }", False),
        ("# a comment {‸", True),  # no grammar: comments are not known
    ],
)
def test_multiline_decision_unknown_filetype_uses_the_plain_rule(
    line: str, multiline: bool
) -> None:
    c = ctx_of("first\n" + line + "\nlast\n", filetype="text", path="/notes/todo.txt")
    assert c.language is None
    assert c.multiline is multiline


def test_grammar_overrides_the_plain_rule() -> None:
    # The same line: the plain rule sees an opener, the Go grammar an unfinished call.
    src = "package main\n\nfunc main() {\n\tfmt.Println(‸\n}\n"
    assert ctx_of(src, filetype="text").multiline is True
    assert ctx_of(src, filetype="go").multiline is False
    # The filetype decides over the extension, the extension when there is no filetype.
    assert ctx_of(src, filetype="", path="/src/main.go").multiline is False
    assert ctx_of(src, filetype="", path="/src/main.go").language == "go"


# --------------------------------------------------------------------------------------------
# next_lines, first_line and the cursor row


def test_next_lines_are_the_lines_after_the_cursor_whatever_the_suffix_budget() -> None:
    row = 100
    c = build_context(whole(GO, row), budget(suffix_lines=0))
    assert c.suffix == ""
    assert c.next_lines == tuple(GO[row + 1 : row + 1 + NEXT_LINES])
    assert len(c.next_lines) == NEXT_LINES


def test_next_lines_near_the_end_of_the_buffer() -> None:
    row = len(GO) - 4
    c = build_context(whole(GO, row), budget())
    assert c.next_lines == tuple(GO[row + 1 :])
    assert len(c.next_lines) == 3


def test_next_lines_are_limited_to_the_lines_sent() -> None:
    s = BufferSnapshot(
        path="/src/main.go",
        filetype="go",
        lines=tuple(GO[90:105]),
        first_line=90,
        row=100,
        col=1,
        line_count=len(GO),
    )
    c = build_context(s, budget())
    assert c.next_lines == tuple(GO[101:105])
    assert c.suffix == "".join(line + "\n" for line in GO[101:105])


def test_first_line_counts_buffer_lines_in_a_window() -> None:
    s = window(GO, 100, 130)
    c = build_context(s, budget(prefix_lines=256))
    assert c.first_line == 100  # the whole window is within budget
    assert prefix_lines_of(c) == GO[100:130]


@pytest.mark.parametrize("row", [0, 9, 15, 16, 100])
def test_a_cursor_row_outside_the_lines_sent_raises(row: int) -> None:
    s = BufferSnapshot(
        path="",
        filetype="go",
        lines=tuple(GO[10:15]),
        first_line=10,
        row=row,
        col=0,
        line_count=len(GO),
    )
    with pytest.raises(ValueError, match="outside the lines sent"):
        build_context(s, budget())


@pytest.mark.parametrize("row", [10, 12, 14])
def test_a_cursor_row_inside_the_lines_sent_is_fine(row: int) -> None:
    s = BufferSnapshot(
        path="",
        filetype="go",
        lines=tuple(GO[10:15]),
        first_line=10,
        row=row,
        col=0,
        line_count=len(GO),
    )
    c = build_context(s, budget())
    assert c.middle + c.line_suffix == GO[row]


def test_an_expression_around_the_cursor_does_not_empty_the_window() -> None:
    # The whole function body sits inside one call (a closure): the window cannot avoid
    # cutting it, and must keep the lines around the cursor rather than drop them.
    js = [
        "describe('store', () => {",
        *[f"  it('case {i}', () => {{ expect({i}).toBe({i}) }})" for i in range(80)],
    ]
    js += ["  it('last', () => {", "    const x = 1", "    ", "    return x", "  })", "})"]
    row = len(js) - 4
    c = build_context(
        whole(js, row, col=4, ft="javascript"), budget(prefix_lines=40, suffix_lines=2)
    )
    assert c.prefix.count("\n") >= 30
    assert c.suffix == "    return x\n  })\n"


# --------------------------------------------------------------------------------------------
# The request's Document


def test_a_document_from_the_store_gives_the_context_the_snapshot_gives() -> None:
    store = BufferStore()
    for first, row in ((0, 40), (10, 300), (220, 300)):
        s = window(GO, first, row)
        assert build_context(s, budget(prefix_lines=40), document=store.document(1, s)) == (
            build_context(s, budget(prefix_lines=40))
        )


def test_a_mirrored_buffer_gives_imports_from_its_whole_text() -> None:
    store = BufferStore()
    store.attach(1, "\n".join(GO).encode(), 1)
    s = window(GO, 220, 300, head=0)  # nothing sent above the window: the mirror has it
    doc = store.document(1, s)
    assert doc.whole == "\n".join(GO)
    c = build_context(s, budget(prefix_lines=40), document=doc)
    assert c.header == GO_IMPORTS
    assert c == build_context(s, budget(prefix_lines=40), whole="\n".join(GO))


def test_the_document_s_tree_is_parsed_once_and_used() -> None:
    s = window(GO, 10, 300)
    doc = Document.of_snapshot(s)
    assert not doc.parsed
    c = build_context(s, budget(prefix_lines=40), document=doc)
    assert doc.parsed
    tree = doc.tree
    assert tree is not None and tree.root_node.end_point.row == len(s.lines) - 1
    assert c == build_context(s, budget(prefix_lines=40), document=doc)
    assert doc.tree is tree  # asked again: the same tree, no parse
