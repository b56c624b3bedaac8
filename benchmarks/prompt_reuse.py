"""Prompt reuse over a scripted editing session: the share of each prompt's tokens that the
model's KV cache already held from the previous request (embedded backend, gemma 3 270M with FIM
ids declared, the engine as the plugin runs it: speculation and activity prewarming on).

The session, in a Go package of two files: type a line in one function, move to another
function and type, switch to the other file and type, yank a function (recent activity, joined
at the next pause) and type again. Prints JSON: reuse per step kind and overall.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Any

from _nvim import go_file, model_files
from localllm.config import parse_settings
from localllm.engine import CompletionRequest, Engine, Update
from localllm.types import BufferSnapshot

HELPERS = """package store

import "strings"

// normalize trims and lower-cases a record name.
func normalize(name string) string {
	return strings.ToLower(strings.TrimSpace(name))
}

// Record is one entry.
type Record struct {
	ID   string
	Name string
}
"""


def main() -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix="localllm-reuse-")
    store_path = os.path.join(folder, "store.go")
    helpers_path = os.path.join(folder, "helpers.go")
    store = go_file(20)
    with open(store_path, "w") as f:
        f.write(store)
    with open(helpers_path, "w") as f:
        f.write(HELPERS)
    settings = parse_settings(
        {
            "backend": "embedded",
            "model": str(model_files.gemma_fim_path()),
            "generation": {"n_predict": 8},
        }
    )
    finals: dict[int, Update] = {}
    engine = Engine(settings, lambda u: finals.__setitem__(u.id, u) if u.final else None)
    next_id = [0]
    results: list[tuple[str, dict[str, Any]]] = []

    def request(kind: str, text: str, row: int, col: int, path: str) -> None:
        next_id[0] += 1
        rid = next_id[0]
        snap = BufferSnapshot.from_text(text, row, col, path=path, filetype="go")
        engine.submit(CompletionRequest(rid, 0, snap, root=folder))
        deadline = time.monotonic() + 120
        while rid not in finals and time.monotonic() < deadline:
            time.sleep(0.005)
        while not engine.idle() and time.monotonic() < deadline:
            time.sleep(0.005)  # speculation / prewarm done, as during a pause
        record = next(r for r in reversed(engine.history) if r["id"] == rid)
        results.append((kind, record))

    def type_line(kind: str, text: str, row: int, typed: str, path: str) -> str:
        lines = text.split("\n")
        lines.insert(row, "\t")
        for n in range(len(typed) + 1):
            lines[row] = "\t" + typed[:n]
            request(kind, "\n".join(lines), row, len(lines[row]), path)
        return "\n".join(lines)

    lines = store.split("\n")
    body_rows = [i + 1 for i, line in enumerate(lines) if line.startswith("func (s *Store) Load")]
    store = type_line("typing", store, body_rows[10], "name := normalize(id)", store_path)
    store = type_line("moved to another function", store, body_rows[3] + 1, "n := 1", store_path)
    type_line("switched file", HELPERS, 7, "x := 2", helpers_path)
    engine.add_activity(helpers_path, HELPERS, "yank", folder)
    engine.promote()
    while not engine.idle():
        time.sleep(0.01)
    type_line("after a yank joined", store, body_rows[12] + 2, "rec := Record{}", store_path)
    engine.close()

    by_kind: dict[str, dict[str, float]] = {}
    prompt_total = reused_total = 0
    for kind, record in results:
        if record["source"] != "model":
            continue
        entry = by_kind.setdefault(kind, {"requests": 0, "prompt": 0, "reused": 0})
        entry["requests"] += 1
        entry["prompt"] += record["tokens_prompt"]
        entry["reused"] += record["tokens_reused"]
        prompt_total += record["tokens_prompt"]
        reused_total += record["tokens_reused"]
    for entry in by_kind.values():
        entry["reuse_share"] = round(entry["reused"] / max(1, entry["prompt"]), 4)
    return {
        "benchmark": "prompt_reuse",
        "model": model_files.gemma_fim_path().name,
        "steps": by_kind,
        "overall_reuse_share": round(reused_total / max(1, prompt_total), 4),
        "requests": len(results),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
