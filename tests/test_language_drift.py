"""Behaviour that changed when per-language knowledge moved into `localllm.languages`: the
copies the modules had disagreed, and these pin the answer the registry gives."""

from __future__ import annotations

from localllm.explain_prompt import enclosing_function
from localllm.prompt import chunk_blocks, comment_leader
from localllm.types import FimContext, IndentStyle


def test_explain_takes_the_named_lua_function_around_an_anonymous_callback() -> None:
    # Lua's anonymous `function() … end` is a function_definition, a node kind that is named in
    # Python, C and Bash: it used to count as named, and the callback hid the function.
    src = "function M.setup(opts)\n  vim.schedule(function()\n    print(opts)\n  end)\nend\n"
    assert enclosing_function(src, 2, "lua") == (0, 4, "M.setup")
    top = "local f = function(x)\n  return x\nend\n"
    assert enclosing_function(top, 1, "lua") == (0, 2, "")


def test_every_language_heads_chunks_with_its_own_comment_marker() -> None:
    assert comment_leader("bash") == "#"
    assert comment_leader("lua") == "--"
    assert comment_leader("tsx") == "//"
    assert comment_leader("cobol") == ""
    ctx = FimContext(
        filename="main.sh",
        language="bash",
        header="",
        prefix="",
        middle="",
        line_suffix="",
        suffix="",
        multiline=False,
        indent=IndentStyle(),
        extra=(("lib.sh", "f() { :; }"),),
    )
    assert chunk_blocks(ctx) == "# lib.sh\nf() { :; }\n\n"
