"""Registration shim for Neovim's python3 host: puts the plugin's python/ folder first on
sys.path so this checkout's `localllm` package wins over any installed copy, then exposes the
plugin class. Named apart from `localllm` so it never shadows the real package."""

import os
import sys

_PYTHON_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "python"))
if _PYTHON_DIR not in sys.path:
    sys.path.insert(0, _PYTHON_DIR)

from localllm.nvim_host import LocalLLMPlugin  # noqa: E402

__all__ = ["LocalLLMPlugin"]
