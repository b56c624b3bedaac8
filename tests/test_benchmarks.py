"""The benchmarks still import: they are run by hand, so nothing else notices when a move in
the package breaks one (log_lines.py imported a name that had moved)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
NAMES = sorted(p.stem for p in BENCHMARKS.glob("*.py") if not p.stem.startswith("_"))


def test_there_are_benchmarks() -> None:
    assert {"context_build", "go_errcheck", "log_lines", "server_typing"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_benchmark_imports_and_has_a_main(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    module = importlib.import_module(name)
    assert callable(module.main)
