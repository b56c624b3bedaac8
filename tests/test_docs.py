"""The help file and the README cover what the plugin has: every command, <Plug> map and
highlight group, the statusline, the health check and the install (options: test_config.py)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = (REPO / "doc" / "localllm.txt").read_text(encoding="utf-8")
README = (REPO / "README.md").read_text(encoding="utf-8")
LUA = {p.name: p.read_text(encoding="utf-8") for p in (REPO / "lua" / "localllm").glob("*.lua")}
PLUGIN = (REPO / "plugin" / "localllm.lua").read_text(encoding="utf-8")


def test_every_subcommand_is_documented() -> None:
    table = PLUGIN[PLUGIN.index("local subcommands = {") : PLUGIN.index("\n}\n")]
    names = re.findall(r"^  (\w+) = function", table, re.MULTILINE)
    assert {"enable", "status", "install"} <= set(names)
    for name in names:
        assert re.search(rf"^:LocalLLM {name}\b", DOC, re.MULTILINE), name
    for command in re.findall(r"nvim_create_user_command\('(\w+)'", PLUGIN):
        assert f"*:{command}*" in DOC, command


def test_every_plug_map_is_documented() -> None:
    plugs = set(re.findall(r"<Plug>\(localllm-[\w-]+\)", LUA["keymaps.lua"]))
    assert len(plugs) >= 5
    for plug in plugs:
        assert f"*{plug}*" in DOC, plug


def test_every_highlight_group_is_documented() -> None:
    groups: set[str] = set()
    for text in LUA.values():
        groups |= set(re.findall(r"nvim_set_hl\(0, '(LocalLLM\w+)'", text))
        groups |= set(re.findall(r"^\s*set\('(LocalLLM\w+)'", text, re.MULTILINE))
        groups |= set(re.findall(r"^local HL = '(LocalLLM\w+)'", text, re.MULTILINE))
    assert {"LocalLLMSuggestion", "LocalLLMInfo", "LocalLLMExplainError"} <= groups
    for group in groups:
        assert f"*{group}*" in DOC, group


def test_statusline_health_and_install_are_documented() -> None:
    for tag in (
        "localllm-statusline",
        "localllm-health",
        "localllm-install",
        "User_LocalLLMStatus",
    ):
        assert f"*{tag}*" in DOC, tag
    assert "`statusline()`" in DOC and "`install(opts)`" in DOC
    assert ":checkhealth localllm" in DOC
    for manager in ("lazy.nvim", "packer", "vim-plug", "pack/"):
        assert manager in DOC and manager in README, manager
    assert "build = ':LocalLLM install'" in README


def test_readme_shows_a_real_screenshot_and_status_output() -> None:
    assert "](doc/screenshot.svg)" in README
    svg = (REPO / "doc" / "screenshot.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "return nil, 0, err" in svg and "-- INSERT --" in svg
    assert re.search(r"LLM \d+ms", svg)  # the statusline component, live
    status = README[README.index("localllm: enabled\n") :]
    assert re.search(r"backend: embedded\s+state: ready", status)
    assert re.search(r"first token [\d.]+ ms", status)
