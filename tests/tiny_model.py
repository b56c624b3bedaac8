"""Write a tiny deterministic llama GGUF for protocol tests (real llama.cpp, known output).

The network is hand-wired: one-hot embeddings, attention and FFN outputs zeroed (so the residual
stream is the input embedding) and an output matrix that is a bigram table. After any prompt the
greedy continuation is `pieces[0]`, `pieces[1]`, ..., then end-of-text. Each piece is one token,
so the model streams the answer piece by piece. The tokenizer is byte-level BPE (any text
tokenizes) with Qwen-style FIM tokens, which llama.cpp reads from the GGUF metadata.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence

import gguf
import numpy as np

SPECIALS = [
    "<|endoftext|>",
    "<|fim_prefix|>",
    "<|fim_suffix|>",
    "<|fim_middle|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
]


def byte_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-ins for the 256 byte values."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


def write_tiny_model(path: str, pieces: Sequence[str], *, fim: bool = True) -> None:
    if len(set(pieces)) != len(pieces) or not pieces:
        raise ValueError("pieces must be unique and non-empty")
    b2u = byte_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    merges = ["Ġ Ġ"]  # llama.cpp needs at least one merge for a gpt2 tokenizer
    tokens.append("ĠĠ")
    first_special = len(tokens)
    # Without FIM, leave the FIM token texts out too: llama.cpp would find them by name.
    specials = SPECIALS if fim else SPECIALS[:1]
    tokens += specials
    ids = {t: i for i, t in enumerate(tokens)}
    toktypes = [gguf.TokenType.NORMAL] * first_special + [gguf.TokenType.CONTROL] * len(specials)
    piece_ids = []
    for piece in pieces:
        text = "".join(b2u[b] for b in piece.encode("utf-8"))
        if text not in ids:
            ids[text] = len(tokens)
            tokens.append(text)
            toktypes.append(gguf.TokenType.NORMAL)
        piece_ids.append(ids[text])

    n_vocab = len(tokens)
    n_head, n_ff = 4, 64
    n_embd = -(-n_vocab // (n_head * 8)) * n_head * 8  # one-hot needs n_embd >= n_vocab

    w = gguf.GGUFWriter(path, "llama")
    w.add_name("tiny-deterministic")
    w.add_context_length(4096)
    w.add_embedding_length(n_embd)
    w.add_block_count(1)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(n_vocab)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(toktypes)
    w.add_token_merges(merges)
    eot = ids["<|endoftext|>"]
    w.add_bos_token_id(eot)
    w.add_eos_token_id(eot)
    w.add_pad_token_id(eot)
    w.add_add_bos_token(False)
    if fim:
        keys = gguf.Keys.Tokenizer
        w.add_uint32(keys.FIM_PRE_ID, ids["<|fim_prefix|>"])
        w.add_uint32(keys.FIM_SUF_ID, ids["<|fim_suffix|>"])
        w.add_uint32(keys.FIM_MID_ID, ids["<|fim_middle|>"])
        w.add_uint32(keys.FIM_PAD_ID, ids["<|fim_pad|>"])
        w.add_uint32(keys.FIM_REP_ID, ids["<|repo_name|>"])
        w.add_uint32(keys.FIM_SEP_ID, ids["<|file_sep|>"])

    f32 = np.float32
    emb = np.zeros((n_vocab, n_embd), f32)
    emb[np.arange(n_vocab), np.arange(n_vocab)] = 1.0
    following = {i: piece_ids[0] for i in range(n_vocab)}
    for a, b in itertools.pairwise(piece_ids):
        following[a] = b
    following[piece_ids[-1]] = eot
    out = np.zeros((n_vocab, n_embd), f32)
    for a, b in following.items():
        out[b, a] = 10.0
    w.add_tensor("token_embd.weight", emb)
    w.add_tensor("output_norm.weight", np.ones(n_embd, f32))
    w.add_tensor("output.weight", out)
    rng = np.random.default_rng(0)
    p = "blk.0."
    w.add_tensor(p + "attn_norm.weight", np.ones(n_embd, f32))
    for name in ("attn_q", "attn_k", "attn_v"):
        w.add_tensor(p + name + ".weight", rng.normal(0, 0.02, (n_embd, n_embd)).astype(f32))
    w.add_tensor(p + "attn_output.weight", np.zeros((n_embd, n_embd), f32))
    w.add_tensor(p + "ffn_norm.weight", np.ones(n_embd, f32))
    w.add_tensor(p + "ffn_gate.weight", rng.normal(0, 0.02, (n_ff, n_embd)).astype(f32))
    w.add_tensor(p + "ffn_up.weight", rng.normal(0, 0.02, (n_ff, n_embd)).astype(f32))
    w.add_tensor(p + "ffn_down.weight", np.zeros((n_embd, n_ff), f32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    write_tiny_model(sys.argv[1], sys.argv[2:] or ["ok"])
