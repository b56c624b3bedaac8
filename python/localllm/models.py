"""Finds a GGUF model already on this machine when none is configured.

Looks in our own models folder, the Hugging Face cache, Ollama's store and LM Studio's
models folder. Only reads what is there: never creates folders, never touches the network.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from localllm.gguf_meta import GGUFError, GGUFInfo, read_gguf

__all__ = [
    "MIN_MODEL_SIZE",
    "SOURCES",
    "ModelCandidate",
    "data_dir",
    "find_models",
    "model_search_dirs",
    "no_model_help",
    "pick_model",
]

SOURCES = ("localllm", "huggingface", "ollama", "lmstudio")
"""Where a model can come from, in priority order (a tie-breaker in the ranking)."""

MIN_MODEL_SIZE = 1 << 20
"""Files smaller than this (1 MiB) are not models (vocab-only files, stubs, broken downloads)."""

OLLAMA_SYSTEM_MODELS = "/usr/share/ollama/.ollama/models"
"""Where the Linux service install of Ollama keeps its models."""

_OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
_OLLAMA_DEFAULT_HOST = "registry.ollama.ai"
_OLLAMA_DEFAULT_NAMESPACE = "library"
_DIGEST_RE = re.compile(r"sha256[:-]([0-9a-f]{64})")
_SHARD_RE = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
_MAX_MANIFEST_BYTES = 1 << 20

# Architectures that embed or encode text but cannot complete code.
_NON_GENERATIVE_ARCHS = frozenset(
    {"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "neo-bert", "modern-bert",
     "t5encoder", "clip", "wavtokenizer-dec"}
)  # fmt: skip
_NON_MODEL_TYPES = frozenset({"adapter", "mmproj", "imatrix"})

_CODE_RE = re.compile(r"code|granite|refact|replit")
_INSTRUCT_RE = re.compile(r"instruct|chat|(?:^|[^a-z0-9])it(?:$|[^a-z0-9])")
_BASE_RE = re.compile(r"(?:^|[^a-z0-9])base(?:$|[^a-z0-9])")

_HELP_TEMPLATE = """\
localllm: no GGUF model found.
Set one in your config:
    require('localllm').setup{{ model = '/path/to/model.gguf' }}
or put a .gguf file in {models_dir}
(another folder: set $LOCALLLM_MODELS_DIR).
A small fill-in-the-middle coder model works best, e.g. Qwen2.5-Coder-1.5B Q8_0 (~1.6 GB):
    huggingface-cli download ggml-org/Qwen2.5-Coder-1.5B-Q8_0-GGUF qwen2.5-coder-1.5b-q8_0.gguf
or with Ollama:
    ollama pull qwen2.5-coder:1.5b-base
Models in the Hugging Face cache, Ollama and LM Studio are found automatically."""

@dataclass(frozen=True, slots=True)
class ModelCandidate:
    """A GGUF model found on this machine.

    `path` is the file to load (for the Hugging Face cache, the snapshot path, which is a
    symlink into blobs/; for Ollama, the blob). `name` is what the user knows it by.
    """

    path: str
    source: str
    name: str
    size: int
    has_fim: bool


def _environ(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _home_dir(env: Mapping[str, str], home: str | None) -> str:
    if home is not None:
        return home
    return env.get("HOME") or os.path.expanduser("~")


def _expand(path: str, home: str) -> str:
    if path == "~" or path.startswith(("~/", "~" + os.sep)):
        path = home + path[1:]
    return os.path.abspath(path)


def data_dir(env: Mapping[str, str] | None = None, home: str | None = None) -> str:
    """Our own models folder: $LOCALLLM_MODELS_DIR, else Neovim's data dir + /localllm/models.

    Neovim's data dir is $XDG_DATA_HOME/$NVIM_APPNAME (default ~/.local/share/nvim), as
    `stdpath('data')` on Linux and macOS. The folder is not created.
    """
    e = _environ(env)
    h = _home_dir(e, home)
    override = e.get("LOCALLLM_MODELS_DIR")
    if override:
        return _expand(override, h)
    xdg = e.get("XDG_DATA_HOME")
    base = xdg if xdg and os.path.isabs(xdg) else os.path.join(h, ".local", "share")
    return os.path.join(base, e.get("NVIM_APPNAME") or "nvim", "localllm", "models")


def no_model_help(env: Mapping[str, str] | None = None, home: str | None = None) -> str:
    """What to tell the user when no model is configured or found, naming the models folder
    this Neovim really uses ($XDG_DATA_HOME, $NVIM_APPNAME, $LOCALLLM_MODELS_DIR)."""
    return _HELP_TEMPLATE.format(models_dir=data_dir(env, home))


def _hf_hub_cache(env: Mapping[str, str], home: str) -> str:
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(var):
            return _expand(env[var], home)
    if env.get("HF_HOME"):
        return os.path.join(_expand(env["HF_HOME"], home), "hub")
    xdg_cache = env.get("XDG_CACHE_HOME")
    cache = xdg_cache if xdg_cache and os.path.isabs(xdg_cache) else os.path.join(home, ".cache")
    return os.path.join(cache, "huggingface", "hub")


def model_search_dirs(
    env: Mapping[str, str] | None = None, home: str | None = None
) -> list[tuple[str, str]]:
    """(source, folder) pairs to look in, in priority order; folders may not exist.

    With `home` given, only folders under it (or named by `env`) are listed: the system-wide
    Ollama store is left out, so a test or sandbox sees only its own files.
    """
    e = _environ(env)
    h = _home_dir(e, home)
    dirs: list[tuple[str, str]] = [
        ("localllm", data_dir(e, h)),
        ("huggingface", _hf_hub_cache(e, h)),
    ]
    if e.get("OLLAMA_MODELS"):
        dirs.append(("ollama", _expand(e["OLLAMA_MODELS"], h)))
    dirs.append(("ollama", os.path.join(h, ".ollama", "models")))
    if home is None:
        dirs.append(("ollama", OLLAMA_SYSTEM_MODELS))
    dirs.append(("lmstudio", os.path.join(h, ".lmstudio", "models")))
    dirs.append(("lmstudio", os.path.join(h, ".cache", "lm-studio", "models")))
    seen: set[str] = set()
    unique: list[tuple[str, str]] = []
    for source, d in dirs:
        key = os.path.normcase(os.path.normpath(d))
        if key not in seen:
            seen.add(key)
            unique.append((source, d))
    return unique


def _scandir(path: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            return sorted(it, key=lambda entry: entry.name)
    except OSError:
        return []


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _wanted_file(filename: str) -> bool:
    """A .gguf file that is a model's only or first shard, not a multimodal projector."""
    lower = filename.lower()
    if not lower.endswith(".gguf") or "mmproj" in lower:
        return False
    shard = _SHARD_RE.search(lower)
    return shard is None or int(shard.group(1)) == 1


def _gguf_files(root: str, max_depth: int, rel: str = "") -> Iterator[tuple[str, str]]:
    """(path, path relative to root) of wanted .gguf files, at most `max_depth` folders down."""
    for entry in _scandir(os.path.join(root, rel) if rel else root):
        sub = f"{rel}/{entry.name}" if rel else entry.name
        if _is_dir(entry):
            if max_depth > 0 and not entry.name.startswith("."):
                yield from _gguf_files(root, max_depth - 1, sub)
        elif _wanted_file(entry.name):
            yield entry.path, sub


def _scan_ours(root: str) -> Iterator[tuple[str, str]]:
    for path, _rel in _gguf_files(root, 2):
        yield path, os.path.basename(path)


def _scan_lmstudio(root: str) -> Iterator[tuple[str, str]]:
    # <publisher>/<repo>/<file>.gguf
    yield from _gguf_files(root, 3)


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _scan_huggingface(root: str) -> Iterator[tuple[str, str]]:
    # models--ORG--NAME/snapshots/<rev>/**/*.gguf, with refs/main naming the current revision.
    for repo in _scandir(root):
        if not repo.name.startswith("models--") or not _is_dir(repo):
            continue
        repo_id = repo.name[len("models--") :].replace("--", "/", 1)
        snapshots = os.path.join(repo.path, "snapshots")
        revs = [e for e in _scandir(snapshots) if _is_dir(e)]
        current = ""
        try:
            with open(os.path.join(repo.path, "refs", "main"), encoding="utf-8") as f:
                current = f.read(100).strip()
        except (OSError, UnicodeDecodeError):
            pass
        revs.sort(key=lambda e: (e.name != current, -_mtime(e.path)))
        seen: set[str] = set()
        for rev in revs:
            for path, rel in _gguf_files(rev.path, 4):
                if rel not in seen:
                    seen.add(rel)
                    yield path, f"{repo_id}/{rel}"


def _ollama_model_blob(manifest_path: str, blobs: str) -> str | None:
    try:
        with open(manifest_path, "rb") as f:
            manifest = json.loads(f.read(_MAX_MANIFEST_BYTES))
    except (OSError, ValueError):
        return None
    layers = manifest.get("layers") if isinstance(manifest, dict) else None
    if not isinstance(layers, list):
        return None
    for layer in layers:
        if not isinstance(layer, dict) or layer.get("mediaType") != _OLLAMA_MODEL_LAYER:
            continue
        digest = layer.get("digest")
        match = _DIGEST_RE.fullmatch(digest) if isinstance(digest, str) else None
        if match:
            return os.path.join(blobs, f"sha256-{match.group(1)}")
    return None


def _scan_ollama(root: str) -> Iterator[tuple[str, str]]:
    # manifests/<host>/<namespace>/<model>/<tag> (JSON) -> blobs/sha256-<hex>
    blobs = os.path.join(root, "blobs")
    for host in _scandir(os.path.join(root, "manifests")):
        for namespace in _scandir(host.path) if _is_dir(host) else []:
            for model in _scandir(namespace.path) if _is_dir(namespace) else []:
                for tag in _scandir(model.path) if _is_dir(model) else []:
                    if _is_dir(tag):
                        continue
                    blob = _ollama_model_blob(tag.path, blobs)
                    if blob is None:
                        continue
                    name = f"{model.name}:{tag.name}"
                    if namespace.name != _OLLAMA_DEFAULT_NAMESPACE:
                        name = f"{namespace.name}/{name}"
                    if host.name != _OLLAMA_DEFAULT_HOST:
                        name = f"{host.name}/{name}"
                    yield blob, name


_SCANNERS: dict[str, Callable[[str], Iterator[tuple[str, str]]]] = {
    "localllm": _scan_ours,
    "huggingface": _scan_huggingface,
    "ollama": _scan_ollama,
    "lmstudio": _scan_lmstudio,
}


def _read_model(path: str) -> GGUFInfo | None:
    """The header of a usable text model, or None. Token texts are read only when needed."""
    try:
        info = read_gguf(path)
        if info.vocab_size is None:
            return None  # no tokenizer: not something we can complete with
        if not info.has_fim:
            info = read_gguf(path, tokens=True)
    except (GGUFError, OSError):
        return None
    arch = info.architecture or ""
    if (
        arch in _NON_GENERATIVE_ARCHS
        or f"{arch}.pooling_type" in info.metadata
        or info.metadata.get("general.type") in _NON_MODEL_TYPES
    ):
        return None
    return info


def _describe(name: str, info: GGUFInfo) -> str:
    parts = [name]
    for key in ("general.name", "general.basename", "general.finetune"):
        value = info.metadata.get(key)
        if isinstance(value, str):
            parts.append(value)
    return " ".join(parts).lower()


def _rank(cand: ModelCandidate, text: str, source_prio: int) -> tuple[int, int, int, int, int, str]:
    looks_code = _CODE_RE.search(text) is not None
    if _BASE_RE.search(text):
        tuning = 0
    elif _INSTRUCT_RE.search(text):
        tuning = 2
    else:
        tuning = 1
    return (
        0 if cand.has_fim else 1,
        0 if looks_code else 1,
        tuning,
        cand.size,
        source_prio,
        cand.name,
    )


def find_models(
    env: Mapping[str, str] | None = None,
    home: str | None = None,
    *,
    min_size: int = MIN_MODEL_SIZE,
) -> list[ModelCandidate]:
    """All usable GGUF models found on this machine, best first.

    Best: knows fill-in-the-middle tokens, then looks like a code model, then base over
    instruct-tuned, then smaller (faster on CPU), then by source (ours first). Files that
    do not parse, projectors (mmproj), later shards, embedding models and files smaller
    than `min_size` are left out. A file reachable from several places is listed once.
    """
    e = _environ(env)
    ranked: list[tuple[tuple[int, int, int, int, int, str], ModelCandidate]] = []
    seen: set[str] = set()
    for source, folder in model_search_dirs(e, home):
        if not os.path.isdir(folder):
            continue
        prio = SOURCES.index(source)
        for path, name in _SCANNERS[source](folder):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            try:
                st = os.stat(real)
            except OSError:
                continue  # a dangling symlink, e.g. an unfinished download
            if not stat.S_ISREG(st.st_mode) or st.st_size < min_size:
                continue
            info = _read_model(real)
            if info is None:
                continue
            cand = ModelCandidate(
                path=os.path.abspath(path),
                source=source,
                name=name,
                size=st.st_size,
                has_fim=info.has_fim,
            )
            ranked.append((_rank(cand, _describe(name, info), prio), cand))
    ranked.sort(key=lambda item: item[0])
    return [cand for _key, cand in ranked]


def pick_model(
    env: Mapping[str, str] | None = None,
    home: str | None = None,
    *,
    min_size: int = MIN_MODEL_SIZE,
) -> ModelCandidate | None:
    """The best model found on this machine (see `find_models`), or None."""
    found = find_models(env, home, min_size=min_size)
    return found[0] if found else None
