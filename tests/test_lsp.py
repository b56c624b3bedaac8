"""`localllm lsp` end to end: a stdio client starts the real server process, with the tiny
deterministic GGUF model (real llama.cpp) or a fake OpenAI server that holds its stream (so a
request is in flight at a known point); plus the document mirror and positions alone."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import model_files
from fake_openai import FakeOpenAI
from localllm.buffers import BufferStore
from localllm.config import ContextSettings
from localllm.jsonrpc import METHOD_NOT_FOUND, REQUEST_CANCELLED, REQUEST_FAILED
from localllm.lsp_documents import Documents, to_character, to_index
from lsp_client import LspClient, position
from nvim_helpers import wait_for

GO = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\t\n\tfmt.Println(x)\n}\n'
HELLO = 'fmt.Println("hello")'  # the tiny model's answer after any prompt


@pytest.fixture
def clients() -> Iterator[Callable[..., LspClient]]:
    started: list[LspClient] = []

    def start(*args: str) -> LspClient:
        client = LspClient(*args)
        started.append(client)
        return client

    yield start
    for client in started:
        if client.proc.poll() is None:
            client.proc.kill()
            client.proc.wait(timeout=30)
        client.close()


@pytest.fixture
def held(tiny_model: Path) -> Iterator[FakeOpenAI]:
    """An OpenAI-compatible server whose streams stop after 2 tokens until `resume` is set."""
    pieces = [f" w{i}" for i in range(40)]
    server = FakeOpenAI(model_files.tiny_path(pieces), model_name="tiny", hold_after=2).start()
    yield server
    server.stop()


def openai_config(server: FakeOpenAI) -> dict[str, Any]:
    return {
        "backend": "openai",
        "openai": {"url": server.url, "model": "tiny", "suffix": "always"},
        "generation": {"time_limit_ms": 60_000},
        "speculative": False,
    }


def embedded(tiny_model: Path) -> tuple[str, ...]:
    return ("--backend", "embedded", "--model", str(tiny_model))


# -- initialize and the protocol ------------------------------------------------------------


def test_initialize_declares_inline_completion_and_negotiates_the_encoding(
    clients: Callable[..., LspClient],
) -> None:
    client = clients("--backend", "none")
    caps = client.initialize()["capabilities"]
    assert caps["inlineCompletionProvider"] is True
    assert caps["completionProvider"] == {"resolveProvider": False}
    assert caps["textDocumentSync"] == {"openClose": True, "change": 2}
    assert caps["positionEncoding"] == "utf-8"
    assert client.close() == 0
    other = clients("--backend", "none")
    assert other.initialize(utf8=False)["capabilities"]["positionEncoding"] == "utf-16"


def test_unknown_requests_and_broken_messages_leave_the_server_running(
    clients: Callable[..., LspClient],
) -> None:
    client = clients("--backend", "none")
    early = client.answer(client.send("textDocument/inlineCompletion", {}))
    assert early["error"]["code"] == -32002  # ServerNotInitialized
    client.initialize()
    unknown = client.answer(client.send("textDocument/hover", {}))
    assert unknown["error"]["code"] == METHOD_NOT_FOUND
    body = b"{not json"
    assert client.proc.stdin is not None
    client.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    client.proc.stdin.flush()
    bad = client.answer(client.send("textDocument/inlineCompletion", {"textDocument": {}}))
    assert bad["error"]["code"] == -32602  # InvalidParams: the server still answers
    assert client.close() == 0


def test_shutdown_then_exit_ends_the_process_with_0_and_exit_alone_with_1(
    clients: Callable[..., LspClient],
) -> None:
    client = clients("--backend", "none")
    client.initialize()
    assert client.request("shutdown", None) is None
    after = client.answer(client.send("textDocument/completion", {}))
    assert after["error"]["code"] == -32600  # InvalidRequest after shutdown
    client.notify("exit", None)
    assert client.proc.wait(timeout=30) == 0
    abrupt = clients("--backend", "none")
    abrupt.initialize()
    abrupt.notify("exit", None)
    assert abrupt.proc.wait(timeout=30) == 1


# -- completions with the real tiny model ------------------------------------------------------


@pytest.mark.model
def test_inline_completion_answers_the_suggestion_at_the_cursor(
    clients: Callable[..., LspClient], tiny_model: Path, tmp_path: Path
) -> None:
    client = clients(*embedded(tiny_model))
    client.initialize()
    uri = client.open(tmp_path / "main.go", GO)
    result = client.inline(uri, 6, 1)
    at = {"line": 6, "character": 1}
    assert result == {"items": [{"insertText": HELLO, "range": {"start": at, "end": at}}]}
    assert client.close() == 0


@pytest.mark.model
def test_incremental_changes_reach_the_engine_and_the_range_follows_them(
    clients: Callable[..., LspClient], tiny_model: Path, tmp_path: Path
) -> None:
    client = clients(*embedded(tiny_model))
    client.initialize()
    uri = client.open(tmp_path / "main.go", GO)
    assert client.inline(uri, 6, 1)["items"][0]["insertText"] == HELLO
    # Type "fmt." on line 6: the suggestion is what is left of the answer.
    at = {"line": 6, "character": 1}
    change = {"range": {"start": at, "end": at}, "text": "fmt."}
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [change]},
    )
    item = client.inline(uri, 6, 5)["items"][0]
    assert item["insertText"] == 'Println("hello")'
    assert item["range"]["start"] == {"line": 6, "character": 5}
    # Plain completion: the edit starts at the word typed, so a client's filter keeps it.
    completion = client.request("textDocument/completion", position(uri, 6, 5))
    (entry,) = completion["items"]
    assert completion["isIncomplete"] is True
    assert entry["textEdit"]["range"]["start"] == {"line": 6, "character": 5}
    assert entry["textEdit"]["newText"] == 'Println("hello")'
    # A whole-text change replaces the document.
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": GO}]},
    )
    assert client.inline(uri, 6, 1)["items"][0]["insertText"] == HELLO
    assert client.close() == 0


@pytest.mark.model
def test_utf16_positions_count_code_units(
    clients: Callable[..., LspClient], tiny_model: Path, tmp_path: Path
) -> None:
    client = clients(*embedded(tiny_model))
    client.initialize(utf8=False)
    text = GO.replace("\tx := 1\n\t\n", '\tx := 1\n\ts := "😀é"; fmt.\n')
    uri = client.open(tmp_path / "main.go", text)
    end = len('\ts := "😀é"; fmt.') + 1  # the emoji is two UTF-16 code units
    item = client.inline(uri, 6, end)["items"][0]
    assert item["insertText"] == HELLO
    # Read as a byte column, `end` would fall inside the emoji: the cursor (and the range the
    # server gives back) would be before it.
    assert item["range"]["start"] == {"line": 6, "character": end}


@pytest.mark.model
def test_a_broken_model_is_an_error_answer_and_one_message(
    clients: Callable[..., LspClient], tmp_path: Path
) -> None:
    client = clients("--backend", "embedded", "--model", str(tmp_path / "missing.gguf"))
    client.initialize()
    uri = client.open(tmp_path / "main.go", GO)
    for _ in range(2):
        answer = client.answer(client.send("textDocument/inlineCompletion", position(uri, 6, 1)))
        assert answer["error"]["code"] == REQUEST_FAILED
        assert "missing.gguf" in answer["error"]["message"]
    shown = client.notification("window/showMessage")
    assert shown["params"]["type"] == 1 and "missing.gguf" in shown["params"]["message"]
    assert client.close() == 0  # the server outlived both failures


@pytest.mark.model
def test_the_readme_helix_config_runs_and_completes(
    clients: Callable[..., LspClient], tiny_model: Path, tmp_path: Path
) -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 on
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Language server") :]
    config = tomllib.loads(section.split("```toml\n", 1)[1].split("```", 1)[0])
    server = config["language-server"]["localllm"]
    assert server["command"] == "localllm"  # the console script of `python -m localllm`
    assert "localllm" in config["language"][0]["language-servers"]
    args = [str(tiny_model) if arg.endswith(".gguf") else arg for arg in server["args"]]
    assert args[0] == "lsp"
    client = clients(*args[1:])
    client.initialize(utf8=False)  # Helix offers utf-8 too; the default is the harder case
    uri = client.open(tmp_path / "main.go", GO)
    (item,) = client.request("textDocument/completion", position(uri, 6, 1))["items"]
    assert item["textEdit"]["newText"] == HELLO
    assert client.close() == 0


# -- settings -------------------------------------------------------------------------------


def test_a_refused_setting_is_told_and_every_request_says_it(
    clients: Callable[..., LspClient], tmp_path: Path
) -> None:
    client = clients()
    client.initialize({"backend": "openai", "openai": {"url": "http://192.0.2.1/v1"}})
    shown = client.notification("window/showMessage")
    assert shown["params"]["type"] == 1
    assert "openai.url" in shown["params"]["message"]
    uri = client.open(tmp_path / "main.go", GO)
    answer = client.answer(client.send("textDocument/inlineCompletion", position(uri, 6, 1)))
    assert answer["error"]["code"] == REQUEST_FAILED
    assert "openai.url" in answer["error"]["message"]
    assert client.close() == 0


def test_a_bad_value_is_a_warning_and_the_server_runs(
    clients: Callable[..., LspClient], tmp_path: Path
) -> None:
    client = clients("--config", json.dumps({"backend": "none"}))
    client.initialize({"generation": {"n_predict": "many"}})
    shown = client.notification("window/showMessage")
    assert shown["params"]["type"] == 2 and "n_predict" in shown["params"]["message"]
    uri = client.open(tmp_path / "main.go", GO)
    assert client.inline(uri, 6, 1) == {"items": []}  # backend none: no suggestion, no error
    assert client.close() == 0


# -- requests in flight: latest wins, cancel, deadline, privacy ---------------------------------


@pytest.mark.model
def test_a_newer_request_answers_the_older_with_nothing_and_cancel_stops_the_engine(
    clients: Callable[..., LspClient], held: FakeOpenAI, tmp_path: Path
) -> None:
    client = clients("--config", json.dumps(openai_config(held)))
    client.initialize()
    uri = client.open(tmp_path / "main.go", GO)
    first = client.send("textDocument/inlineCompletion", position(uri, 6, 1))
    wait_for(lambda: len(held.generations) == 1)  # held after 2 tokens: in flight
    second = client.send("textDocument/inlineCompletion", position(uri, 6, 1))
    assert client.answer(first)["result"] == {"items": []}
    # The fake runs one generation at a time: the second request waits there for the first.
    wait_for(lambda: len(held.completions()) == 2)
    client.notify("$/cancelRequest", {"id": second})
    cancelled = client.answer(second)
    assert cancelled["error"]["code"] == REQUEST_CANCELLED
    held.resume.set()
    wait_for(lambda: len(held.generations) == 2)
    for generation in held.generations:  # both streams were dropped by the engine
        assert generation.done.wait(60)
        assert generation.disconnected
    assert client.close() == 0


@pytest.mark.model
def test_a_request_past_its_deadline_gets_an_error_that_says_so(
    clients: Callable[..., LspClient], held: FakeOpenAI, tmp_path: Path
) -> None:
    client = clients("--config", json.dumps(openai_config(held)), "--deadline-ms", "300")
    client.initialize()
    uri = client.open(tmp_path / "main.go", GO)
    answer = client.answer(client.send("textDocument/inlineCompletion", position(uri, 6, 1)))
    assert answer["error"]["code"] == REQUEST_FAILED
    assert "within 300 ms" in answer["error"]["message"]
    held.resume.set()
    (generation,) = held.generations
    assert generation.done.wait(60) and generation.disconnected
    assert client.close() == 0


@pytest.mark.model
def test_a_denied_file_gets_no_completion_and_nothing_of_it_is_sent(
    clients: Callable[..., LspClient], held: FakeOpenAI, tmp_path: Path
) -> None:
    held.resume.set()  # no holding here
    client = clients("--config", json.dumps(openai_config(held)))
    client.initialize()
    secret = GO.replace("x := 1", 'x := "SECRET-7f3a"')
    secret_uri = client.open(tmp_path / ".env", secret)
    assert client.inline(secret_uri, 6, 1) == {"items": []}
    assert client.request("textDocument/completion", position(secret_uri, 6, 1))["items"] == []
    # A file next to it is completed: the server asks the backend for it, not for the secret.
    uri = client.open(tmp_path / "main.go", GO)
    assert client.inline(uri, 6, 1)["items"][0]["insertText"].startswith(" w0")
    sent = json.dumps([request.body for request in held.requests])
    assert "x := 1" in sent and "SECRET-7f3a" not in sent
    assert client.close() == 0


# -- the mirror and positions, without a process ---------------------------------------------


def test_positions_in_each_encoding() -> None:
    line = "a😀é b"
    assert [to_index(line, c, "utf-16") for c in (0, 1, 2, 3, 4, 99)] == [0, 1, 1, 2, 3, 5]
    assert [to_index(line, c, "utf-8") for c in (0, 1, 5, 7, 99)] == [0, 1, 2, 3, 5]
    assert to_index(line, 2, "utf-32") == 2
    assert [to_character(line, i, "utf-16") for i in (1, 2, 3)] == [1, 3, 4]
    assert [to_character(line, i, "utf-8") for i in (1, 2, 3)] == [1, 5, 7]


def test_changes_across_lines_and_past_the_end_apply_as_the_specification_says() -> None:
    store = BufferStore()
    docs = Documents(store, denied=lambda path: False, encoding="utf-16")
    doc = docs.open("file:///p/a.go", "go", 1, "one\ntwo😀x\nthree\n")

    def text() -> str:
        mirror = store.get(doc.bufnr)
        assert mirror is not None
        return mirror.text.decode()

    def edit(start: tuple[int, int], end: tuple[int, int], new: str) -> None:
        lsp_range = {
            "start": {"line": start[0], "character": start[1]},
            "end": {"line": end[0], "character": end[1]},
        }
        docs.change(doc.uri, 2, [{"range": lsp_range, "text": new}])

    edit((1, 5), (2, 2), "Y\nZ")  # after the emoji (3 code units) to inside "three"
    assert text() == "one\ntwo😀Y\nZree\n"
    edit((2, 4), (9, 0), "!")  # an end past the last line: the end of the document
    assert text() == "one\ntwo😀Y\nZree!"
    edit((0, 0), (0, 0), "// x\n")
    assert text() == "// x\none\ntwo😀Y\nZree!"
    snap = docs.snapshot(doc, {"line": 2, "character": 5}, ContextSettings())
    assert snap.cursor_line == "two😀Y" and snap.col == len("two😀".encode())
    with pytest.raises(ValueError):
        edit((7, 0), (8, 0), "x")  # out of step: the document is dropped
    assert docs.get(doc.uri) is None


def test_a_denied_document_is_never_mirrored() -> None:
    store = BufferStore()
    docs = Documents(store, denied=lambda path: path.endswith(".env"))
    doc = docs.open("file:///p/.env", "sh", 1, "TOKEN=1\n")
    assert doc.denied and store.get(doc.bufnr) is None
    docs.change(doc.uri, 2, [{"text": "TOKEN=2\n"}])
    assert store.get(doc.bufnr) is None
