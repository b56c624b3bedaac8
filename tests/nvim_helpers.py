"""Helpers to drive a real headless Neovim in the end-to-end tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(fn: Callable[[], T], timeout: float = 20.0, interval: float = 0.02) -> T:
    """Poll `fn` until it returns a truthy value; fail with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    value = fn()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s; last value: {value!r}")
        time.sleep(interval)
        value = fn()
    return value


def setup_plugin(nvim: Any, **opts: Any) -> None:
    ok = nvim.exec_lua("return require('localllm').setup(...)", opts)
    assert ok, "setup() rejected the options"


def open_buffer(nvim: Any, path: str, text: str, filetype: str | None = None) -> int:
    """Edit `path` with `text` (written to disk first so the buffer is a real file buffer)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    nvim.command(f"edit {path}")
    if filetype:
        nvim.command(f"setlocal filetype={filetype}")
    return int(nvim.current.buffer.number)


def drawn(nvim: Any) -> str | None:
    """The suggestion text while an extmark shows it (tabs as in the text, not expanded)."""
    return nvim.exec_lua(  # type: ignore[no-any-return]
        "local buf = vim.api.nvim_get_current_buf()"
        " if not require('localllm.ghost').drawn_text(buf) then return nil end"
        " local s = require('localllm.session').suggestion(buf)"
        " return s and s.text"
    )


def drawn_display(nvim: Any) -> str | None:
    """What the extmark displays (tabs expanded)."""
    return nvim.exec_lua("return require('localllm.ghost').drawn_text(0)")  # type: ignore[no-any-return]


def lines(nvim: Any) -> list[str]:
    return list(nvim.current.buffer[:])


def cursor(nvim: Any) -> tuple[int, int]:
    row, col = nvim.current.window.cursor
    return int(row), int(col)


def mode(nvim: Any) -> str:
    return str(nvim.api.get_mode()["mode"])


def stats(nvim: Any) -> dict[str, Any]:
    return nvim.exec_lua("return require('localllm.session').stats")  # type: ignore[no-any-return]


def insert_at(nvim: Any, row: int, col: int) -> None:
    """Enter insert mode with the cursor at (1-based row, byte col); col may be the line end."""
    nvim.input("<Esc>")
    wait_for(lambda: mode(nvim) == "n")
    line = nvim.current.buffer[row - 1]
    if line and col >= len(line.encode()):
        nvim.current.window.cursor = (row, 0)
        nvim.input("A")
    else:
        nvim.current.window.cursor = (row, col)
        nvim.input("i")
    wait_for(lambda: mode(nvim) == "i")
    wait_for(lambda: cursor(nvim) == (row, col))


def last_record(nvim: Any) -> dict[str, Any] | None:
    return nvim.exec_lua("return require('localllm.session').last_record()")  # type: ignore[no-any-return]


def wait_final(nvim: Any, text: str | None = None, timeout: float = 20.0) -> dict[str, Any]:
    """Wait until the latest request is finished (and, with `text`, that it is drawn)."""

    def done() -> dict[str, Any] | None:
        record = last_record(nvim)
        if not record or not record.get("final_ns"):
            return None
        if text is not None and drawn(nvim) != text:
            return None
        return record

    return wait_for(done, timeout)
