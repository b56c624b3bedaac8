"""Multi-line suggestions cut back to what parses where they would be inserted
(localllm.syntax_check)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localllm.backends import BackendInfo, Cancellation
from localllm.config import parse_settings
from localllm.engine import CompletionRequest, Engine, Update
from localllm.syntax_check import adds_errors, fit_to_syntax
from localllm.treesitter import parse_errors
from localllm.types import BufferSnapshot, FimContext, GenerationParams, IndentStyle, RequestTimings

CURSOR = "<C>"


def ctx_at(buffer: str, language: str | None) -> FimContext:
    """A FimContext for `buffer` (the whole window), whose cursor is marked with "<C>"."""
    before, after = buffer.split(CURSOR)
    nl = before.rfind("\n")
    prefix, middle = before[: nl + 1], before[nl + 1 :]
    end = after.find("\n")
    line_suffix, suffix = (after, "") if end < 0 else (after[:end], after[end + 1 :])
    return FimContext(
        filename="main",
        language=language,
        header="",
        prefix=prefix,
        middle=middle,
        line_suffix=line_suffix,
        suffix=suffix,
        multiline=True,
        indent=IndentStyle(),
    )


GO = """package main

func sum(xs []int) int {
\ttotal := 0
\t<C>
\treturn total
}

func other() {
}
"""

PYTHON = """def f(x):
    y = 0
    if x:
        <C>
    else:
        return 2
    return y
"""

JS = """function sum(xs) {
  let total = 0
  <C>
  return total
}

function other() {}
"""

LUA = """local function sum(xs)
  local total = 0
  <C>
  return total
end

local function other() end
"""

RUST = """fn sum(xs: &[i32]) -> i32 {
    let mut total = 0;
    <C>
    total
}

fn other() {}
"""

# (language, buffer, suggestion, expected result)
CUT_BACK = [
    # Go
    (
        "go",
        GO,
        "for _, x := range xs {\n\t\ttotal += x\n\t}\n}\n}",
        "for _, x := range xs {\n\t\ttotal += x\n\t}",
    ),
    ("go", GO, 'total++\n\ttotal *= 2\n\tname := "abc\n\ttotal--', "total++\n\ttotal *= 2"),
    ("go", GO, "total++\n\tx := ", "total++"),
    ("go", GO, "total++\n\tif total > 1 {{ ]", "total++"),
    # Python
    ("python", PYTHON, "y = 1\n        z = y + 1\nprint(z)", "y = 1\n        z = y + 1"),
    ("python", PYTHON, "y = 1\n        s = 'abc\n        y = 2", "y = 1"),
    ("python", PYTHON, "y = 1\n        foo(y, ", "y = 1"),
    # JavaScript
    (
        "javascript",
        JS,
        "for (const x of xs) {\n    total += x\n  }\n}\n}",
        "for (const x of xs) {\n    total += x\n  }",
    ),
    (
        "javascript",
        JS,
        'total++\n  total *= 2\n  const s = "abc\n  total--',
        "total++\n  total *= 2",
    ),
    ("javascript", JS, "total++\n  const x = ", "total++"),
    ("javascript", JS, "total++\n  const s = `abc ${x", "total++"),
    # Lua
    (
        "lua",
        LUA,
        "for _, x in ipairs(xs) do\n    total = total + x\n  end\nend\nend",
        "for _, x in ipairs(xs) do\n    total = total + x\n  end",
    ),
    ("lua", LUA, 'total = total + 1\n  local s = "abc\n  total = 2', "total = total + 1"),
    ("lua", LUA, "total = total + 1\n  local x = ", "total = total + 1"),
    # Rust
    (
        "rust",
        RUST,
        "for x in xs {\n        total += x;\n    }\n}\n}",
        "for x in xs {\n        total += x;\n    }",
    ),
    ("rust", RUST, 'total += 1;\n    let s = "abc;\n    total -= 1;', "total += 1;"),
    ("rust", RUST, "total += 1;\n    let y = foo(;\n    total -= 1;", "total += 1;"),
    ("rust", RUST, "total += 1;\n    let x = ", "total += 1;"),
]


@pytest.mark.parametrize(("language", "buffer", "suggestion", "expected"), CUT_BACK)
def test_garbage_at_the_end_is_cut_back_to_the_valid_part(
    language: str, buffer: str, suggestion: str, expected: str
) -> None:
    ctx = ctx_at(buffer, language)
    assert adds_errors(suggestion, ctx)
    assert fit_to_syntax(suggestion, ctx) == expected
    assert not adds_errors(expected, ctx)


VALID = [
    ("go", GO, "for _, x := range xs {\n\t\ttotal += x\n\t}\n\ttotal *= 2"),
    ("python", PYTHON, "for i in range(x):\n            y += i\n        y *= 2"),
    ("javascript", JS, "for (const x of xs) {\n    total += x\n  }\n  total *= 2"),
    ("lua", LUA, "for _, x in ipairs(xs) do\n    total = total + x\n  end\n  total = total * 2"),
    ("rust", RUST, "for x in xs {\n        total += x;\n    }\n    total *= 2;"),
]


@pytest.mark.parametrize(("language", "buffer", "suggestion"), VALID)
def test_a_valid_multi_line_block_is_unchanged(language: str, buffer: str, suggestion: str) -> None:
    ctx = ctx_at(buffer, language)
    assert not adds_errors(suggestion, ctx)
    assert fit_to_syntax(suggestion, ctx) == suggestion


# Suggestions that are only valid because a closer in the suffix ends their block.
CLOSED_BY_SUFFIX = [
    (
        "go",
        "package main\n\nfunc sum(xs []int) int {\n\t<C>\n}\n",
        "total := 0\n\tfor _, x := range xs {\n\t\ttotal += x\n\t}\n\treturn total",
    ),
    (
        "go",
        "package main\n\nfunc f(err error) error {\n\tif err != nil {\n\t\t<C>\n\t}\n"
        "\treturn nil\n}\n",
        "log(err)\n\t\treturn err",
    ),
    (
        "python",
        "def f(x):\n    result = compute(<C>\n    )\n    return result\n",
        "x,\n        x + 1,",
    ),
    (
        "javascript",
        "const f = (xs) => {\n  <C>\n}\n",
        "let total = 0\n  for (const x of xs) total += x\n  return total",
    ),
    (
        "lua",
        "local function f(xs)\n  <C>\nend\n",
        "local total = 0\n  for _, x in ipairs(xs) do total = total + x end\n  return total",
    ),
    (
        "rust",
        "fn f(xs: &[i32]) -> i32 {\n    let v = vec![\n        <C>\n    ];\n"
        "    v.len() as i32\n}\n",
        "1,\n        2,\n        3,",
    ),
]


@pytest.mark.parametrize(("language", "buffer", "suggestion"), CLOSED_BY_SUFFIX)
def test_a_block_closed_by_the_suffix_is_unchanged(
    language: str, buffer: str, suggestion: str
) -> None:
    ctx = ctx_at(buffer, language)
    assert fit_to_syntax(suggestion, ctx) == suggestion


@pytest.mark.parametrize(
    ("language", "buffer", "suggestion"),
    [
        ("go", GO, "x := "),
        ("python", PYTHON, "s = 'abc"),
        ("javascript", JS, 'const s = "abc'),
        ("lua", LUA, "local x = "),
        ("go", GO, "x := foo(a, "),
    ],
)
def test_an_unfinished_single_line_suggestion_is_kept(
    language: str, buffer: str, suggestion: str
) -> None:
    ctx = ctx_at(buffer, language)
    assert adds_errors(suggestion, ctx)  # unfinished, and still shown as it is
    assert fit_to_syntax(suggestion, ctx) == suggestion


CLASS = (
    "class Shop:\n    def total(self):\n        return 1\n\n    <C>\n\n"
    "    def other(self):\n        pass\n"
)


@pytest.mark.parametrize(
    ("language", "buffer", "suggestion", "kept"),
    [
        ("python", CLASS, "def 1st_price(self):", ""),
        ("python", CLASS, "def price(self):", "def price(self):"),
        ("go", GO, "}}}", ""),
        ("go", GO, "fmt.Println(total, ))", "fmt.Println(total, )"),
        ("go", GO, "x := total + )", "x := total +"),
    ],
)
def test_a_single_line_suggestion_is_cut_where_it_stops_parsing(
    language: str, buffer: str, suggestion: str, kept: str
) -> None:
    ctx = ctx_at(buffer, language)
    assert fit_to_syntax(suggestion, ctx) == kept


def test_the_first_line_is_always_kept() -> None:
    ctx = ctx_at(GO, "go")
    assert fit_to_syntax("x := := 1\n\ty := := 2", ctx) == "x := := 1"
    # A suggestion that starts on the next line: its first non-blank line is the minimum.
    ctx = ctx_at(GO.replace("\ttotal := 0\n\t<C>\n", "\ttotal := 0<C>\n"), "go")
    assert fit_to_syntax("\n\ttotal++\n\tx := := 1", ctx) == "\n\ttotal++"
    assert fit_to_syntax("\n\tx := := 1\n\ty := := 2", ctx) == "\n\tx := := 1"
    assert fit_to_syntax(" + 1\n\ttotal++\n}}", ctx) == " + 1\n\ttotal++"


def test_an_unfinished_block_is_kept_whole_or_cut_before_its_opener() -> None:
    # The line budget ran out inside a block the suggestion opened: no prefix is better, the
    # whole suggestion stays; with complete lines before the opener, those are kept.
    ctx = ctx_at(GO, "go")
    unfinished = "for _, x := range xs {\n\t\ttotal += x\n\t\ttotal++"
    assert adds_errors(unfinished, ctx)
    assert fit_to_syntax(unfinished, ctx) == unfinished
    assert fit_to_syntax("total++\n\tfor _, x := range xs {\n\t\ttotal += x", ctx) == "total++"


BROKEN_BEFORE = [
    (
        "go",
        "package main\n\nfunc h() {\n\tx := := 2\n\tfoo(\n}\n\n" + GO.split("\n", 2)[2],
        "for _, x := range xs {\n\t\ttotal += x\n\t}",
        'total++\n\ttotal *= 2\n\ts := "abc\n\ttotal--',
        "total++\n\ttotal *= 2",
    ),
    (
        "python",
        "def h(:\n    x = (1,\n\n" + PYTHON,
        "for i in range(x):\n            y += i\n        y *= 2",
        "y += 1\n        s = 'abc\n        y -= 1",
        "y += 1",
    ),
    (
        "javascript",
        "function h() {\n  const x = = 2\n  foo(\n}\n\n" + JS,
        "for (const x of xs) {\n    total += x\n  }",
        'total++\n  const s = "abc\n  total--',
        "total++",
    ),
    (
        "lua",
        "local function h()\n  local x = = 2\nend\n\n" + LUA,
        "for _, x in ipairs(xs) do\n    total = total + x\n  end",
        'total = total + 1\n  local s = "abc\n  total = 2',
        "total = total + 1",
    ),
    (
        "rust",
        "fn h() {\n    let x = = 2;\n    foo(\n}\n\n" + RUST,
        "for x in xs {\n        total += x;\n    }",
        "total += 1;\n    let y = foo(;\n    total -= 1;",
        "total += 1;",
    ),
]


@pytest.mark.parametrize(("language", "buffer", "valid", "broken", "cut"), BROKEN_BEFORE)
def test_broken_code_already_in_the_buffer_does_not_cut_valid_suggestions(
    language: str, buffer: str, valid: str, broken: str, cut: str
) -> None:
    ctx = ctx_at(buffer, language)
    assert parse_errors(buffer.replace(CURSOR, ""), language) > 0
    assert fit_to_syntax(valid, ctx) == valid
    assert fit_to_syntax(broken, ctx) == cut


def test_a_window_cut_inside_blocks_is_judged_as_the_code_it_is() -> None:
    # The suffix stops inside two blocks (cut to budget): no closer is there, and that is not
    # the suggestion's fault.
    ctx = ctx_at(
        "package main\n\nfunc f(xs []int) int {\n\ttotal := 0\n\t<C>\n"
        "\tfor _, x := range xs {\n\t\tif x > 0 {\n\t\t\ttotal += x\n",
        "go",
    )
    assert fit_to_syntax("total++\n\ttotal *= 2", ctx) == "total++\n\ttotal *= 2"
    assert fit_to_syntax('total++\n\ttotal *= 2\n\ts := "abc', ctx) == "total++\n\ttotal *= 2"
    assert fit_to_syntax("total++\n\tx := ", ctx) == "total++"
    # The prefix starts inside three blocks: their closers in the window have no opener.
    ctx = ctx_at("\t\t\ttotal += x\n\t\t}\n\t}\n\ttotal++\n\t<C>\n\treturn total\n}\n", "go")
    block = "if total > 10 {\n\t\ttotal = 10\n\t}"
    assert fit_to_syntax(block, ctx) == block
    assert fit_to_syntax('total++\n\ttotal *= 2\n\ts := "abc', ctx) == "total++\n\ttotal *= 2"
    assert fit_to_syntax("total++\n}\n}", ctx) == "total++"
    # The prefix starts inside a raw string.
    ctx = ctx_at("world\n`\n\nfunc f() int {\n\ttotal := 0\n\t<C>\n\treturn total\n}\n", "go")
    assert fit_to_syntax("total++\n\ttotal *= 2", ctx) == "total++\n\ttotal *= 2"
    assert fit_to_syntax('total++\n\ttotal *= 2\n\ts := "abc\n\ttotal--', ctx) == (
        "total++\n\ttotal *= 2"
    )


@pytest.mark.parametrize("language", [None, "cobol", "markdown"])
def test_a_language_without_grammar_is_left_alone(language: str | None) -> None:
    ctx = ctx_at(GO, language)
    broken = 'total++\n\ts := "abc\n}}}'
    assert fit_to_syntax(broken, ctx) == broken
    assert not adds_errors(broken, ctx)


def test_lone_surrogates_from_the_editor_do_not_raise() -> None:
    # pynvim hands over the bytes of invalid UTF-8 as lone surrogates.
    ctx = ctx_at(GO.replace("total := 0", 'total := len("\udcff")'), "go")
    text = 'total++\n\ts := "\udcff\ud800"\n\ts := "abc'
    assert fit_to_syntax(text, ctx) == 'total++\n\ts := "\udcff\ud800"'


def test_repeated_calls_give_the_same_answer() -> None:
    # The parser and its trees are reused between calls (incremental parsing).
    ctx = ctx_at(GO, "go")
    broken = 'total++\n\ttotal *= 2\n\tname := "abc\n\ttotal--'
    results = {fit_to_syntax(broken, ctx) for _ in range(5)}
    assert results == {"total++\n\ttotal *= 2"}
    assert fit_to_syntax(VALID[0][2], ctx) == VALID[0][2]


# --------------------------------------------------------------------------------------------
# Properties

CONTEXTS = [ctx_at(buffer, language) for language, buffer, *_ in VALID] + [
    ctx_at(buffer, language) for language, buffer, *_ in BROKEN_BEFORE
]

_lines = st.lists(
    st.one_of(
        st.text(max_size=20),
        st.sampled_from(
            ["}", "{", ")", "(", "end", '"', "'", "`", "x := ", "if x {", "do", "\t", "  ", ""]
        ),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CONTEXTS), _lines)
def test_fit_returns_a_line_boundary_prefix_of_the_input(ctx: FimContext, lines: list[str]) -> None:
    text = "\n".join(lines)
    out = fit_to_syntax(text, ctx)
    assert len(out) <= len(text)
    assert text.startswith(out)
    if out != text and "\n" in text:
        assert text[len(out)] == "\n"
        assert len(out) >= _first_line_end(text)  # the first non-blank line is always kept


def _line_ends(text: str) -> list[int]:
    """The ends of the non-blank lines of `text` (exclusive), the last line excluded."""
    ends, start = [], 0
    for line in text.split("\n")[:-1]:
        if line.strip():
            ends.append(start + len(line))
        start += len(line) + 1
    return ends


def _first_line_end(text: str) -> int:
    ends = _line_ends(text)
    return ends[0] if ends else len(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["go", "python", "javascript", "lua", "rust", "bash", "c", None]),
    st.text(max_size=60),
    st.text(max_size=20),
    st.text(max_size=60),
    st.text(max_size=80),
)
def test_fit_never_raises_on_arbitrary_text(
    language: str | None, prefix: str, middle: str, suffix: str, text: str
) -> None:
    middle = middle.replace("\n", "")
    buffer = (
        (prefix + "\n" + middle).replace(CURSOR, "") + CURSOR + "\n" + suffix.replace(CURSOR, "")
    )
    ctx = ctx_at(buffer, language)
    out = fit_to_syntax(text, ctx)
    assert text.startswith(out)
    assert out == text or "\n" not in text or text[len(out)] == "\n"
    adds_errors(text, ctx)


GO_STATEMENTS = [
    "total++",
    "total *= 2",
    "for _, x := range xs {\n\t\ttotal += x\n\t}",
    "if total > 1 {\n\t\treturn 1\n\t}",
    'name := "abc',
    "x := ",
    "}",
    "{",
    "foo(",
    "x := := 1",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(GO_STATEMENTS), min_size=1, max_size=6))
def test_in_a_complete_buffer_the_verdict_is_a_plain_parse(statements: list[str]) -> None:
    # No window to mend (the buffer is whole and valid): adds_errors is exactly "the parse of
    # the buffer with the suggestion has errors", and a cut result parses.
    ctx = ctx_at(GO, "go")
    text = "\n\t".join(statements)

    def errors(suggestion: str) -> int:
        return parse_errors(GO.replace(CURSOR, suggestion), "go")

    assert errors("") == 0
    assert adds_errors(text, ctx) == (errors(text) > 0)
    if "\n" not in text:  # one line: cut at a token boundary (tested on its own)
        assert text.startswith(fit_to_syntax(text, ctx))
        return
    # The rule, with fresh parses: the longest prefix without errors, else the one with the
    # fewest (the longest among equals), never shorter than the first line.
    expected = text
    if "\n" in text and errors(text):
        fewest = errors(text)
        for end in reversed(_line_ends(text)):
            if errors(text[:end]) < fewest:
                expected, fewest = text[:end], errors(text[:end])
                if not fewest:
                    break
    assert fit_to_syntax(text, ctx) == expected


# --------------------------------------------------------------------------------------------
# In the engine


class _Scripted:
    """A backend that streams a fixed text."""

    name = "scripted"

    def __init__(self, text: str) -> None:
        self.text = text

    def info(self) -> BackendInfo:
        return BackendInfo(name=self.name, model="scripted", fim=True, state="ready")

    def prepare(self) -> None:
        return None

    def complete(
        self,
        ctx: FimContext,
        params: GenerationParams,
        cancel: Cancellation,
        timings: RequestTimings,
    ) -> Iterator[str]:
        yield from self.text

    def close(self) -> None:
        return None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("total++\n\ttotal *= 2\n\tx := := 1\n\ttotal--\n", "total++\n\ttotal *= 2"),
        (
            "for _, x := range xs {\n\t\ttotal += x\n\t}\n",
            "for _, x := range xs {\n\t\ttotal += x\n\t}",
        ),
    ],
)
def test_the_engine_applies_the_check_to_the_final_suggestion(raw: str, expected: str) -> None:
    updates: list[Update] = []
    settings_ = parse_settings({"backend": "none"})
    engine = Engine(settings_, updates.append, backend=_Scripted(raw), start_worker=False)
    try:
        buffer = GO.replace(CURSOR, "")
        row = GO.split("\n").index("\t" + CURSOR)
        tabs = IndentStyle(use_tabs=True, width=4, tabstop=4)
        snap = BufferSnapshot.from_text(
            buffer, row, 1, path="/src/sum.go", filetype="go", indent=tabs
        )
        assert engine.process(CompletionRequest(1, 0, snap)) == expected
        assert updates[-1].final
        assert updates[-1].text == expected
    finally:
        engine.close()
