""":LocalLLMExplain end to end in a real headless Neovim: the command, the remote plugin, the
real SmolLM2-135M-Instruct (embedded, through llama-server, through the Ollama protocol server)
and the floating window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import model_files
from conftest import REPO
from fake_ollama import FakeModel, FakeOllama
from nvim_helpers import open_buffer, setup_plugin, wait_for

pytestmark = [pytest.mark.nvim, pytest.mark.model]

DEMO = (REPO / "tests" / "fixtures" / "demo.go").read_text()
TIMEOUT = 120.0


def smollm2() -> str:
    return str(model_files.smollm2_path())


def info(nvim: Any) -> dict[str, Any]:
    return nvim.exec_lua("return require('localllm.explain').info()")  # type: ignore[no-any-return]


def history(nvim: Any) -> list[dict[str, Any]]:
    status = nvim.exec_lua("return require('localllm.bridge').explain_status()")
    return list(status["history"]) if status else []


def record(nvim: Any, request_id: int) -> dict[str, Any] | None:
    return next((r for r in history(nvim) if r["id"] == request_id), None)


def window_lines(nvim: Any) -> list[str]:
    buf = info(nvim)["buf"]
    return nvim.exec_lua("return vim.api.nvim_buf_get_lines(..., 0, -1, false)", buf)  # type: ignore[no-any-return]


def title(nvim: Any) -> str:
    win = info(nvim)["win"]
    config = nvim.exec_lua("return vim.api.nvim_win_get_config(...)", win)
    return "".join(chunk[0] for chunk in config["title"])


def start(nvim_factory: Any, tmp_path: Path, **opts: Any) -> Any:
    nvim = nvim_factory()
    nvim.command("set columns=120 lines=40")
    setup_plugin(nvim, **opts)
    open_buffer(nvim, str(tmp_path / "demo.go"), DEMO)
    return nvim


def embedded(nvim_factory: Any, tmp_path: Path, **explain: Any) -> Any:
    return start(
        nvim_factory,
        tmp_path,
        model=smollm2(),
        explain={"temperature": 0.0, **explain},
    )


def finished(nvim: Any) -> dict[str, Any]:
    return wait_for(lambda: (lambda i: i if i["done"] else None)(info(nvim)), TIMEOUT)


def streaming(nvim: Any, pieces: int = 3) -> dict[str, Any]:
    return wait_for(lambda: (lambda i: i if i["pieces"] >= pieces else None)(info(nvim)), TIMEOUT)


# -- embedded --------------------------------------------------------------------------------


def test_without_a_range_the_function_under_the_cursor_is_explained(
    nvim_factory: Any, tmp_path: Path
) -> None:
    nvim = embedded(nvim_factory, tmp_path)
    nvim.current.window.cursor = (23, 2)  # inside Get
    code_win = nvim.current.window.handle
    nvim.command("LocalLLMExplain")
    state = info(nvim)
    assert state["open"] and state["float"]  # at once, before the model answers
    assert nvim.current.window.handle == state["win"]
    done = finished(nvim)
    assert done.get("error") is None, done.get("error")
    assert done.get("finish") in ("stop", "length")
    assert done["pieces"] > 1 and done["text"].strip()  # streamed piece by piece
    assert done.get("title") == "Get (lines 20–27)"
    assert done.get("model") == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert title(nvim) == " localllm · Get (lines 20–27) · SmolLM2-135M-Instruct.Q4_1.gguf "
    assert "\n".join(window_lines(nvim)) == done["text"]
    buf = done["buf"]
    assert nvim.exec_lua("return vim.bo[...].filetype", buf) == "markdown"
    assert nvim.exec_lua("return vim.wo[...].wrap", done["win"]) is True
    assert done.get("first_ms") > 0 and done["stats"]["tokens"] > 1
    assert record(nvim, done["id"])["finish"] == done.get("finish")  # type: ignore[index]

    # Y yanks the answer, s moves it to a split, q closes that.
    nvim.input("Y")
    wait_for(lambda: nvim.funcs.getreg('"') == done["text"] + "\n")
    nvim.input("s")
    wait_for(lambda: not info(nvim)["float"] and info(nvim)["open"])
    split = info(nvim)["win"]
    assert nvim.api.win_get_buf(split).handle == buf
    assert nvim.current.window.handle == split
    nvim.input("q")
    wait_for(lambda: not info(nvim)["open"])
    assert nvim.current.window.handle == code_win
    assert len(nvim.api.list_wins()) == 1


def test_a_range_with_a_question(nvim_factory: Any, tmp_path: Path) -> None:
    nvim = embedded(nvim_factory, tmp_path, max_tokens=48)
    nvim.command("31,34LocalLLMExplain why range over the map?")
    done = finished(nvim)
    assert done.get("error") is None and done["text"].strip()
    assert done.get("title") == "lines 31–34"
    assert done["stats"]["tokens"] <= 48


def test_a_visual_selection_and_a_second_question_replaces_the_first(
    nvim_factory: Any, tmp_path: Path
) -> None:
    nvim = embedded(nvim_factory, tmp_path, max_tokens=1000)
    nvim.input("30GV32G:LocalLLMExplain<CR>")  # :'<,'>LocalLLMExplain
    first = streaming(nvim, 2)
    assert first.get("title") == "lines 30–32"
    first_win = first["win"]
    nvim.command("wincmd p")  # back to the code
    nvim.current.window.cursor = (39, 1)  # inside main
    nvim.command("LocalLLMExplain")
    second = finished(nvim)
    assert second["id"] == first["id"] + 1 and second.get("title") == "main (lines 38–41)"
    assert not nvim.api.win_is_valid(first_win)
    assert len(nvim.api.list_wins()) == 2  # the code and one answer
    old = wait_for(lambda: record(nvim, first["id"]), TIMEOUT)
    assert old["finish"] == "cancelled"


def test_q_closes_the_window_and_stops_the_model(nvim_factory: Any, tmp_path: Path) -> None:
    nvim = embedded(nvim_factory, tmp_path, max_tokens=1000)
    nvim.current.window.cursor = (31, 0)
    nvim.command("LocalLLMExplain")
    state = streaming(nvim, 3)
    nvim.input("q")
    wait_for(lambda: not info(nvim)["open"])
    done = wait_for(lambda: record(nvim, state["id"]), TIMEOUT)
    assert done.get("finish") == "cancelled"
    assert done["tokens"] < 100  # stopped long before max_tokens
    status = nvim.exec_lua("return require('localllm.bridge').explain_status()")
    assert status.get("busy") is None  # left out: nothing in flight
    assert info(nvim)["finish"] == "cancelled"


def test_problems_are_messages_in_the_window(nvim_factory: Any, tmp_path: Path) -> None:
    nvim = start(nvim_factory, tmp_path, backend="none")
    nvim.command("LocalLLMExplain")
    done = finished(nvim)
    assert "no model to explain with" in str(done.get("error"))
    assert "Traceback" not in "\n".join(window_lines(nvim))
    assert window_lines(nvim)[0].startswith("localllm: no model to explain with")

    missing = tmp_path / "nowhere.gguf"
    nvim2 = start(nvim_factory, tmp_path, model=str(missing))
    nvim2.command("LocalLLMExplain")
    assert f"model file not found: {missing}" in str(finished(nvim2).get("error"))


def test_a_model_without_chat_template_answers_with_a_note(
    nvim_factory: Any, tmp_path: Path
) -> None:
    tiny = model_files.tiny_path(["It", " adds", "."])
    nvim = start(nvim_factory, tmp_path, model=str(tiny))
    nvim.command("20LocalLLMExplain")
    done = finished(nvim)
    assert done["text"] == "It adds."
    assert any("no chat template" in note for note in done.get("notes") or [])
    assert window_lines(nvim)[0].startswith("> this model has no chat template")


# -- llama-server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smol_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from llama_server import LlamaServer

    log = tmp_path_factory.mktemp("llama-server") / "smollm2.log"
    server = LlamaServer(model_files.smollm2_path(), log_path=log).start()
    yield server
    server.stop()


def test_explain_through_llama_server(nvim_factory: Any, tmp_path: Path, smol_server: Any) -> None:
    nvim = start(
        nvim_factory,
        tmp_path,
        backend="llama_server",
        llama_server={"url": smol_server.url},
        explain={"temperature": 0.0, "max_tokens": 1000},
    )
    nvim.command("21,26LocalLLMExplain")
    state = streaming(nvim, 3)
    assert state.get("model") == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert state.get("title") == "lines 21–26"

    def processing() -> bool:
        slots = httpx.get(smol_server.url + "/slots", timeout=10).json()
        return any(s["is_processing"] for s in slots)

    nvim.input("<Esc>")
    wait_for(lambda: not info(nvim)["open"])
    wait_for(lambda: not processing(), TIMEOUT)
    done = wait_for(lambda: record(nvim, state["id"]), TIMEOUT)
    assert done.get("finish") == "cancelled"

    nvim.command("31,34LocalLLMExplain")
    again = finished(nvim)
    assert again.get("error") is None and again["text"].strip() and again["pieces"] > 1


# -- Ollama ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama([FakeModel("smollm2:135m", model_files.smollm2_path())]) as server:
        yield server


def test_explain_through_ollama(nvim_factory: Any, tmp_path: Path, ollama: FakeOllama) -> None:
    ollama.reset()
    nvim = start(
        nvim_factory,
        tmp_path,
        backend="ollama",
        ollama={"url": ollama.url, "model": "smollm2:135m"},
        explain={"temperature": 0.0, "max_tokens": 1000},
    )
    nvim.current.window.cursor = (30, 1)  # inside Names
    nvim.command("LocalLLMExplain what is the capacity for?")
    state = streaming(nvim, 3)
    assert state.get("model") == "smollm2:135m"
    assert state.get("title") == "Names (lines 29–36)"
    sent = ollama.last("/api/chat").body
    assert sent["messages"][1]["content"].endswith("what is the capacity for?")
    assert "func (s *Store) Names() []string {" in sent["messages"][1]["content"]
    nvim.input("q")
    wait_for(lambda: not info(nvim)["open"])
    chat = ollama.last("/api/chat")
    assert chat.finished.wait(TIMEOUT)
    assert chat.disconnected  # the model stopped: Ollama saw the client go away
    assert record(nvim, state["id"]) is not None

    nvim.command("LocalLLMExplain")
    done = finished(nvim)
    assert done.get("error") is None and done["text"].strip()
