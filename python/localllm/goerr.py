"""Moved to localllm.rules.go_errors; this name stays for the benchmarks and older imports."""

from __future__ import annotations

from .rules.go_errors import (
    IF_ERR,
    ErrCheck,
    GoPackages,
    _imports,
    _split_top,
    clean_message,
    correct_returns,
    expected_returns,
    suggest,
    zero_value,
)

__all__ = [
    "IF_ERR",
    "ErrCheck",
    "GoPackages",
    "_imports",
    "_split_top",
    "clean_message",
    "correct_returns",
    "expected_returns",
    "suggest",
    "zero_value",
]
