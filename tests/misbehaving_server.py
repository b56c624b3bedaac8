"""A local HTTP server (127.0.0.1, a real socket) that speaks the completion protocols of
llama-server (/infill, SSE), Ollama (/api/generate, NDJSON) and OpenAI-compatible servers
(/v1/completions, SSE) -- and misbehaves on purpose when told to.

`server.mode` says what the next completion request gets:

- "ok": the answer in three pieces, then the protocol's end
- "stall_headers": nothing at all (not even the status line) until released or disconnected
- "stall_body": the status line and the first piece, then nothing until released
- "garbage": a line that is not JSON
- "truncated_json": the first piece, then half a JSON object and a clean end of the body
- "invalid_utf8": a piece whose bytes are not UTF-8
- "abrupt": the first piece, then the socket is closed inside a chunk (a killed server)
- "empty": 200 with an empty body
- "html": 200 with an HTML page (a proxy's error page)
- "status:NNN": that HTTP status with an error body in the protocol's shape; 429 carries
  `Retry-After: 2`

Everything else (health, props, model lists, load requests) always answers correctly, so the
backends connect and the misbehaviour hits the completion itself.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = ["fmt.Println(", '"hello"', ")"]
OLLAMA_MODEL = "qwen2.5-coder:1.5b-base"
OPENAI_MODEL = "Qwen/Qwen2.5-Coder-1.5B"
REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Seen:
    """One completion request as the server received it."""

    path: str
    body: dict[str, Any]
    mode: str
    disconnected: bool = False  # the client closed the connection before the end
    finished: bool = False  # the handler is done with it
    size: int = 0  # bytes of the request body


@dataclass
class _State:
    mode: str = "ok"
    answer: list[str] = field(default_factory=lambda: list(ANSWER))
    release: threading.Event = field(default_factory=threading.Event)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class MisbehavingServer:
    def __init__(self, protocol: str = "llama_server") -> None:
        assert protocol in ("llama_server", "ollama", "openai"), protocol
        self.protocol = protocol
        self.state = _State()
        outer = self

        class Handler(_Handler):
            server_state = outer.state
            server_protocol = protocol

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    # -- control ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        base = f"http://127.0.0.1:{self.port}"
        return base + "/v1" if self.protocol == "openai" else base

    @property
    def mode(self) -> str:
        return self.state.mode

    @mode.setter
    def mode(self, value: str) -> None:
        self.state.mode = value

    @property
    def seen(self) -> list[Seen]:
        with self.state.lock:
            return list(self.state.seen)

    def open_streams(self) -> int:
        """Completion requests the server is still answering."""
        return sum(1 for s in self.seen if not s.finished)

    def release(self) -> None:
        """Let stalled answers go on."""
        self.state.release.set()

    def plugin_config(self, **extra: Any) -> dict[str, Any]:
        """The plugin's setup() options for this server."""
        if self.protocol == "llama_server":
            conf: dict[str, Any] = {
                "backend": "llama_server",
                "llama_server": {"url": self.url, "endpoint": "infill"},
            }
        elif self.protocol == "ollama":
            conf = {"backend": "ollama", "ollama": {"url": self.url, "model": OLLAMA_MODEL}}
        else:
            conf = {
                "backend": "openai",
                "openai": {"url": self.url, "model": OPENAI_MODEL, "suffix": "always"},
            }
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(conf.get(key), dict):
                conf[key] = {**conf[key], **value}
            else:
                conf[key] = value
        return conf

    def start(self) -> MisbehavingServer:
        self._thread = threading.Thread(
            # shutdown() waits up to one poll: 0.5 s by default
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> MisbehavingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_state: _State
    server_protocol: str

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- plumbing --------------------------------------------------------------------------

    def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(value).encode()
        self.send_response(status, REASONS.get(status))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, val in (headers or {}).items():
            self.send_header(key, val)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> tuple[dict[str, Any], int]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            value = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            value = {}
        return (value if isinstance(value, dict) else {}), len(raw)

    def _start_stream(self) -> None:
        self.send_response(200, "OK")
        kind = "application/x-ndjson" if self.server_protocol == "ollama" else "text/event-stream"
        self.send_header("Content-Type", kind)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _client_gone(self) -> bool:
        try:
            ready, _, _ = select.select([self.connection], [], [], 0)
            if not ready:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _stall(self, seen: Seen) -> bool:
        """Wait until released (True) or until the client went away (False)."""
        while not self.server_state.release.wait(0.02):
            if self._client_gone():
                seen.disconnected = True
                return False
        return True

    # -- the protocol's pieces ---------------------------------------------------------------

    def _piece(self, text: str) -> bytes:
        if self.server_protocol == "llama_server":
            return b"data: " + json.dumps({"content": text, "stop": False}).encode() + b"\n\n"
        if self.server_protocol == "ollama":
            obj = {"model": OLLAMA_MODEL, "response": text, "done": False}
            return json.dumps(obj).encode() + b"\n"
        obj = {"choices": [{"index": 0, "text": text, "finish_reason": None}]}
        return b"data: " + json.dumps(obj).encode() + b"\n\n"

    def _raw_piece(self, raw: bytes) -> bytes:
        """A piece whose text is `raw` bytes put into the JSON string as they are."""
        marker = "\u0001MARK\u0001"
        return self._piece(marker).replace(json.dumps(marker)[1:-1].encode(), raw)

    def _end(self) -> bytes:
        if self.server_protocol == "llama_server":
            obj = {"content": "", "stop": True, "stop_type": "eos", "timings/predicted_n": 3}
            return b"data: " + json.dumps(obj).encode() + b"\n\n"
        if self.server_protocol == "ollama":
            obj = {"model": OLLAMA_MODEL, "response": "", "done": True, "done_reason": "stop"}
            return json.dumps(obj).encode() + b"\n"
        obj = {"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]}
        return b"data: " + json.dumps(obj).encode() + b"\n\ndata: [DONE]\n\n"

    def _error_body(self, status: int) -> dict[str, Any]:
        message = f"deliberate {status}"
        if self.server_protocol == "ollama":
            return {"error": message}
        return {"error": {"code": status, "message": message, "type": "test_error"}}

    # -- routes ------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if self.server_protocol == "llama_server" and path == "/health":
            self._json(200, {"status": "ok"})
        elif self.server_protocol == "llama_server" and path == "/props":
            props = {"model_path": "", "default_generation_settings": {"n_ctx": 4096}}
            self._json(200, props)
        elif self.server_protocol == "ollama" and path == "/api/tags":
            self._json(200, {"models": [{"name": OLLAMA_MODEL, "model": OLLAMA_MODEL}]})
        elif self.server_protocol == "openai" and path == "/v1/models":
            self._json(200, {"data": [{"id": OPENAI_MODEL}]})
        else:
            self._json(404, {"error": {"code": 404, "message": "File Not Found"}})

    def do_POST(self) -> None:
        path = self.path.split("?")[0]
        body, size = self._body()
        proto = self.server_protocol
        if proto == "ollama" and path == "/api/show":
            show = {
                "capabilities": ["completion", "insert"],
                "details": {"family": "qwen2"},
                "template": "{{ .Prompt }}",
            }
            self._json(200, show)
            return
        completion = (
            (proto == "llama_server" and path == "/infill" and body.get("stream"))
            or (proto == "ollama" and path == "/api/generate" and body.get("prompt"))
            or (proto == "openai" and path == "/v1/completions" and body.get("stream"))
        )
        if not completion:
            if proto == "llama_server" and path == "/infill":
                self._json(200, {"content": ""})  # the FIM probe
            elif proto == "ollama" and path == "/api/generate":
                self._json(200, {"model": OLLAMA_MODEL, "done": True, "done_reason": "load"})
            elif proto == "openai" and path == "/v1/completions":
                self._json(200, {"choices": [{"text": "x"}], "usage": {"prompt_tokens": 1}})
            else:
                self._json(404, {"error": {"code": 404, "message": "File Not Found"}})
            return
        state = self.server_state
        seen = Seen(path, body, state.mode, size=size)
        with state.lock:
            state.seen.append(seen)
        try:
            self._complete(seen)
        except OSError:
            seen.disconnected = True
        finally:
            seen.finished = True

    def _complete(self, seen: Seen) -> None:
        mode = seen.mode
        if mode.startswith("status:"):
            status = int(mode.split(":", 1)[1])
            headers = {"Retry-After": "2"} if status == 429 else None
            self._json(status, self._error_body(status), headers)
            return
        if mode == "stall_headers":
            if not self._stall(seen):
                return
            mode = "ok"
        if mode == "empty":
            self.send_response(200, "OK")
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "html":
            page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            self.send_response(200, "OK")
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        self._start_stream()
        if mode == "garbage":
            self._chunk(self._piece(ANSWER[0]))
            self._chunk(
                b"data: <html>oops</html>\n\n"
                if self.server_protocol != "ollama"
                else b"<html>oops\n"
            )
            self._end_chunks()
            return
        answer = self.server_state.answer
        self._chunk(self._piece(answer[0]))
        if mode == "stall_body":
            if not self._stall(seen):
                return
        elif mode == "truncated_json":
            self._chunk(self._piece(ANSWER[1])[:12] + b"\n\n")
            self._end_chunks()
            return
        elif mode == "invalid_utf8":
            self._chunk(self._raw_piece(b"\xff\xfe\xc3("))
            self._chunk(self._end())
            self._end_chunks()
            return
        elif mode == "abrupt":
            # A chunk that promises more bytes than it carries, then the socket goes.
            self.wfile.write(b"40\r\n" + self._piece(ANSWER[1])[:10])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        for text in answer[1:]:
            self._chunk(self._piece(text))
            time.sleep(0.005)
        self._chunk(self._end())
        self._end_chunks()
