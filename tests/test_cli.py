"""`localllm complete` as a user runs it: a real subprocess, real llama.cpp."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

GO = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\t\n\tfmt.Println(x)\n}\n'


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localllm", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_complete_prints_exactly_the_text_to_insert(tmp_path: Path, tiny_model: Path) -> None:
    path = tmp_path / "main.go"
    path.write_text(GO)
    out = run("complete", str(path), "--line", "7", "--col", "1", "--model", str(tiny_model))
    assert out.returncode == 0, out.stderr
    assert out.stdout == 'fmt.Println("hello")'


def test_json_output(tmp_path: Path, tiny_model: Path) -> None:
    path = tmp_path / "main.go"
    path.write_text(GO)
    out = run(
        "complete", str(path), "--line", "7", "--col", "1", "--model", str(tiny_model), "--json"
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["text"] == 'fmt.Println("hello")'
    assert result["source"] == "model"
    assert result["ms"] > 0


def test_stdin_never_reads_the_file(tmp_path: Path, tiny_model: Path) -> None:
    missing = tmp_path / "does-not-exist.go"
    out = run(
        "complete",
        str(missing),
        "--line",
        "7",
        "--col",
        "1",
        "--stdin",
        "--model",
        str(tiny_model),
        "--json",
        stdin=GO,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["text"] == 'fmt.Println("hello")'
    assert not missing.exists()


def test_batch_answers_each_line_in_order(tmp_path: Path, tiny_model: Path) -> None:
    requests = [
        {"path": "a.go", "text": GO, "line": 7, "col": 1},
        {"path": "b.go", "text": GO, "line": 99, "col": 0},  # no such line
        # Same file, the user typed "fmt.": the rest of the first answer, from the cache.
        {"path": "a.go", "text": GO.replace("\t\n", "\tfmt.\n"), "line": 7, "col": 5},
    ]
    stdin = "\n".join(json.dumps(r) for r in requests) + "\nnot json\n"
    out = run("complete", "--batch", "--model", str(tiny_model), stdin=stdin)
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(results) == 4
    assert results[0]["text"] == 'fmt.Println("hello")'
    assert "line 2" in results[1]["error"] and "outside the buffer" in results[1]["error"]
    assert results[2] == {"text": 'Println("hello")', "source": "cache", "ms": results[2]["ms"]}
    assert "line 4" in results[3]["error"]
    assert out.returncode == 1
    assert "line 2" in out.stderr


def test_backend_none_offers_nothing_without_a_model(tmp_path: Path) -> None:
    path = tmp_path / "main.go"
    path.write_text(GO)
    out = run("complete", str(path), "--line", "7", "--col", "1", "--backend", "none", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["text"] == ""


def test_errors_go_to_stderr_with_a_nonzero_exit(tmp_path: Path, tiny_model: Path) -> None:
    path = tmp_path / "main.go"
    path.write_text(GO)
    bad_col = run("complete", str(path), "--line", "7", "--col", "50", "--model", str(tiny_model))
    assert bad_col.returncode == 2
    assert bad_col.stdout == ""
    assert "column 50 is outside line 7" in bad_col.stderr
    no_model = run(
        "complete", str(path), "--line", "7", "--col", "1", "--model", str(tmp_path / "none.gguf")
    )
    assert no_model.returncode == 2
    assert "model file not found" in no_model.stderr
    assert "Traceback" not in no_model.stderr
    unreadable = run("complete", str(tmp_path / "nope.go"), "--line", "1", "--col", "0")
    assert unreadable.returncode == 2
    assert "cannot read" in unreadable.stderr
