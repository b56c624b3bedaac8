"""Shared set-up for the benchmarks: a real headless Neovim with the plugin registered."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "python"))

import model_files  # noqa: E402

__all__ = [
    "go_file",
    "go_files",
    "model_files",
    "percentile",
    "start_nvim",
    "stop_nvim",
    "summary",
    "workdir",
]


INIT = REPO / "tests" / "nvim" / "init.lua"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index], 3)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": round(max(values), 3) if values else float("nan"),
    }


def start_nvim(workdir: str) -> Any:
    """Register the remote plugin into a private manifest and start an embedded nvim."""
    import pynvim

    nvim_bin = str(Path(sys.executable).parent / "nvim")
    manifest = os.path.join(workdir, "rplugin.vim")
    os.environ.update(
        NVIM_RPLUGIN_MANIFEST=manifest,
        LOCALLLM_REPO=str(REPO),
        LOCALLLM_PYTHON=sys.executable,
        XDG_STATE_HOME=os.path.join(workdir, "state"),
        XDG_DATA_HOME=os.path.join(workdir, "data"),
    )
    subprocess.run(
        [
            nvim_bin,
            "--headless",
            "-u",
            str(INIT),
            "-i",
            "NONE",
            "-n",
            "+UpdateRemotePlugins",
            "+qa!",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return pynvim.attach(
        "child", argv=[nvim_bin, "--embed", "--headless", "-u", str(INIT), "-i", "NONE", "-n"]
    )


def workdir() -> str:
    return tempfile.mkdtemp(prefix="localllm-bench-")


def go_file(functions: int = 20) -> str:
    """A realistic Go file of about 15 lines per function."""
    out = ["package store", "", "import (", '\t"errors"', '\t"fmt"', '\t"strings"', ")", ""]
    for i in range(functions):
        out += [
            f"// Load{i} reads record {i} from the store and normalises its name.",
            f"func (s *Store) Load{i}(id string, limit int) (*Record, error) {{",
            "\tif limit <= 0 {",
            '\t\treturn nil, errors.New("limit must be positive")',
            "\t}",
            "\trec, err := s.db.Get(id)",
            "\tif err != nil {",
            f'\t\treturn nil, fmt.Errorf("load{i} %s: %w", id, err)',
            "\t}",
            "\trec.Name = strings.TrimSpace(rec.Name)",
            "\ts.count++",
            "\treturn rec, nil",
            "}",
            "",
        ]
    return "\n".join(out) + "\n"


def go_files(folder: Path) -> list[Path]:
    """The Go files of a project folder, vendored code and test data left out."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in ("vendor", "testdata", ".git")]
        out.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(".go"))
    return sorted(out)


def stop_nvim(nvim: Any) -> None:
    """Quit; nvim exits and closes the connection under us, which is expected."""
    with contextlib.suppress(EOFError, OSError):
        nvim.command("qa!")
