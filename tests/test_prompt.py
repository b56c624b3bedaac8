"""The FIM token layout shared by the embedded backend and llama-server's /completion."""

from __future__ import annotations

import dataclasses

import pytest

from localllm.prompt import PromptTooLong, token_prompt
from localllm.types import FimContext, IndentStyle

FIM = {"pre": -1, "suf": -2, "mid": -3, "sep": -4}
BOS = -9


def tok(text: str) -> list[int]:
    """One token per character: easy to read back."""
    return [ord(c) for c in text]


def text_of(ids: list[int]) -> str:
    names = {-1: "<PRE>", -2: "<SUF>", -3: "<MID>", -4: "<SEP>", -9: "<BOS>"}
    return "".join(names[i] if i < 0 else chr(i) for i in ids)


CTX = FimContext(
    filename="pkg/a.go",
    language="go",
    header="package pkg\n",
    prefix="func f() {\n",
    middle="\tre",
    line_suffix="",
    suffix="}\n",
    multiline=False,
    indent=IndentStyle(use_tabs=True),
    extra=(("pkg/b.go", "type T int\n"), ("pkg/c.go", "const N = 3")),
)


def test_chunks_first_then_the_file_with_the_typed_line_after_the_middle_token() -> None:
    ids = token_prompt(CTX, tok, fim=FIM, bos=BOS, limit=1000)
    assert text_of(ids) == (
        "<BOS><SEP>pkg/b.go\ntype T int\n<SEP>pkg/c.go\nconst N = 3\n<SEP>pkg/a.go\n"
        "<PRE>package pkg\nfunc f() {\n<SUF>\n}\n<MID>\tre"
    )


def test_typing_changes_only_the_end() -> None:
    before = token_prompt(CTX, tok, fim=FIM, bos=None, limit=1000)
    after = token_prompt(
        dataclasses.replace(CTX, middle="\tret"), tok, fim=FIM, bos=None, limit=1000
    )
    assert after[: len(before)] == before and len(after) == len(before) + 1


def test_without_a_file_separator_chunks_become_comment_blocks() -> None:
    fim = {k: v for k, v in FIM.items() if k != "sep"}
    ids = token_prompt(CTX, tok, fim=fim, bos=None, limit=1000)
    assert text_of(ids) == (
        "<PRE>// pkg/b.go\ntype T int\n\n// pkg/c.go\nconst N = 3\n\n"
        "package pkg\nfunc f() {\n<SUF>\n}\n<MID>\tre"
    )


def test_without_fim_tokens_the_prefix_alone() -> None:
    ctx = dataclasses.replace(CTX, extra=(), first_line=32)
    ids = token_prompt(ctx, tok, fim=None, bos=BOS, limit=1000)
    assert text_of(ids) == "<BOS>// pkg/a.go\npackage pkg\nfunc f() {\n\tre"


def test_too_long_drops_the_oldest_chunk_then_the_start_of_the_prefix() -> None:
    full = token_prompt(CTX, tok, fim=FIM, bos=None, limit=1000)
    first_chunk = 1 + len("pkg/b.go\ntype T int\n")  # SEP + its text
    ids = token_prompt(CTX, tok, fim=FIM, bos=None, limit=len(full) - 1)
    assert len(ids) == len(full) - first_chunk
    assert "pkg/b.go" not in text_of(ids) and "pkg/c.go" in text_of(ids)
    no_chunks = dataclasses.replace(CTX, extra=())
    short = token_prompt(no_chunks, tok, fim=FIM, bos=None, limit=30)
    assert len(short) == 30 and text_of(short).endswith("<MID>\tre")
    with pytest.raises(PromptTooLong):
        token_prompt(no_chunks, tok, fim=FIM, bos=None, limit=5)
