"""Moved to localllm.rules.go_errors; this name stays for the benchmarks and older imports."""

from __future__ import annotations

from .rules.go_errors import *  # noqa: F403
from .rules.go_errors import __all__ as __all__
