"""The host's configure: a log file that cannot be opened, or a bad value, costs that setting
(told as a warning in the configure reply), never the host."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from localllm.config import parse_settings
from localllm.nvim_host import LocalLLMPlugin, log, setup_logging


@pytest.fixture(autouse=True)
def no_log_after() -> Iterator[None]:
    yield
    setup_logging(parse_settings({}))


def test_a_log_path_under_a_regular_file_gives_a_warning_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the log directory should be")
    path = blocker / "nvim" / "localllm.log"
    warning = setup_logging(parse_settings({"log_file": str(path)}))
    assert warning is not None
    assert str(path) in warning and "Not a directory" in warning
    assert "writable" in warning and "stdpath('log')" in warning
    assert [type(h) for h in log.handlers] == [logging.NullHandler]


def test_a_writable_log_path_gives_no_warning(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "localllm.log"
    assert setup_logging(parse_settings({"log_file": str(path)})) is None
    log.warning("written")
    assert "written" in path.read_text()


def test_configure_keeps_the_good_settings_and_replies_the_problems_as_warnings(
    tmp_path: Path,
) -> None:
    plugin = LocalLLMPlugin(nvim=None)
    try:
        reply = plugin._configure(
            {"backend": "none", "cache_size": "lots", "log_file": str(tmp_path / "a.log")}
        )
        assert reply == {  # no "error" key: the host sends no None (protocol.py)
            "warnings": ["config.cache_size: expected an integer, got 'lots'"],
        }
        assert plugin.engine is not None and plugin.engine.settings.backend == "none"
    finally:
        plugin.shutdown()
