"""Servers that misbehave, through the real engine and a real socket (no Neovim).

Every HTTP backend (llama-server, Ollama, OpenAI-compatible) meets a local server that stalls,
sends garbage, truncated or non-UTF-8 answers, drops the connection mid-answer or answers
with an HTTP error. Each time: one clear error (no traceback), and the next request, once the
server behaves, gets its suggestion.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import localllm.backends.http as http_module
from localllm.config import parse_settings
from localllm.engine import CompletionRequest, Engine, Update
from localllm.types import BufferSnapshot
from misbehaving_server import ANSWER, MisbehavingServer
from nvim_helpers import wait_for

HELLO = "".join(ANSWER)
GO = "package main\n\nfunc main() {\n\t\n}\n"
PROTOCOLS = ["llama_server", "ollama", "openai"]


class Recorder:
    def __init__(self) -> None:
        self.updates: list[Update] = []
        self.lock = threading.Lock()

    def __call__(self, update: Update) -> None:
        with self.lock:
            self.updates.append(update)

    def final(self, request_id: int) -> Update | None:
        with self.lock:
            return next((u for u in self.updates if u.id == request_id and u.final), None)


@pytest.fixture(params=PROTOCOLS)
def server(request: Any) -> Iterator[MisbehavingServer]:
    with MisbehavingServer(request.param) as srv:
        yield srv


def make_engine(
    server: MisbehavingServer, *, timeout_ms: int = 60_000, time_limit_ms: int = 2000
) -> tuple[Engine, Recorder]:
    conf = server.plugin_config(
        cache_size=1,
        speculative=False,
        generation={"time_limit_ms": time_limit_ms, "n_predict": 16},
        **{server.protocol: {"timeout_ms": timeout_ms}},
    )
    rec = Recorder()
    engine = Engine(parse_settings(conf), rec)
    return engine, rec


_ids = iter(range(1, 1_000_000))


def ask(engine: Engine, rec: Recorder, text: str = GO, timeout: float = 20) -> Update:
    """Submit one request (each at a new place: never from the cache); wait for its end."""
    request_id = next(_ids)
    line = "\t" + "x" * (request_id % 50)
    snap = BufferSnapshot.from_text(
        text.replace("\n\t\n", f"\n{line}\n"), 3, len(line), path="/src/main.go", filetype="go"
    )
    engine.submit(CompletionRequest(request_id, 1, snap))
    return wait_for(lambda: rec.final(request_id), timeout)


def assert_clear_error(update: Update, *words: str) -> None:
    assert update.error, update
    assert update.text == ""
    assert "Traceback" not in update.error and 'File "' not in update.error
    for word in words:
        assert word in update.error, update.error


BROKEN = {
    "garbage": ["not JSON"],
    "truncated_json": ["not JSON"],
    "invalid_utf8": ["not UTF-8"],
    "abrupt": ["broke the connection"],
    "empty": [],
    "html": [],
}


@pytest.mark.parametrize("mode", list(BROKEN))
def test_a_broken_answer_is_one_clear_error_then_the_next_request_works(
    server: MisbehavingServer, mode: str
) -> None:
    engine, rec = make_engine(server)
    try:
        assert ask(engine, rec).text == HELLO  # connected and working
        server.mode = mode
        assert_clear_error(ask(engine, rec), *BROKEN[mode])
        server.mode = "ok"
        after = ask(engine, rec)
        assert (after.text, after.error) == (HELLO, None)
        # The server marks an answer finished after its last write, which the client may read
        # first: wait for that, and fail if an answer is left open.
        wait_for(lambda: server.open_streams() == 0)
    finally:
        engine.close()


STATUSES = [400, 401, 403, 404, 408, 413, 422, 500, 501, 502, 503, 504]


def test_every_http_error_status_is_reported_and_forgotten_when_the_server_recovers(
    server: MisbehavingServer,
) -> None:
    engine, rec = make_engine(server)
    try:
        assert ask(engine, rec).text == HELLO
        for status in STATUSES:
            server.mode = f"status:{status}"
            update = ask(engine, rec)
            assert_clear_error(update)
            error = update.error or ""
            if status in (401, 403) and server.protocol != "ollama":
                assert "API key" in error, error  # and which variable holds it
            elif status == 404:
                assert "404" in error or "has no model" in error, error
            elif status == 503 and server.protocol == "llama_server":
                assert "still loading" in error, error
            else:
                assert str(status) in error and "deliberate" in error, error
            server.mode = "ok"
            after = ask(engine, rec)
            assert (after.text, after.error) == (HELLO, None), status
    finally:
        engine.close()


def test_429_with_retry_after_sends_nothing_until_then(
    server: MisbehavingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, rec = make_engine(server)
    try:
        assert ask(engine, rec).text == HELLO
        server.mode = "status:429"
        first = ask(engine, rec)
        assert_clear_error(first, "429")
        server.mode = "ok"
        sent = len(server.seen)
        # Within Retry-After (2 s; the clock is moved, not waited for): no request goes out,
        # and the message stays the same (the UI shows it once).
        clock = http_module.time.monotonic
        monkeypatch.setattr(http_module.time, "monotonic", lambda: clock() - 60)
        busy = ask(engine, rec)
        assert_clear_error(busy, "busy", "429", "2 s")
        assert ask(engine, rec).error == busy.error
        assert len(server.seen) == sent
        # After it: asked again, and answered.
        monkeypatch.setattr(http_module.time, "monotonic", lambda: clock() + 3)
        after = ask(engine, rec)
        assert (after.text, after.error) == (HELLO, None)
        assert len(server.seen) == sent + 1
    finally:
        engine.close()


def test_a_stall_mid_answer_ends_at_the_time_limit_with_what_came(
    server: MisbehavingServer,
) -> None:
    # The read timeout is a minute: only the time limit can end this request.
    engine, rec = make_engine(server, timeout_ms=60_000, time_limit_ms=300)
    try:
        server.mode = "stall_body"
        update = ask(engine, rec)
        assert (update.text, update.error) == (ANSWER[0], None)
        assert engine.history[-1]["finish"] == "time_limit"
        # The connection was dropped: the server is not left generating.
        wait_for(lambda: server.seen[-1].finished)
        assert server.seen[-1].disconnected
        server.mode = "ok"
        assert ask(engine, rec).text == HELLO
    finally:
        engine.close()


@pytest.mark.parametrize("mode", ["stall_headers", "stall_body"])
def test_a_newer_request_cancels_a_stalled_one_at_once(
    server: MisbehavingServer, mode: str
) -> None:
    # Neither the read timeout (a minute) nor the time limit ends the stalled request: only
    # its cancellation can let the next one through within the wait below.
    engine, rec = make_engine(server, timeout_ms=60_000, time_limit_ms=60_000)
    try:
        server.mode = mode
        stalled = next(_ids)
        snap = BufferSnapshot.from_text(GO, 3, 1, path="/src/main.go", filetype="go")
        engine.submit(CompletionRequest(stalled, 1, snap))
        wait_for(lambda: server.seen and not server.seen[-1].finished)
        server.mode = "ok"
        after = ask(engine, rec, timeout=20)
        assert (after.text, after.error) == (HELLO, None)
        assert server.seen[0].disconnected
        # The cancelled request reports nothing: no error for a cancellation.
        assert all(u.error is None for u in rec.updates)
    finally:
        engine.close()


def test_closing_the_engine_ends_a_stalled_request(server: MisbehavingServer) -> None:
    engine, _rec = make_engine(server, timeout_ms=60_000)
    server.mode = "stall_headers"
    snap = BufferSnapshot.from_text(GO, 3, 1, path="/src/main.go", filetype="go")
    engine.submit(CompletionRequest(next(_ids), 1, snap))
    wait_for(lambda: server.seen and not server.seen[-1].finished)
    engine.close()  # what the host does when Neovim exits
    assert engine._thread is not None and not engine._thread.is_alive()
    wait_for(lambda: server.seen[-1].finished)
    assert server.seen[-1].disconnected


def test_nothing_listening_then_a_server_appears(tmp_path: Path) -> None:
    srv = MisbehavingServer("llama_server")
    port = srv.port
    srv._httpd.server_close()  # the port is free: nothing listens there
    conf = parse_settings(
        {
            "backend": "llama_server",
            "llama_server": {"url": f"http://127.0.0.1:{port}", "endpoint": "infill"},
            "cache_size": 1,
        }
    )
    rec = Recorder()
    engine = Engine(conf, rec)
    try:
        update = ask(engine, rec)
        assert_clear_error(update, "cannot reach llama-server", "is it running?")
    finally:
        engine.close()


# -- the embedded backend: model files that cannot be used ------------------------------------


def embedded_engine(model: Path) -> tuple[Engine, Recorder]:
    rec = Recorder()
    conf = parse_settings({"backend": "embedded", "model": str(model), "cache_size": 1})
    return Engine(conf, rec), rec


@pytest.mark.parametrize("kind", ["missing", "not_gguf", "truncated_gguf", "empty", "directory"])
def test_an_unusable_model_file_is_a_clear_error(
    tmp_path: Path, tiny_model: Path, kind: str
) -> None:
    path = tmp_path / "model.gguf"
    if kind == "not_gguf":
        path.write_bytes(b"<html>not a model</html>" * 1000)
    elif kind == "truncated_gguf":
        data = tiny_model.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
    engine, rec = embedded_engine(path)
    try:
        first = ask(engine, rec)
        assert_clear_error(first, "model.gguf")
        second = ask(engine, rec)  # no second load attempt per keystroke, same message
        assert second.error == first.error
    finally:
        engine.close()
