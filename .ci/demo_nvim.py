"""Demo: a headless Neovim with localllm.nvim completes tests/fixtures/demo.go at line 33.

Prints the ghost text the plugin draws, then the lines after accepting it with <Tab>.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from _nvim import start_nvim, stop_nvim, workdir  # noqa: E402


def main(model: str) -> int:
    wd = workdir()
    nvim = start_nvim(wd)
    ok = nvim.exec_lua(
        "return require('localllm').setup(...)", {"model": model, "generation": {"n_predict": 32}}
    )
    if not ok:
        print("setup failed")
        return 1
    path = Path(wd) / "demo.go"
    shutil.copy(REPO / "tests" / "fixtures" / "demo.go", path)
    nvim.command(f"edit {path}")
    nvim.command("setlocal noexpandtab tabstop=4 shiftwidth=4")
    nvim.current.window.cursor = (33, 0)
    nvim.input("A")
    started = time.monotonic()
    shown = None
    while time.monotonic() - started < 120:
        record = nvim.exec_lua("return require('localllm.session').last_record()")
        error = nvim.exec_lua("return require('localllm').last_error")
        if error:
            print("error:", error)
            return 1
        if record and record.get("final_ns"):
            shown = nvim.exec_lua(
                "local s = require('localllm.session').suggestion(vim.api.nvim_get_current_buf())"
                " return s and s.text"
            )
            break
        time.sleep(0.05)
    print("ghost text:", repr(shown))
    print("\n".join(nvim.exec_lua("return require('localllm').status_lines()")))
    if shown:
        nvim.input("<Tab>")
        time.sleep(0.3)
        print("after <Tab>:")
        for line in nvim.current.buffer[29:37]:
            print("   ", line)
    stop_nvim(nvim)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
