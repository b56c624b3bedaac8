"""A small, fast reader for the header of a GGUF model file.

Reads the key/value metadata (and, on request, the token texts) of a GGUF v2/v3 file
without touching tensor data and without numpy or the `gguf` package: one buffered read
of the header region, decoded with `struct.unpack_from`. Big arrays are skipped by their
lengths and summarised as `ArraySummary`; the token list is decoded only with
`read_gguf(path, tokens=True)`.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

__all__ = [
    "ARRAY_LIMIT",
    "FIM_KINDS",
    "QUANTIZATION_NAMES",
    "ArraySummary",
    "GGUFError",
    "GGUFInfo",
    "GGUFType",
    "read_gguf",
]

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
ARRAY_LIMIT = 64
"""Arrays longer than this are stored in `GGUFInfo.metadata` as an `ArraySummary`."""

TOKENS_KEY = "tokenizer.ggml.tokens"

_FIRST_CHUNK = 1 << 20  # the header of a small model fits; big vocabularies grow the buffer
_MAX_DEPTH = 8  # arrays of arrays nest this deep at most
_MAX_DIMS = 8  # GGML_MAX_DIMS is 4; more is a damaged file


class GGUFType:
    """GGUF metadata value types."""

    UINT8 = 0
    INT8 = 1
    UINT16 = 2
    INT16 = 3
    UINT32 = 4
    INT32 = 5
    FLOAT32 = 6
    BOOL = 7
    STRING = 8
    ARRAY = 9
    UINT64 = 10
    INT64 = 11
    FLOAT64 = 12


_SCALARS: dict[int, struct.Struct] = {
    GGUFType.UINT8: struct.Struct("<B"),
    GGUFType.INT8: struct.Struct("<b"),
    GGUFType.UINT16: struct.Struct("<H"),
    GGUFType.INT16: struct.Struct("<h"),
    GGUFType.UINT32: struct.Struct("<I"),
    GGUFType.INT32: struct.Struct("<i"),
    GGUFType.FLOAT32: struct.Struct("<f"),
    GGUFType.BOOL: struct.Struct("<B"),
    GGUFType.UINT64: struct.Struct("<Q"),
    GGUFType.INT64: struct.Struct("<q"),
    GGUFType.FLOAT64: struct.Struct("<d"),
}
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

# llama.cpp's `llama_ftype` (general.file_type) values and their usual names.
QUANTIZATION_NAMES: Mapping[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
}
_FTYPE_GUESSED = 1024  # llama.cpp ORs this in when it guessed the file type

FIM_KINDS = ("pre", "suf", "mid", "pad", "rep", "sep")

# Deprecated keys, still written by older converters: aliases of pre/suf/mid.
_FIM_DEPRECATED_KEYS = {
    "pre": "tokenizer.ggml.prefix_token_id",
    "suf": "tokenizer.ggml.suffix_token_id",
    "mid": "tokenizer.ggml.middle_token_id",
}

# Token texts that mark FIM tokens when the ids are not in the metadata (as llama.cpp does).
_FIM_TOKEN_TEXTS: dict[str, tuple[str, ...]] = {
    "pre": ("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>"),
    "suf": ("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>"),
    "mid": ("<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>"),
    "pad": ("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"),
    "rep": ("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"),
    "sep": ("<|file_sep|>",),
}
_FIM_TEXT_SET = frozenset(t for texts in _FIM_TOKEN_TEXTS.values() for t in texts)


class GGUFError(Exception):
    """The file is not a GGUF file this reader understands, or it is damaged."""


@dataclass(frozen=True, slots=True)
class ArraySummary:
    """Stands in `GGUFInfo.metadata` for an array longer than `ARRAY_LIMIT` elements."""

    elem_type: int
    count: int


def _fim_ids(metadata: Mapping[str, object], tokens: tuple[str, ...] | None) -> dict[str, int]:
    vocab = _vocab_size(metadata, tokens)

    def valid(value: object) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        if value < 0 or (vocab is not None and value >= vocab):
            return None
        return value

    ids: dict[str, int] = {}
    for kind in FIM_KINDS:
        found = valid(metadata.get(f"tokenizer.ggml.fim_{kind}_token_id"))
        if found is None and kind in _FIM_DEPRECATED_KEYS:
            found = valid(metadata.get(_FIM_DEPRECATED_KEYS[kind]))
        if found is not None:
            ids[kind] = found
    if tokens is not None and len(ids) < len(FIM_KINDS):
        first: dict[str, int] = {}
        for i, text in enumerate(tokens):
            if text in _FIM_TEXT_SET and text not in first:
                first[text] = i
        if first:
            for kind, texts in _FIM_TOKEN_TEXTS.items():
                if kind in ids:
                    continue
                for text in texts:
                    if text in first:
                        ids[kind] = first[text]
                        break
    return ids


def _vocab_size(metadata: Mapping[str, object], tokens: tuple[str, ...] | None) -> int | None:
    if tokens is not None:
        return len(tokens)
    value = metadata.get(TOKENS_KEY)
    if isinstance(value, ArraySummary):
        return value.count
    if isinstance(value, tuple):
        return len(value)
    return None


@dataclass(frozen=True, slots=True)
class GGUFInfo:
    """What `read_gguf` found in a GGUF header.

    `metadata` holds every key: scalars as Python values (bool, int, float, str), arrays of
    up to `ARRAY_LIMIT` elements as tuples, longer arrays as `ArraySummary`.
    `tokens` is the vocabulary (`tokenizer.ggml.tokens`), only when read with `tokens=True`.
    `fim_token_ids` maps FIM token kinds ("pre", "suf", "mid", "pad", "rep", "sep") to ids;
    it is computed once, when the object is made. Instances compare by value and, holding
    a dict, are not hashable.
    """

    path: str
    version: int
    metadata: dict[str, object]
    tensor_count: int
    tokens: tuple[str, ...] | None = field(default=None, repr=False)
    parameter_count: int | None = None
    """Weights in all tensors, only when read with `tensors=True`."""
    fim_token_ids: dict[str, int] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fim_token_ids", _fim_ids(self.metadata, self.tokens))

    def _str(self, key: str) -> str | None:
        value = self.metadata.get(key)
        return value if isinstance(value, str) else None

    def _int(self, key: str) -> int | None:
        value = self.metadata.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        return value

    @property
    def architecture(self) -> str | None:
        return self._str("general.architecture")

    @property
    def name(self) -> str | None:
        return self._str("general.name")

    @property
    def context_length(self) -> int | None:
        arch = self.architecture
        return self._int(f"{arch}.context_length") if arch else None

    @property
    def file_type(self) -> int | None:
        return self._int("general.file_type")

    @property
    def quantization(self) -> str | None:
        """The llama.cpp name of `file_type` ("Q4_K_M", "Q8_0", ...), None when unknown."""
        ftype = self.file_type
        if ftype is None:
            return None
        return QUANTIZATION_NAMES.get(ftype & ~_FTYPE_GUESSED)

    @property
    def chat_template(self) -> str | None:
        return self._str("tokenizer.chat_template")

    @property
    def vocab_size(self) -> int | None:
        """Number of tokens in `tokenizer.ggml.tokens`, None when the file has no vocabulary."""
        return _vocab_size(self.metadata, self.tokens)

    @property
    def has_fim(self) -> bool:
        """True when the prefix, suffix and middle FIM tokens are all known."""
        ids = self.fim_token_ids
        return "pre" in ids and "suf" in ids and "mid" in ids


class _Reader:
    """Gives access to the header region of a file.

    The file is memory-mapped when possible (only the pages of the header are ever touched);
    otherwise it is read into one buffer that grows as the parser needs more.
    """

    __slots__ = ("buf", "file", "path", "pos", "size", "tokens")

    def __init__(self, file: BinaryIO, path: str, size: int, mapped: mmap.mmap | None) -> None:
        self.file = file
        self.path = path
        self.size = size
        self.buf: bytearray | mmap.mmap = bytearray() if mapped is None else mapped
        self.pos = 0
        self.tokens: tuple[str, ...] | None = None

    def error(self, what: str) -> GGUFError:
        return GGUFError(f"{what}: {self.path}")

    def ensure(self, end: int) -> bytearray | mmap.mmap:
        """Make bytes [0, end) of the file available in the buffer; returns the buffer."""
        buf = self.buf
        have = len(buf)
        if end > have:
            if end > self.size:
                raise self.error(
                    f"truncated or corrupt GGUF file (header needs {end} bytes, "
                    f"file has {self.size})"
                )
            assert isinstance(buf, bytearray)  # a map covers the whole file
            want = min(self.size, max(end, 2 * have, _FIRST_CHUNK))
            self.file.seek(have)
            buf += self.file.read(want - have)
            if len(buf) < end:
                raise self.error("truncated GGUF file (short read)")
        return buf

    def scalar(self, fmt: struct.Struct) -> int | float:
        pos = self.pos
        buf = self.ensure(pos + fmt.size)
        self.pos = pos + fmt.size
        value: int | float = fmt.unpack_from(buf, pos)[0]
        return value

    def u32(self) -> int:
        return int(self.scalar(_U32))

    def u64(self) -> int:
        return int(self.scalar(_U64))

    def string(self) -> str:
        n = self.u64()
        pos = self.pos
        if n > self.size - pos:
            raise self.error(
                f"truncated or corrupt GGUF file (string of {n} bytes at offset {pos - 8} "
                f"does not fit)"
            )
        buf = self.ensure(pos + n)
        self.pos = pos + n
        return buf[pos : pos + n].decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        """Skip `count` strings, walking their lengths (the hot loop for big vocabularies)."""
        unpack = _U64.unpack_from
        pos = self.pos
        buf = self.buf
        i = start = 0
        while True:
            try:
                for i in range(start, count):  # noqa: B007 - `i` says where to resume
                    pos += 8 + unpack(buf, pos)[0]
                break
            except (struct.error, OverflowError):
                # Ran past the buffer (or an absurd length): read more, or fail cleanly.
                buf = self.ensure(pos + 8)
                start = i
        self.ensure(pos)
        self.pos = pos

    def strings(self, count: int) -> tuple[str, ...]:
        """Read `count` strings."""
        unpack = _U64.unpack_from
        pos = self.pos
        buf = self.buf
        blen = len(buf)
        out: list[str] = [""] * count
        for i in range(count):
            start = pos + 8
            if start > blen:
                buf = self.ensure(start)
                blen = len(buf)
            end = start + unpack(buf, pos)[0]
            if end > blen:
                buf = self.ensure(end)
                blen = len(buf)
            out[i] = buf[start:end].decode("utf-8", errors="replace")
            pos = end
        self.pos = pos
        return tuple(out)

    def value(self, vtype: int, key: str, want_tokens: bool, depth: int = 0) -> object:
        fmt = _SCALARS.get(vtype)
        if fmt is not None:
            v = self.scalar(fmt)
            return bool(v) if vtype == GGUFType.BOOL else v
        if vtype == GGUFType.STRING:
            return self.string()
        if vtype == GGUFType.ARRAY:
            return self.array(key, want_tokens, depth)
        raise self.error(f"corrupt GGUF file (unknown value type {vtype} for key {key!r})")

    def array(self, key: str, want_tokens: bool, depth: int) -> object:
        if depth >= _MAX_DEPTH:
            raise self.error(f"corrupt GGUF file (arrays nested too deep in key {key!r})")
        etype = self.u32()
        count = self.u64()
        remaining = self.size - self.pos
        fmt = _SCALARS.get(etype)
        if fmt is not None:
            if count > remaining // fmt.size:
                raise self.error(
                    f"truncated or corrupt GGUF file ({key!r}: {count} elements do not fit)"
                )
            if count > ARRAY_LIMIT:
                self.ensure(self.pos + count * fmt.size)
                self.pos += count * fmt.size
                return ArraySummary(etype, count)
            pos = self.pos
            buf = self.ensure(pos + count * fmt.size)
            self.pos = pos + count * fmt.size
            values = struct.unpack_from(f"<{count}{fmt.format[1:]}", buf, pos)
            if etype == GGUFType.BOOL:
                return tuple(bool(v) for v in values)
            return values
        if etype == GGUFType.STRING:
            if count > remaining // 8:
                raise self.error(
                    f"truncated or corrupt GGUF file ({key!r}: {count} strings do not fit)"
                )
            if want_tokens and key == TOKENS_KEY and depth == 0:
                self.tokens = self.strings(count)
                return self.tokens if count <= ARRAY_LIMIT else ArraySummary(etype, count)
            if count <= ARRAY_LIMIT:
                return self.strings(count)
            self.skip_strings(count)
            return ArraySummary(etype, count)
        if etype == GGUFType.ARRAY:
            # Each nested array has at least a 4-byte type and an 8-byte count.
            if count > remaining // 12:
                raise self.error(
                    f"truncated or corrupt GGUF file ({key!r}: {count} arrays do not fit)"
                )
            items = [self.array(key, False, depth + 1) for _ in range(count)]
            return tuple(items) if count <= ARRAY_LIMIT else ArraySummary(etype, count)
        raise self.error(f"corrupt GGUF file (unknown array element type {etype} in {key!r})")


def read_gguf(
    path: str | os.PathLike[str], *, tokens: bool = False, tensors: bool = False
) -> GGUFInfo:
    """Read the metadata of the GGUF file at `path` (and its token texts when `tokens`; with
    `tensors`, the tensor descriptions that follow, to count the parameters).

    Raises GGUFError when the file is not GGUF v2/v3 or its header is damaged, and
    OSError when it cannot be opened.
    """
    spath = os.fspath(path)
    with open(spath, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        mapped = _map(f, size)
        r = _Reader(f, spath, size, mapped)
        try:
            return _read(r, tokens, tensors)
        except (struct.error, UnicodeDecodeError, OverflowError, MemoryError) as e:
            raise r.error(f"corrupt GGUF file ({type(e).__name__}: {e})") from e
        finally:
            r.buf = bytearray()
            if mapped is not None:
                mapped.close()


def _map(f: BinaryIO, size: int) -> mmap.mmap | None:
    """Map the file read-only; None when it cannot be (empty, a pipe, some file systems)."""
    if size <= 0:
        return None
    try:
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None


def _parameter_count(r: _Reader, tensor_count: int) -> int:
    """Sum of the element counts of the tensor descriptions at the reader's position."""
    # A description takes at least 8 (name length) + 4 (dims) + 4 (type) + 8 (offset) bytes.
    if tensor_count > (r.size - r.pos) // 24:
        raise r.error(f"truncated or corrupt GGUF file ({tensor_count} tensors do not fit)")
    total = 0
    for _ in range(tensor_count):
        r.skip_strings(1)
        n_dims = r.u32()
        if n_dims > _MAX_DIMS:
            raise r.error(f"corrupt GGUF file (a tensor with {n_dims} dimensions)")
        count = 1
        for _ in range(n_dims):
            count *= r.u64()
        r.u32()  # type
        r.u64()  # offset
        total += count
    return total


def _read(r: _Reader, want_tokens: bool, want_tensors: bool = False) -> GGUFInfo:
    if r.size < 4 or r.ensure(4)[:4] != GGUF_MAGIC:
        raise r.error("not a GGUF file (bad magic)")
    r.pos = 4
    if r.size < 24:
        raise r.error(f"truncated GGUF file ({r.size} bytes, the header alone needs 24)")
    version = r.u32()
    if version not in SUPPORTED_VERSIONS:
        swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
        if swapped in SUPPORTED_VERSIONS:
            raise r.error(f"big-endian GGUF v{swapped} files are not supported")
        raise r.error(f"unsupported GGUF version {version} (only versions 2 and 3 are read)")
    tensor_count = r.u64()
    kv_count = r.u64()
    # A key/value pair takes at least 8 (key length) + 4 (type) + 1 (value) bytes.
    if kv_count > (r.size - r.pos) // 13:
        raise r.error(f"truncated or corrupt GGUF file ({kv_count} metadata entries do not fit)")
    metadata: dict[str, object] = {}
    for _ in range(kv_count):
        key = r.string()
        vtype = r.u32()
        metadata[key] = r.value(vtype, key, want_tokens)
    return GGUFInfo(
        path=r.path,
        version=version,
        metadata=metadata,
        tensor_count=tensor_count,
        tokens=r.tokens,
        parameter_count=_parameter_count(r, tensor_count) if want_tensors else None,
    )
