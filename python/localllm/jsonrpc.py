"""JSON-RPC 2.0 messages with LSP's framing (a `Content-Length` header, a blank line, the JSON
body), over a pair of byte streams. The stdlib only: the language server is one more edge of
the engine and brings no dependency of its own.

Reading happens on one thread; writing may happen on any (the engine's worker answers a
request, a deadline timer another): `write()` holds a lock for a whole message.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, BinaryIO

# Error codes of JSON-RPC and of the LSP specification (3.17, "ErrorCodes" and
# "LSPErrorCodes").
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_NOT_INITIALIZED = -32002
REQUEST_FAILED = -32803
REQUEST_CANCELLED = -32800

_MAX_BODY = 64 * 1024 * 1024  # a header asking for more is a broken stream, not a document


class FramingError(Exception):
    """The byte stream is not LSP framing: nothing after it can be read."""


@dataclass(frozen=True, slots=True)
class ResponseError(Exception):
    """An error answer to a request: `code` from the constants above, `message` for the user."""

    code: int
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


class Connection:
    def __init__(self, reader: BinaryIO, writer: BinaryIO) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = threading.Lock()

    def read(self) -> dict[str, Any] | None:
        """The next message; None at the end of the stream. Raises FramingError when the stream
        is broken, ResponseError(PARSE_ERROR) when one body is not a JSON object."""
        length = self._read_headers()
        if length is None:
            return None
        body = self._reader.read(length)
        if len(body) < length:
            return None  # the client went away mid-message
        try:
            message = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise ResponseError(PARSE_ERROR, "the message is not JSON") from None
        if not isinstance(message, dict):
            raise ResponseError(INVALID_REQUEST, "a message must be a JSON object")
        return message

    def _read_headers(self) -> int | None:
        length: int | None = None
        while True:
            line = self._reader.readline()
            if not line:
                return None
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("ascii", "replace").partition(":")
            if name.strip().lower() == "content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    raise FramingError(f"bad Content-Length {value.strip()!r}") from None
        if length is None or not 0 <= length <= _MAX_BODY:
            raise FramingError("a message without a usable Content-Length header")
        return length

    def write(self, message: dict[str, Any]) -> None:
        """Send one message; a client that went away loses it (the server ends on EOF)."""
        body = json.dumps({"jsonrpc": "2.0", **message}, ensure_ascii=False).encode()
        data = b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        with self._lock:
            try:
                self._writer.write(data)
                self._writer.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass

    def respond(self, request_id: Any, result: Any) -> None:
        self.write({"id": request_id, "result": result})

    def respond_error(self, request_id: Any, error: ResponseError) -> None:
        self.write({"id": request_id, "error": error.as_dict()})

    def notify(self, method: str, params: Any) -> None:
        self.write({"method": method, "params": params})
