"""The protocol in a real headless Neovim: what Lua receives from the host holds no vim.NIL
(completion, explain, an error, the replies), an out-of-step mirror is told in an update and
recovers, and the privacy query changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nvim_helpers import insert_at, open_buffer, setup_plugin, wait_final, wait_for

pytestmark = pytest.mark.nvim

GO_FILE = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\n\tfmt.Println(x)\n}\n'
HELLO = 'fmt.Println("hello")'

# Every call from the host into bridge.lua is recorded, and any vim.NIL in its arguments.
RECORD = """
_G.received, _G.nils = {}, {}
local function find_nil(x, path)
  if x == vim.NIL then
    return path
  end
  if type(x) == 'table' then
    for k, v in pairs(x) do
      local p = find_nil(v, path .. '.' .. tostring(k))
      if p then
        return p
      end
    end
  end
end
local bridge = require('localllm.bridge')
for _, name in ipairs({ 'on_update', 'on_explain', 'on_reply', 'on_notify' }) do
  local orig = bridge[name]
  bridge[name] = function(...)
    local args = { ... }
    for i = 1, select('#', ...) do
      local p = find_nil(args[i], name .. '[' .. i .. ']')
      if p then
        table.insert(_G.nils, p)
      end
    end
    table.insert(_G.received, { name = name, args = args })
    return orig(...)
  end
end
"""


def received(nvim: Any, name: str) -> list[list[Any]]:
    calls = nvim.exec_lua("return _G.received")
    return [c["args"] for c in calls if c["name"] == name]


def test_lua_receives_no_vim_nil_from_completion_explain_and_errors(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = nvim_factory()
    nvim.command("set columns=120 lines=40")
    nvim.exec_lua(RECORD)
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20)
    main = open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_final(nvim, HELLO)

    nvim.input("<Esc>")
    nvim.current.window.cursor = (6, 1)
    nvim.command("LocalLLMExplain")
    wait_for(lambda: nvim.exec_lua("return require('localllm.explain').info().done"), 120)
    assert nvim.exec_lua("return require('localllm.bridge').status()")  # a reply
    assert nvim.exec_lua("return require('localllm.bridge').explain_status()")

    # An error: the model file is gone.
    setup_plugin(nvim, model=str(tmp_path / "nope.gguf"), debounce_ms=20)
    nvim.exec_lua("vim.api.nvim_win_close(require('localllm.explain').info().win, true)")
    nvim.command(f"buffer {main}")
    insert_at(nvim, 7, 0)
    nvim.input("ab")
    error = wait_for(lambda: nvim.exec_lua("return require('localllm').last_error"))
    assert "model file not found" in error

    updates = [args[0] for args in received(nvim, "on_update")]
    events = [args[0] for args in received(nvim, "on_explain")]
    assert {u["kind"] for u in updates} >= {"done", "error"}
    assert {e["kind"] for e in events} >= {"start", "done"}
    assert received(nvim, "on_reply")
    # One shape: both streams carry id, kind, final and text.
    for update in updates + events:
        assert {"id", "kind", "final", "text"} <= set(update), update
    assert nvim.exec_lua("return _G.nils") == []


def test_an_out_of_step_mirror_is_told_in_an_update_and_recovers(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    body = "".join(f'func f{i}() {{\n\tfmt.Println({i}, "x")\n}}\n\n' for i in range(300))
    nvim = nvim_factory()
    nvim.exec_lua(RECORD)
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20)
    buf = open_buffer(nvim, str(tmp_path / "big.go"), 'package main\n\nimport "fmt"\n\n' + body)

    def mirrored() -> Any:
        status = nvim.exec_lua("return require('localllm.bridge').status()")
        return (status or {}).get("mirrored", {}).get(str(buf))

    def request() -> None:
        before = len(received(nvim, "on_update"))
        nvim.exec_lua("require('localllm.session').request_now(vim.api.nvim_get_current_buf())")
        wait_for(lambda: any(a[0]["final"] for a in received(nvim, "on_update")[before:]))

    insert_at(nvim, 1000, 0)
    nvim.input("\tnew := 1")
    wait_for(lambda: nvim.current.buffer[999].endswith("new := 1"))
    request()
    wait_for(lambda: mirrored() == len(nvim.current.buffer))

    # The host loses its copy behind Lua's back: Lua's next edits do not fit it.
    nvim.exec_lua("require('localllm.bridge').forget(...)", buf)
    wait_for(lambda: mirrored() is None)
    nvim.input("<CR>\tmore := 2")
    wait_for(lambda: nvim.current.buffer[1000].endswith("more := 2"))
    request()
    told = [a[0] for a in received(nvim, "on_update") if a[0].get("resync")]
    assert told and all(u["bufnr"] == buf for u in told)
    # Lua decided: the next request carries the whole text, and the copy is in step again.
    nvim.input(" ")
    request()
    wait_for(lambda: mirrored() == len(nvim.current.buffer))
    assert nvim.exec_lua("return require('localllm').last_error") is None


def test_the_privacy_query_changes_nothing(nvim_factory: Any, tmp_path: Path) -> None:
    nvim = nvim_factory()
    setup_plugin(nvim, backend="none")
    buf = open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    query = """
      local buf = ...
      local privacy, sync = require('localllm.privacy'), require('localllm.sync')
      local answers = {}
      for _ = 1, 2 do
        answers[#answers + 1] = privacy.denied(buf) or false
        answers[#answers + 1] = require('localllm.session').enabled_for(buf)
        answers[#answers + 1] = require('localllm.status').text()
      end
      return { answers = answers, mirrored = sync.mirrored(buf),
               remembered = privacy.remembered(buf) }
    """
    # An allowed buffer: asking remembers nothing (only sending does).
    first = nvim.exec_lua(query, buf)
    assert first["answers"][0] is False and first["answers"][1] is True
    assert first["answers"][:3] == first["answers"][3:]
    assert first["remembered"] == []

    # Mirrored, then turned off: asking (statusline, checks) leaves the mirror alone...
    nvim.exec_lua("require('localllm.sync').take(...)", buf)
    nvim.command("let b:localllm_disable = v:true")
    second = nvim.exec_lua(query, buf)
    assert second["answers"][0] == "vim.b.localllm_disable is set"
    assert second["answers"][:3] == second["answers"][3:]
    assert second["mirrored"] is True and second["remembered"] == []
    # ...the action drops it.
    nvim.exec_lua("require('localllm.privacy').enforce(...)", buf)
    assert nvim.exec_lua("return require('localllm.sync').mirrored(...)", buf) is False
    nvim.command("unlet b:localllm_disable")
    nvim.exec_lua("require('localllm.privacy').enforce(...)", buf)
    assert nvim.exec_lua("return require('localllm.privacy').remembered(...)", buf) == [
        str(tmp_path / "main.go")
    ]


def test_a_buffer_that_only_sent_activity_is_remembered(nvim_factory: Any, tmp_path: Path) -> None:
    """Sending (here a yank, recent activity) is what remembers a buffer's paths, so that the
    host's copy of its text is purged when it becomes denied."""
    nvim = nvim_factory()
    setup_plugin(nvim, backend="none")
    buf = open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    remembered = "return require('localllm.privacy').remembered(...)"
    assert nvim.exec_lua(remembered, buf) == []  # only opened: nothing of it sent yet
    nvim.input("yy")
    wait_for(lambda: nvim.exec_lua(remembered, buf) == [str(tmp_path / "main.go")])


def test_the_environment_probe_decodes_json_null_as_nil(nvim_factory: Any, tmp_path: Path) -> None:
    """envcheck.py prints "version": null for a missing package: Lua sees nil, not vim.NIL."""
    fake = tmp_path / "python"
    fake.write_text(
        "#!/bin/sh\n"
        'echo \'{"packages": [{"name": "pynvim", "role": "required", "version": null},'
        ' {"name": "httpx", "role": "required", "version": "0.27"}], "python": null}\'\n'
    )
    fake.chmod(0o755)
    nvim = nvim_factory()
    probe = nvim.exec_lua(
        """
        local host = require('localllm.host')
        local rep, err = host.probe(...)
        local nils = 0
        local function walk(x)
          if x == vim.NIL then nils = nils + 1 end
          if type(x) == 'table' then for _, v in pairs(x) do walk(v) end end
        end
        walk(rep)
        return { err = err or false, nils = nils, missing = rep and host.missing(rep),
                 has_python = rep ~= nil and rep.python ~= nil }
        """,
        str(fake),
    )
    assert probe == {"err": False, "nils": 0, "missing": ["pynvim"], "has_python": False}
