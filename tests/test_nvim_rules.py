"""End to end in a real headless Neovim: suggestions that need no model (Go error checks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nvim_helpers import drawn, insert_at, lines, open_buffer, setup_plugin, wait_final, wait_for

pytestmark = pytest.mark.nvim

LOADER = """package config

import "os"

type Config struct{ Raw []byte }

func Load(path string) (*Config, Mode, error) {
\tdata, err := os.ReadFile(path)
\treturn &Config{Raw: data}, 0, nil
}
"""


def test_the_error_check_appears_without_a_model_and_is_accepted(
    nvim_factory: Any, tmp_path: Path
) -> None:
    (tmp_path / "mode.go").write_text("package config\n\ntype Mode uint8\n")
    nvim = nvim_factory()
    setup_plugin(nvim, backend="none", debounce_ms=20)
    open_buffer(nvim, str(tmp_path / "config.go"), LOADER, filetype="go")
    nvim.command("setlocal noexpandtab shiftwidth=8 tabstop=8 autoindent")
    # `o` after the assignment: an empty, indented line right after it.
    nvim.current.window.cursor = (8, 0)
    nvim.input("o")
    block = "if err != nil {\n\t\treturn nil, 0, err\n\t}"
    record = wait_final(nvim, block)
    assert record["timings"]["source"] == "rule"
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[8:11] == ["\tif err != nil {", "\t\treturn nil, 0, err", "\t}"])
    assert lines(nvim)[11] == "\treturn &Config{Raw: data}, 0, nil"


def test_typing_if_err_offers_the_rest(nvim_factory: Any, tmp_path: Path) -> None:
    nvim = nvim_factory()
    setup_plugin(nvim, backend="none", debounce_ms=20)
    text = LOADER.replace("\treturn &Config", "\t\n\treturn &Config")
    (tmp_path / "mode.go").write_text("package config\n\ntype Mode struct{ Name string }\n")
    open_buffer(nvim, str(tmp_path / "config.go"), text, filetype="go")
    nvim.command("setlocal noexpandtab shiftwidth=8 tabstop=8")
    insert_at(nvim, 9, 1)
    nvim.input("if e")
    wait_final(nvim, "rr != nil {\n\t\treturn nil, Mode{}, err\n\t}")
    assert drawn(nvim) == "rr != nil {\n\t\treturn nil, Mode{}, err\n\t}"
