"""The Python host's life in a real headless Neovim: started early and without blocking, never
waited on by the UI, a crash cleared from the screen and told every time, one host across a
module reload, an install that ends an earlier failure; and problems shown where they survive
insert mode (a float), kept in :messages, with one "localllm: " prefix."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nvim_helpers import (
    drawn,
    insert_at,
    lines,
    open_buffer,
    setup_plugin,
    stats,
    wait_final,
    wait_for,
)

pytestmark = pytest.mark.nvim

GO_FILE = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\n\tfmt.Println(x)\n}\n'
HELLO = 'fmt.Println("hello")'
PRIMES = "primes = [2, 3, 5, 7, 11, 13,\n"

RECORD_NOTIFY = """
_G.notices = {}
local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(_G.notices, { msg = msg, level = level })
  return notify(msg, level, opts)
end
"""


def make_env(venv: Path) -> Path:
    """A plugin environment as :LocalLLM install leaves it, reusing this Python's packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "localllm_test.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin" / "python"


@pytest.fixture
def own_env(nvim_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Neovims whose plugin environment exists: the host is a job started by the plugin."""
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    make_env(data / "nvim" / "localllm" / "venv")
    return nvim_factory


def ready(nvim: Any) -> bool:
    """The host runs and has its config (without asking it: that could wait)."""
    return bool(
        nvim.exec_lua(
            "local s = _G._localllm_bridge"
            " if s then return s.ready end"
            " return require('localllm.bridge').host_info() ~= nil"
        )
    )


def host_pid(nvim: Any) -> int:
    return int(nvim.exec_lua("return vim.fn.jobpid(require('localllm.bridge').host_info().chan)"))


def python_children(nvim: Any) -> list[list[str]]:
    pid = int(nvim.eval("getpid()"))
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
        args = [a.decode() for a in cmdline.split(b"\0") if a]
        if fields[0] != "Z" and int(fields[1]) == pid and args and "python" in args[0]:
            found.append(args)
    return found


def float_info(nvim: Any) -> dict[str, Any] | None:
    """The floating window on screen that is not focusable (the notice), if any."""
    return nvim.exec_lua(  # type: ignore[no-any-return]
        "for _, win in ipairs(vim.api.nvim_list_wins()) do"
        " local c = vim.api.nvim_win_get_config(win)"
        " if c.relative ~= '' and not c.focusable then"
        " local buf = vim.api.nvim_win_get_buf(win)"
        " return { relative = c.relative, focusable = c.focusable,"
        " lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false) }"
        " end end"
    )


def messages(nvim: Any) -> str:
    return str(nvim.exec_lua("return vim.api.nvim_exec2('messages', {output = true}).output"))


def statusline(nvim: Any) -> str:
    return str(nvim.exec_lua("return require('localllm').statusline()"))


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_the_host_starts_before_the_first_insert_and_nothing_waits_on_it(
    own_env: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = own_env()
    # Any synchronous call to the host would now fail loudly.
    nvim.exec_lua(
        "vim.rpcrequest = function() error('a synchronous rpcrequest') end"
        " vim.fn.LocalLLMHostInit = function() error('a synchronous host init') end"
    )
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20)
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    # Opening the file started the host: it is ready before any insert.
    wait_for(lambda: ready(nvim))
    assert len(python_children(nvim)) == 1
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_final(nvim, HELLO)
    assert "a synchronous" not in messages(nvim)


def test_status_and_setup_do_not_freeze_on_a_wedged_host(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = nvim_factory()
    setup_plugin(nvim, model=str(tiny_model))
    assert nvim.exec_lua("return require('localllm.bridge').channel()")
    pid = host_pid(nvim)
    os.kill(pid, signal.SIGSTOP)
    # Safety net only: with a status that waits forever the test fails instead of hanging.
    rescue = threading.Timer(30, lambda: os.kill(pid, signal.SIGCONT))
    rescue.start()
    try:
        nvim.exec_lua("require('localllm.bridge').answer_ms = 500")
        text = "\n".join(nvim.exec_lua("return require('localllm').status_lines()"))
        assert "the Python host does not answer" in text, text
        setup_plugin(nvim, model=str(tiny_model), debounce_ms=30)
        assert rescue.is_alive(), "status or setup waited for the stopped host"
    finally:
        rescue.cancel()
        os.kill(pid, signal.SIGCONT)
    st = wait_for(lambda: nvim.exec_lua("return (require('localllm.bridge').status())"))
    assert st["state"]


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_killed_host_leaves_nothing_on_screen_and_every_crash_is_told(
    own_env: Any, gemma_model: Path, tmp_path: Path
) -> None:
    nvim = own_env()
    nvim.exec_lua(RECORD_NOTIFY)
    setup_plugin(
        nvim,
        model=str(gemma_model),
        debounce_ms=20,
        generation={"n_predict": 256, "time_limit_ms": 30000},
    )
    open_buffer(nvim, str(tmp_path / "primes.py"), PRIMES, filetype="python")
    insert_at(nvim, 1, len(PRIMES) - 1)
    nvim.input(" ")
    wait_for(lambda: stats(nvim)["partial"] >= 1 and drawn(nvim), timeout=120)
    os.kill(host_pid(nvim), signal.SIGKILL)
    # The half-drawn ghost goes, the statusline says error, the user is told (also in insert
    # mode, where the command line is the mode's).
    wait_for(lambda: drawn(nvim) is None)
    wait_for(lambda: statusline(nvim) == "LLM error")
    crashes: Callable[[], list[str]] = lambda: [  # noqa: E731
        n["msg"] for n in nvim.exec_lua("return _G.notices") if "exited" in n["msg"]
    ]
    wait_for(lambda: len(crashes()) == 1)
    shown = wait_for(lambda: float_info(nvim))
    assert "exited" in " ".join(shown["lines"])
    nvim.input("<Tab>")  # nothing shown: a plain Tab (spaces: expandtab)
    wait_for(lambda: len(lines(nvim)[0]) > len(PRIMES))
    assert lines(nvim)[0].strip() == PRIMES.strip()
    # The next request starts a new host; killing it is news again.
    wait_for(lambda: ready(nvim), timeout=60)
    os.kill(host_pid(nvim), signal.SIGKILL)
    wait_for(lambda: len(crashes()) == 2)
    assert "localllm: localllm:" not in messages(nvim)


def test_a_killed_python3_provider_host_is_noticed_and_told(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    """The provider's host has no exit callback: the watcher finds it gone and says so."""
    nvim = nvim_factory()
    nvim.exec_lua(RECORD_NOTIFY)
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20)
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_final(nvim, HELLO)
    assert nvim.exec_lua("return require('localllm.bridge').host_info()")["kind"] == "provider"
    os.kill(host_pid(nvim), signal.SIGKILL)
    wait_for(lambda: drawn(nvim) is None)
    wait_for(lambda: statusline(nvim) == "LLM error")
    told = [n["msg"] for n in nvim.exec_lua("return _G.notices") if "exited" in n["msg"]]
    assert len(told) == 1 and "python3 provider" in told[0], told


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_reloading_the_modules_keeps_one_host(
    own_env: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = own_env()
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20)
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    wait_for(lambda: ready(nvim))
    # What :Lazy reload does: forget every module of the plugin, load and set up again.
    nvim.exec_lua(
        "for name in pairs(package.loaded) do"
        " if name == 'localllm' or name:find('^localllm%.') then package.loaded[name] = nil end"
        " end"
    )
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20)
    open_buffer(nvim, str(tmp_path / "other.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_final(nvim, HELLO)
    assert len(python_children(nvim)) == 1, python_children(nvim)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("problem", ["missing", "not_gguf", "no_ollama"])
def test_a_problem_shows_in_insert_mode_and_stays_in_messages(
    nvim_factory: Any, tmp_path: Path, problem: str
) -> None:
    if problem == "missing":
        opts: dict[str, Any] = {"model": str(tmp_path / "nowhere.gguf")}
        words = "model file not found"
    elif problem == "not_gguf":
        bogus = tmp_path / "model.gguf"
        bogus.write_bytes(b"not a model at all" * 10)
        opts = {"model": str(bogus)}
        words = "not a GGUF file"
    else:
        opts = {"backend": "ollama", "ollama": {"url": f"http://127.0.0.1:{free_port()}"}}
        words = "cannot reach Ollama"
    nvim = nvim_factory()
    setup_plugin(nvim, debounce_ms=20, **opts)
    nvim.exec_lua(
        "local ok, notice = pcall(require, 'localllm.notice')"
        " if ok then notice.show_ms.error, notice.show_ms.warn = 600000, 600000 end"
    )
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\tab")
    shown = wait_for(lambda: (f := float_info(nvim)) and words in " ".join(f["lines"]) and f)
    assert shown["relative"] == "editor" and not shown["focusable"]
    assert " ".join(shown["lines"]).startswith("localllm: ")
    assert lines(nvim)[6] == "\tab"
    nvim.input("<Esc>")
    wait_for(lambda: float_info(nvim) is None)
    text = messages(nvim)
    assert f"localllm: {words}" in text or words in text, text
    assert "localllm: localllm:" not in text


def test_the_statusline_is_off_in_a_buffer_that_sends_nothing(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = nvim_factory()
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20)
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_final(nvim, HELLO)
    wait_for(lambda: statusline(nvim).endswith("ms"))
    nvim.command("let b:localllm_disable = v:true")
    assert statusline(nvim) == "LLM off"
    nvim.command("unlet b:localllm_disable")
    open_buffer(nvim, str(tmp_path / ".env"), "TOKEN=x\n")
    assert statusline(nvim) == "LLM off"


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_completion_works_after_an_install_that_ends_an_earlier_failure(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("NVIM_RPLUGIN_MANIFEST", str(tmp_path / "no-manifest.vim"))
    monkeypatch.setenv("LOCALLLM_INSTALL_OFFLINE", sysconfig.get_paths()["purelib"])
    nvim = nvim_factory()
    nvim.exec_lua(RECORD_NOTIFY)
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20)
    # No environment, no registration: the host cannot start.
    assert nvim.exec_lua("return require('localllm.bridge').channel()") is None
    assert "not registered" in nvim.exec_lua("return require('localllm').last_error")
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20)  # a retry while installing
    assert nvim.exec_lua(
        "require('localllm').install({ wait = false })"
        " return require('localllm.bridge').start()"
    ) is None
    during = [n["msg"] for n in nvim.exec_lua("return _G.notices")][-1]
    assert "install is running" in during and "again" not in during, during
    state = wait_for(
        lambda: (
            (s := nvim.exec_lua("return require('localllm.install').state")).get("ok") is not None
            and s
        ),
        timeout=240,
    )
    assert state["ok"], Path(state["log"]).read_text()
    # The failure is over everywhere, and completion works without a restart.
    assert nvim.exec_lua("return require('localllm').last_error") is None
    assert statusline(nvim) != "LLM error"
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_final(nvim, HELLO)
    assert nvim.exec_lua("return require('localllm.bridge').host_info()")["kind"] == "venv"
    text = "\n".join(nvim.exec_lua("return require('localllm').status_lines()"))
    assert "last error" not in text and "not running" not in text, text


@pytest.mark.parametrize("kind", ["provider", "venv"])
def test_a_log_file_that_cannot_be_opened_is_a_warning_and_completion_works(
    kind: str, request: pytest.FixtureRequest, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = request.getfixturevalue("own_env" if kind == "venv" else "nvim_factory")()
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state directory should be")
    # stdpath('log') is read at each call: the host's log would be state/nvim/localllm.log.
    nvim.exec_lua("vim.env.XDG_STATE_HOME = ...", str(blocker))
    setup_plugin(nvim, model=str(tiny_model), debounce_ms=20)
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    wait_for(lambda: ready(nvim))
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_final(nvim, HELLO)
    text = messages(nvim)
    assert f"cannot open the log file {blocker}/nvim/localllm.log" in text, text
    assert "Not a directory" in text
