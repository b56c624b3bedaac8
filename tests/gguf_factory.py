"""Writes small but real GGUF files for tests, with the reference `gguf` package."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import gguf
import numpy as np

DEFAULT_TOKENS: tuple[str, ...] = ("<unk>", "<s>", "</s>", "def", "▁return", "(", ")", ":")

# Short FIM kind -> the key llama.cpp reads.
FIM_KEYS: Mapping[str, str] = {
    "pre": gguf.Keys.Tokenizer.FIM_PRE_ID,
    "suf": gguf.Keys.Tokenizer.FIM_SUF_ID,
    "mid": gguf.Keys.Tokenizer.FIM_MID_ID,
    "pad": gguf.Keys.Tokenizer.FIM_PAD_ID,
    "rep": gguf.Keys.Tokenizer.FIM_REP_ID,
    "sep": gguf.Keys.Tokenizer.FIM_SEP_ID,
}

FIM_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
    "def",
    "Ġreturn",
)
"""A Qwen2.5-Coder-like vocabulary: FIM tokens recognisable by their texts."""


def write_gguf(
    path: str | os.PathLike[str],
    *,
    tokens: Sequence[str] | None = DEFAULT_TOKENS,
    fim_ids: Mapping[str, int] | None = None,
    arch: str = "llama",
    name: str | None = "Test Model",
    file_type: int | None = int(gguf.LlamaFileType.MOSTLY_Q8_0),
    chat_template: str | None = None,
    context_length: int | None = 4096,
    pad_to_bytes: int = 0,
    extra: Mapping[str, object] | None = None,
) -> Path:
    """Write a GGUF v3 file with one tiny tensor and return its path.

    `fim_ids` maps "pre"/"suf"/"mid"/"pad"/"rep"/"sep" (or full key names, e.g. the deprecated
    "tokenizer.ggml.prefix_token_id") to uint32 token ids. `pad_to_bytes` adds a zero tensor
    so that the file is at least that big. `extra` adds more keys: bool, int (uint32),
    float (float32), str, or a list of those (array).
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(out, arch)
    if name is not None:
        w.add_name(name)
    if file_type is not None:
        w.add_file_type(file_type)
    if context_length is not None:
        w.add_context_length(context_length)
    if tokens is not None:
        w.add_tokenizer_model("gpt2")
        w.add_token_list(list(tokens))
    for kind, token_id in (fim_ids or {}).items():
        w.add_uint32(FIM_KEYS.get(kind, kind), token_id)
    if chat_template is not None:
        w.add_chat_template(chat_template)
    for key, value in (extra or {}).items():
        if isinstance(value, bool):
            w.add_bool(key, value)
        elif isinstance(value, int):
            w.add_uint32(key, value)
        elif isinstance(value, float):
            w.add_float32(key, value)
        elif isinstance(value, str):
            w.add_string(key, value)
        elif isinstance(value, list):
            w.add_array(key, value)
        else:
            raise TypeError(f"unsupported extra value for {key}: {value!r}")
    w.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    if pad_to_bytes > 0:
        w.add_tensor("padding", np.zeros(pad_to_bytes, dtype=np.int8))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out
