"""The help file and the README cover what the plugin has: every command, <Plug> map and
highlight group, the statusline, the health check and the install (options: test_config.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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


# --------------------------------------------------------------------------------------------
# Help tags: shipped in doc/tags (a plain clone has no :helptags step), and every one we name
# exists.


def run_nvim(args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    import subprocess

    from conftest import nvim_binary

    proc = subprocess.run(
        [nvim_binary(), *args], capture_output=True, text=True, timeout=60, env=env, cwd=cwd
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


@pytest.mark.nvim
def test_shipped_doc_tags_are_what_helptags_makes(tmp_path: Path) -> None:
    doc = tmp_path / "doc"
    doc.mkdir()
    for txt in (REPO / "doc").glob("*.txt"):
        (doc / txt.name).write_bytes(txt.read_bytes())
    run_nvim(["--clean", "--headless", "-c", f"helptags {doc}", "-c", "qa!"])
    made = (doc / "tags").read_text(encoding="utf-8")
    shipped = (REPO / "doc" / "tags").read_text(encoding="utf-8")
    assert shipped == made, "doc/tags is stale: run  nvim --clean --headless '+helptags doc' +q"


def shipped_tags() -> set[str]:
    text = (REPO / "doc" / "tags").read_text(encoding="utf-8")
    return {line.split("\t", 1)[0] for line in text.splitlines() if line}


def referenced_tags() -> dict[str, set[str]]:
    """Every help tag named in the code, the README and the help file's own |links|."""
    found: dict[str, set[str]] = {}
    sources = [
        *(REPO / "lua").rglob("*.lua"),
        *(REPO / "plugin").rglob("*.lua"),
        *(REPO / "python" / "localllm").rglob("*.py"),
        *(REPO / "rplugin").rglob("*.py"),
        REPO / "README.md",
    ]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r":h(?:elp)?\s+(localllm[\w.:()<>-]*\w\)?)", text):
            if tag.endswith(")") and "(" not in tag:
                tag = tag[:-1]  # "(see :help localllm-model)"
            found.setdefault(tag, set()).add(path.name)
    for tag in re.findall(r"\|([^|\s]+)\|", DOC):
        found.setdefault(tag, set()).add("localllm.txt")
    return found


@pytest.mark.nvim
def test_every_referenced_help_tag_exists() -> None:
    refs = referenced_tags()
    assert {"localllm-model", "localllm-config", "localllm-privacy"} <= set(refs)
    tags = shipped_tags()
    # Neovim's own tags (|:UpdateRemotePlugins|, |g:python3_host_prog|...) live in its help.
    builtin = set(run_nvim_help_tags())
    missing = {t: sorted(f) for t, f in refs.items() if t not in tags and t not in builtin}
    assert missing == {}, missing


def run_nvim_help_tags() -> list[str]:
    runtime = run_nvim(
        ["--clean", "--headless", "-c", "lua io.stdout:write(vim.env.VIMRUNTIME)", "-c", "qa!"]
    ).strip()
    text = (Path(runtime) / "doc" / "tags").read_text(encoding="utf-8")
    return [line.split("\t", 1)[0] for line in text.splitlines() if line]


@pytest.mark.nvim
def test_help_opens_after_a_plain_packages_clone(tmp_path: Path) -> None:
    import os

    data = tmp_path / "data"
    start = data / "nvim" / "site" / "pack" / "localllm" / "start"
    start.mkdir(parents=True)
    (start / "localllm.nvim").symlink_to(REPO)  # as `git clone` there leaves it
    env = dict(os.environ)
    env.update(
        XDG_DATA_HOME=str(data),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    out = run_nvim(
        [
            "--headless",
            "-i",
            "NONE",
            "-c",
            "help localllm",
            "-c",
            "lua io.stdout:write('opened ' .. vim.fn.expand('%:t'))",
            "-c",
            "qa!",
        ],
        env=env,
        cwd=tmp_path,
    )
    assert "opened localllm.txt" in out, out
