"""Every non-streaming HTTP call ends by its deadline, whatever the server does: a real
socket server on 127.0.0.1 that accepts and never answers, or answers a byte a second."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from localllm.backends.http import HttpService
from localllm.errors import BackendTimeout


class SilentServer:
    """Accepts connections; then says nothing, or drips one byte of a response a second."""

    def __init__(self, drip: bool) -> None:
        self.drip = drip
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.accepted = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conns = []
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conns.append(conn)
            self.accepted.set()
            if self.drip:
                threading.Thread(target=self._drip, args=(conn,), daemon=True).start()
        for conn in conns:
            conn.close()

    def _drip(self, conn: socket.socket) -> None:
        reply = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"{" * 100000
        for byte in reply:
            if self.stop.wait(1.0):
                return
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture(params=["silent", "one byte a second"])
def server(request: pytest.FixtureRequest) -> Iterator[SilentServer]:
    srv = SilentServer(drip=request.param != "silent")
    yield srv
    srv.close()


def call_in_thread(fn: object) -> dict[str, object]:
    """Run `fn` in a thread; the test fails (instead of hanging) if it never returns."""
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["value"] = fn()  # type: ignore[operator]
        except Exception as exc:
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)  # a hang guard only; the deadlines below are about a second
    assert not thread.is_alive(), "the call never returned"
    return out


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_call_to_a_server_that_does_not_answer_ends_with_our_error(
    server: SilentServer, method: str
) -> None:
    service = HttpService(
        "llama-server", f"http://127.0.0.1:{server.port}", timeout_s=1.0, timeout_key="x.timeout_ms"
    )
    try:
        if method == "get":
            out = call_in_thread(lambda: service.get_json("/health", timeout_s=1.0))
        else:
            out = call_in_thread(lambda: service.post_json("/tokenize", {"content": "x"}))
        assert server.accepted.is_set()
        error = out.get("error")
        assert isinstance(error, BackendTimeout), out
        assert "did not answer" in str(error) and f"127.0.0.1:{server.port}" in str(error)
    finally:
        service.close()
