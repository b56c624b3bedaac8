"""FIM prompt templates per model family, for backends that take a prompt string.

llama-server's /infill and the embedded backend insert the model's own FIM tokens; Ollama in raw
mode and OpenAI-compatible servers need the text form built here. One table: each family has its
markers, its order (prefix-suffix-middle or suffix first), optional repository-level separators
and the stop strings that end a suggestion. Picked from the model name or GGUF metadata, or named
in the config. Pure: no I/O.

As in the embedded backend, the typed part of the current line goes after the middle marker, so
a server's prompt cache keeps everything before it while the user types on one line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .types import FimContext

__all__ = ["TEMPLATES", "FimTemplate", "defuse_markers", "template_for"]

# Control-token text that tokenizers turn into special tokens: `<|...|>` (Qwen, ChatML, Llama 3,
# Phi, Granite, Gemma FIM), DeepSeek's fullwidth `<｜...｜>`, angle-bracket names (StarCoder,
# CodeLlama, Gemma turns, `<s>`) and Mistral/Codestral square-bracket markers.
_MARKER = re.compile(
    r"<\|[^\s|<>]{1,48}\|>"
    r"|<｜[^\s｜<>]{1,48}｜>"
    r"|</?(?:fim_\w+|file_sep|repo_name|gh_stars|filename|PRE|SUF|MID|EOT|s|eos|bos|pad|unk"
    r"|start_of_turn|end_of_turn|start_of_image|end_of_image|mask|empty_output|jupyter_\w+)>"
    r"|\[/?(?:INST|PREFIX|SUFFIX|MIDDLE|SYSTEM_PROMPT|AVAILABLE_TOOLS|TOOL_CALLS|TOOL_RESULTS"
    r"|TOOL_CONTENT|IMG|THINK)\]"
)
_ZWSP = "\u200b"


def defuse_markers(text: str) -> str:
    """Buffer text with every control-token-like marker broken by a zero-width space after its
    first character, so a server that tokenizes with special parsing sees plain text, not a new
    FIM part or chat turn. Applied to buffer-derived text only, never to our own markers."""
    if "<" not in text and "[" not in text:
        return text
    return _MARKER.sub(lambda m: m.group(0)[0] + _ZWSP + m.group(0)[1:], text)


@dataclass(frozen=True, slots=True)
class FimTemplate:
    name: str
    prefix: str
    suffix: str
    middle: str
    stop: tuple[str, ...]
    suffix_first: bool = False
    # Repository-level form: `repo_name` header once, then `file_sep` + path before the file.
    repo_name: str | None = None
    file_sep: str | None = None
    # Text put right after the prefix / suffix markers (CodeLlama and Codestral want a space).
    after_prefix: str = ""
    after_suffix: str = ""

    def render(
        self,
        ctx: FimContext,
        extra: Sequence[tuple[str, str]] = (),
        *,
        repo: str = "",
    ) -> str:
        """The prompt for `ctx`; `extra` is (path, text) chunks of other files, oldest first."""
        head = self._files_header(ctx, extra, repo)
        before = defuse_markers(ctx.header + ctx.prefix)
        after = defuse_markers(ctx.after_cursor)
        middle = defuse_markers(ctx.middle)
        if self.suffix_first:
            return (
                f"{head}{self.suffix}{self.after_suffix}{after}"
                f"{self.prefix}{self.after_prefix}{before}{middle}"
            )
        return (
            f"{head}{self.prefix}{self.after_prefix}{before}"
            f"{self.suffix}{self.after_suffix}{after}{self.middle}{middle}"
        )

    def _files_header(self, ctx: FimContext, extra: Sequence[tuple[str, str]], repo: str) -> str:
        extra = [(defuse_markers(path), defuse_markers(text)) for path, text in extra]
        if self.file_sep is None:
            return "".join(f"// {path}\n{text.rstrip()}\n\n" for path, text in extra)
        repo = defuse_markers(repo)
        parts = [f"{self.repo_name}{repo or 'project'}\n"] if self.repo_name else []
        for path, text in extra:
            parts.append(f"{self.file_sep}{path}\n{text.rstrip()}\n")
        parts.append(f"{self.file_sep}{defuse_markers(ctx.filename)}\n")
        return "".join(parts)


_QWEN_STOPS = (
    "<|endoftext|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
    "<|im_start|>",
    "<|im_end|>",
)

TEMPLATES: dict[str, FimTemplate] = {
    t.name: t
    for t in (
        FimTemplate(
            "qwen",
            "<|fim_prefix|>",
            "<|fim_suffix|>",
            "<|fim_middle|>",
            _QWEN_STOPS,
            repo_name="<|repo_name|>",
            file_sep="<|file_sep|>",
        ),
        FimTemplate(
            "codellama",
            "<PRE>",
            " <SUF>",
            " <MID>",
            ("<EOT>", "<PRE>", "<SUF>", "<MID>"),
            after_prefix=" ",
            after_suffix="",
        ),
        FimTemplate(
            "deepseek",
            "<｜fim▁begin｜>",
            "<｜fim▁hole｜>",
            "<｜fim▁end｜>",
            (
                "<｜end▁of▁sentence｜>",
                "<｜fim▁begin｜>",
                "<｜fim▁hole｜>",
                "<｜fim▁end｜>",
                "<|EOT|>",
            ),
        ),
        FimTemplate(
            "starcoder",
            "<fim_prefix>",
            "<fim_suffix>",
            "<fim_middle>",
            ("<|endoftext|>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<file_sep>"),
            file_sep="<file_sep>",
        ),
        FimTemplate(
            "codestral",
            "[PREFIX]",
            "[SUFFIX]",
            "",
            ("[PREFIX]", "[SUFFIX]", "</s>"),
            suffix_first=True,
            after_prefix=" ",
        ),
        FimTemplate(
            "codegemma",
            "<|fim_prefix|>",
            "<|fim_suffix|>",
            "<|fim_middle|>",
            (
                "<|fim_prefix|>",
                "<|fim_suffix|>",
                "<|fim_middle|>",
                "<|file_separator|>",
                "<end_of_turn>",
                "<eos>",
            ),
            file_sep="<|file_separator|>",
        ),
        FimTemplate(
            "granite",
            "<|fim_prefix|>",
            "<|fim_suffix|>",
            "<|fim_middle|>",
            (
                "<|end_of_text|>",
                "<|fim_prefix|>",
                "<|fim_middle|>",
                "<|fim_suffix|>",
                "<|fim_pad|>",
            ),
        ),
    )
}

# Model-name patterns, most specific first (CodeQwen 1.5 uses StarCoder markers; Granite Code
# 3B-34B too, Granite 4 its own).
_NAME_RULES: tuple[tuple[str, str], ...] = (
    (r"codeqwen", "starcoder"),
    (r"qwen", "qwen"),
    (r"codestral|mistral", "codestral"),
    (r"deepseek", "deepseek"),
    (r"codellama|code-llama|code_llama", "codellama"),
    (r"codegemma", "codegemma"),
    (r"granite-?4|granite4", "granite"),
    (r"granite|starcoder|santacoder|stable-?code", "starcoder"),
)


def template_for(model_name: str, override: str | None = None) -> FimTemplate | None:
    """The template for a model, by explicit name or by matching the model's name."""
    if override:
        return TEMPLATES.get(override)
    lowered = model_name.lower()
    for pattern, name in _NAME_RULES:
        if re.search(pattern, lowered):
            return TEMPLATES[name]
    return None
