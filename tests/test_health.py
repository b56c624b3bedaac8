"""The pure parts of the health check: package list, model facts, memory, masked keys."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np

import model_files
from localllm import envcheck, health, languages
from localllm.config import parse_settings
from localllm.gguf_meta import read_gguf

REPO = Path(__file__).resolve().parent.parent


def test_envcheck_lists_every_dependency_of_the_package() -> None:
    text = (REPO / "pyproject.toml").read_text()
    block = text[text.index("dependencies = [") : text.index("[project.scripts]")]
    block = block[: block.index("dev = [")]  # runtime and [embedded], not the tools
    names = {m.lower() for m in re.findall(r'"([A-Za-z0-9_.-]+)[<>=\["]', block)}
    assert "pynvim" in names and "llama-cpp-python" in names
    assert names <= {p.dist for p in envcheck.PACKAGES}


def test_envcheck_lists_the_grammar_of_every_language() -> None:
    grammars = {p.module for p in envcheck.PACKAGES if p.role == "grammar"}
    assert grammars == {lang.grammar_module for lang in languages.all()}


def test_envcheck_runs_on_a_python_without_the_packages() -> None:
    # -S: no site-packages, so neither tree-sitter nor pynvim; the Lua side asks such Pythons.
    code = f"import sys; sys.path.insert(0, {str(REPO / 'python')!r}); "
    code += "from localllm.envcheck import main; main()"
    out = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    rep = json.loads(out)
    assert "tree-sitter" in envcheck.missing(rep)
    assert {p["name"] for p in rep["packages"]} >= {"tree-sitter-ruby", "tree-sitter-go"}


def test_envcheck_reports_versions_and_missing() -> None:
    rep = envcheck.report()
    versions = {p["name"]: p["version"] for p in rep["packages"]}  # type: ignore[attr-defined]
    assert versions["pynvim"] and versions["tree-sitter-go"]
    assert envcheck.missing(rep) == []
    rep["packages"].append(  # type: ignore[attr-defined]
        {"name": "absent", "module": "absent", "role": "required", "version": None}
    )
    assert envcheck.missing(rep) == ["absent"]


def test_parameter_count_sums_the_tensors(tmp_path: Path) -> None:
    path = tmp_path / "two.gguf"
    w = gguf.GGUFWriter(path, "llama")
    w.add_tensor("a", np.zeros((3, 5), dtype=np.float32))
    w.add_tensor("b", np.zeros((7,), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    assert read_gguf(path, tensors=True).parameter_count == 22
    assert read_gguf(path).parameter_count is None


def test_model_report_of_gemma_q4() -> None:
    path = model_files.gemma_path()
    rep = health.model_report(str(path), 4096, available=16 * 1024**3)
    assert rep["quantization"] == "Q4_K_M"
    assert rep["parameters"] == 268_098_176
    assert 4.0 < rep["bits_per_weight"] < 9.0
    # gemma 3 270M: 18 layers, 1 KV head of 256 (keys) + 256 (values), f16.
    assert rep["kv_cache_bytes"] == 2 * 18 * 4096 * 1 * (256 + 256)
    assert rep["needed_bytes"] == rep["weights_bytes"] + rep["kv_cache_bytes"]
    assert rep["fits"] is True
    assert rep["fim"] is False
    # Small model at ~Q4: Q8 is better; no FIM tokens: said too.
    assert any("Q8_0" in a for a in rep["advice"])
    assert any("no FIM tokens" in a for a in rep["advice"])
    assert health.model_report(str(path), 4096, available=100 * 1024**2)["fits"] is False


def test_model_report_of_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    bogus = tmp_path / "x.gguf"
    bogus.write_bytes(b"nope" * 100)
    rep = health.model_report(str(bogus), 4096, available=None)
    assert "not a GGUF file" in rep["error"]


def test_memory_reads_meminfo(tmp_path: Path) -> None:
    info = tmp_path / "meminfo"
    info.write_text("MemTotal:       16000000 kB\nMemFree: 1 kB\nMemAvailable:    8000000 kB\n")
    assert health.memory(str(info)) == {"total": 16000000 * 1024, "available": 8000000 * 1024}


def test_secrets_are_masked() -> None:
    settings = parse_settings({"openai": {"api_key_env": "MY_KEY"}})
    out = health.secrets(settings, {"LLAMA_API_KEY": "sk-abcdef123456", "MY_KEY": ""})
    assert out == [
        {"env": "LLAMA_API_KEY", "state": "set (15 characters, hidden)"},
        {"env": "MY_KEY", "state": "not set"},
    ]
    assert "sk-" not in str(out)


def test_nominal_bits_from_the_quantization_name() -> None:
    assert health.nominal_bits("Q4_K_M") == 4.0
    assert health.nominal_bits("IQ3_XS") == 3.0
    assert health.nominal_bits("Q8_0") == 8.0
    assert health.nominal_bits("F16") == 16.0
    assert health.nominal_bits(None) is None
