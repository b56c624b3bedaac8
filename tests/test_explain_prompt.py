"""The pure core of :LocalLLMExplain (what to explain, the prompt, cutting to the context) and
the explain worker with a scripted chat backend. No Neovim, no model, no network."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from localllm.backends import Cancellation
from localllm.backends.chat import ChatModel, ChatParams, ChatStats, Message, plain_chat_prompt
from localllm.config import ExplainSettings, Settings, parse_settings
from localllm.definitions import DefinitionIndex
from localllm.errors import BackendError, ConfigError, ModelError
from localllm.explain import ExplainService, request_from_payload, resolve_chat_backend
from localllm.explain_prompt import (
    SYSTEM_PROMPT,
    ExplainRequest,
    PromptTooSmall,
    build_prompt,
    document_of,
    enclosing_function,
    find_target,
    fit_lines,
    selection_text,
)
from nvim_helpers import wait_for
from test_fim_templates import CHAT_MARKERS, FIM_MARKERS

GO = """package store

import (
\t"errors"
\t"sync"
)

// Store keeps records.
type Store struct {
\tmu      sync.Mutex
\trecords map[string]string
}

// Get returns the record with the given id.
func (s *Store) Get(id string) (string, error) {
\ts.mu.Lock()
\tdefer s.mu.Unlock()
\trec, ok := s.records[id]
\tif !ok {
\t\treturn "", errors.New("not found")
\t}
\treturn rec, nil
}

func helper() {
\tf := func() int {
\t\treturn 1
\t}
\t_ = f
}
"""
GO_LINES = tuple(GO.split("\n"))
PY = '''import os


@cache
def size(path):
    """Bytes in path."""
    return os.stat(path).st_size
'''


def request(**kw: Any) -> ExplainRequest:
    base: dict[str, Any] = {"id": 1, "path": "/src/store/store.go", "filetype": "go"}
    base["lines"] = GO_LINES
    base["root"] = "/src"
    base.update(kw)
    return ExplainRequest(**base)


# -- what to explain -------------------------------------------------------------------------


def test_the_function_under_the_cursor_with_its_doc_comment() -> None:
    assert enclosing_function(GO, 17, "go") == (13, 22, "Get")
    target = find_target(request(cursor_row=19), "go")
    assert (target.kind, target.start_row, target.end_row, target.name) == (
        "function",
        13,
        22,
        "Get",
    )
    assert target.text.startswith("// Get returns")
    assert target.text.endswith("\treturn rec, nil\n}")
    assert target.describe() == "Get (lines 14–23)"


def test_inside_a_closure_the_named_function_is_explained() -> None:
    assert enclosing_function(GO, 26, "go") == (24, 29, "helper")


def test_outside_any_function_the_cursor_line_is_explained() -> None:
    assert enclosing_function(GO, 9, "go") is None
    target = find_target(request(cursor_row=9), "go")
    assert (target.kind, target.start_row, target.text) == ("line", 9, "\tmu      sync.Mutex")
    assert target.describe() == "line 10"
    # No grammar for the language: the line too.
    assert find_target(request(cursor_row=17, filetype="text"), None).kind == "line"


def test_python_decorators_belong_to_the_function() -> None:
    assert enclosing_function(PY, 5, "python") == (3, 6, "size")


def test_a_range_is_explained_as_it_is() -> None:
    target = find_target(request(ranged=True, start_row=15, end_row=16, cursor_row=2), "go")
    assert target.kind == "selection"
    assert target.text == "\ts.mu.Lock()\n\tdefer s.mu.Unlock()"
    assert target.describe() == "lines 16–17"


def test_a_characterwise_selection_is_cut_at_its_columns() -> None:
    # From "mu.Lock" on line 16 to "defer" (inclusive) on line 17.
    req = request(ranged=True, start_row=15, end_row=16, start_col=3, end_col=6)
    assert selection_text(req) == "mu.Lock()\n\tdefer"
    one_line = request(ranged=True, start_row=15, end_row=15, start_col=3, end_col=10)
    assert selection_text(one_line) == "mu.Lock"


def test_rows_are_buffer_rows_when_only_a_window_was_sent() -> None:
    req = request(lines=GO_LINES[10:], first_line=10, cursor_row=17, head=GO_LINES[:10])
    target = find_target(req, "go")
    assert (target.start_row, target.end_row, target.name) == (13, 22, "Get")
    prompt = build_prompt(req, n_ctx=4096, max_tokens=256)
    assert '"sync"' in prompt.messages[1]["content"]  # the imports come from `head`


# -- the prompt ------------------------------------------------------------------------------


def test_the_prompt_carries_language_path_imports_definitions_and_question() -> None:
    req = request(ranged=True, start_row=15, end_row=20, question="why does this lock twice?")
    prompt = build_prompt(req, n_ctx=4096, max_tokens=512, index=DefinitionIndex())
    system, user = prompt.messages
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert "do not know" in SYSTEM_PROMPT and "brief" in SYSTEM_PROMPT
    text = user["content"]
    assert user["role"] == "user"
    assert text.startswith("File: store/store.go (Go)")
    assert '"errors"' in text and '"sync"' in text  # imports
    assert "type Store struct" in text  # a definition the code uses
    assert "func (s *Store) Get(id string) (string, error)" in text  # the enclosing signature
    assert "```go\n\ts.mu.Lock()\n" in text
    assert text.endswith("why does this lock twice?")
    assert prompt.note is None
    assert prompt.title == "lines 16–21"
    assert set(prompt.context) == {"imports", "definitions", "signature"}


def test_one_tree_serves_the_whole_prompt() -> None:
    req = request(cursor_row=17)
    doc = document_of(req)
    prompt = build_prompt(req, n_ctx=4096, max_tokens=512, index=DefinitionIndex(), document=doc)
    assert doc.parsed  # the function to explain and the context around it: from its tree
    tree = doc.tree
    assert prompt == build_prompt(req, n_ctx=4096, max_tokens=512, index=DefinitionIndex())
    assert prompt == build_prompt(
        req, n_ctx=4096, max_tokens=512, index=DefinitionIndex(), document=doc
    )
    assert doc.tree is tree


def test_without_a_question_the_model_is_asked_to_explain() -> None:
    prompt = build_prompt(request(cursor_row=17), n_ctx=4096, max_tokens=512)
    assert prompt.messages[1]["content"].endswith("Explain what this code does.")


def test_code_with_fences_gets_a_longer_fence() -> None:
    lines = ("x = '''", "```python", "print(1)", "```", "'''")
    req = request(lines=lines, filetype="python", path="/a.py", ranged=True, end_row=4)
    text = build_prompt(req, n_ctx=4096, max_tokens=64).messages[1]["content"]
    assert "````python\nx = '''\n```python\n" in text


def test_a_selection_too_large_is_cut_with_a_note() -> None:
    lines = tuple(f"\tx{i} := compute({i}, {i + 1}) // step {i}" for i in range(400))
    req = request(lines=lines, ranged=True, start_row=0, end_row=399)
    prompt = build_prompt(req, n_ctx=2048, max_tokens=512)
    assert prompt.note is not None
    assert "cut to its first" in prompt.note and "of 400 lines" in prompt.note
    text = prompt.messages[1]["content"]
    assert "x0 := compute" in text and "x399" not in text
    assert "the rest did not fit" in text  # the model is told too
    # Everything fits the context (estimated generously at 3 bytes per token).
    total = sum(len(m["content"].encode()) for m in prompt.messages) // 3
    assert total + 512 <= 2048
    # A larger context takes it whole.
    assert build_prompt(req, n_ctx=16384, max_tokens=512).note is None


def test_fit_lines() -> None:
    assert fit_lines("a\nb", 100) == ("a\nb", 2, 2)
    text, kept, total = fit_lines("\n".join(["abcdefghi"] * 10), 9)
    assert (kept, total) == (2, 10) and text == "abcdefghi\nabcdefghi"
    # One huge line is cut inside.
    text, kept, total = fit_lines("y" * 3000, 10)
    assert (kept, total) == (1, 1) and 0 < len(text) <= 30


def test_no_room_for_the_code_is_an_error() -> None:
    with pytest.raises(PromptTooSmall, match=r"explain\.max_tokens"):
        build_prompt(request(cursor_row=17), n_ctx=600, max_tokens=512)


def test_plain_chat_prompt_for_models_without_a_template() -> None:
    text = plain_chat_prompt(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why?"}]
    )
    assert text == "### System\nBe brief.\n\n### User\nWhy?\n\n### Answer\n"


def test_payload_from_the_editor() -> None:
    req = request_from_payload(
        {
            "id": 3,
            "path": "/a.go",
            "filetype": "go",
            "lines": ["a", "b"],
            "first_line": 5,
            "ranged": True,
            "start_row": 5,
            "end_row": 6,
            "end_col": 1,
            "question": "why?",
            "root": "/",
        }
    )
    assert (req.id, req.first_line, req.ranged, req.start_col, req.end_col) == (3, 5, True, None, 1)
    assert req.lines == ("a", "b") and req.question == "why?"
    with pytest.raises(KeyError):
        request_from_payload({"id": 1})


# -- settings --------------------------------------------------------------------------------


def test_explain_settings() -> None:
    assert parse_settings({}).explain == ExplainSettings()
    s = parse_settings(
        {
            "explain": {
                "backend": "ollama",
                "url": "http://127.0.0.1:11434/",
                "server_model": "qwen2.5-coder:1.5b-instruct",
                "max_tokens": 300,
                "temperature": 0,
            }
        }
    )
    assert s.explain == ExplainSettings(
        "ollama", None, "http://127.0.0.1:11434", "qwen2.5-coder:1.5b-instruct", 300, 0.0
    )
    for raw, key in (
        ({"backend": "auto"}, "explain.backend"),
        ({"url": "localhost"}, "explain.url"),
        ({"max_tokens": 2}, "explain.max_tokens"),
        ({"temperature": "hot"}, "explain.temperature"),
        ({"model": 3}, "explain.model"),
        ({"backend": "openai"}, "explain.url"),
    ):
        with pytest.raises(ConfigError) as info:
            parse_settings({"explain": raw})
        assert info.value.key == key


# -- the worker, with a scripted chat backend ------------------------------------------------


class Scripted:
    """A chat backend that streams `pieces`, one per `release()` when `gated`."""

    name = "embedded"

    def __init__(self, pieces: Sequence[str], *, gated: bool = False, n_ctx: int = 4096) -> None:
        self.pieces = list(pieces)
        self.gate = threading.Semaphore(0) if gated else None
        self.n_ctx = n_ctx
        self.asked: list[Sequence[Message]] = []
        self.stopped = threading.Event()
        self.closed = False
        self.error: Exception | None = None

    def chat_model(self) -> ChatModel:
        if self.error is not None:
            raise self.error
        return ChatModel("scripted-model", self.n_ctx, None)

    def chat(
        self,
        messages: Sequence[Message],
        params: ChatParams,
        cancel: Cancellation,
        stats: ChatStats,
    ) -> Iterator[str]:
        self.asked.append(messages)
        try:
            for piece in self.pieces:
                while self.gate is not None and not self.gate.acquire(timeout=0.01):
                    if cancel.cancelled:
                        return
                if cancel.cancelled:
                    return
                stats.generated_tokens += 1
                yield piece
            stats.finish = "stop"
        finally:
            self.stopped.set()

    def close(self) -> None:
        self.closed = True


def service(chat: Scripted, events: list[dict[str, Any]]) -> ExplainService:
    return ExplainService(Settings(), events.append, chat=chat)  # type: ignore[arg-type]


def test_the_answer_streams_start_text_done() -> None:
    events: list[dict[str, Any]] = []
    chat = Scripted(["The ", "store ", "locks."])
    svc = service(chat, events)
    try:
        svc.submit(request(id=7, cursor_row=17))
        wait_for(lambda: events and events[-1]["kind"] == "done")
    finally:
        svc.close()
    kinds = [e["kind"] for e in events]
    assert kinds == ["start", "text", "text", "text", "done"]
    assert all(e["id"] == 7 for e in events)
    start = events[0]
    assert start["model"] == "scripted-model" and start["title"] == "Get (lines 14–23)"
    assert (start["start_row"], start["end_row"]) == (13, 22)
    assert "".join(e["text"] for e in events if e["kind"] == "text") == "The store locks."
    assert events[-1]["tokens"] == 3 and events[-1]["finish"] == "stop"
    assert not chat.closed  # given to the service, not its own


def test_a_newer_question_cancels_the_one_in_flight() -> None:
    events: list[dict[str, Any]] = []
    chat = Scripted(["a"] * 1000, gated=True)
    svc = service(chat, events)
    try:
        svc.submit(request(id=1, cursor_row=17))
        chat.gate.release()  # type: ignore[union-attr]
        wait_for(lambda: any(e["kind"] == "text" for e in events))
        svc.submit(request(id=2, cursor_row=3, question="and this?"))
        wait_for(lambda: chat.stopped.is_set())
        wait_for(lambda: any(e["id"] == 2 and e["kind"] == "start" for e in events))
        for _ in range(3):
            chat.gate.release()  # type: ignore[union-attr]
        wait_for(lambda: sum(e["id"] == 2 and e["kind"] == "text" for e in events) == 3)
        svc.cancel(2)
        wait_for(svc.idle)
    finally:
        svc.close()
    first = [e for e in events if e["id"] == 1]
    assert [e["kind"] for e in first] == ["start", "text"]  # nothing after the cancel
    assert not any(e["kind"] == "done" for e in events)
    history = {r["id"]: r for r in svc.status()["history"]}
    assert history[1]["finish"] == "cancelled" and history[1]["tokens"] == 1
    assert history[2]["finish"] == "cancelled" and history[2]["tokens"] == 3
    assert chat.asked[1][1]["content"].endswith("and this?")


def test_errors_reach_the_window_as_messages() -> None:
    events: list[dict[str, Any]] = []
    chat = Scripted(["x"])
    chat.error = BackendError("cannot reach llama-server at http://127.0.0.1:9 — is it running?")
    svc = service(chat, events)
    try:
        svc.submit(request(cursor_row=17))
        wait_for(lambda: events)
        chat.error = None
        chat.n_ctx = 300  # too small for the answer and the code
        svc.submit(request(id=2, cursor_row=17))
        wait_for(lambda: len(events) == 2)
    finally:
        svc.close()
    assert events[0] == {
        "id": 1,
        "kind": "error",
        "final": True,
        "text": "",
        "error": "cannot reach llama-server at http://127.0.0.1:9 — is it running?",
    }
    assert events[1]["kind"] == "error" and "explain.max_tokens" in events[1]["error"]


# -- which backend explains ------------------------------------------------------------------


def test_backend_none_has_no_chat_model() -> None:
    from localllm.backends.none import NoModelBackend

    with pytest.raises(ModelError, match=r"explain\.model"):
        resolve_chat_backend(Settings(backend="none"), NoModelBackend(), lambda *_: None)


def test_the_same_embedded_model_is_shared_another_is_loaded_apart(tmp_path: Path) -> None:
    from localllm.backends.embedded import EmbeddedBackend

    settings = Settings(backend="embedded", model=str(tmp_path / "coder.gguf"))
    completion = EmbeddedBackend(settings)
    chat, owned = resolve_chat_backend(settings, completion, lambda *_: None)
    assert chat is completion and not owned
    other = dataclasses.replace(settings, explain=ExplainSettings(model=str(tmp_path / "i.gguf")))
    chat, owned = resolve_chat_backend(other, completion, lambda *_: None)
    assert owned and chat is not completion and isinstance(chat, EmbeddedBackend)
    assert chat.info().model == str(tmp_path / "i.gguf")


def test_explain_settings_pick_a_server() -> None:
    from localllm.backends.llama_server import LlamaServerBackend
    from localllm.backends.ollama import OllamaBackend
    from localllm.backends.openai_compat import OpenAIBackend

    def resolve(**explain: Any) -> Any:
        settings = Settings(backend="none", explain=ExplainSettings(**explain))
        chat, owned = resolve_chat_backend(settings, None, lambda *_: None)
        assert owned
        return chat

    ollama = resolve(backend="ollama", url="http://127.0.0.1:1", server_model="smol:135m")
    assert isinstance(ollama, OllamaBackend) and ollama.chat_name == "smol:135m"
    assert ollama.url == "http://127.0.0.1:1"
    server = resolve(backend="llama_server", url="http://127.0.0.1:2")
    assert isinstance(server, LlamaServerBackend) and server.url == "http://127.0.0.1:2"
    openai = resolve(backend="openai", url="http://127.0.0.1:3/v1", server_model="m")
    assert isinstance(openai, OpenAIBackend) and openai.chat_model().label == "m"
    for chat in (ollama, server, openai):
        chat.close()


@pytest.mark.parametrize("marker", [m.strip() for m in FIM_MARKERS] + CHAT_MARKERS)
def test_chat_markers_in_the_code_never_open_a_turn(marker: str) -> None:
    lines = ("package p", "", "func f() string {", f'\treturn "{marker}x"', "}")
    prompt = build_prompt(
        request(lines=lines, cursor_row=3, question=f"why {marker}?"), n_ctx=4096, max_tokens=256
    )
    user = prompt.messages[1]["content"]
    chat = {m for c in CHAT_MARKERS for m in re.findall(r"<[^<>]+>|\[/?\w+\]", c)}
    for raw in {m.strip() for m in FIM_MARKERS} | chat:
        assert raw not in user, (raw, user)
    assert f'"{marker}x"' in user.replace("\u200b", "")
