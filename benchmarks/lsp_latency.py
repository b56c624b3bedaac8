"""An LSP inline completion against the ghost path: the same model, file, place and keystrokes.

- LSP: `localllm lsp` on stdio (tests/lsp_client.py). Per keystroke the client sends the
  change (didChange, incremental) and `textDocument/inlineCompletion`, as an editor does; the
  time is from sending both to the answer, on the client's clock. An editor adds its own delay
  before asking (Neovim 0.12's vim.lsp.inline_completion waits 200 ms after the last
  keystroke): not counted here.
- Ghost: the plugin in a real headless Neovim with debounce_ms = 0; the time is from the
  keystroke (nvim_input) to the first ghost character drawn and to the final suggestion
  received (session.last_record(): first_drawn_ns, final_ns, on the same monotonic clock).
  Keystrokes that type through the suggestion shown need no request and are counted apart.

Prints JSON. Usage: python benchmarks/lsp_latency.py [gemma|tiny]
  gemma - gemma 3 270M with FIM token ids declared (real speed; default)
  tiny  - the tiny deterministic model (the protocol's own cost)
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from _nvim import go_file, model_files, start_nvim, stop_nvim, summary, workdir

TYPED = "strings.ToUpper(name)"[:20]
ANCHOR = "\trec.Name = strings.TrimSpace(rec.Name)"
COL = len("\trec.Name = ")  # mid-line, the rest of the line right of the cursor


def _model(variant: str) -> Any:
    if variant == "tiny":
        return model_files.tiny_path(["strings.", "ToUpper(", "name)"])
    return model_files.gemma_fim_path()


def _place(text: str) -> int:
    return next(i for i, line in enumerate(text.split("\n")) if line == ANCHOR and i > 150)


def lsp_path(model: Any, path: str, text: str) -> dict[str, Any]:
    from lsp_client import LspClient

    config = {"backend": "embedded", "model": str(model), "generation": {"n_predict": 16}}
    # The cold first request evaluates the whole prompt: on 2 cores longer than the default.
    client = LspClient("--config", json.dumps(config), "--deadline-ms", "120000")
    try:
        client.initialize()
        uri = client.open(path, text)
        row = _place(text)
        started = time.monotonic_ns()
        client.inline(uri, row, COL, timeout=120)  # cold: loads the model, whole prompt
        cold_ms = (time.monotonic_ns() - started) / 1e6
        answer_ms: list[float] = []
        empty = 0
        for n, ch in enumerate(TYPED):
            at = {"line": row, "character": COL + n}
            change = {"range": {"start": at, "end": at}, "text": ch}
            sent = time.monotonic_ns()
            client.notify(
                "textDocument/didChange",
                {"textDocument": {"uri": uri, "version": n + 2}, "contentChanges": [change]},
            )
            result = client.inline(uri, row, COL + n + 1, timeout=60)
            answer_ms.append((time.monotonic_ns() - sent) / 1e6)
            empty += not result["items"]
        return {
            "cold_first_request_ms": round(cold_ms, 3),
            "keystroke_to_answer_ms": summary(answer_ms),
            "empty_answers": empty,
        }
    finally:
        client.close()


def ghost_path(model: Any, path: str, text: str) -> dict[str, Any]:
    wd = workdir()
    nvim = start_nvim(wd)
    session = "require('localllm.session')"
    try:
        nvim.exec_lua(
            "return require('localllm').setup(...)",
            {"model": str(model), "debounce_ms": 0, "generation": {"n_predict": 16}},
        )
        nvim.command(f"edit {path}")
        nvim.current.window.cursor = (_place(text) + 1, COL)
        nvim.input("i")
        nvim.exec_lua("require('localllm').trigger()")
        _wait(lambda: nvim.exec_lua(f"local r = {session}.last_record() return r and r.final_ns"))
        first_ms: list[float] = []
        final_ms: list[float] = []
        typed_through = 0
        for ch in TYPED:
            before = nvim.exec_lua(f"local r = {session}.last_record() return r and r.id or 0")
            sent = time.monotonic_ns()
            nvim.input(ch)
            record = _next_record(nvim, before, sent)
            if record is None:
                typed_through += 1
                continue
            if record.get("first_drawn_ns"):
                first_ms.append((record["first_drawn_ns"] - sent) / 1e6)
            final_ms.append((record["final_ns"] - sent) / 1e6)
        return {
            "debounce_ms": 0,
            "keystroke_to_first_ghost_ms": summary(first_ms),
            "keystroke_to_final_ms": summary(final_ms),
            "typed_through_keystrokes": typed_through,
        }
    finally:
        stop_nvim(nvim)


def _next_record(nvim: Any, before: int, sent: int) -> dict[str, Any] | None:
    """The final record of the request this keystroke made; None when it made none (typed
    through the suggestion shown: the rest is drawn at once)."""
    session = "require('localllm.session')"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        record = nvim.exec_lua(f"return {session}.last_record()")
        if record and record["id"] != before and record.get("final_ns"):
            return dict(record)
        quiet = record and record["id"] == before and time.monotonic_ns() - sent > 50e6
        if quiet and nvim.exec_lua(f"return {session}.is_visible()"):
            return None
        time.sleep(0.002)
    return None


def _wait(ready: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError("no suggestion")
        time.sleep(0.01)


def main(variant: str = "gemma") -> dict[str, Any]:
    model = _model(variant)
    wd = workdir()
    path = os.path.join(wd, "store.go")
    text = go_file(20)  # 288 lines
    with open(path, "w") as f:
        f.write(text)
    return {
        "benchmark": "lsp_latency",
        "model": os.path.basename(str(model)),
        "typed": TYPED,
        "lsp_inline_completion": lsp_path(model, path, text),
        "ghost": ghost_path(model, path, text),
        "cores": os.cpu_count(),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1] if len(sys.argv) > 1 else "gemma"), indent=2))
