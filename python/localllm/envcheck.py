"""Which Python runs the plugin and which of the packages it needs that Python has.

Pure and cheap: package versions come from the installed distributions' metadata, and whether a
module can be imported from `importlib.util.find_spec` (nothing is imported, so a broken
llama.cpp build cannot crash the check). Also runnable on its own, from any Python, to ask a
Python that does not run the plugin yet (the Lua side does, for `:checkhealth` and for the
message that says what is missing):

    python -c "import sys; sys.path.insert(0, '<plugin>/python'); \
               from localllm.envcheck import main; main()"

prints one JSON object (see `report`).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import platform
import sys
from dataclasses import dataclass

from . import languages

__all__ = ["PACKAGES", "Package", "main", "missing", "report"]


@dataclass(frozen=True, slots=True)
class Package:
    """A distribution the plugin uses and the module it provides."""

    dist: str
    module: str
    # "required": the plugin does not start without it; "embedded": the in-process model;
    # "grammar": tree-sitter context for one language; "optional": extras (tools, tests).
    role: str


# One grammar wheel per language record (TypeScript and TSX share one); its distribution is
# named like its module.
_GRAMMARS = tuple(
    Package(module.replace("_", "-"), module, "grammar")
    for module in dict.fromkeys(lang.grammar_module for lang in languages.all())
)

PACKAGES: tuple[Package, ...] = (
    Package("pynvim", "pynvim", "required"),
    Package("httpx", "httpx", "required"),
    Package("tree-sitter", "tree_sitter", "required"),
    Package("llama-cpp-python", "llama_cpp", "embedded"),
    *_GRAMMARS,
    Package("gguf", "gguf", "optional"),
)


def _version(pkg: Package) -> str | None:
    """The installed version, or None when the module cannot be imported from this Python."""
    try:
        found = importlib.util.find_spec(pkg.module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return None
    try:
        return importlib.metadata.version(pkg.dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown version"


def report() -> dict[str, object]:
    """{"python": path, "python_version", "packages": [{name, module, role, version|None}]}."""
    return {
        "python": sys.executable,
        "python_version": platform.python_version(),
        "packages": [
            {"name": p.dist, "module": p.module, "role": p.role, "version": _version(p)}
            for p in PACKAGES
        ],
    }


def missing(rep: dict[str, object], roles: tuple[str, ...] = ("required", "embedded")) -> list[str]:
    """Names of the distributions of `roles` that `rep` (from `report`) lacks."""
    packages = rep.get("packages")
    if not isinstance(packages, list):
        return []
    return [
        str(p["name"])
        for p in packages
        if isinstance(p, dict) and p.get("role") in roles and p.get("version") is None
    ]


def main() -> None:
    sys.stdout.write(json.dumps(report()) + "\n")


if __name__ == "__main__":
    main()
