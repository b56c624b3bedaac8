"""The llama-server backend against a real llama.cpp llama-server (and a mock for broken servers).

Prompt tokens evaluated per keystroke are recorded here as behaviour (how much the server's cache
keeps), never as speed; speed goes to the benchmarks.
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

import model_files
from llama_server import LlamaServer, binary, free_port
from localllm.backends import Cancellation
from localllm.backends import llama_server as llama_server_module
from localllm.backends.llama_server import NO_FIM_WARNING, LlamaServerBackend
from localllm.config import parse_settings
from localllm.context import build_context
from localllm.errors import BackendError, BackendUnavailable
from localllm.types import (
    BufferSnapshot,
    FimContext,
    GenerationParams,
    IndentStyle,
    RequestTimings,
)
from test_fim_templates import CHAT_MARKERS, FIM_MARKERS

# llama.cpp built with GGML_NATIVE on a CPU that reports AMX but may not let a process use it
# (some VMs) dies with SIGILL in the AMX kernels of repacked Q4_K weights; plain weights work.
# The variable is read by llama-server's argument parser only (same as --no-repack).

GO = (
    "package main\n\n"
    'import (\n\t"fmt"\n\t"strings"\n)\n\n'
    "// greet returns a greeting for name.\n"
    "func greet(name string) string {\n"
    "\t\n"
    '\treturn "hello " + name\n'
    "}\n\n"
    "func main() {\n"
    "\tfor i := 0; i < 3; i++ {\n"
    '\t\tfmt.Println(greet("world"), i)\n'
    "\t}\n"
    "}\n"
)
GO_ROW = 9  # the empty line in greet()
TINY_ANSWER = ["fmt.Println(", '"hello"', ")"]
STORY = "# Notes\n\nHere is a long story about a dragon who lived in the mountains.\n\n"

T = TypeVar("T")


class Notes:
    """Records notify(level, message) calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, level: str, message: str) -> None:
        self.calls.append((level, message))


def settings(url: str, **raw: Any) -> Any:
    llama = {"url": url, **raw.pop("llama_server", {})}
    return parse_settings({"backend": "llama_server", "llama_server": llama, **raw})


def go_context(text: str = GO, row: int = GO_ROW, col: int = 1) -> FimContext:
    snap = BufferSnapshot.from_text(text, row, col, path="/src/app/main.go", filetype="go")
    return build_context(snap, parse_settings({}).context, root="/src/app")


def run(
    backend: LlamaServerBackend, ctx: FimContext, **generation: Any
) -> tuple[list[str], RequestTimings]:
    params = parse_settings({"generation": {"n_predict": 16, **generation}}).generation
    timings = RequestTimings()
    pieces = list(backend.complete(ctx, params, Cancellation(), timings))
    return pieces, timings


def wait_for(probe: Callable[[], T | None], timeout: float = 60, what: str = "") -> T:
    """Poll `probe` until it returns something (not a speed check: the limit only ends a hang)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def detokenize(url: str, ids: list[int]) -> str:
    response = httpx.post(url + "/detokenize", json={"tokens": ids})
    return str(response.json()["content"])


@pytest.fixture
def tiny_backend(llama_server_tiny: Any) -> Iterator[LlamaServerBackend]:
    backend = LlamaServerBackend(settings(llama_server_tiny.url))
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def nofim_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """The tiny deterministic model without FIM tokens: /infill answers 501."""
    model = model_files.tiny_path(TINY_ANSWER, fim=False)
    log = tmp_path_factory.mktemp("llama-server") / "nofim.log"
    with LlamaServer(model, log_path=log) as server:
        yield server


@pytest.fixture(scope="module")
def gemma_swa_full_server(
    tmp_path_factory: pytest.TempPathFactory, gemma_fim_model: Path
) -> Iterator[LlamaServer]:
    """gemma with --swa-full: gemma 3 uses sliding-window attention, for which llama-server
    rolls the cache back to a checkpoint 4 tokens before the old prompt's end; a full-size SWA
    cache takes that model-specific cost away, so the test sees what the prompt layout does."""
    log = tmp_path_factory.mktemp("llama-server") / "gemma-swa-full.log"
    with LlamaServer(gemma_fim_model, log_path=log, args=["--swa-full"]) as server:
        yield server


# -- streamed FIM completions ---------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["infill", "completion"])
def test_streams_the_fim_answer_piece_by_piece(llama_server_tiny: Any, endpoint: str) -> None:
    notes = Notes()
    backend = LlamaServerBackend(
        settings(llama_server_tiny.url, llama_server={"endpoint": endpoint}), notify=notes
    )
    try:
        assert backend.info().state == "idle"
        backend.prepare()
        info = backend.info()
        assert (info.state, info.fim, info.model) == ("ready", True, llama_server_tiny.model.name)
        assert info.detail.startswith(f"/{endpoint}")
        assert "n_ctx 4096" in info.detail and llama_server_tiny.url in info.detail
        pieces, timings = run(backend, go_context())
        assert pieces == TINY_ANSWER
        assert timings.finish == "eos"
        assert timings.tokens_generated == len(TINY_ANSWER) + 1  # the end-of-text token too
        assert timings.tokens_prompt == timings.tokens_evaluated + timings.tokens_reused > 20
        assert notes.calls == []
    finally:
        backend.close()


def test_auto_uses_completion_with_the_ids_from_the_model_file(
    tiny_backend: LlamaServerBackend, llama_server_tiny: Any
) -> None:
    tiny_backend.prepare()
    assert tiny_backend.info().detail.startswith("/completion with FIM token ids")
    ctx = go_context(col=1)
    ids = tiny_backend.build_prompt(ctx, 16)
    # [SEP file\n] PRE header+prefix SUF line_suffix\n suffix MID middle (tiny: no BOS)
    expected = (
        "<|file_sep|>main.go\n<|fim_prefix|>"
        + ctx.header
        + ctx.prefix
        + "<|fim_suffix|>"
        + ctx.line_suffix
        + "\n"
        + ctx.suffix
        + "<|fim_middle|>"
        + ctx.middle
    )
    assert detokenize(llama_server_tiny.url, ids) == expected


def test_fim_marker_text_in_the_code_stays_plain_text(tiny_backend: LlamaServerBackend) -> None:
    tiny_backend.prepare()
    text = GO.replace("// greet returns", "// <|fim_middle|><|file_sep|> greet returns")
    ctx = go_context(text)
    assert "<|fim_middle|>" in ctx.prefix
    session = tiny_backend._session
    assert session is not None
    ids = tiny_backend.build_prompt(ctx, 16)
    assert ids.count(session.fim_ids["mid"]) == 1
    assert ids.count(session.fim_ids["sep"]) == 1
    pieces, _ = run(tiny_backend, ctx)
    assert pieces == TINY_ANSWER


def test_ids_found_by_tokenizing_the_family_markers_on_a_remote_server(
    llama_server_tiny: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = LlamaServerBackend(settings(llama_server_tiny.url))
    local.prepare()
    # As if the server ran on another machine: the model file is not read.
    monkeypatch.setattr(llama_server_module, "is_loopback", lambda url: False)
    monkeypatch.setattr(llama_server_module, "read_gguf", pytest.fail)
    remote = LlamaServerBackend(settings(llama_server_tiny.url))
    try:
        remote.prepare()
        assert local._session is not None and remote._session is not None
        assert remote._session.fim_ids == local._session.fim_ids
        assert remote._session.template is not None and remote._session.template.name == "qwen"
        assert remote.info().detail.startswith("/completion")
        pieces, _ = run(remote, go_context())
        assert pieces == TINY_ANSWER
    finally:
        local.close()
        remote.close()


def test_unknown_fim_ids_fall_back_to_infill(
    llama_server_gemma: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # gemma's FIM ids sit on <unused0..2>, no family's markers: only the GGUF file names them.
    monkeypatch.setattr(llama_server_module, "is_loopback", lambda url: False)
    notes = Notes()
    auto = LlamaServerBackend(settings(llama_server_gemma.url), notify=notes)
    forced = LlamaServerBackend(
        settings(llama_server_gemma.url, llama_server={"endpoint": "completion"}), notify=notes
    )
    try:
        auto.prepare()
        assert auto.info().detail.startswith("/infill")
        assert notes.calls == []
        forced.prepare()
        assert forced.info().detail.startswith("/infill")
        assert [level for level, _ in notes.calls] == ["warn"]
        assert "cannot find the FIM token ids" in notes.calls[0][1]
    finally:
        auto.close()
        forced.close()


@pytest.mark.parametrize("endpoint", ["infill", "completion"])
def test_invalid_utf8_in_the_buffer_does_not_break_completion(
    llama_server_tiny: Any, endpoint: str
) -> None:
    # Invalid UTF-8 in the buffer reaches us as lone surrogates, which JSON cannot carry.
    text = GO.replace("greet returns", "greet \udcff\udcfe returns")
    config = settings(llama_server_tiny.url, llama_server={"endpoint": endpoint})
    backend = LlamaServerBackend(config)
    try:
        pieces, _ = run(backend, go_context(text))
        assert pieces == TINY_ANSWER
        assert backend.info().detail.startswith(f"/{endpoint}")
    finally:
        backend.close()


def test_a_long_prefix_is_cut_to_the_server_context(tmp_path: Path, tiny_model: Path) -> None:
    with LlamaServer(tiny_model, args=["-c", "512"], log_path=tmp_path / "log") as server:
        backend = LlamaServerBackend(settings(server.url))
        try:
            lines = "".join(f"// line {i} of a long file\n" for i in range(200))
            pieces, timings = run(backend, go_context(lines + GO, row=GO_ROW + 200))
            assert pieces == TINY_ANSWER
            assert timings.tokens_prompt <= 512 - 16
        finally:
            backend.close()


# -- the prompt cache while typing ------------------------------------------------------------


def typing_contexts() -> Iterator[FimContext]:
    """Typing `strings.ToUpper(name` in the middle of a line, one character per request."""
    start, typed, rest = "\tresult := ", "strings.ToUpper(name", ")"
    for n in range(len(typed) + 1):
        text = GO.replace("\t\n", start + typed[:n] + rest + "\n", 1)
        yield go_context(text, col=len(start) + n)


def evaluated_per_keystroke(url: str, endpoint: str) -> tuple[list[int], list[int]]:
    backend = LlamaServerBackend(settings(url, llama_server={"endpoint": endpoint}))
    try:
        evaluated, prompt = [], []
        for ctx in typing_contexts():
            _, timings = run(backend, ctx, n_predict=4)
            evaluated.append(timings.tokens_evaluated)
            prompt.append(timings.tokens_prompt)
        assert backend.info().detail.startswith(f"/{endpoint}")
        return evaluated, prompt
    finally:
        backend.close()


def test_typing_evaluates_only_the_new_tokens_with_our_layout(
    gemma_swa_full_server: LlamaServer,
) -> None:
    evaluated, prompt = evaluated_per_keystroke(gemma_swa_full_server.url, "completion")
    assert evaluated[0] > 50  # the first request evaluates the whole prompt
    assert max(evaluated[1:]) <= 4, evaluated
    # /infill: the server puts `prompt` (the typed part of the line) before its suffix token,
    # so every keystroke evaluates the whole suffix again (llama.cpp issue #22678).
    infill, infill_prompt = evaluated_per_keystroke(gemma_swa_full_server.url, "infill")
    print(
        f"\nper keystroke: completion {evaluated} of {prompt}\ninfill {infill} of {infill_prompt}"
    )
    assert min(infill[1:]) > 4 * max(evaluated[1:]), (
        "llama-server's /infill now keeps the suffix in its cache while typing "
        "(`prompt` after the middle token?): re-measure and reconsider endpoint 'auto'",
        infill,
    )


def test_typing_with_the_default_server_and_a_sliding_window_model(
    llama_server_gemma: Any,
) -> None:
    # Stock server, gemma 3 (sliding-window attention): the server rolls back to a checkpoint
    # 4 tokens before the previous prompt's end, so /completion costs those 4 tokens more;
    # /infill makes no checkpoints and evaluates the whole prompt on every keystroke.
    evaluated, _ = evaluated_per_keystroke(llama_server_gemma.url, "completion")
    infill, prompt = evaluated_per_keystroke(llama_server_gemma.url, "infill")
    print(f"\nper keystroke (SWA): completion {evaluated}, infill {infill} of {prompt}")
    assert max(evaluated[1:]) <= 4 + 4, evaluated
    assert min(infill[1:]) > 50, infill


# -- cancellation ---------------------------------------------------------------------------


def slot_state(url: str) -> dict[str, Any]:
    slots = httpx.get(url + "/slots", timeout=10).json()
    slot = next(s for s in slots if s["id"] == 0)
    assert isinstance(slot, dict)
    return slot


def test_cancelling_closes_the_stream_and_the_server_stops(
    llama_server_gemma: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = llama_server_gemma.url
    backend = LlamaServerBackend(settings(url))
    original = backend._http.stream_lines

    def never_ending(path: str, body: Any, cancel: Cancellation) -> Iterator[str]:
        # Generation that only the cancel can end (no end-of-text, thousands of tokens).
        return original(path, {**body, "ignore_eos": True}, cancel)

    monkeypatch.setattr(backend._http, "stream_lines", never_ending)
    snap = BufferSnapshot.from_text(STORY + "\n", 4, 0, path="/notes/story.txt")
    ctx = build_context(snap, parse_settings({}).context)
    params = GenerationParams(n_predict=3000, time_limit_ms=600000)
    cancel = Cancellation()
    timings = RequestTimings()
    pieces = []
    try:
        backend.prepare()
        prompt_tokens = len(backend.build_prompt(ctx, params.n_predict))
        for piece in backend.complete(ctx, params, cancel, timings):
            pieces.append(piece)
            if len(pieces) == 10:
                assert slot_state(url)["is_processing"]
                cancel.cancel()
        assert len(pieces) == 10
        assert timings.finish == "cancelled"

        def idle_slot() -> dict[str, Any] | None:
            slot = slot_state(url)
            return None if slot["is_processing"] else slot

        idle = wait_for(idle_slot, what="the server to stop generating")
        # After release the slot holds the prompt plus what was generated.
        generated = idle["n_prompt_tokens"] - prompt_tokens
        assert 10 <= generated < 200, idle
    finally:
        backend.close()


# -- models without FIM tokens ----------------------------------------------------------------


def test_a_model_without_fim_tokens_warns_once_and_completes_from_the_prefix(
    nofim_server: LlamaServer,
) -> None:
    notes = Notes()
    backend = LlamaServerBackend(settings(nofim_server.url), notify=notes)
    try:
        backend.prepare()
        info = backend.info()
        assert (info.state, info.fim) == ("ready", False)
        assert "no FIM tokens" in info.detail
        assert notes.calls == [("warn", NO_FIM_WARNING)]
        assert "Qwen2.5-Coder" in NO_FIM_WARNING
        ctx = go_context()
        prompt = detokenize(nofim_server.url, backend.build_prompt(ctx, 16))
        assert prompt == ctx.header + ctx.prefix + ctx.middle  # the text before the cursor
        for _ in range(2):
            pieces, timings = run(backend, ctx)
            assert pieces == TINY_ANSWER
            assert timings.finish == "eos"
        backend._session = None  # as after a reconnection: asks the server again
        backend.prepare()
        assert notes.calls == [("warn", NO_FIM_WARNING)]
    finally:
        backend.close()


# -- server state: loading, gone, back ---------------------------------------------------------


def test_a_server_still_loading_its_model_is_unavailable(gemma_fim_model: Path) -> None:
    port = free_port()
    command = [binary(), "-m", str(gemma_fim_model), "--port", str(port), "-c", "4096"]
    command += ["-np", "1", "--no-webui", "--no-repack"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    backend = LlamaServerBackend(settings(url))
    try:

        def listening() -> bool | None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                assert process.poll() is None, "llama-server exited"
                return None
            return True

        wait_for(listening, what="the server to listen")
        # The HTTP listener opens before the model is loaded (0.5 s here): /health says 503.
        with pytest.raises(BackendUnavailable) as caught:
            backend.prepare()
        assert str(caught.value) == f"llama-server at {url} is still loading its model"
        assert backend.info().state == "loading"

        def ready() -> bool | None:
            try:
                backend.prepare()
            except BackendUnavailable as exc:
                assert "still loading" in str(exc)
                return None
            return True

        wait_for(ready, what="the model to load")
        assert backend.info().state == "ready"
    finally:
        backend.close()
        process.terminate()
        process.wait(timeout=30)


def test_a_stopped_server_fails_fast_and_is_used_again_when_back(
    tmp_path: Path, tiny_model: Path
) -> None:
    server = LlamaServer(tiny_model, log_path=tmp_path / "log").start()
    notes = Notes()
    backend = LlamaServerBackend(settings(server.url), notify=notes)
    gone = f"cannot reach llama-server at {server.url} — is it running?"
    try:
        assert run(backend, go_context())[0] == TINY_ANSWER
        server.stop()
        with pytest.raises(BackendUnavailable) as caught:
            run(backend, go_context())
        assert str(caught.value) == gone
        assert backend.info().state == "error"
        # Within the backoff the failure is immediate, with the same message (dedupes), and quiet.
        for _ in range(3):
            with pytest.raises(BackendUnavailable) as caught:
                backend.prepare()
            assert str(caught.value) == gone
        assert notes.calls == []

        server.start()

        def back() -> bool | None:
            try:
                backend.prepare()
            except BackendUnavailable as exc:
                assert str(exc) == gone
                return None
            return True

        wait_for(back, what="the backend to reconnect after its backoff")
        assert notes.calls == [("info", f"localllm: llama-server at {server.url} is back")]
        assert backend.info().state == "ready"
        assert run(backend, go_context())[0] == TINY_ANSWER
    finally:
        backend.close()
        server.stop()


def test_a_server_restarted_with_another_model_between_requests_is_relearnt(
    tmp_path: Path, tiny_model: Path
) -> None:
    # No request while the server was down, so nothing failed: the next answers tell.
    port = free_port()
    notes = Notes()
    backend = LlamaServerBackend(settings(f"http://127.0.0.1:{port}"), notify=notes)
    log = tmp_path / "log"
    try:
        with LlamaServer(tiny_model, port=port, log_path=log):
            assert run(backend, go_context())[0] == TINY_ANSWER
        other = model_files.tiny_path(["ok"])
        with LlamaServer(other, port=port, log_path=log):
            # The final event names the model: another one, so the next request reconnects.
            assert run(backend, go_context())[0] == ["ok"]
            backend.prepare()
            assert backend.info().model == other.name
        nofim = model_files.tiny_path(TINY_ANSWER, fim=False)
        with LlamaServer(nofim, port=port, log_path=log):
            # Our FIM ids are not in this vocabulary: the server refuses them (HTTP 400).
            with pytest.raises(BackendError, match="invalid tokens"):
                run(backend, go_context())
            assert run(backend, go_context())[0] == TINY_ANSWER
            info = backend.info()
            assert (info.fim, info.model) == (False, nofim.name)
            assert notes.calls == [("warn", NO_FIM_WARNING)]
    finally:
        backend.close()


def test_nothing_listening_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    backend = LlamaServerBackend(settings(url))
    with pytest.raises(BackendUnavailable, match=f"cannot reach llama-server at {url}"):
        backend.prepare()
    assert backend.info().state == "error"
    backend.close()


def test_default_url_is_llama_vims_port() -> None:
    backend = LlamaServerBackend(parse_settings({"backend": "llama_server"}))
    assert backend.url == "http://127.0.0.1:8012"
    assert LlamaServerBackend(parse_settings({}), base_url="http://h:1/").url == "http://h:1"
    backend.close()


# -- API key ----------------------------------------------------------------------------------


def test_api_key_from_the_environment(tmp_path: Path, tiny_model: Path) -> None:
    args = ["--api-key", "s3cret"]
    with LlamaServer(tiny_model, args=args, log_path=tmp_path / "log") as server:
        cases = [
            ({}, "llama-server wants an API key: set $LLAMA_API_KEY (llama_server.api_key_env)"),
            (
                {"LLAMA_API_KEY": "wrong"},
                "llama-server rejected the API key: set $LLAMA_API_KEY "
                "(llama_server.api_key_env) to the server's --api-key",
            ),
        ]
        for env, message in cases:
            backend = LlamaServerBackend(settings(server.url), env=env)
            with pytest.raises(BackendError) as caught:
                backend.prepare()
            assert str(caught.value) == message
            assert not isinstance(caught.value, BackendUnavailable)
            assert backend.info().state == "error"
            backend.close()
        custom = settings(server.url, llama_server={"api_key_env": "MY_KEY"})
        backend = LlamaServerBackend(custom, env={"MY_KEY": "s3cret", "LLAMA_API_KEY": "wrong"})
        try:
            assert run(backend, go_context())[0] == TINY_ANSWER
        finally:
            backend.close()


# -- broken servers (mock transport) -------------------------------------------------------------


def mock_backend(stream: bytes = b"", **routes: httpx.Response) -> LlamaServerBackend:
    """A backend on a fake llama-server: /infill streams `stream`; `routes` override paths."""

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.strip("/")
        if path in routes:
            return routes[path]
        if path == "health":
            return httpx.Response(200, json={"status": "ok"})
        if path == "props":
            props = {"model_path": "/remote/m.gguf", "default_generation_settings": {"n_ctx": 8}}
            return httpx.Response(200, json=props)
        if path == "infill" and not json.loads(request.content).get("stream"):
            return httpx.Response(200, json={})
        if path == "infill":
            return httpx.Response(
                200, content=stream, headers={"content-type": "text/event-stream"}
            )
        return httpx.Response(404, json={"error": {"code": 404, "message": "File Not Found"}})

    config = settings("http://127.0.0.1:9", llama_server={"endpoint": "infill"})
    return LlamaServerBackend(config, transport=httpx.MockTransport(handle))


def test_mock_streams_and_ignores_comment_lines() -> None:
    stream = (
        b": ping\n\n"
        b'data: {"content":"a","stop":false}\n\n'
        b'data: {"content":"b","stop":false}\n\n'
        b'data: {"content":"","stop":true,"stop_type":"limit","timings/prompt_n":3,'
        b'"timings/cache_n":5,"timings/predicted_n":2}\n\n'
    )
    backend = mock_backend(stream)
    pieces, timings = run(backend, go_context())
    assert pieces == ["a", "b"]
    assert (timings.finish, timings.tokens_evaluated, timings.tokens_reused) == ("limit", 3, 5)
    assert (timings.tokens_prompt, timings.tokens_generated) == (8, 2)


def test_mock_garbage_in_the_stream_is_an_error() -> None:
    backend = mock_backend(b'data: {"content":"a","stop":false}\n\ndata: <html>oops\n\n')
    with pytest.raises(BackendError, match="not JSON"):
        run(backend, go_context())


def test_mock_error_event_mid_stream_is_an_error() -> None:
    stream = (
        b'data: {"content":"a","stop":false}\n\n'
        b'data: {"error":{"code":500,"message":"decode failed","type":"server_error"}}\n\n'
    )
    with pytest.raises(BackendError, match="llama-server reported an error: decode failed"):
        run(mock_backend(stream), go_context())


def test_mock_stream_cut_before_its_end_is_an_error() -> None:
    with pytest.raises(BackendError, match="without its final event"):
        run(mock_backend(b'data: {"content":"a","stop":false}\n\n'), go_context())


def test_mock_loading_and_context_errors_say_what_to_do() -> None:
    loading = {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
    backend = mock_backend(health=httpx.Response(503, json=loading))
    with pytest.raises(BackendUnavailable, match="still loading its model"):
        backend.prepare()
    assert backend.info().state == "loading"

    too_long = {
        "error": {
            "code": 400,
            "message": "request (5000 tokens) exceeds the available context size (4096 tokens), "
            "try increasing it",
            "type": "exceed_context_size_error",
        }
    }
    backend = mock_backend(infill=httpx.Response(400, json=too_long))
    with pytest.raises(BackendError) as caught:
        backend.prepare()  # the probe itself is refused
    assert "lower context.prefix_tokens or start the server with a larger -c" in str(caught.value)

    backend = mock_backend(health=httpx.Response(404, text="no such page"))
    with pytest.raises(BackendError, match=r"a llama\.cpp llama-server"):
        backend.prepare()


@pytest.mark.model
@pytest.mark.parametrize("marker", [m.strip() for m in FIM_MARKERS] + CHAT_MARKERS)
def test_infill_prompt_keeps_marker_text_as_text(llama_server_tiny: Any, marker: str) -> None:
    # /infill tokenizes `prompt` with special tokens parsed: `<|fim_middle|>` typed in the
    # code must not become a second middle token.
    backend = LlamaServerBackend(
        settings(llama_server_tiny.url, llama_server={"endpoint": "infill"})
    )
    try:
        backend.prepare()
        session = backend._session
        assert session is not None
        ctx = dataclasses.replace(go_context(), middle=f"x := `{marker}")
        params = parse_settings({}).generation
        _, body = backend._request(session, ctx, params)
        specials = {
            ids[0] for ids in [backend._tokenize_raw(marker, special=True)] if len(ids) == 1
        }
        sent = backend._tokenize_raw(body["prompt"], special=True)
        assert not specials & set(sent)
        assert body["prompt"].replace("\u200b", "") == ctx.middle
        pieces, _ = run(backend, ctx)
        assert "".join(pieces)
    finally:
        backend.close()


def test_a_cursor_line_too_long_for_the_servers_context_names_the_context_that_fits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A minified line is never cut: only a larger server context helps, and the one the
    error names is enough."""
    line = "var x = [" + ", ".join(str(i) for i in range(300)) + "];"
    indent = IndentStyle(use_tabs=False, width=4, tabstop=8)
    ctx = FimContext("min.js", "javascript", "", "", line[:700], line[700:], "", False, indent)
    backend = mock_backend()
    monkeypatch.setattr(backend, "_tokenize", lambda session, text: list(text.encode()))

    def build(n_ctx: int) -> list[int]:
        fim = {"pre": 1, "suf": 2, "mid": 3}
        session = llama_server_module._Session(None, None, n_ctx, None, True, "completion", fim)
        return backend._build_prompt(session, ctx, 32)

    with pytest.raises(BackendError) as small:
        build(256)
    message = str(small.value)
    assert "prefix_tokens" not in message, message
    found = re.search(r"start llama-server with -c (\d+) or more", message)
    assert found, message
    assert len(build(int(found[1]))) == int(found[1]) - 32 - 1
