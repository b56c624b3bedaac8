"""`localllm lsp` with a real LSP client: Neovim 0.11's `vim.lsp` (no plugin loaded).

Neovim 0.11 has no `vim.lsp.inline_completion`, so the test sends `textDocument/inlineCompletion`
itself through the client (`client:request`, as 0.12's module does: position params in the
client's encoding, a trigger kind) and applies the item as 0.12 accepts one (its range replaced
by its insertText). The changes typed in insert mode reach the server as the client sends them
(incremental sync); plain completion goes through `vim.lsp.completion`, which 0.11 has.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import nvim_binary
from nvim_helpers import wait_for

pytestmark = [pytest.mark.nvim, pytest.mark.model]

REPO = Path(__file__).resolve().parent.parent
GO = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\t\n\tfmt.Println(x)\n}\n'
HELLO = 'fmt.Println("hello")'

START = """
local cmd, root, encodings = ...
_G.exit_code = nil
local config = {
  name = 'localllm',
  cmd = cmd,
  cmd_env = { PYTHONPATH = root .. '/python' },
  root_dir = root,
  on_exit = function(code) _G.exit_code = code end,
}
if encodings ~= vim.NIL and encodings then
  config.capabilities = { general = { positionEncodings = encodings } }
end
return vim.lsp.start(config)
"""

REQUEST = """
local id, method = ...
local client = vim.lsp.get_client_by_id(id)
local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
params.context = { triggerKind = 1 }
_G.answer = nil
-- The buffer's number, not 0: the client sends the buffer's pending changes first.
client:request(method, params, function(err, result)
  _G.answer = { err = err, result = result }
end, vim.api.nvim_get_current_buf())
"""

# What 0.12's inline_completion accept() does with a text item: replace its range with the
# text (here through the util function that converts the range from the client's encoding).
APPLY = """
local id, item = ...
local client = vim.lsp.get_client_by_id(id)
local edit = { range = item.range, newText = item.insertText }
vim.lsp.util.apply_text_edits({ edit }, vim.api.nvim_get_current_buf(), client.offset_encoding)
"""


def attach_nvim() -> Any:
    import pynvim

    return pynvim.attach(
        "child", argv=[nvim_binary(), "--embed", "--headless", "--clean", "-i", "NONE", "-n"]
    )


def quit_nvim(instance: Any) -> None:
    with contextlib.suppress(Exception):
        instance.command("qa!")
    with contextlib.suppress(Exception):
        instance.close()


@pytest.fixture
def nvim() -> Iterator[Any]:
    instance = attach_nvim()
    yield instance
    quit_nvim(instance)


def start_server(nvim: Any, tmp_path: Path, model: Path, encodings: list[str] | None) -> int:
    path = tmp_path / "main.go"
    path.write_text(GO)
    nvim.command(f"edit {path}")
    cmd = [sys.executable, "-m", "localllm", "lsp", "--backend", "embedded", "--model", str(model)]
    client_id = int(nvim.exec_lua(START, cmd, str(REPO), encodings))
    wait_for(
        lambda: nvim.exec_lua(
            "local c = vim.lsp.get_client_by_id(...) return c ~= nil and c.initialized",
            client_id,
        ),
        timeout=60,
    )
    return client_id


def ask(nvim: Any, client_id: int, method: str) -> Any:
    nvim.exec_lua(REQUEST, client_id, method)
    answer = wait_for(lambda: nvim.exec_lua("return _G.answer"), timeout=60)
    assert answer.get("err") is None, answer
    return answer["result"]


def type_in_insert_mode(nvim: Any, row: int, keys: str) -> None:
    """Append `keys` to line `row` (1-based) in insert mode, and stay there."""
    nvim.input("<Esc>")
    wait_for(lambda: nvim.api.get_mode()["mode"] == "n")
    nvim.current.window.cursor = (row, 0)
    nvim.input("A" + keys)
    wait_for(lambda: nvim.api.get_mode()["mode"] == "i" and not nvim.api.get_mode()["blocking"])


@pytest.mark.parametrize("encodings", [None, ["utf-16"]], ids=["utf-8", "utf-16"])
def test_neovim_client_gets_inline_items_it_can_apply_after_typing(
    nvim: Any, tmp_path: Path, tiny_model: Path, encodings: list[str] | None
) -> None:
    client_id = start_server(nvim, tmp_path, tiny_model, encodings)
    offset_encoding = nvim.exec_lua(
        "return vim.lsp.get_client_by_id(...).offset_encoding", client_id
    )
    assert offset_encoding == ("utf-16" if encodings else "utf-8")
    type_in_insert_mode(nvim, 7, "")  # at the end of the empty line in main()
    (item,) = ask(nvim, client_id, "textDocument/inlineCompletion")["items"]
    assert item["insertText"] == HELLO
    at = {"line": 6, "character": 1}
    assert item["range"] == {"start": at, "end": at}

    # Typed in insert mode: the client sends the change, then asks at the new cursor.
    type_in_insert_mode(nvim, 7, 's := "é😀"; fmt.')
    line = '\ts := "é😀"; fmt.'
    (item,) = ask(nvim, client_id, "textDocument/inlineCompletion")["items"]
    character = len(line.encode()) if encodings is None else len(line.encode("utf-16-le")) // 2
    assert item["range"]["start"] == {"line": 6, "character": character}
    nvim.exec_lua(APPLY, client_id, item)
    assert nvim.current.buffer[6] == line + item["insertText"]
    assert item["insertText"]  # the model's answer, whatever the line before it

    nvim.exec_lua("vim.lsp.stop_client(...)", client_id)
    assert wait_for(lambda: nvim.exec_lua("return _G.exit_code ~= nil"), timeout=30)
    assert nvim.exec_lua("return _G.exit_code") == 0  # shutdown, then exit


def test_neovim_completion_menu_shows_the_suggestion_and_accepting_inserts_it(
    nvim: Any, tmp_path: Path, tiny_model: Path
) -> None:
    client_id = start_server(nvim, tmp_path, tiny_model, None)
    nvim.exec_lua("vim.lsp.completion.enable(true, ..., 0)", client_id)
    nvim.command("set completeopt=menuone,noselect")  # nothing inserted until accepted
    type_in_insert_mode(nvim, 7, "")
    assert ask(nvim, client_id, "textDocument/completion")["items"][0]["label"] == HELLO
    # Typed on: the item keeps the word typed ("fmt") and adds the rest of the suggestion.
    nvim.input("fmt")
    nvim.exec_lua("vim.lsp.completion.get()")
    info = wait_for(
        lambda: nvim.exec_lua(
            "local i = vim.fn.complete_info({'items', 'pum_visible'})"
            " return #i.items > 0 and i or nil"
        ),
        timeout=60,
    )
    words = [entry["word"] for entry in info["items"]]
    assert words == [HELLO], info
    assert nvim.current.buffer[6] == "\tfmt"  # shown, not inserted yet
    nvim.input("<C-n><C-y>")  # select the item and accept it
    wait_for(lambda: nvim.current.buffer[6] == "\t" + HELLO)


README = (REPO / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## Language server") :]
# Neovim 0.11 has no vim.lsp.inline_completion: a stand-in records what the snippet asks of it.
INLINE_STAND_IN = """
_G.inline_enabled = false
vim.lsp.inline_completion = {
  enable = function() _G.inline_enabled = true end,
  get = function() return false end,
}
"""


def test_the_readme_neovim_snippet_starts_the_server_on_a_go_file(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snippet = SECTION.split("```lua\n", 1)[1].split("```", 1)[0]
    readme_model = "~/models/qwen2.5-coder-1.5b-q8_0.gguf"
    assert readme_model in snippet
    snippet = snippet.replace(readme_model, str(tiny_model))
    # The command where :LocalLLM install puts it, under a private data folder.
    command = tmp_path / "data" / "nvim" / "localllm" / "venv" / "bin" / "localllm"
    command.parent.mkdir(parents=True)
    command.write_text(
        f"#!/bin/sh\nPYTHONPATH={REPO / 'python'} exec {sys.executable} -m localllm \"$@\"\n"
    )
    command.chmod(0o755)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    nvim = attach_nvim()
    try:
        nvim.exec_lua(INLINE_STAND_IN + snippet)
        assert nvim.exec_lua("return _G.inline_enabled")
        (tmp_path / ".git").mkdir()
        path = tmp_path / "main.go"
        path.write_text(GO)
        nvim.command(f"edit {path}")
        client_id = wait_for(
            lambda: nvim.exec_lua(
                "local c = vim.lsp.get_clients({ name = 'localllm', bufnr = 0 })[1]"
                " return c and c.initialized and c.id"
            ),
            timeout=60,
        )
        caps = nvim.exec_lua("return vim.lsp.get_client_by_id(...).server_capabilities", client_id)
        assert caps["inlineCompletionProvider"] is True
        type_in_insert_mode(nvim, 7, "")
        (item,) = ask(nvim, client_id, "textDocument/inlineCompletion")["items"]
        assert item["insertText"] == HELLO  # init_options' model answered
        nvim.input("<Tab>")  # nothing to accept (the stand-in): the key falls through
        wait_for(lambda: nvim.current.buffer[6] == "\t\t")
    finally:
        quit_nvim(nvim)
