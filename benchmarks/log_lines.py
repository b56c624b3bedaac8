"""Log lines with the real gemma 3 270M model, embedded: the model alone next to the model with
the log-line checks (LogSite.prompt_chunk above the cursor line, as the engine puts it;
LogSite.check on every streamed and on the final suggestion).

For each log call line of the test corpus (tests/fixtures/loglines/), the file is cut inside
the call (after `logger.Info(`, or after the opening quote of its message) and the model
completes the line. Reported for the shown (non-empty) suggestions: the share that passes a
name not in scope, the count with verb/argument mismatches (printf verbs, slog pairs, zap
fields), the share left unbalanced, the empty-suggestion rate; and the time of find_log_site()
per site and while typing on a 2,000-line Go file. Prints JSON.

Targets: names not in scope <= 1% of shown suggestions and 0 verb/argument mismatches, with
checks; find_log_site p50 <= 5 ms on the 2,000-line file.

Usage: python benchmarks/log_lines.py [max_sites]
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from _nvim import REPO, model_files, summary
from localllm.backends import Cancellation
from localllm.backends.embedded import EmbeddedBackend
from localllm.config import parse_settings
from localllm.context import build_context
from localllm.document import Document
from localllm.loglines import LogSite, find_log_site
from localllm.postprocess import clean
from localllm.rules.log_lines import _as_comment
from localllm.treesitter import language_for
from localllm.types import BufferSnapshot, FimContext, GenerationParams, RequestTimings

CORPUS = REPO / "tests" / "fixtures" / "loglines"
CALL = re.compile(
    r"^(\s*(?:defer\s+|await\s+)?)((?:[\w.]+?)\.(?:\w+)\(|(?:(?:log|tracing)::)?"
    r"(?:info|warn|error|debug|trace)!\()"
)
PARAMS = GenerationParams(n_predict=24, temperature=0.0, time_limit_ms=3000)
MISMATCH = ("verbs", "pairs", "fields", "arity", "method")


@dataclasses.dataclass
class Site:
    path: Path
    text: str  # the file with the log line cut at the cursor (the rest of the line removed)
    row: int
    typed: str
    expected: str  # what the file had after the cursor


def sites() -> list[Site]:
    """Every log call line, cut after its `(`, or after the message's opening quote."""
    out = []
    for path in sorted(CORPUS.iterdir()):
        lines = path.read_text().split("\n")
        for row, line in enumerate(lines):
            match = CALL.match(line)
            if not match:
                continue
            cut = match.end()
            if line[cut : cut + 1] in ('"', "'", "`") and row % 2:
                cut += 1  # half the sites: the message already started
            cut_lines = [*lines[:row], line[:cut], *lines[row + 1 :]]
            out.append(Site(path, "\n".join(cut_lines), row, line[:cut], line[cut:]))
    return out


def context_for(site: Site) -> FimContext:
    snap = BufferSnapshot.from_text(
        site.text, site.row, len(site.typed.encode()), path=str(site.path)
    )
    ctx = build_context(snap, parse_settings(None).context)
    return dataclasses.replace(ctx, multiline=False)  # a log line is single-line


def generate(backend: EmbeddedBackend, ctx: FimContext, log_site: LogSite | None) -> str:
    raw = ""
    shown = ""
    for piece in backend.complete(ctx, PARAMS, Cancellation(), RequestTimings()):
        raw += piece
        partial = clean(raw, ctx, final=False, max_lines=1)
        text = partial.text
        if log_site is not None and text:
            text = log_site.check(ctx.middle, text, final=False)
            if text != partial.text and text:
                shown = text
                break  # the check cut it: the rest can only be worse
        shown = text or shown
        if partial.complete:
            break
    final = clean(raw, ctx, final=True, max_lines=1).text
    if log_site is not None:
        final = log_site.check(ctx.middle, final, final=True)
    return final


def rates(results: list[tuple[LogSite, str, str]]) -> dict[str, Any]:
    shown = [(s, typed, text) for s, typed, text in results if text.strip()]
    unknown = mismatch = unbalanced = 0
    examples: list[str] = []
    for log_site, typed, text in shown:
        found = log_site.problems(typed, text)
        if any(p.startswith("unknown:") for p in found):
            unknown += 1
        if any(p in MISMATCH for p in found):
            mismatch += 1
        if "unbalanced" in found:
            unbalanced += 1
        if found and len(examples) < 6:
            examples.append(f"{typed.strip()}{text}  {found}")
    n = len(shown)
    return {
        "suggestions": len(results),
        "shown": n,
        "empty_rate": round(1 - n / len(results), 3) if results else None,
        "unknown_identifier_share": round(unknown / n, 4) if n else None,
        "unknown_identifier_count": unknown,
        "verb_argument_mismatches": mismatch,
        "unbalanced_share": round(unbalanced / n, 4) if n else None,
        "problem_examples": examples,
    }


def big_go_timing() -> dict[str, float]:
    """find_log_site while typing a log call on a 2,000-line Go file, at several places."""
    source = (CORPUS / "zap_client.go").read_text()
    head, body = source.split("// Fetch gets", 1)
    parts = [head]
    index = 0
    while sum(p.count("\n") for p in parts) < 2000:
        parts.append(
            ("// Fetch gets" + body)
            .replace("Fetch(", f"Fetch{index}(")
            .replace("Delete(", f"Delete{index}(")
        )
        index += 1
    lines = "".join(parts).split("\n")
    rows = [r for r, line in enumerate(lines) if 'c.logger.Info("fetched' in line][::4]
    word = 'c.logger.Info("fetched %s", id)'
    times: list[float] = []
    doc: Document | None = None  # as the engine does: each request's Document from the last
    for row in rows:
        for end in range(1, len(word) + 1):
            typed = "\t\t" + word[:end]
            edited = [*lines[:row], typed, *lines[row + 1 :]]
            started = time.perf_counter()
            doc = Document.of_lines("big.go", "go", edited, cursor_row=row, previous=doc)
            find_log_site(
                doc.buffer_text,
                row,
                len(typed),
                "go",
                tree_of=doc.blanked_tree_of(),
                carry=doc.carried,
            )
            times.append((time.perf_counter() - started) * 1000)
    return {"lines": len(lines), **summary(times)}


def main(max_sites: int = 0) -> dict[str, Any]:
    all_sites = sites()
    if max_sites:
        all_sites = all_sites[:max_sites]
    model = model_files.gemma_path()
    backend = EmbeddedBackend(parse_settings({"model": str(model)}))
    backend.prepare()
    started = time.monotonic()
    plain: list[tuple[LogSite, str, str]] = []
    checked: list[tuple[LogSite, str, str]] = []
    detect_ms: list[float] = []
    found: list[tuple[Site, LogSite]] = []
    families: dict[str, int] = {}
    for site in all_sites:  # lines that call something else are not log sites
        language = language_for("", str(site.path))
        t0 = time.perf_counter()
        log_site = find_log_site(site.text, site.row, len(site.typed.encode()), language)
        detect_ms.append((time.perf_counter() - t0) * 1000)
        if log_site is not None:
            found.append((site, log_site))
            families[log_site.family] = families.get(log_site.family, 0) + 1
    # One pass each, so consecutive prompts share their start (llama.cpp's KV cache).
    for site, log_site in found:
        ctx = context_for(site)
        plain.append((log_site, ctx.middle, generate(backend, ctx, None)))
    for site, log_site in found:
        ctx = context_for(site)
        # As the engine does it: one line, the chunk as comments above the cursor line.
        with_chunk = dataclasses.replace(
            ctx, multiline=False, prefix=ctx.prefix + _as_comment(log_site.prompt_chunk, ctx)
        )
        checked.append((log_site, ctx.middle, generate(backend, with_chunk, log_site)))
    backend.close()
    return {
        "benchmark": "log_lines",
        "model": model.name,
        "call_lines": len(all_sites),
        "log_sites": len(found),
        "families": families,
        "without_checks": rates(plain),
        "with_checks": rates(checked),
        "find_log_site_per_site_ms": summary(detect_ms),
        "find_log_site_typing_2000_line_go_ms": big_go_timing(),
        "generation_seconds": round(time.monotonic() - started, 1),
        "target": {
            "unknown_identifier_share_with_checks": 0.01,
            "verb_argument_mismatches_with_checks": 0,
            "find_log_site_p50_ms": 5,
        },
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0), indent=2))
