"""`localllm` on the command line: the same engine as in Neovim, without Neovim.

localllm complete FILE --line L --col C [--stdin] [--backend NAME] [--model PATH] [--json]
localllm complete --batch [--backend NAME] [--model PATH]   (JSON lines on stdin)
localllm lsp [--backend NAME] [--model PATH] [--config JSON]   (a language server on stdio)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from .config import BACKENDS, parse_settings
from .engine import CompletionRequest, Engine, Update
from .errors import LocalLLMError
from .lsp_server import merged, serve
from .types import BufferSnapshot, IndentStyle


class CliError(Exception):
    pass


def snapshot_for(path: str, text: str, line: int, col: int) -> BufferSnapshot:
    try:
        return BufferSnapshot.from_text(
            text,
            line - 1,
            col,
            path=os.path.abspath(path) if path else "",
            indent=IndentStyle.guess(text),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None


class _Collector:
    def __init__(self) -> None:
        self.final: Update | None = None

    def __call__(self, update: Update) -> None:
        if update.final:
            self.final = update


def run_one(engine: Engine, collector: _Collector, snap: BufferSnapshot, rid: int) -> Update:
    collector.final = None
    started = time.monotonic_ns()
    root = os.path.dirname(snap.path) if snap.path else None
    engine.process(CompletionRequest(id=rid, bufnr=0, snapshot=snap, root=root))
    update = collector.final
    if update is None:
        raise CliError("no result")
    if update.error:
        raise CliError(update.error)
    update.timings["wall_ms"] = round((time.monotonic_ns() - started) / 1e6, 3)
    return update


def _result(update: Update) -> dict[str, Any]:
    return {"text": update.text, "source": update.source, "ms": update.timings["wall_ms"]}


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text") from None


def raw_config(args: argparse.Namespace) -> dict[str, Any]:
    """The settings table the backend flags make (the plugin's config keys)."""
    raw: dict[str, Any] = {"backend": args.backend}
    if args.model:
        raw["model"] = args.model
    if args.url or args.server_model:
        # --url/--server-model go to the server backend named (for auto: llama-server's URL).
        section = {"ollama": "ollama", "openai": "openai"}.get(args.backend, "llama_server")
        raw[section] = {"url": args.url} if args.url else {}
        if args.server_model:
            raw.setdefault("ollama", {})["model"] = args.server_model
            raw.setdefault("openai", {})["model"] = args.server_model
    return raw


def complete(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    raw = raw_config(args)
    settings = parse_settings(raw)
    collector = _Collector()
    engine = Engine(settings, collector, start_worker=False)
    try:
        if args.batch:
            return _batch(engine, collector, stdin, stdout)
        if args.file is None or args.line is None or args.col is None:
            raise CliError("complete needs FILE --line L --col C (or --batch)")
        text = stdin.read() if args.stdin else _read(args.file)
        update = run_one(engine, collector, snapshot_for(args.file, text, args.line, args.col), 1)
        if args.json:
            stdout.write(json.dumps(_result(update), ensure_ascii=False) + "\n")
        else:
            stdout.write(update.text)
            if update.text and stdout.isatty():
                stdout.write("\n")
        return 0
    finally:
        engine.close()


def _batch(engine: Engine, collector: _Collector, stdin: TextIO, stdout: TextIO) -> int:
    failed = 0
    for n, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise CliError("expected a JSON object")
            snap = snapshot_for(
                str(item.get("path") or ""), str(item["text"]), int(item["line"]), int(item["col"])
            )
            out: dict[str, Any] = _result(run_one(engine, collector, snap, n))
        except (CliError, LocalLLMError, KeyError, TypeError, ValueError) as exc:
            failed += 1
            message = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            out = {"error": f"line {n}: {message}"}
            print(f"localllm: line {n}: {message}", file=sys.stderr)
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="localllm", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("complete", help="print what accepting the suggestion would insert")
    c.add_argument("file", nargs="?", help="the file (names the language with --stdin)")
    c.add_argument("--line", type=int, help="1-based line of the cursor")
    c.add_argument("--col", type=int, help="0-based byte column of the cursor")
    c.add_argument("--stdin", action="store_true", help="read the buffer text from stdin")
    c.add_argument(
        "--batch",
        action="store_true",
        help='JSON lines {"path","text","line","col"} on stdin, one result each',
    )
    _backend_arguments(c)
    c.add_argument("--json", action="store_true", help='print {"text", "source", "ms"}')
    lsp = sub.add_parser("lsp", help="serve inline completion and completion over LSP (stdio)")
    _backend_arguments(lsp)
    lsp.add_argument(
        "--config", type=_json_object, default={}, help="settings as JSON (the plugin's keys)"
    )
    lsp.add_argument(
        "--deadline-ms", type=int, default=10_000, help="answer each request within this time"
    )
    lsp.add_argument("--stdio", action="store_true", help="accepted for clients that pass it")
    return parser


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not JSON") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("not a JSON object")
    return value


def _backend_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument(
        "--model", help="embedded backend: path to a GGUF model (default: search the usual places)"
    )
    parser.add_argument("--url", help="server backends: the server's base URL")
    parser.add_argument("--server-model", help="ollama / openai backends: the model name")


def lsp(args: argparse.Namespace) -> int:
    flags = raw_config(args)
    if args.backend == "auto":  # the default: --config may name the backend instead
        del flags["backend"]
    return serve(merged(args.config, flags), deadline_ms=args.deadline_ms)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "lsp":
            return lsp(args)
        return complete(args, sys.stdin, sys.stdout)
    except (CliError, LocalLLMError) as exc:
        print(f"localllm: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
