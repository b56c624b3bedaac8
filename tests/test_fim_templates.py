"""FIM prompt templates: the text each model family expects, and picking the family."""

from __future__ import annotations

import re

import pytest

from localllm.fim_templates import TEMPLATES, template_for
from localllm.types import FimContext, IndentStyle


def ctx(**kw: object) -> FimContext:
    base: dict[str, object] = dict(
        filename="pkg/main.go",
        language="go",
        header="",
        prefix="func f() {\n",
        middle="\treturn ",
        line_suffix="",
        suffix="}\n",
        multiline=False,
        indent=IndentStyle(use_tabs=True),
    )
    base.update(kw)
    return FimContext(**base)  # type: ignore[arg-type]


def test_qwen_repo_level_form_with_the_typed_line_after_the_middle_marker() -> None:
    prompt = TEMPLATES["qwen"].render(ctx(), [("pkg/util.go", "package pkg\n")], repo="app")
    assert prompt == (
        "<|repo_name|>app\n"
        "<|file_sep|>pkg/util.go\npackage pkg\n"
        "<|file_sep|>pkg/main.go\n"
        "<|fim_prefix|>func f() {\n<|fim_suffix|>\n}\n<|fim_middle|>\treturn "
    )


def test_codellama_spaces_and_codestral_suffix_first() -> None:
    c = ctx(line_suffix=")", suffix="")
    assert TEMPLATES["codellama"].render(c) == "<PRE> func f() {\n <SUF>)\n <MID>\treturn "
    assert TEMPLATES["codestral"].render(c) == "[SUFFIX])\n[PREFIX] func f() {\n\treturn "


def test_header_goes_before_the_prefix_and_empty_suffix_stays_empty() -> None:
    c = ctx(header="package main\n", suffix="", line_suffix="")
    assert TEMPLATES["starcoder"].render(c) == (
        "<file_sep>pkg/main.go\n"
        "<fim_prefix>package main\nfunc f() {\n<fim_suffix><fim_middle>\treturn "
    )


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("qwen2.5-coder:1.5b-base", "qwen"),
        ("Qwen/Qwen2.5-Coder-7B-GGUF", "qwen"),
        ("codeqwen:7b-code", "starcoder"),
        ("codellama:7b-code", "codellama"),
        ("deepseek-coder-v2:16b", "deepseek"),
        ("starcoder2:3b", "starcoder"),
        ("granite-code:8b", "starcoder"),
        ("granite4:tiny", "granite"),
        ("codestral:22b", "codestral"),
        ("codegemma:2b-code", "codegemma"),
    ],
)
def test_family_from_the_model_name(model: str, family: str) -> None:
    template = template_for(model)
    assert template is not None and template.name == family


def test_unknown_model_and_override() -> None:
    assert template_for("llama3.2:3b") is None
    assert template_for("llama3.2:3b", "qwen") is TEMPLATES["qwen"]
    assert template_for("qwen2.5-coder", "nope") is None


def test_every_family_stops_on_its_own_markers() -> None:
    for template in TEMPLATES.values():
        for marker in (template.prefix.strip(), template.suffix.strip()):
            assert marker in template.stop, (template.name, marker)


FIM_MARKERS = sorted(
    {m for t in TEMPLATES.values() for m in (t.prefix, t.suffix, t.middle, *t.stop) if m.strip()}
    | {t.repo_name for t in TEMPLATES.values() if t.repo_name}
    | {t.file_sep for t in TEMPLATES.values() if t.file_sep}
)
CHAT_MARKERS = [
    "<|im_start|>system",
    "<|im_end|>",
    "<start_of_turn>user",
    "<end_of_turn>",
    "<|start_header_id|>system<|end_header_id|>",
    "<|eot_id|>",
    "<|begin_of_text|>",
    "[INST]",
    "[/INST]",
    "<s>",
    "</s>",
    "<|user|>",
    "<|assistant|>",
    "<|end|>",
    "<|system|>",
    "<｜User｜>",
    "<｜Assistant｜>",
]


@pytest.mark.parametrize("family", sorted(TEMPLATES))
@pytest.mark.parametrize("marker", [m.strip() for m in FIM_MARKERS] + CHAT_MARKERS)
def test_buffer_markers_never_read_as_ours(family: str, marker: str) -> None:
    # The user's code holding a control marker must not add one to the prompt: only the
    # template's own markers appear, each as often as in the same prompt without the marker.
    template = TEMPLATES[family]
    clean = ctx(prefix="x = 1\n", line_suffix="y", middle="z", extra=[("a.py", "q\n")])
    dirty = ctx(
        prefix=f"x = '{marker}'\n",
        line_suffix=f"y{marker}",
        suffix=f"w{marker}\n",
        middle=f"z{marker}",
        extra=[(f"a{marker}.py", f"q {marker}\n")],
        filename=f"main{marker}.py",
    )
    plain = template.render(clean, clean.extra)
    rendered = template.render(dirty, dirty.extra)
    chat = {m for c in CHAT_MARKERS for m in re.findall(r"<[^<>]+>|\[/?\w+\]", c)}
    for ours in {*FIM_MARKERS, *chat}:
        ours = ours.strip()
        if ours:
            assert rendered.count(ours) == plain.count(ours), (ours, rendered)
    # Faithful otherwise: only zero-width spaces were added.
    assert marker in rendered.replace("\u200b", "")
