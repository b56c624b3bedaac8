"""`:checkhealth localllm` and the statusline component, in a real headless Neovim."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from nvim_helpers import insert_at, open_buffer, setup_plugin, wait_final, wait_for

pytestmark = pytest.mark.nvim

GO_FILE = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\n\tfmt.Println(x)\n}\n'
HELLO = 'fmt.Println("hello")'
SECRET = "sk-test-9f8e7d6c5b4a39281706"


def checkhealth(nvim: Any) -> str:
    nvim.command("checkhealth localllm")
    return "\n".join(nvim.current.buffer[:])


def test_checkhealth_reports_every_section_and_masks_keys(
    nvim_factory: Any, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLAMA_API_KEY", SECRET)
    nvim = nvim_factory()
    setup_plugin(nvim, model=str(tiny_model))
    text = checkhealth(nvim)
    for section in (
        "localllm: Neovim",
        "localllm: Python host",
        "localllm: backend",
        "localllm: model and memory",
        "localllm: statusline",
    ):
        assert section in text, text
    assert re.search(r"OK Neovim 0\.1\d", text)
    assert "remote plugin registered in" in text
    assert "host running (python3 provider" in text
    # Every package with its version.
    for name in ("pynvim", "httpx", "tree-sitter", "llama-cpp-python", "gguf"):
        assert re.search(rf"OK {name} \d+\.\d+", text), name
    assert re.search(r"tree-sitter grammars: tree-sitter-go \d", text)
    # The model: FIM tokens, quantization, parameters, memory against RAM.
    assert "OK FIM tokens: yes" in text
    assert "541152" not in text and "1M parameters, F32" in text
    assert re.search(r"RAM: [\d.]+ GB total, [\d.]+ GB available", text)
    assert re.search(r"weights [\d.]+ MB \(parameters × bits / 8\) \+ KV cache [\d.]+ MB", text)
    assert "fits in the available RAM" in text
    # The key is named, never shown.
    assert "$LLAMA_API_KEY: set (" in text and "hidden" in text
    assert SECRET not in text and SECRET[:8] not in text
    assert "$OPENAI_API_KEY: not set" in text


def test_checkhealth_flags_a_file_that_is_not_a_model(nvim_factory: Any, tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"not a model at all" * 10)
    nvim = nvim_factory()
    setup_plugin(nvim, model=str(bogus))
    text = checkhealth(nvim)
    assert "ERROR not a GGUF file (bad magic)" in text, text


def record_status(nvim: Any) -> None:
    nvim.exec_lua(
        """
        _G.status_events = {}
        vim.api.nvim_create_autocmd('User', {
          pattern = 'LocalLLMStatus',
          callback = function(ev)
            table.insert(_G.status_events, ev.data.state)
          end,
        })
        _G.notices = {}
        vim.notify = function(msg, level) table.insert(_G.notices, { msg = msg, level = level }) end
        _G.progress = {}
        local bridge = require('localllm.bridge')
        local on_notify = bridge.on_notify
        bridge.on_notify = function(level, msg)
          table.insert(_G.progress, msg)
          return on_notify(level, msg)
        end
        """
    )


def test_statusline_follows_requests_and_fires_an_event(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = nvim_factory()
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20)
    record_status(nvim)
    assert nvim.exec_lua("return require('localllm').statusline()") == "LLM"
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_final(nvim, HELLO)
    line = wait_for(
        lambda: (
            re.fullmatch(
                r"LLM \d+ms", s := nvim.exec_lua("return require('localllm').statusline()")
            )
            and s
        )
    )
    events = wait_for(lambda: nvim.exec_lua("return _G.status_events"))
    assert events[-1] == "idle", events
    assert {"waiting", "loading"} & set(events), events
    info = nvim.exec_lua("return require('localllm.status').get()")
    assert line == f"LLM {info['latency_ms']}ms"
    # One "loading" and one "ready" notice for the model, however many requests follow.
    for ch in "fmt":
        nvim.input(ch)
        wait_final(nvim)
    progress = nvim.exec_lua("return _G.progress")
    assert len([p for p in progress if "loading model" in p]) == 1, progress
    assert len([p for p in progress if "model ready" in p]) == 1, progress
    # Off is shown, and is an event too.
    count = len(nvim.exec_lua("return _G.status_events"))
    nvim.command("LocalLLM disable")
    assert nvim.exec_lua("return require('localllm').statusline()") == "LLM off"
    wait_for(lambda: len(nvim.exec_lua("return _G.status_events")) > count)


def requests(nvim: Any) -> int:
    return int(nvim.exec_lua("return require('localllm.session').stats.requests"))


def test_statusline_shows_an_error_and_the_problem_is_told_once(
    nvim_factory: Any, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.gguf"
    nvim = nvim_factory()
    setup_plugin(nvim, model=str(missing), debounce_ms=20)
    record_status(nvim)
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    for ch in "\tfmt.":
        sent = requests(nvim)
        nvim.input(ch)
        wait_for(lambda sent=sent: requests(nvim) > sent)
        wait_for(lambda: nvim.exec_lua("return require('localllm').statusline()") == "LLM error")
    assert requests(nvim) >= 5
    wait_for(lambda: "error" in nvim.exec_lua("return _G.status_events"))
    errors = [n["msg"] for n in nvim.exec_lua("return _G.notices")]
    assert len(errors) == 1, errors
    assert "model file not found" in errors[0] and str(missing) in errors[0]
    assert str(missing) in nvim.exec_lua("return require('localllm.status').get().error")


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_checkhealth_flags_a_configured_model_that_is_not_there(
    nvim_factory: Any, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "coder.gguf"
    if kind == "folder":
        path.mkdir()
    nvim = nvim_factory()
    setup_plugin(nvim, model=str(path))
    # Before any request: the health check alone finds it.
    text = checkhealth(nvim)
    expected = {
        "missing": f"ERROR model file not found: {path}",
        "folder": f"ERROR the model is a folder, not a GGUF file: {path}",
    }[kind]
    assert expected in text, text
    assert "set `model` in setup() to the path of a .gguf file" in text
    assert "no local model file to check" not in text


def test_no_model_message_names_the_real_data_folder(
    nvim_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A machine with no model anywhere, and Neovim's data in a custom $XDG_DATA_HOME.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("LOCALLLM_MODELS_DIR", "OLLAMA_MODELS", "HF_HOME", "HF_HUB_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    nvim = nvim_factory()
    data = nvim.exec_lua("return vim.fn.stdpath('data')")
    assert not data.startswith(str(tmp_path / "home"))
    setup_plugin(nvim, backend="embedded", debounce_ms=20)
    record_status(nvim)
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\tfmt.")
    errors = wait_for(lambda: [n["msg"] for n in nvim.exec_lua("return _G.notices")])
    assert "no GGUF model found" in errors[0], errors
    assert f"put a .gguf file in {data}/localllm/models" in errors[0], errors
    assert "~/.local/share" not in errors[0]
