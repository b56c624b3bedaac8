"""Cancelled requests stop, and leave nothing running behind them.

- Embedded: llama.cpp checks nothing while it evaluates a batch, so the backend evaluates a
  long prompt in chunks and looks at the cancellation between them (the soak benchmark found
  cancelled requests that went on for seconds, evaluating cold prompts).
- llama-server: a request dropped mid-answer holds the slot until the server's current batch
  ends; the next request waits for /slots to say the slot is idle, so requests nobody waits
  for do not queue up on the server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from localllm.backends import Cancellation
from localllm.backends import embedded as embedded_module
from localllm.backends.embedded import PREFILL_CHUNK, EmbeddedBackend
from localllm.backends.llama_server import LlamaServerBackend
from localllm.config import parse_settings
from localllm.context import build_context
from localllm.types import BufferSnapshot, RequestTimings


def long_go(functions: int = 40) -> str:
    out = ["package store", "", 'import "fmt"', ""]
    for i in range(functions):
        out += [
            f"func Load{i}(id string) (string, error) {{",
            f'\treturn fmt.Sprintf("record {i}: %s", id), nil',
            "}",
            "",
        ]
    out += ["func main() {", "\t", "}", ""]
    return "\n".join(out)


def context() -> Any:
    text = long_go()
    row = text.split("\n").index("\t")
    snap = BufferSnapshot.from_text(text, row, 1, path="/src/store/main.go", filetype="go")
    return build_context(snap, parse_settings({}).context)


def run(backend: EmbeddedBackend, cancel: Cancellation) -> tuple[str, RequestTimings]:
    params = parse_settings({"generation": {"n_predict": 8}}).generation
    timings = RequestTimings()
    text = "".join(backend.complete(context(), params, cancel, timings))
    return text, timings


@pytest.mark.model
def test_a_cancel_during_the_prompt_stops_after_one_chunk(
    gemma_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = EmbeddedBackend(parse_settings({"model": str(gemma_model)}))
    backend.prepare()
    cancel = Cancellation()
    llm = backend._llm
    evaluated: list[int] = []
    real_eval = llm.eval

    def eval_then_cancel(tokens: Any) -> None:
        evaluated.append(len(tokens))
        real_eval(tokens)
        cancel.cancel()  # the user typed on while the first chunk was evaluated

    monkeypatch.setattr(llm, "eval", eval_then_cancel)
    text, timings = run(backend, cancel)
    assert timings.tokens_evaluated > 4 * PREFILL_CHUNK  # a cold, long prompt
    assert evaluated == [PREFILL_CHUNK]  # one chunk, not the whole prompt
    assert text == "" and timings.finish == "cancelled"
    backend.close()


@pytest.mark.model
def test_chunked_evaluation_gives_the_same_suggestion(
    gemma_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = EmbeddedBackend(parse_settings({"model": str(gemma_model)}))
    chunked, timings = run(backend, Cancellation())
    assert chunked and timings.tokens_evaluated > PREFILL_CHUNK
    again, timings = run(backend, Cancellation())  # all cached now: no chunks at all
    assert again == chunked and timings.tokens_evaluated == 1
    backend.close()
    monkeypatch.setattr(embedded_module, "PREFILL_CHUNK", 1 << 20)  # one piece, as before
    whole = EmbeddedBackend(parse_settings({"model": str(gemma_model)}))
    assert run(whole, Cancellation())[0] == chunked
    whole.close()


# -- llama-server: the slot a dropped request holds ------------------------------------------

STREAM = (
    b'data: {"content":"a","stop":false}\n\n'
    b'data: {"content":"b","stop":false}\n\n'
    b'data: {"content":"","stop":true,"stop_type":"limit"}\n\n'
)


def slot(busy: bool) -> httpx.Response:
    return httpx.Response(200, json=[{"id": 0, "is_processing": busy}, {"id": 1}])


class Server:
    """A mock llama-server: /infill streams two pieces; /slots answers from `slots`."""

    def __init__(self, slots: list[httpx.Response]) -> None:
        self.slots = slots
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.strip("/")
        if path == "health":
            return httpx.Response(200, json={"status": "ok"})
        if path == "props":
            props = {"model_path": "/remote/m.gguf", "default_generation_settings": {"n_ctx": 8}}
            return httpx.Response(200, json=props)
        if path == "infill" and not json.loads(request.content).get("stream"):
            return httpx.Response(200, json={})  # the probe at connection time
        self.seen.append(f"{request.method} /{path}")
        if path == "infill":
            return httpx.Response(
                200, content=STREAM, headers={"content-type": "text/event-stream"}
            )
        if path == "slots":
            return self.slots.pop(0) if self.slots else slot(False)
        return httpx.Response(404, json={"error": {"code": 404, "message": "File Not Found"}})

    def backend(self) -> LlamaServerBackend:
        config = parse_settings(
            {
                "backend": "llama_server",
                "llama_server": {"url": "http://127.0.0.1:9", "endpoint": "infill"},
            }
        )
        return LlamaServerBackend(config, transport=httpx.MockTransport(self))


def ask(
    backend: LlamaServerBackend,
    *,
    cancel_after: int | None = None,
    cancel: Cancellation | None = None,
) -> str:
    cancel = cancel or Cancellation()
    params = parse_settings({}).generation
    out = ""
    for piece in backend.complete(context(), params, cancel, RequestTimings()):
        out += piece
        if cancel_after is not None and len(out) >= cancel_after:
            cancel.cancel()
    return out


def test_the_next_request_waits_until_the_dropped_one_left_the_slot() -> None:
    server = Server([slot(True), slot(True), slot(False)])
    backend = server.backend()
    assert ask(backend) == "ab"
    assert server.seen == ["POST /infill"]  # a finished answer: nothing to wait for
    assert ask(backend, cancel_after=1) == "a"  # dropped mid-answer
    assert ask(backend) == "ab"
    assert server.seen == ["POST /infill"] * 2 + ["GET /slots"] * 3 + ["POST /infill"]
    backend.close()


def test_a_request_cancelled_while_it_waits_is_never_sent() -> None:
    server = Server([slot(True)] * 3)
    backend = server.backend()
    assert ask(backend, cancel_after=1) == "a"
    waiting = Cancellation()
    server.slots.append(slot(True))
    real = server.__call__

    def cancel_on_third_poll(request: httpx.Request) -> httpx.Response:
        if server.seen.count("GET /slots") == 2:
            waiting.cancel()  # the user typed on
        return real(request)

    backend._http.client._transport = httpx.MockTransport(cancel_on_third_poll)
    assert ask(backend, cancel=waiting) == ""
    assert "POST /infill" not in server.seen[1:]
    # The slot may still be busy: the next request waits as well, then goes.
    assert ask(backend) == "ab"
    assert server.seen[-1] == "POST /infill" and server.seen[-2] == "GET /slots"
    backend.close()


def test_a_server_without_slots_is_not_asked_again() -> None:
    server = Server([httpx.Response(501, json={"error": {"message": "slots disabled"}})])
    backend = server.backend()
    ask(backend, cancel_after=1)
    assert ask(backend) == "ab"
    ask(backend, cancel_after=1)
    assert ask(backend) == "ab"
    assert server.seen.count("GET /slots") == 1
    backend.close()
