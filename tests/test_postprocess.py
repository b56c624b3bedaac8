"""Post-processing of raw model output into ghost text (localllm.postprocess)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localllm.postprocess import SPECIAL_TOKENS, Cleaned, clean, strip_typed
from localllm.types import FimContext, IndentStyle

CURSOR = "<C>"
GO_INDENT = IndentStyle(use_tabs=True, width=4, tabstop=4)
SPACES4 = IndentStyle(use_tabs=False, width=4, tabstop=8)
SPACES2 = IndentStyle(use_tabs=False, width=2, tabstop=8)


def ctx_at(
    buffer: str,
    *,
    language: str | None = "go",
    multiline: bool = True,
    indent: IndentStyle | None = None,
    with_next_lines: bool = True,
) -> FimContext:
    """A FimContext for `buffer`, whose cursor is marked with "<C>"."""
    before, after = buffer.split(CURSOR)
    nl = before.rfind("\n")
    prefix, middle = before[: nl + 1], before[nl + 1 :]
    end = after.find("\n")
    if end == -1:
        line_suffix, suffix = after, ""
    else:
        line_suffix, suffix = after[:end], after[end + 1 :]
    following = suffix.split("\n")
    if following and following[-1] == "":
        following.pop()
    if indent is None:
        indent = GO_INDENT if language == "go" else SPACES4
    return FimContext(
        filename="main." + (language or "txt"),
        language=language,
        header="",
        prefix=prefix,
        middle=middle,
        line_suffix=line_suffix,
        suffix=suffix,
        multiline=multiline,
        indent=indent,
        next_lines=tuple(following) if with_next_lines else (),
    )


def run_stream(raw: str, ctx: FimContext, step: int = 1, max_lines: int = 12) -> list[Cleaned]:
    """clean() on every partial output (chunks of `step` chars), then once with final=True."""
    out = [
        clean(raw[:i], ctx, final=False, max_lines=max_lines) for i in range(step, len(raw), step)
    ]
    out.append(clean(raw, ctx, final=False, max_lines=max_lines))
    out.append(clean(raw, ctx, final=True, max_lines=max_lines))
    return out


def first_complete(raw: str, ctx: FimContext, max_lines: int = 12) -> int | None:
    """Length of the shortest partial output for which clean() reports complete."""
    for i in range(len(raw) + 1):
        if clean(raw[:i], ctx, final=False, max_lines=max_lines).complete:
            return i
    return None


GO_FUNC = "package main\n\nfunc run() error {\n\terr := step()\n"

# --------------------------------------------------------------------------------------------
# 1. normalisation


def test_crlf_and_trailing_whitespace_per_line() -> None:
    ctx = ctx_at("def f():\n    <C>\n", language="python")
    got = clean("x = 1  \r\n    y = 2\t\r\n    return x + y   ", ctx, final=True)
    assert got.text == "x = 1\n    y = 2\n    return x + y"
    assert got.complete


def test_final_drops_trailing_blank_lines() -> None:
    ctx = ctx_at("def f():\n    <C>\n", language="python")
    assert clean("return 1\n\n   \n\n", ctx, final=True).text == "return 1"


@pytest.mark.parametrize("raw", ["", "   ", "\n\n", " \t\n  \n"])
@pytest.mark.parametrize("final", [True, False])
def test_blank(raw: str, final: bool) -> None:
    got = clean(raw, ctx_at("x = <C>\n", language="python"), final=final)
    assert got.text == ""
    assert got.reason == "blank"


def test_nul_and_lone_cr_removed() -> None:
    ctx = ctx_at("x = <C>\n", language="python", multiline=False)
    got = clean("fo\0o(\r)\r", ctx, final=True)
    assert got.text == "foo()"


def test_partial_cr_held_back_until_lf() -> None:
    ctx = ctx_at("x = <C>\n", language="python", multiline=False)
    assert clean("foo()\r", ctx, final=False) == Cleaned("foo()", False, "ok")
    assert clean("foo()\r\n", ctx, final=False) == Cleaned("foo()", True, "single-line")


# --------------------------------------------------------------------------------------------
# 2. single-line mode


def test_single_line_keeps_first_line_and_completes_at_newline() -> None:
    ctx = ctx_at(GO_FUNC + "\tx := compute(<C>\n}\n", multiline=False)
    raw = "a, b)\n\tfmt.Println(x)\n"
    assert clean(raw, ctx, final=True) == Cleaned("a, b)", True, "single-line")
    assert clean("a, b)", ctx, final=False) == Cleaned("a, b)", False, "ok")
    assert first_complete(raw, ctx) == raw.index("\n") + 1


def test_single_line_without_newline_is_kept_whole_at_final() -> None:
    ctx = ctx_at("const total = <C>\n", language="javascript", multiline=False)
    assert clean("items.length * price;", ctx, final=True) == Cleaned(
        "items.length * price;", True, "ok"
    )


def test_go_if_err_opener_continues_as_block() -> None:
    ctx = ctx_at(GO_FUNC + "\tif err != nil {<C>\n\treturn nil\n}\n", multiline=False)
    raw = '\n\t\treturn fmt.Errorf("step: %w", err)\n\t}\n\treturn nil\n}\n'
    got = clean(raw, ctx, final=True)
    assert got == Cleaned('\n\t\treturn fmt.Errorf("step: %w", err)\n\t}', True, "block-end")


def test_go_if_err_opener_with_closer_already_in_buffer() -> None:
    ctx = ctx_at(GO_FUNC + "\tif err != nil {<C>\n\t}\n\treturn nil\n}\n", multiline=False)
    raw = "\n\t\treturn err\n\t}\n\treturn nil\n}\n"
    assert clean(raw, ctx, final=True) == Cleaned("\n\t\treturn err", True, "scope-end")


def test_opener_on_the_generated_first_line() -> None:
    ctx = ctx_at(GO_FUNC + "\tif err != nil <C>\n\treturn nil\n}\n", multiline=False)
    got = clean("{\n\t\treturn err\n\t}\n\treturn nil\n", ctx, final=True)
    assert got.text == "{\n\t\treturn err\n\t}"


def test_python_colon_opener() -> None:
    ctx = ctx_at("def area(r):<C>\n\n\nprint(area(2))\n", language="python", multiline=False)
    raw = "\n    return 3.14159 * r * r\n\n\ndef perimeter(r):\n    return 2 * r\n"
    assert clean(raw, ctx, final=True) == Cleaned("\n    return 3.14159 * r * r", True, "block-end")


def test_python_colon_in_slice_is_not_a_block() -> None:
    ctx = ctx_at("xs = ys[1<C>\n", language="python", multiline=False)
    assert clean(":\n    foo\n", ctx, final=True) == Cleaned(":", True, "single-line")


@pytest.mark.parametrize(
    ("language", "buffer", "raw", "expected"),
    [
        (
            "lua",
            "local function f(x)\n  if x > 0 then<C>\n  return 0\nend\n",
            "\n    return x\n  end\n  return 0\nend\n",
            "\n    return x\n  end",
        ),
        (
            "lua",
            "for i = 1, 3 do<C>\n",
            "\n  print(i)\nend\nprint('done')\n",
            "\n  print(i)\nend",
        ),
        (
            "bash",
            'if [ -f "$f" ]; then<C>\n',
            '\n  cat "$f"\nfi\necho done\n',
            '\n  cat "$f"\nfi',
        ),
    ],
)
def test_keyword_openers(language: str, buffer: str, raw: str, expected: str) -> None:
    ctx = ctx_at(buffer, language=language, multiline=False, indent=SPACES2)
    assert clean(raw, ctx, final=True) == Cleaned(expected, True, "block-end")


def test_lua_then_with_end_already_in_buffer() -> None:
    ctx = ctx_at(
        "local function f(x)\n  if x > 0 then<C>\n  end\n  return 0\nend\n",
        language="lua",
        multiline=False,
        indent=SPACES2,
    )
    got = clean("\n    return x\n  end\n  return 0\nend\n", ctx, final=True)
    assert got == Cleaned("\n    return x", True, "scope-end")


def test_then_inside_a_word_is_not_an_opener() -> None:
    ctx = ctx_at("local athen<C>\n", language="lua", multiline=False, indent=SPACES2)
    assert clean("\n  x = 1\n", ctx, final=True).text == ""


@pytest.mark.parametrize(
    ("buffer", "language"),
    [
        (GO_FUNC + "\tx := 1 // see {<C>\n}\n", "go"),
        ("x = 1  # open (<C>\n", "python"),
        ('s := "{<C>\n', "go"),
        ("local t = 1 -- then<C>\n", "lua"),
    ],
)
def test_opener_in_comment_or_string_is_not_a_block(buffer: str, language: str) -> None:
    ctx = ctx_at(buffer, language=language, multiline=False)
    assert clean("\n\tfoo()\n", ctx, final=True).text == ""


def test_opener_with_text_after_cursor_is_not_a_block() -> None:
    ctx = ctx_at(GO_FUNC + "\tfor i := range xs {<C>}\n}\n", multiline=False)
    assert clean("\n\t\tuse(i)\n\t", ctx, final=True) == Cleaned("", True, "blank")


# --------------------------------------------------------------------------------------------
# 3. multi-line: max lines, scope


def test_max_lines() -> None:
    ctx = ctx_at("def f():\n    <C>\n", language="python")
    raw = "".join(f"x{i} = {i}\n    " for i in range(20))
    got = clean(raw, ctx, final=False, max_lines=5)
    assert got == Cleaned(
        "x0 = 0\n    x1 = 1\n    x2 = 2\n    x3 = 3\n    x4 = 4", True, "max-lines"
    )
    assert clean(raw, ctx, final=True, max_lines=5) == got
    # complete exactly when the fifth line is terminated
    assert first_complete(raw, ctx, max_lines=5) == raw.index("x4 = 4\n") + len("x4 = 4\n")


def test_closing_the_enclosing_function_is_cut() -> None:
    ctx = ctx_at(GO_FUNC + "\t<C>\n}\n\nfunc other() {}\n")
    raw = 'if err != nil {\n\t\treturn err\n\t}\n\tlog.Print("ok")\n\treturn nil\n}\n\nfunc x() {\n'
    got = clean(raw, ctx, final=True)
    assert got == Cleaned("if err != nil {\n\t\treturn err\n\t}", True, "block-end")
    ctx2 = ctx_at(GO_FUNC + "\tlog.Print(err)\n\t<C>\n}\n")
    got2 = clean('fmt.Println("done")\n\treturn nil\n}\n\nfunc x() {\n', ctx2, final=True)
    assert got2 == Cleaned('fmt.Println("done")\n\treturn nil', True, "scope-end")


def test_scope_end_completes_as_soon_as_the_bracket_arrives() -> None:
    ctx = ctx_at(GO_FUNC + "\tlog.Print(err)\n\t<C>\n}\n")
    raw = "return nil\n}\n\nfunc x() {\n"
    assert first_complete(raw, ctx) == raw.index("}") + 1


def test_js_closer_line_with_punctuation_is_cut() -> None:
    ctx = ctx_at(
        'describe("sum", () => {\n  it("adds", () => {\n    <C>\n  });\n});\n',
        language="javascript",
        indent=SPACES2,
    )
    raw = 'expect(sum(1, 2)).toBe(3);\n  });\n\n  it("subtracts", () => {\n'
    assert clean(raw, ctx, final=True) == Cleaned("expect(sum(1, 2)).toBe(3);", True, "scope-end")


def test_closer_on_first_line_cuts_before_the_bracket() -> None:
    ctx = ctx_at("const cfg = {\n  name: 'x',\n  <C>\n", language="javascript", indent=SPACES2)
    assert clean("debug: true }", ctx, final=True) == Cleaned("debug: true", True, "scope-end")
    assert clean("}", ctx, final=True) == Cleaned("", True, "scope-end")


def test_closer_after_content_on_a_later_line_keeps_the_content() -> None:
    ctx = ctx_at(GO_FUNC + "\tx := []int{\n\t\t0,\n\t\t<C>\n}\n")
    assert clean("1,\n\t\t2}\n", ctx, final=True) == Cleaned("1,\n\t\t2", True, "scope-end")
    # right after the opening line the bracket closes that block, which the buffer lacks
    ctx2 = ctx_at(GO_FUNC + "\tx := []int{\n\t\t<C>\n")
    assert clean("1,\n\t\t2}\n", ctx2, final=True) == Cleaned("1,\n\t\t2}", True, "block-end")


def test_multiline_arguments_inside_existing_parens() -> None:
    ctx = ctx_at("result = compute(<C>)\n", language="python")
    raw = "\n    alpha,\n    beta,\n)\nprint(result)\n"
    assert clean(raw, ctx, final=True) == Cleaned("\n    alpha,\n    beta,", True, "scope-end")


def test_brackets_in_strings_and_comments_are_ignored() -> None:
    ctx = ctx_at(GO_FUNC + "\t<C>\n}\n")
    raw = "fmt.Println(\"}\")\n\t// } done\n\tr := '}'\n\ts := `)`\n\tuse(r, s)\n}\n"
    got = clean(raw, ctx, final=True)
    assert got.text == "fmt.Println(\"}\")\n\t// } done\n\tr := '}'\n\ts := `)`\n\tuse(r, s)"
    assert got.reason == "scope-end"


def test_python_hash_comment_and_floor_division() -> None:
    ctx = ctx_at("def f(n):\n    <C>\n", language="python")
    raw = "half = n // 2  # ) ]\n    return (half,\n            n)\n"
    assert (
        clean(raw, ctx, final=True).text
        == "half = n // 2  # ) ]\n    return (half,\n            n)"
    )


def test_no_language_uses_slash_comments_only() -> None:
    ctx = ctx_at("{\n  <C>\n", language=None, indent=SPACES2)
    assert clean("a # )\n  b // )\n}", ctx, final=True).text == "a #"


def test_python_dedent_below_cursor_line_stops() -> None:
    ctx = ctx_at(
        "class Shape:\n    def area(self):\n        return 0\n\n    <C>\n",
        language="python",
    )
    raw = "def name(self):\n        return 'shape'\n\n\nclass Circle(Shape):\n    pass\n"
    got = clean(raw, ctx, final=True)
    assert got.text == "def name(self):\n        return 'shape'"
    assert got.complete


def test_python_dedent_completes_before_the_line_ends() -> None:
    ctx = ctx_at("class A:\n    <C>\n", language="python")
    raw = "x = 1\n    y = 2\nprint(A)\n"
    assert first_complete(raw, ctx) == raw.index("print") + 1


def test_python_block_opened_on_previous_line_ends_at_dedent() -> None:
    ctx = ctx_at("def f(x):\n    <C>\n", language="python")
    raw = "y = x * 2\n    return y\n\ndef g():\n    pass\n"
    assert clean(raw, ctx, final=True) == Cleaned("y = x * 2\n    return y", True, "block-end")


def test_lua_dedented_end_of_enclosing_function_is_cut() -> None:
    ctx = ctx_at("local function f(x)\n  <C>\nend\n", language="lua", indent=SPACES2)
    got = clean("print(x)\n  return x\nend\n\nreturn f\n", ctx, final=True)
    assert got == Cleaned("print(x)\n  return x", True, "scope-end")


def test_block_opened_on_previous_line_without_closer_in_buffer() -> None:
    ctx = ctx_at(GO_FUNC + "\tif err != nil {\n\t\t<C>\n")
    assert clean("return err\n\t}\n\treturn nil\n", ctx, final=True) == Cleaned(
        "return err\n\t}", True, "block-end"
    )


def test_block_opened_on_previous_line_with_closer_in_buffer() -> None:
    ctx = ctx_at(GO_FUNC + "\tif err != nil {\n\t\t<C>\n\t}\n\treturn nil\n}\n")
    assert clean("return err\n\t}\n\treturn nil\n", ctx, final=True) == Cleaned(
        "return err", True, "scope-end"
    )


# --------------------------------------------------------------------------------------------
# 4. repeats


@pytest.mark.parametrize("raw", ["user.Name)", "user", "user.Name)\n"])
def test_repeats_suffix(raw: str) -> None:
    ctx = ctx_at(GO_FUNC + '\tfmt.Printf("%s", <C>user.Name)\n}\n', multiline=False)
    assert clean(raw, ctx, final=True) == Cleaned("", True, "repeats-suffix")


def test_repeats_suffix_is_pending_while_streaming() -> None:
    ctx = ctx_at(GO_FUNC + '\tfmt.Printf("%s", <C>user.Name)\n}\n', multiline=False)
    assert clean("user", ctx, final=False) == Cleaned("", False, "pending")
    # diverging from the suffix shows the text
    assert clean("users[0]", ctx, final=False).text == "users[0]"


@pytest.mark.parametrize(
    ("buffer", "raw", "expected"),
    [
        (GO_FUNC + "\tx := compute(a, <C>)\n}\n", "b)", "b"),
        (GO_FUNC + "\tx := compute(a, <C>)\n}\n", "b))", "b)"),
        (GO_FUNC + "\tx := compute(a, <C>)\n}\n", "other(b))", "other(b)"),
        (GO_FUNC + "\tx := compute(a, <C>);\n}\n", "b);", "b"),
        ('name = "<C>"\n', 'world"', "world"),
    ],
)
def test_trailing_overlap_with_line_suffix_removed(buffer: str, raw: str, expected: str) -> None:
    language = "python" if buffer.startswith("name") else "go"
    ctx = ctx_at(buffer, language=language, multiline=False)
    assert clean(raw, ctx, final=True) == Cleaned(expected, True, "suffix-overlap")


def test_overlap_keeps_balanced_call() -> None:
    ctx = ctx_at(GO_FUNC + "\tx := compute(a, <C>)\n}\n", multiline=False)
    assert clean("other(b)", ctx, final=True) == Cleaned("other(b)", True, "ok")


def test_overlap_is_held_back_while_streaming_and_settled_at_the_end() -> None:
    ctx = ctx_at(GO_FUNC + "\tx := compute(a, <C>)\n}\n", multiline=False)
    assert clean("other(b)", ctx, final=False) == Cleaned("other(b", False, "ok")
    assert clean("b)", ctx, final=False) == Cleaned("b", False, "ok")
    assert clean("b) + 1", ctx, final=False).text == "b) + 1"


def test_overlap_not_applied_to_multiline_suggestions() -> None:
    ctx = ctx_at("items = [<C>]\n", language="python")
    got = clean("\n    1,\n    2,\n]", ctx, final=True)
    assert got == Cleaned("\n    1,\n    2,", True, "scope-end")


@pytest.mark.parametrize("multiline", [True, False])
def test_repeats_next_line(multiline: bool) -> None:
    ctx = ctx_at(GO_FUNC + "\t<C>\n\n\treturn nil\n}\n", multiline=multiline)
    assert clean("return nil\n", ctx, final=True) == Cleaned("", True, "repeats-next-line")
    ctx2 = ctx_at(GO_FUNC + "\treturn <C>\n\treturn nil\n}\n", multiline=multiline)
    assert clean("nil", ctx2, final=True) == Cleaned("", True, "repeats-next-line")


def test_repeats_next_line_multiline_suggestion_dropped_when_first_line_repeats() -> None:
    ctx = ctx_at(GO_FUNC + "\t<C>\n\treturn nil\n}\n")
    assert clean("return nil\n}\n", ctx, final=False) == Cleaned("", True, "repeats-next-line")


def test_repeats_next_line_ignores_trivial_lines() -> None:
    ctx = ctx_at("function f() {\n  g();\n  <C>\n}\n", language="javascript", multiline=False)
    assert clean("}", ctx, final=True) == Cleaned("}", True, "ok")


def test_repeats_next_line_pending_while_a_prefix_of_it() -> None:
    ctx = ctx_at(GO_FUNC + "\t<C>\n\treturn nil\n}\n", multiline=False)
    assert clean("return n", ctx, final=False) == Cleaned("", False, "pending")
    assert clean("return n", ctx, final=True) == Cleaned("return n", True, "ok")
    assert clean("return err", ctx, final=False).text == "return err"


def test_repeats_following_lines() -> None:
    ctx = ctx_at(GO_FUNC + "\t<C>\n\ty := scale(x)\n\treturn y\n}\n")
    raw = "x := load()\n\ty := scale(x)\n\treturn y\n}\n"
    assert clean(raw, ctx, final=True) == Cleaned("x := load()", True, "repeats-following-lines")
    # two repeated lines are enough to stop the generation
    assert clean(raw[: raw.index("return y\n") + 9], ctx, final=False) == Cleaned(
        "x := load()", True, "repeats-following-lines"
    )


def test_repeats_following_lines_single_match_at_end() -> None:
    ctx = ctx_at(GO_FUNC + "\t<C>\n\n\ty := scale(x)\n\tuse(y)\n}\n")
    raw = "x := load()\n\ty := scale(x)"
    assert clean(raw, ctx, final=True) == Cleaned("x := load()", True, "repeats-following-lines")
    # while streaming the cut is tentative; output that diverges brings the lines back
    assert clean(raw + "\n", ctx, final=False) == Cleaned(
        "x := load()", False, "repeats-following-lines"
    )
    assert clean(raw + "\n\tlog(y)\n", ctx, final=False).text == (
        "x := load()\n\ty := scale(x)\n\tlog(y)"
    )


def test_repeats_following_lines_everything_repeated() -> None:
    ctx = ctx_at("if ok:<C>\n    run()\n    stop()\n", language="python", multiline=False)
    assert clean("\n    run()\n    stop()\n", ctx, final=True) == Cleaned(
        "", True, "repeats-following-lines"
    )


def test_closing_brace_equal_to_next_line_is_not_a_repeat() -> None:
    ctx = ctx_at("function f(xs) {\n  <C>\n}\n", language="javascript", indent=SPACES2)
    raw = "for (const x of xs) {\n    use(x);\n  }\n"
    assert clean(raw, ctx, final=True).text == "for (const x of xs) {\n    use(x);\n  }"


# --------------------------------------------------------------------------------------------
# 5. indentation


def test_spaces_to_tabs_for_tab_buffer() -> None:
    ctx = ctx_at(GO_FUNC + "\tfor _, x := range xs {<C>\n}\n", multiline=False)
    raw = "\n        if x > 0 {\n            total += x\n        }\n    }\n"
    got = clean(raw, ctx, final=True)
    assert got.text == "\n\t\tif x > 0 {\n\t\t\ttotal += x\n\t\t}\n\t}"


def test_spaces_to_tabs_keeps_alignment_remainder_and_inner_spaces() -> None:
    ctx = ctx_at(GO_FUNC + "\t<C>\n}\n")
    got = clean("call(a,\n\t      b,    c)\n", ctx, final=True)
    assert got.text == "call(a,\n\t\t  b,    c)"


def test_tabs_to_spaces_for_space_buffer() -> None:
    ctx = ctx_at("def f(xs):\n    <C>\n", language="python")
    got = clean("total = 0\n\tfor x in xs:\n\t\ttotal += x\t# sum\n", ctx, final=True)
    assert got.text == "total = 0\n    for x in xs:\n        total += x\t# sum"


def test_first_line_indentation_untouched() -> None:
    ctx = ctx_at("def f():\n<C>\n", language="python")
    assert clean("\treturn 1", ctx, final=True).text == "\treturn 1"


# --------------------------------------------------------------------------------------------
# 6. special tokens


@pytest.mark.parametrize("token", SPECIAL_TOKENS)
def test_special_tokens_cut(token: str) -> None:
    ctx = ctx_at("x = <C>\n", language="python")
    for final in (False, True):
        got = clean("compute(1)" + token + "garbage\nmore", ctx, final=final)
        assert got == Cleaned("compute(1)", True, "special-token")


def test_special_token_alone_is_blank_and_complete() -> None:
    ctx = ctx_at("x = <C>\n", language="python")
    assert clean("<|endoftext|>", ctx, final=False) == Cleaned("", True, "blank")


def test_partial_special_token_held_back_while_streaming() -> None:
    ctx = ctx_at("x = <C>\n", language="python", multiline=False)
    assert clean("compute(1)<|endo", ctx, final=False) == Cleaned("compute(1)", False, "ok")
    assert clean("a <", ctx, final=False).text == "a"
    assert clean("a <", ctx, final=True).text == "a <"
    assert clean("a < b", ctx, final=False).text == "a < b"


def test_earliest_special_token_wins() -> None:
    ctx = ctx_at("x = <C>\n", language="python")
    assert clean("a</s>b<|endoftext|>c", ctx, final=True).text == "a"
    assert clean("a<|endoftext|>b</s>c", ctx, final=True).text == "a"


# --------------------------------------------------------------------------------------------
# strip_typed


def test_strip_typed() -> None:
    assert strip_typed("Println(x)", "Pri") == "ntln(x)"
    assert strip_typed("Println(x)", "") == "Println(x)"
    assert strip_typed("Println(x)", "Println(x)") == ""
    assert strip_typed("Println(x)", "Pra") is None
    assert strip_typed("ab", "abc") is None


# --------------------------------------------------------------------------------------------
# streaming


STREAM_CASES: list[tuple[str, FimContext, str, str, int | None]] = [
    # (name, context, raw, final text, raw length at which `complete` must first be True)
    (
        "go-if-err-block",
        ctx_at(GO_FUNC + "\tif err != nil {<C>\n\treturn nil\n}\n", multiline=False),
        "\n\t\treturn err\n\t}\n\treturn nil\n}\n",
        "\n\t\treturn err\n\t}",
        len("\n\t\treturn err\n\t}\n"),
    ),
    (
        "go-if-err-closed",
        ctx_at(GO_FUNC + "\tif err != nil {<C>\n\t}\n}\n", multiline=False),
        "\n\t\treturn err\n\t}\n\treturn nil\n}\n",
        "\n\t\treturn err",
        len("\n\t\treturn err\n\t}"),
    ),
    (
        "go-single-line",
        ctx_at(GO_FUNC + "\tx := compute(<C>\n}\n", multiline=False),
        "a, b)\n\tuse(x)\n",
        "a, b)",
        len("a, b)\n"),
    ),
    (
        "go-overlap",
        ctx_at(GO_FUNC + "\tx := compute(a, <C>)\n}\n", multiline=False),
        "other(b), c)",
        "other(b), c",
        None,
    ),
    (
        "go-enclosing-brace",
        ctx_at(GO_FUNC + "\tlog.Print(err)\n\t<C>\n}\n"),
        'if x > 0 {\n\t\tlog.Print("pos")\n\t}\n\treturn nil\n}\n\nfunc y() {}\n',
        'if x > 0 {\n\t\tlog.Print("pos")\n\t}',
        len('if x > 0 {\n\t\tlog.Print("pos")\n\t}\n'),
    ),
    (
        "python-def",
        ctx_at("def mean(xs):<C>\n", language="python", multiline=False),
        "\n    total = sum(xs)\n    return total / len(xs)\n\n\ndef median(xs):\n",
        "\n    total = sum(xs)\n    return total / len(xs)",
        len("\n    total = sum(xs)\n    return total / len(xs)\n\n\nd"),
    ),
    (
        "python-body",
        ctx_at("class A:\n    def f(self):\n        <C>\n", language="python"),
        "x = self.g(\n            1,\n        )\n        return x\n\n    def g(self, n):\n",
        "x = self.g(\n            1,\n        )",
        len("x = self.g(\n            1,\n        )\n"),
    ),
    (
        "lua-then",
        ctx_at(
            "local function f(x)\n  if x then<C>\n  return 0\nend\n",
            language="lua",
            multiline=False,
            indent=SPACES2,
        ),
        "\n    print(x)\n  end\n  return 0\nend\n",
        "\n    print(x)\n  end",
        len("\n    print(x)\n  end\n"),
    ),
    (
        "lua-body",
        ctx_at("function M.setup(opts)\n  <C>\nend\n", language="lua", indent=SPACES2),
        "opts = opts or {}\n  M.opts = opts\nend\n",
        "opts = opts or {}\n  M.opts = opts",
        len("opts = opts or {}\n  M.opts = opts\ne"),
    ),
    (
        # the dedented line gets a closing bracket only later: the decision must not change
        "lua-dedent-then-bracket",
        ctx_at(
            "for name, action in pairs(ACTIONS) do\n  map(action.plug, function()\n      <C>\n",
            language="lua",
            indent=SPACES2,
        ),
        "act(name)\n    end, 'desc ' .. descs[name])\n  end\nend\n",
        "act(name)",
        len("act(name)\n    e"),
    ),
    (
        "js-callback",
        ctx_at(
            "app.get('/', (req, res) => {<C>\n",
            language="javascript",
            multiline=False,
            indent=SPACES2,
        ),
        "\n  res.send('hi');\n});\n\napp.listen(3000);\n",
        "\n  res.send('hi');\n});",
        len("\n  res.send('hi');\n});\n"),
    ),
    (
        "js-object-scope",
        ctx_at("const cfg = {\n  name: 'x',\n  <C>\n};\n", language="javascript", indent=SPACES2),
        "debug: true,\n  level: 3,\n};\n",
        "debug: true,\n  level: 3,",
        len("debug: true,\n  level: 3,\n}"),
    ),
    (
        "repeat-next-line",
        ctx_at(GO_FUNC + "\t<C>\n\treturn nil\n}\n", multiline=False),
        "return nil\n",
        "",
        len("return nil\n"),
    ),
    (
        "repeat-following",
        ctx_at(GO_FUNC + "\t<C>\n\ty := scale(x)\n\treturn y\n}\n"),
        "x := load()\n\ty := scale(x)\n\treturn y\n}\n",
        "x := load()",
        len("x := load()\n\ty := scale(x)\n\treturn y\n"),
    ),
    (
        "special-token",
        ctx_at("x = <C>\n", language="python"),
        "compute(1, 2)<|endoftext|>junk",
        "compute(1, 2)",
        len("compute(1, 2)<|endoftext|>"),
    ),
    (
        "crlf",
        ctx_at("def f():<C>\n", language="python", multiline=False),
        "\r\n    a = 1  \r\n    return a\r\n\r\nprint(f())\r\n",
        "\n    a = 1\n    return a",
        len("\r\n    a = 1  \r\n    return a\r\n\r\np"),
    ),
]


@pytest.mark.parametrize(
    ("ctx", "raw", "expected", "complete_at"),
    [case[1:] for case in STREAM_CASES],
    ids=[case[0] for case in STREAM_CASES],
)
@pytest.mark.parametrize("step", [1, 3])
def test_streaming_is_monotone(
    ctx: FimContext, raw: str, expected: str, complete_at: int | None, step: int
) -> None:
    results = run_stream(raw, ctx, step=step)
    assert results[-1].text == expected
    assert results[-1].complete
    for a, b in itertools.pairwise(results):
        assert b.text.startswith(a.text), (a, b)
        if a.complete:  # once complete, nothing changes any more
            assert b.text == a.text, (a, b)


@pytest.mark.parametrize(
    ("ctx", "raw", "expected", "complete_at"),
    [case[1:] for case in STREAM_CASES],
    ids=[case[0] for case in STREAM_CASES],
)
def test_streaming_completes_as_soon_as_it_should(
    ctx: FimContext, raw: str, expected: str, complete_at: int | None
) -> None:
    assert first_complete(raw, ctx) == complete_at


def test_streaming_hides_partial_later_lines() -> None:
    ctx = ctx_at("def f():\n    <C>\n", language="python")
    assert clean("a = 1\n    b =", ctx, final=False).text == "a = 1"
    assert clean("a = 1\n    b = 2\n   ", ctx, final=False).text == "a = 1\n    b = 2"
    assert clean("a = 1\n    b = 2\n\n", ctx, final=False).text == "a = 1\n    b = 2"
    # the first line is shown while it grows
    assert clean("a = som", ctx, final=False).text == "a = som"


# --------------------------------------------------------------------------------------------
# properties

LANGUAGES = [None, "go", "python", "lua", "javascript", "bash", "rust"]
CODE_ALPHABET = st.sampled_from(
    [*"abcxyz019 _.,;:=+-*/\\#'\"`()[]{}<>|\t\n\r\0", "\r\n", "then", "do", "end", "    "]
)
raw_text = st.lists(
    st.one_of(CODE_ALPHABET, st.sampled_from(SPECIAL_TOKENS), st.text(max_size=3)), max_size=60
).map("".join)
line_text = st.lists(CODE_ALPHABET.filter(lambda s: "\n" not in s), max_size=12).map("".join)


@st.composite
def contexts(draw: st.DrawFn) -> FimContext:
    prefix_lines = draw(st.lists(line_text, max_size=4))
    next_lines = draw(st.lists(line_text, max_size=4))
    return FimContext(
        filename="f",
        language=draw(st.sampled_from(LANGUAGES)),
        header="",
        prefix="".join(line + "\n" for line in prefix_lines),
        middle=draw(line_text),
        line_suffix=draw(line_text),
        suffix="".join(line + "\n" for line in next_lines),
        multiline=draw(st.booleans()),
        indent=IndentStyle(
            use_tabs=draw(st.booleans()),
            width=draw(st.integers(0, 8)),
            tabstop=draw(st.integers(0, 8)),
        ),
        next_lines=tuple(next_lines) if draw(st.booleans()) else (),
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=raw_text, ctx=contexts(), final=st.booleans(), max_lines=st.integers(0, 6))
def test_clean_never_fails_and_respects_invariants(
    raw: str, ctx: FimContext, final: bool, max_lines: int
) -> None:
    got = clean(raw, ctx, final=final, max_lines=max_lines)
    assert isinstance(got, Cleaned)
    assert "\r" not in got.text
    assert "\0" not in got.text
    assert got.text.count("\n") + 1 <= max(1, max_lines)
    assert not any(tok in got.text for tok in SPECIAL_TOKENS)
    assert got.text == got.text.rstrip()
    if got.text == "":
        assert got.reason != "ok"
    if final:
        assert got.complete


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=raw_text, ctx=contexts(), data=st.data())
def test_complete_partial_result_is_final(raw: str, ctx: FimContext, data: st.DataObject) -> None:
    """Once a partial result says complete, more output and the final call do not change it."""
    cut = data.draw(st.integers(0, len(raw)))
    partial = clean(raw[:cut], ctx, final=False)
    if partial.complete:
        assert clean(raw, ctx, final=True).text == partial.text
        assert clean(raw, ctx, final=False).text == partial.text
