"""Buffer text as Neovim's bytes: the one encoding, and the one split at a byte column.

Neovim counts columns in bytes, and a buffer may hold bytes that are not UTF-8 (a Latin-1
file opened with `:e ++bad=keep` or `nvim -b`). pynvim hands those over as lone surrogates
(U+DC80..U+DCFF, Python's surrogateescape); encoding the same way gives back Neovim's bytes,
one byte each, so a byte offset here is Neovim's byte column and tree-sitter's byte offset
alike. Every encode of buffer text goes through `encode` and never raises: a lone surrogate
that no byte stands for (none comes from Neovim) becomes U+FFFD.
"""

from __future__ import annotations

import codecs

_ERRORS = "localllm.surrogates"


def _escape_or_replace(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = bytearray()
    for char in error.object[error.start : error.end]:
        code = ord(char)
        out += bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else "\ufffd".encode()
    return bytes(out), error.end


codecs.register_error(_ERRORS, _escape_or_replace)


def encode(text: str) -> bytes:
    """The bytes Neovim has for `text` (invalid UTF-8 from the buffer kept byte for byte)."""
    return text.encode("utf-8", _ERRORS)


def decode(data: bytes | bytearray | memoryview) -> str:
    """Neovim's bytes as text; bytes that are not UTF-8 become lone surrogates (as pynvim)."""
    return str(data, "utf-8", "surrogateescape")


def as_text(value: str | bytes) -> str:
    """A string from the editor: already text, or the raw bytes of a line."""
    return decode(value) if isinstance(value, bytes) else value


def byte_len(text: str) -> int:
    """The length of `text` in Neovim's bytes (a column)."""
    return len(encode(text))


def split_at_byte(line: str, col: int) -> tuple[str, str]:
    """Split a line at a byte column (a column inside a character snaps back to its start)."""
    raw = encode(line)
    col = max(0, min(col, len(raw)))
    head = decode(raw[:col])
    while not line.startswith(head):  # cut inside a character: drop its partial bytes
        head = head[:-1]
    return head, line[len(head) :]


def valid(text: str) -> str:
    """Text that is valid UTF-8 for a wire format (JSON): each invalid byte becomes U+FFFD."""
    return encode(text).decode("utf-8", "replace")
