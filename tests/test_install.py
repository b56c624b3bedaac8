"""Install and start in a real headless Neovim: `:LocalLLM install` makes the plugin's own
environment and the Python host starts from it (no :UpdateRemotePlugins, no python3_host_prog);
the classic start through the python3 provider says what is missing and how to fix it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from nvim_helpers import insert_at, open_buffer, setup_plugin, wait_final, wait_for

pytestmark = pytest.mark.nvim

GO_FILE = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\n\tfmt.Println(x)\n}\n'
HELLO = 'fmt.Println("hello")'

RECORD_NOTIFY = """
_G.notices = {}
vim.notify = function(msg, level)
  table.insert(_G.notices, { msg = msg, level = level })
end
"""


def notices(nvim: Any) -> list[dict[str, Any]]:
    return nvim.exec_lua("return _G.notices")  # type: ignore[no-any-return]


def child_processes(pid: int) -> list[list[str]]:
    """Command lines of the live processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.append([a.decode() for a in cmdline.split(b"\0") if a])
    return found


@pytest.fixture
def fresh_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nvim_factory: Any) -> Any:
    """Start Neovims with an empty data folder and no remote plugin registered."""
    for var in ("XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("NVIM_RPLUGIN_MANIFEST", str(tmp_path / "no-manifest.vim"))
    return nvim_factory


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_install_makes_the_environment_and_the_host_starts_from_it(
    fresh_data: Any, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Offline: the new environment reuses this Python's packages; pip installs the plugin only.
    monkeypatch.setenv("LOCALLLM_INSTALL_OFFLINE", sysconfig.get_paths()["purelib"])
    nvim = fresh_data()
    nvim.exec_lua(RECORD_NOTIFY)
    venv = tmp_path / "xdg_data_home" / "nvim" / "localllm" / "venv"
    assert nvim.exec_lua("return require('localllm.host').venv_dir()") == str(venv)
    assert nvim.exec_lua("return require('localllm.host').venv_python()") is None

    assert nvim.exec_lua("return require('localllm').install({ wait = false })")
    # The editor is not blocked while the jobs run.
    assert nvim.eval("1 + 1") == 2
    state = wait_for(
        lambda: (
            (s := nvim.exec_lua("return require('localllm.install').state")).get("ok") is not None
            and s
        ),
        timeout=240,
    )
    log = Path(state["log"])
    assert state["ok"], log.read_text()
    assert "Successfully installed localllm-nvim" in log.read_text()
    texts = [n["msg"] for n in notices(nvim)]
    assert any("install (1/4): creating the environment" in t for t in texts), texts
    assert any("install (4/4): checking the environment" in t for t in texts), texts
    assert texts[-1].startswith(f"localllm: installed into {venv} (log: {log})"), texts
    venv_python = venv / "bin" / "python"
    assert nvim.exec_lua("return require('localllm.host').venv_python()") == str(venv_python)

    # The host starts from the new environment: the tiny model completes through it.
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20)
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_final(nvim, HELLO)
    info = nvim.exec_lua("return require('localllm.bridge').host_info()")
    assert info["kind"] == "venv"
    assert info["python"] == str(venv_python)
    # Exactly one Python host runs, and it is the environment's Python.
    children = child_processes(int(nvim.eval("getpid()")))
    pythons = [c for c in children if "python" in os.path.basename(c[0])]
    assert len(pythons) == 1, children
    assert pythons[0][0] == str(venv_python)
    assert pythons[0][-1].endswith("rplugin/python3/localllm_rplugin")
    # No complaint reached the user.
    assert [n for n in notices(nvim) if n["level"] and n["level"] >= 3] == []


def test_install_failure_names_the_step_and_the_log(
    fresh_data: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALLLM_INSTALL_OFFLINE", str(tmp_path / "empty-site"))
    (tmp_path / "empty-site").mkdir()
    nvim = fresh_data()
    nvim.exec_lua(RECORD_NOTIFY)
    nvim.exec_lua("require('localllm').install({ wait = false })")
    state = wait_for(
        lambda: (
            (s := nvim.exec_lua("return require('localllm.install').state")).get("ok") is not None
            and s
        ),
        timeout=120,
    )
    assert state["ok"] is False
    last = notices(nvim)[-1]
    assert last["level"] == 4  # ERROR
    # pip is not in the reused (empty) folder: the pip step fails, and the message says so.
    assert "install failed: installing localllm (offline): exit code" in last["msg"]
    assert f"Log: {state['log']}" in last["msg"]
    assert "No module named pip" in Path(state["log"]).read_text()


def headless_install(tmp_path: Path, python: str) -> subprocess.CompletedProcess[str]:
    """`nvim --headless "+LocalLLM install" +qa`, as a script or a CI job runs it."""
    from conftest import REPO, nvim_binary

    env = dict(os.environ)
    for name, sub in (("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state")):
        env[name] = str(tmp_path / sub)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env.pop("LOCALLLM_INSTALL_OFFLINE", None)
    return subprocess.run(
        [
            nvim_binary(),
            "--clean",
            "--headless",
            "--cmd",
            f"set rtp^={REPO}",
            "--cmd",
            f"let g:python3_host_prog = '{python}'",
            "+LocalLLM install",
            "+qa",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )


def test_a_failed_headless_install_exits_non_zero(tmp_path: Path) -> None:
    proc = headless_install(tmp_path, "/bin/false")  # a Python that fails at once
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "install failed: creating the environment" in proc.stderr


def first_error(nvim: Any) -> str:
    nvim.exec_lua(RECORD_NOTIFY)
    assert nvim.exec_lua("return require('localllm.bridge').channel()") is None
    errors = wait_for(lambda: [n["msg"] for n in notices(nvim) if n["level"] == 4])
    assert len(errors) == 1, errors
    return str(errors[0])


def test_classic_start_without_registration_says_how_to_fix_it(
    fresh_data: Any, tmp_path: Path
) -> None:
    nvim = fresh_data()
    setup_plugin(nvim, backend="none")
    msg = first_error(nvim)
    assert "the remote plugin is not registered" in msg
    assert ":LocalLLM install" in msg and ":UpdateRemotePlugins" in msg
    # Asking again does not notify again (one notification per problem).
    assert nvim.exec_lua("return require('localllm.bridge').channel()") is None
    assert len([n for n in notices(nvim) if n["level"] == 4]) == 1


def test_classic_start_with_a_stale_manifest_names_the_old_place(
    fresh_data: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = "/old/checkout/localllm.nvim/rplugin/python3/localllm_rplugin"
    manifest = tmp_path / "stale.vim"
    manifest.write_text(
        f"call remote#host#RegisterPlugin('python3', '{old}', [\n"
        f" \\ {{'sync': v:true, 'name': 'LocalLLMHostInit', 'type': 'function', 'opts': {{}}}},\n"
        " \\ ])\n"
    )
    monkeypatch.setenv("NVIM_RPLUGIN_MANIFEST", str(manifest))
    nvim = fresh_data()
    setup_plugin(nvim, backend="none")
    msg = first_error(nvim)
    assert "stale" in msg and old in msg
    assert ":UpdateRemotePlugins" in msg


def test_classic_start_with_a_python_lacking_packages_names_them(
    nvim_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A Python without pynvim and the rest: a bare environment.
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    monkeypatch.setenv("LOCALLLM_PYTHON", str(bare / "bin" / "python"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    nvim = nvim_factory()  # the manifest registers this checkout
    setup_plugin(nvim, backend="none")
    msg = first_error(nvim)
    assert str(bare / "bin" / "python") in msg
    assert "lacks pynvim, httpx, tree-sitter, llama-cpp-python" in msg
    assert ":LocalLLM install" in msg and "-m pip install" in msg


def test_checkhealth_flags_a_missing_model_when_the_host_does_not_start(
    fresh_data: Any, tmp_path: Path
) -> None:
    nvim = fresh_data()
    missing = tmp_path / "coder.gguf"
    nvim.exec_lua(RECORD_NOTIFY)
    setup_plugin(nvim, model=str(missing))
    nvim.command("checkhealth localllm")
    text = "\n".join(nvim.current.buffer[:])
    assert "the Python host does not start" in text, text
    assert f"ERROR model file not found: {missing}" in text, text
    assert "set `model` in setup() to the path of a .gguf file" in text
