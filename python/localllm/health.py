"""Facts for `:checkhealth localllm`: the model (quantization, size, FIM tokens), the memory it
needs against what the machine has, and which API keys are set (masked).

Pure: reads the GGUF header and /proc/meminfo, never loads a model, imports neither pynvim nor
httpx. The host (nvim_host.py) adds what only it knows (the backend's state) and returns the dict
to lua/localllm/health.lua, which words it.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from typing import Any

from .config import Settings
from .gguf_meta import GGUFError, GGUFInfo, read_gguf

__all__ = [
    "kv_cache_bytes",
    "mask_secret",
    "memory",
    "model_report",
    "nominal_bits",
    "report",
    "secrets",
]

# Below this many bits per weight answers get noticeably worse; small models lose more.
QUALITY_FLOOR_BITS = 4.0
SMALL_MODEL_PARAMS = 3_000_000_000


def memory(path: str = "/proc/meminfo") -> dict[str, int | None]:
    """{"total", "available"} in bytes (None where the system does not say)."""
    found: dict[str, int | None] = {"total": None, "available": None}
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, rest = line.partition(":")
                name = {"MemTotal": "total", "MemAvailable": "available"}.get(key)
                if name and rest.split():
                    found[name] = int(rest.split()[0]) * 1024
    except (OSError, ValueError):
        pass
    if found["total"] is None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            found["total"] = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return found


def _int_or_max(value: object) -> int | None:
    """A count that may be per layer (a tuple): its largest value."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, tuple):
        ints = [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
        return max(ints) if ints else None
    return None


def kv_cache_bytes(info: GGUFInfo, n_ctx: int) -> int | None:
    """Bytes of an f16 KV cache for `n_ctx` tokens: 2 bytes × layers × n_ctx × kv heads ×
    (key + value head size). None when the header lacks the sizes."""
    arch = info.architecture
    if not arch:
        return None
    md = info.metadata
    layers = _int_or_max(md.get(f"{arch}.block_count"))
    heads = _int_or_max(md.get(f"{arch}.attention.head_count"))
    kv_heads = _int_or_max(md.get(f"{arch}.attention.head_count_kv")) or heads
    embd = _int_or_max(md.get(f"{arch}.embedding_length"))
    if not layers or not kv_heads:
        return None
    head_dim = embd // heads if embd and heads else None
    k_len = _int_or_max(md.get(f"{arch}.attention.key_length")) or head_dim
    v_len = _int_or_max(md.get(f"{arch}.attention.value_length")) or head_dim
    if not k_len or not v_len:
        return None
    return 2 * layers * n_ctx * kv_heads * (k_len + v_len)


def model_report(path: str, n_ctx: int, available: int | None) -> dict[str, Any]:
    """What the GGUF at `path` is and what it needs: parameters, bits per weight, memory for the
    weights (parameters × bits / 8) plus the KV cache of `n_ctx` tokens, and whether that fits
    in `available` bytes. Problems are reported in "error", never raised."""
    out: dict[str, Any] = {"path": path}
    try:
        info = read_gguf(path, tensors=True)
        size = os.path.getsize(path)
    except FileNotFoundError:
        out["error"] = f"model file not found: {path}"
        return out
    except IsADirectoryError:
        out["error"] = f"the model is a folder, not a GGUF file: {path}"
        return out
    except PermissionError:
        out["error"] = f"the model file cannot be read (permission denied): {path}"
        return out
    except (GGUFError, OSError) as exc:
        out["error"] = str(exc)
        return out
    params = info.parameter_count or None
    bits = size * 8 / params if params else None
    ctx = min(n_ctx, info.context_length) if info.context_length else n_ctx
    kv = kv_cache_bytes(info, ctx)
    weights = int(params * bits / 8) if params and bits else size
    need = weights + (kv or 0)
    out.update(
        name=info.name,
        architecture=info.architecture,
        quantization=info.quantization,
        file_bytes=size,
        parameters=params,
        bits_per_weight=round(bits, 2) if bits else None,
        fim=info.has_fim,
        n_ctx=ctx,
        weights_bytes=weights,
        kv_cache_bytes=kv,
        needed_bytes=need,
        fits=None if available is None else need <= available,
    )
    advice: list[str] = []
    nominal = nominal_bits(info.quantization) or bits
    if nominal is not None and nominal < QUALITY_FLOOR_BITS:
        advice.append(
            f"{info.quantization or f'{nominal:.1f} bits'} is below Q4, the floor for usable "
            "suggestions: take a Q4_K_M or better file of this model"
        )
    elif nominal is not None and nominal < 8 and params and params < SMALL_MODEL_PARAMS:
        advice.append(
            "small models lose more to quantization: Q8_0 of this model suggests better "
            f"(about {_human(int(params * 8.5 / 8) + (kv or 0))} with the KV cache)"
        )
    if not info.has_fim:
        advice.append(
            "no FIM tokens: it only continues the text before the cursor; a coder base model "
            "(e.g. Qwen2.5-Coder 1.5B) fills in the middle"
        )
    out["advice"] = advice
    return out


def nominal_bits(quantization: str | None) -> float | None:
    """The bits per weight a quantization's name promises (Q4_K_M: 4), None when unknown.
    (A file's average is higher: embeddings and some layers are often kept at more bits.)"""
    if not quantization:
        return None
    match = re.match(r"^(?:I?Q|TQ)(\d)", quantization)
    if match:
        return float(match.group(1))
    return {"F32": 32.0, "F16": 16.0, "BF16": 16.0}.get(quantization)


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit in ("B", "KB") else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def mask_secret(value: str) -> str:
    """How a secret is shown: that it is set and how long it is, never any of its characters."""
    return f"set ({len(value)} characters, hidden)"


def secrets(settings: Settings, env: Mapping[str, str]) -> list[dict[str, str]]:
    """The API-key environment variables the config names, each with a masked state."""
    names: list[str] = []
    for name in (settings.llama_server.api_key_env, settings.openai.api_key_env):
        if name and name not in names:
            names.append(name)
    out = []
    for name in names:
        value = env.get(name) or ""
        out.append({"env": name, "state": mask_secret(value) if value else "not set"})
    return out


def report(
    settings: Settings,
    status: Mapping[str, Any],
    *,
    model_path: str | None,
    env: Mapping[str, str],
    meminfo: Mapping[str, int | None] | None = None,
) -> dict[str, Any]:
    """Everything the health check shows that the host knows, as plain data."""
    mem = dict(meminfo) if meminfo is not None else memory()
    out: dict[str, Any] = {
        "backend": status.get("backend"),
        "state": status.get("state"),
        "detail": status.get("detail"),
        "loaded_model": status.get("model"),
        "fim": status.get("fim"),
        "memory": mem,
        "secrets": secrets(settings, env),
    }
    if model_path:
        out["model"] = model_report(model_path, settings.embedded.n_ctx, mem.get("available"))
    return out
