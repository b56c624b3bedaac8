"""Shared fixtures: real model files and real headless Neovim instances with the plugin."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import model_files

REPO = Path(__file__).resolve().parent.parent
NVIM_INIT = REPO / "tests" / "nvim" / "init.lua"

# Fixtures that bring a real model, a real llama-server or a real Neovim: a test that asks for
# one gets its marker, so `-m "not model and not nvim"` (make test-fast) never starts them.
# Tests that start one without these fixtures carry the marker themselves.
MODEL_FIXTURES = {"tiny_model", "gemma_model", "gemma_fim_model"}
# nofim_server: tests/test_llama_server.py; lua_defaults: tests/test_config.py
SERVER_FIXTURES = {"llama_server_tiny", "llama_server_gemma", "nofim_server"}
NVIM_FIXTURES = {"nvim_factory", "lua_defaults"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & SERVER_FIXTURES or item.get_closest_marker("server"):
            item.add_marker(pytest.mark.server)
            item.add_marker(pytest.mark.model)
        if used & MODEL_FIXTURES:
            item.add_marker(pytest.mark.model)
        if used & NVIM_FIXTURES:
            item.add_marker(pytest.mark.nvim)


def nvim_binary() -> str:
    candidate = Path(sys.executable).parent / "nvim"
    return str(candidate) if candidate.exists() else "nvim"


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    return model_files.tiny_path(["fmt.Println(", '"hello"', ")"])


@pytest.fixture(scope="session")
def gemma_model() -> Path:
    return model_files.gemma_path()


@pytest.fixture(scope="session")
def gemma_fim_model() -> Path:
    return model_files.gemma_fim_path()


@pytest.fixture(scope="session")
def rplugin_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Register the remote plugin once into a temporary manifest (:UpdateRemotePlugins)."""
    manifest = tmp_path_factory.mktemp("rplugin") / "rplugin.vim"
    env = nvim_env(manifest)
    subprocess.run(
        [
            nvim_binary(),
            "--headless",
            "-u",
            str(NVIM_INIT),
            "-i",
            "NONE",
            "-n",
            "+UpdateRemotePlugins",
            "+qa!",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    text = manifest.read_text()
    assert "LocalLLMHostInit" in text, text
    return manifest


def nvim_env(manifest: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NVIM_RPLUGIN_MANIFEST=str(manifest),
        LOCALLLM_REPO=str(REPO),
        LOCALLLM_PYTHON=sys.executable,
        XDG_STATE_HOME=str(manifest.parent / "state"),
        XDG_DATA_HOME=str(manifest.parent / "data"),
        XDG_CONFIG_HOME=str(manifest.parent / "config"),
    )
    return env


@pytest.fixture
def nvim_factory(rplugin_manifest: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Start real headless Neovim instances (pynvim child sessions) with the plugin loaded."""
    import pynvim

    for key, value in nvim_env(rplugin_manifest).items():
        monkeypatch.setenv(key, value)
    started: list[pynvim.Nvim] = []

    def start() -> pynvim.Nvim:
        nvim = pynvim.attach(
            "child",
            argv=[nvim_binary(), "--embed", "--headless", "-u", str(NVIM_INIT), "-i", "NONE", "-n"],
        )
        started.append(nvim)
        return nvim

    yield start
    for nvim in started:
        with contextlib.suppress(Exception):
            nvim.command("qa!")
        with contextlib.suppress(Exception):
            nvim.close()


@pytest.fixture(scope="session")
def llama_server_tiny(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: Path
) -> Iterator[object]:
    """A real llama-server with the tiny deterministic FIM model (answers fmt.Println("hello"))."""
    from llama_server import LlamaServer

    log = tmp_path_factory.mktemp("llama-server") / "tiny.log"
    server = LlamaServer(tiny_model, log_path=log).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def llama_server_gemma(
    tmp_path_factory: pytest.TempPathFactory, gemma_fim_model: Path
) -> Iterator[object]:
    """A real llama-server with gemma 3 270M, FIM token ids declared (real speed, real cache)."""
    from llama_server import LlamaServer

    log = tmp_path_factory.mktemp("llama-server") / "gemma.log"
    server = LlamaServer(gemma_fim_model, log_path=log).start()
    yield server
    server.stop()
