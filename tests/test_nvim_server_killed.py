"""A real llama-server killed while it streams a suggestion, then started again."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from llama_server import LlamaServer
from nvim_helpers import drawn, insert_at, lines, open_buffer, setup_plugin, stats, wait_for

pytestmark = pytest.mark.nvim

PRIMES = "primes = [2, 3, 5, 7, 11, 13,\n"


def test_a_server_killed_mid_stream_loses_nothing_and_is_used_again(
    nvim_factory: Any, gemma_model: Path, tmp_path: Path
) -> None:
    server = LlamaServer(gemma_model, log_path=tmp_path / "server.log").start()
    try:
        nvim = nvim_factory()
        setup_plugin(
            nvim,
            debounce_ms=20,
            backend="llama_server",
            llama_server={"url": server.url},
            # A long single line (a list of numbers) keeps the model busy for seconds.
            generation={"n_predict": 256, "time_limit_ms": 30000},
        )
        open_buffer(nvim, str(tmp_path / "primes.py"), PRIMES, filetype="python")
        insert_at(nvim, 1, len(PRIMES) - 1)
        nvim.input(" ")
        wait_for(lambda: stats(nvim)["partial"] >= 1, timeout=60)
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)  # no goodbye: the stream just stops
        server.process.wait()
        error = wait_for(lambda: nvim.exec_lua("return require('localllm').last_error"))
        assert "llama-server" in error
        # Nothing of the broken answer stays: not in the buffer, not on screen.
        assert lines(nvim) == [PRIMES.rstrip("\n") + " "]
        wait_for(lambda: drawn(nvim) is None)
        messages = nvim.exec_lua("return vim.api.nvim_exec2('messages', {output = true}).output")
        assert "Traceback" not in messages and "Error executing" not in messages

        server.start()
        nvim.command("sleep 2100m")  # the retry pause after an outage
        partial_before = stats(nvim)["partial"]
        nvim.input("1")
        wait_for(lambda: stats(nvim)["partial"] > partial_before, timeout=60)
        wait_for(lambda: nvim.exec_lua("return require('localllm').last_error") is None, timeout=60)
        assert lines(nvim) == [PRIMES.rstrip("\n") + " 1"]
    finally:
        server.stop()
