""":LocalLLMExplain latency in a real Neovim with the embedded SmolLM2-135M-Instruct.

Measures, per question (the function under the cursor in a Go file):
- first character: from the command running in Lua to the first piece of the answer being
  written into the window (both ends in Neovim, vim.uv.hrtime());
- tokens/s: the answer's tokens after the first, over the time they took (in Python).
The first question loads the model and is reported apart ("cold"). Prints JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from _nvim import go_file, model_files, start_nvim, stop_nvim, summary, workdir


def ask(nvim: Any, row: int, timeout: float = 300.0) -> dict[str, Any]:
    nvim.current.window.cursor = (row, 1)
    nvim.command("LocalLLMExplain")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = nvim.exec_lua("return require('localllm.explain').info()")
        if info.get("done"):
            if info.get("error"):
                raise RuntimeError(info["error"])
            nvim.input("q")  # close the window before the next question
            return dict(info)
        time.sleep(0.01)
    raise TimeoutError("no answer")


def main(n: int = 8, max_tokens: int = 128) -> dict[str, object]:
    wd = workdir()
    nvim = start_nvim(wd)
    model = model_files.smollm2_path()
    nvim.exec_lua(
        "return require('localllm').setup(...)",
        {"model": str(model), "explain": {"max_tokens": max_tokens, "temperature": 0.0}},
    )
    path = os.path.join(wd, "store.go")
    with open(path, "w") as f:
        f.write(go_file(20))
    nvim.command(f"edit {path}")
    try:
        cold = ask(nvim, 12)
        first_ms: list[float] = []
        rates: list[float] = []
        tokens: list[float] = []
        for i in range(n):
            info = ask(nvim, 12 + 14 * (i % 20))  # a different function each time
            first_ms.append(float(info["first_ms"]))
            rates.append(float(info["stats"]["tokens_per_s"]))
            tokens.append(float(info["stats"]["tokens"]))
    finally:
        stop_nvim(nvim)
    return {
        "model": model.name,
        "max_tokens": max_tokens,
        "cold_first_char_ms": round(float(cold["first_ms"]), 1),
        "first_char_ms": summary(first_ms),
        "tokens_per_s": summary(rates),
        "answer_tokens": summary(tokens),
        "cpus": len(os.sched_getaffinity(0)),
    }


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    print(json.dumps(main(runs), indent=2))
