from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from gguf_factory import DEFAULT_TOKENS, FIM_TOKENS, write_gguf
from localllm import models
from localllm.models import (
    MIN_MODEL_SIZE,
    ModelCandidate,
    data_dir,
    find_models,
    model_search_dirs,
    no_model_help,
    pick_model,
)

FIM_IDS = {"pre": 1, "suf": 3, "mid": 2}


def model(
    path: Path,
    *,
    fim: bool = False,
    size: int = MIN_MODEL_SIZE,
    name: str | None = None,
    tokens: Sequence[str] = DEFAULT_TOKENS,
    arch: str = "llama",
    extra: Mapping[str, object] | None = None,
) -> Path:
    """A real GGUF file of at least `size` bytes; with FIM token ids when `fim`.

    The default vocabulary has no FIM token texts.
    """
    return write_gguf(
        path,
        tokens=tokens,
        fim_ids=FIM_IDS if fim else None,
        name=name,
        arch=arch,
        pad_to_bytes=size,
        extra=extra,
    )


def names(found: list[ModelCandidate]) -> list[str]:
    return [c.name for c in found]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


def ours(home: Path) -> Path:
    return home / ".local" / "share" / "nvim" / "localllm" / "models"


def hf_repo(hub: Path, repo_id: str, files: Mapping[str, Path | None], rev: str = "a" * 40) -> Path:
    """A Hugging Face cache repo: blobs/<hash> and snapshots/<rev>/<file> -> ../../blobs/<hash>.

    `files` maps a file name in the repo to a GGUF to move into blobs/ (None: a dangling link).
    """
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(rev)
    for i, (rel, src) in enumerate(files.items()):
        blob = repo / "blobs" / f"{rev[:8]}{i:056x}"
        if src is not None:
            src.rename(blob)
        link = repo / "snapshots" / rev / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    return repo


def ollama_model(
    root: Path,
    name: str,
    src: Path | None,
    *,
    host: str = "registry.ollama.ai",
    namespace: str = "library",
    digest_hex: str | None = None,
) -> Path:
    """An Ollama store entry: manifests/<host>/<namespace>/<model>/<tag> and blobs/sha256-<hex>."""
    model_name, tag = name.split(":")
    hexdigest = digest_hex or hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()
    blob = root / "blobs" / f"sha256-{hexdigest}"
    blob.parent.mkdir(parents=True, exist_ok=True)
    if src is not None and not blob.exists():
        src.rename(blob)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "digest": "sha256:" + "c" * 64, "size": 10},
        "layers": [
            {"mediaType": "application/vnd.ollama.image.template",
             "digest": "sha256:" + "d" * 64, "size": 10},
            {"mediaType": "application/vnd.ollama.image.model",
             "digest": f"sha256:{hexdigest}", "size": 1},
        ],
    }  # fmt: skip
    path = root / "manifests" / host / namespace / model_name / tag
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest))
    return blob


# --- where to look ------------------------------------------------------------------------


def test_data_dir_default(home: Path) -> None:
    assert data_dir({}, str(home)) == str(ours(home))


def test_data_dir_follows_xdg_and_appname(home: Path, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    assert data_dir({"XDG_DATA_HOME": str(xdg)}, str(home)) == str(
        xdg / "nvim" / "localllm" / "models"
    )
    assert data_dir({"XDG_DATA_HOME": str(xdg), "NVIM_APPNAME": "lazyvim"}, str(home)) == str(
        xdg / "lazyvim" / "localllm" / "models"
    )
    # A relative XDG_DATA_HOME is invalid per the XDG spec and ignored.
    assert data_dir({"XDG_DATA_HOME": "rel/dir"}, str(home)) == str(ours(home))


def test_data_dir_override(home: Path, tmp_path: Path) -> None:
    env = {"LOCALLLM_MODELS_DIR": str(tmp_path / "mine"), "XDG_DATA_HOME": "/x"}
    assert data_dir(env, str(home)) == str(tmp_path / "mine")
    assert data_dir({"LOCALLLM_MODELS_DIR": "~/m"}, str(home)) == str(home / "m")


def test_data_dir_uses_home_from_env(home: Path) -> None:
    assert data_dir({"HOME": str(home)}) == str(ours(home))


def test_search_dirs_default_order(home: Path) -> None:
    h = str(home)
    assert model_search_dirs({}, h) == [
        ("localllm", str(ours(home))),
        ("huggingface", f"{h}/.cache/huggingface/hub"),
        ("ollama", f"{h}/.ollama/models"),
        ("lmstudio", f"{h}/.lmstudio/models"),
        ("lmstudio", f"{h}/.cache/lm-studio/models"),
    ]


def test_search_dirs_env_overrides(home: Path, tmp_path: Path) -> None:
    h = str(home)

    def hub(env: dict[str, str]) -> str:
        return dict(model_search_dirs(env, h))["huggingface"]

    assert hub({"HF_HUB_CACHE": "/hc", "HF_HOME": "/hh"}) == "/hc"
    assert hub({"HUGGINGFACE_HUB_CACHE": "/old"}) == "/old"
    assert hub({"HF_HOME": "/hh", "XDG_CACHE_HOME": "/xc"}) == "/hh/hub"
    assert hub({"XDG_CACHE_HOME": "/xc"}) == "/xc/huggingface/hub"
    assert hub({"HF_HOME": "~/hf"}) == f"{h}/hf/hub"
    ollama = [d for s, d in model_search_dirs({"OLLAMA_MODELS": "/om"}, h) if s == "ollama"]
    assert ollama == ["/om", f"{h}/.ollama/models"]


def test_system_ollama_store_only_for_the_real_home() -> None:
    assert ("ollama", models.OLLAMA_SYSTEM_MODELS) in model_search_dirs({})
    assert ("ollama", models.OLLAMA_SYSTEM_MODELS) not in model_search_dirs({}, "/nonexistent")


# --- each source --------------------------------------------------------------------------


def test_empty_machine(home: Path) -> None:
    assert find_models({}, str(home)) == []
    assert pick_model({}, str(home)) is None
    assert list(home.iterdir()) == []  # nothing was created


def test_ours_up_to_two_levels_down(home: Path) -> None:
    root = ours(home)
    top = model(root / "top.gguf")
    model(root / "qwen" / "one.gguf")
    model(root / "a" / "b" / "two.gguf")
    model(root / "a" / "b" / "c" / "three.gguf")  # too deep
    model(root / ".hidden" / "x.gguf")
    (root / "notes.txt").write_text("not a model")
    found = find_models({}, str(home))
    assert sorted(names(found)) == ["one.gguf", "top.gguf", "two.gguf"]
    assert {c.source for c in found} == {"localllm"}
    first = next(c for c in found if c.name == "top.gguf")
    assert first.path == str(top)
    assert first.size == top.stat().st_size
    assert not first.has_fim


def test_ours_honours_models_dir_override(home: Path, tmp_path: Path) -> None:
    model(tmp_path / "elsewhere" / "m.gguf", fim=True)
    found = find_models({"LOCALLLM_MODELS_DIR": str(tmp_path / "elsewhere")}, str(home))
    assert names(found) == ["m.gguf"]
    assert found[0].has_fim


def test_huggingface_snapshots_with_symlinks(home: Path, tmp_path: Path) -> None:
    hub = home / ".cache" / "huggingface" / "hub"
    repo = hf_repo(
        hub,
        "ggml-org/Qwen2.5-Coder-1.5B-Q8_0-GGUF",
        {
            "qwen2.5-coder-1.5b-q8_0.gguf": model(tmp_path / "a.gguf", fim=True),
            "sub/other-q4_k_m.gguf": model(tmp_path / "b.gguf"),
            "missing.gguf": None,  # an unfinished download: dangling link
        },
    )
    (repo / "snapshots" / ("a" * 40) / "README.md").write_text("readme")
    found = find_models({}, str(home))
    assert names(found) == [
        "ggml-org/Qwen2.5-Coder-1.5B-Q8_0-GGUF/qwen2.5-coder-1.5b-q8_0.gguf",
        "ggml-org/Qwen2.5-Coder-1.5B-Q8_0-GGUF/sub/other-q4_k_m.gguf",
    ]
    best = found[0]
    assert best.source == "huggingface"
    assert best.has_fim
    assert Path(best.path).is_symlink()
    assert Path(best.path).parent.name == "a" * 40
    assert Path(os.path.realpath(best.path)).parent == repo / "blobs"


def test_huggingface_same_blob_in_two_revisions_is_listed_once(home: Path, tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    repo = hf_repo(hub, "org/Model-GGUF", {"m.gguf": model(tmp_path / "m.gguf")}, rev="1" * 40)
    old = repo / "snapshots" / ("2" * 40) / "m.gguf"
    old.parent.mkdir(parents=True)
    blob = next((repo / "blobs").iterdir())
    old.symlink_to(os.path.relpath(blob, old.parent))
    found = find_models({"HF_HUB_CACHE": str(hub)}, str(home))
    assert names(found) == ["org/Model-GGUF/m.gguf"]
    assert ("1" * 40) in found[0].path  # the revision refs/main names


def test_huggingface_current_revision_wins_for_a_renamed_blob(home: Path, tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    hf_repo(hub, "org/M", {"m.gguf": model(tmp_path / "old.gguf", size=2 * MIN_MODEL_SIZE)},
            rev="2" * 40)  # fmt: skip
    hf_repo(hub, "org/M", {"m.gguf": model(tmp_path / "new.gguf")}, rev="1" * 40)
    found = find_models({"HF_HOME": str(tmp_path)}, str(home))
    assert names(found) == ["org/M/m.gguf"]
    assert ("1" * 40) in found[0].path
    assert found[0].size < 2 * MIN_MODEL_SIZE


def test_ollama_manifests_and_blobs(home: Path, tmp_path: Path) -> None:
    root = home / ".ollama" / "models"
    base = ollama_model(root, "qwen2.5-coder:1.5b-base", model(tmp_path / "q.gguf", fim=True))
    ollama_model(root, "llama3.2:1b", model(tmp_path / "l.gguf"))
    ollama_model(root, "tiny:q8", model(tmp_path / "u.gguf"), namespace="someone")
    ollama_model(root, "Repo-GGUF:Q8_0", model(tmp_path / "h.gguf"), host="hf.co", namespace="org")
    ollama_model(root, "gone:latest", None)  # blob deleted
    bad = root / "manifests" / "registry.ollama.ai" / "library" / "broken" / "latest"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    found = find_models({}, str(home))
    assert sorted(names(found)) == [
        "hf.co/org/Repo-GGUF:Q8_0",
        "llama3.2:1b",
        "qwen2.5-coder:1.5b-base",
        "someone/tiny:q8",
    ]
    assert found[0].name == "qwen2.5-coder:1.5b-base"
    assert found[0].path == str(base)
    assert found[0].source == "ollama"
    assert found[0].has_fim


def test_ollama_tags_sharing_a_blob_are_listed_once(home: Path, tmp_path: Path) -> None:
    root = tmp_path / "store"
    digest = "e" * 64
    ollama_model(root, "coder:latest", model(tmp_path / "c.gguf"), digest_hex=digest)
    ollama_model(root, "coder:1.5b", None, digest_hex=digest)
    found = find_models({"OLLAMA_MODELS": str(root)}, str(home))
    assert names(found) == ["coder:1.5b"]  # tags are visited in name order


def test_ollama_digest_cannot_escape_the_store(home: Path, tmp_path: Path) -> None:
    root = home / ".ollama" / "models"
    model(home / "secret.gguf")
    path = root / "manifests" / "registry.ollama.ai" / "library" / "evil" / "latest"
    path.parent.mkdir(parents=True)
    layer = {"mediaType": "application/vnd.ollama.image.model", "digest": "../../../secret.gguf"}
    path.write_text(json.dumps({"layers": [layer]}))
    assert find_models({}, str(home)) == []


def test_lmstudio_both_locations(home: Path) -> None:
    model(home / ".lmstudio" / "models" / "lmstudio-community" / "Qwen2.5-Coder-GGUF" / "q.gguf")
    model(home / ".cache" / "lm-studio" / "models" / "TheBloke" / "Old-GGUF" / "old.gguf")
    found = find_models({}, str(home))
    assert sorted(names(found)) == [
        "TheBloke/Old-GGUF/old.gguf",
        "lmstudio-community/Qwen2.5-Coder-GGUF/q.gguf",
    ]
    assert {c.source for c in found} == {"lmstudio"}


# --- what is left out ---------------------------------------------------------------------


def test_projectors_and_later_shards_are_skipped(home: Path) -> None:
    root = home / ".lmstudio" / "models" / "pub" / "Vision-GGUF"
    model(root / "mmproj-model-f16.gguf")
    model(root / "Model-MMPROJ.gguf")
    model(root / "big-Q4_K_M-00001-of-00003.gguf")
    model(root / "big-Q4_K_M-00002-of-00003.gguf")
    model(root / "big-Q4_K_M-00003-of-00003.gguf")
    assert names(find_models({}, str(home))) == ["pub/Vision-GGUF/big-Q4_K_M-00001-of-00003.gguf"]


def test_small_files_are_skipped_unless_allowed(home: Path) -> None:
    root = ours(home)
    write_gguf(root / "small.gguf", tokens=FIM_TOKENS)
    assert (root / "small.gguf").stat().st_size < MIN_MODEL_SIZE
    assert find_models({}, str(home)) == []
    assert names(find_models({}, str(home), min_size=0)) == ["small.gguf"]
    picked = pick_model({}, str(home), min_size=0)
    assert picked is not None and picked.name == "small.gguf"


def test_unusable_files_are_skipped(home: Path) -> None:
    root = ours(home)
    root.mkdir(parents=True)
    (root / "garbage.gguf").write_bytes(b"\x00" * MIN_MODEL_SIZE)
    # A header bigger than MIN_MODEL_SIZE, cut inside the token list.
    whole = model(home / "t.gguf", tokens=[f"token{i:06}" for i in range(120_000)])
    (root / "truncated.gguf").write_bytes(whole.read_bytes()[: MIN_MODEL_SIZE + 10])
    whole.unlink()
    model(root / "embed.gguf", arch="nomic-bert")
    model(root / "embed2.gguf", arch="qwen3", extra={"qwen3.pooling_type": 1})
    write_gguf(root / "novocab.gguf", tokens=None, pad_to_bytes=MIN_MODEL_SIZE)
    model(root / "lora.gguf", extra={"general.type": "adapter"})
    (root / "dir.gguf").mkdir()
    model(root / "good.gguf")
    assert names(find_models({}, str(home))) == ["good.gguf"]


def test_a_file_reached_twice_is_listed_once_from_the_first_source(
    home: Path, tmp_path: Path
) -> None:
    hub = home / ".cache" / "huggingface" / "hub"
    repo = hf_repo(hub, "org/M-GGUF", {"m.gguf": model(tmp_path / "m.gguf")})
    blob = next((repo / "blobs").iterdir())
    ours(home).mkdir(parents=True)
    (ours(home) / "linked.gguf").symlink_to(blob)
    found = find_models({}, str(home))
    assert [(c.source, c.name) for c in found] == [("localllm", "linked.gguf")]


# --- ranking ------------------------------------------------------------------------------


def test_fim_beats_everything_else(home: Path) -> None:
    root = ours(home)
    model(root / "tiny-coder-instruct.gguf")  # a code model, small, but no FIM
    model(root / "big-general.gguf", fim=True, size=3 * MIN_MODEL_SIZE)
    best = pick_model({}, str(home))
    assert best is not None
    assert best.name == "big-general.gguf"
    assert best.has_fim


def test_fim_found_from_token_texts(home: Path) -> None:
    root = ours(home)
    model(root / "a-no-fim.gguf")
    model(root / "b-fim-by-text.gguf", tokens=FIM_TOKENS, size=2 * MIN_MODEL_SIZE)  # no ids
    found = find_models({}, str(home))
    assert [(c.name, c.has_fim) for c in found] == [
        ("b-fim-by-text.gguf", True),
        ("a-no-fim.gguf", False),
    ]


def test_coder_beats_general(home: Path) -> None:
    root = ours(home)
    model(root / "llama-3.2-1b.gguf")
    model(root / "starcoder2-3b.gguf", size=2 * MIN_MODEL_SIZE)
    model(root / "model-x.gguf", name="DeepSeek Coder V2 Lite", size=3 * MIN_MODEL_SIZE)
    assert names(find_models({}, str(home))) == [
        "starcoder2-3b.gguf",
        "model-x.gguf",  # a code model by its general.name
        "llama-3.2-1b.gguf",
    ]


def test_base_beats_instruct_then_smaller_wins(home: Path) -> None:
    root = ours(home)
    model(root / "qwen2.5-coder-1.5b-instruct-q8_0.gguf", fim=True)
    model(root / "qwen2.5-coder-7b-base-q4.gguf", fim=True, size=4 * MIN_MODEL_SIZE)
    model(root / "qwen2.5-coder-3b-q4.gguf", fim=True, size=3 * MIN_MODEL_SIZE)
    model(root / "qwen2.5-coder-1.5b-q4.gguf", fim=True, size=2 * MIN_MODEL_SIZE)
    model(root / "gemma-3-coder-it.gguf", fim=True, size=2 * MIN_MODEL_SIZE)
    assert names(find_models({}, str(home))) == [
        "qwen2.5-coder-7b-base-q4.gguf",  # base
        "qwen2.5-coder-1.5b-q4.gguf",  # not marked: smaller first
        "qwen2.5-coder-3b-q4.gguf",
        "qwen2.5-coder-1.5b-instruct-q8_0.gguf",  # instruct-tuned: smaller first
        "gemma-3-coder-it.gguf",
    ]


def test_source_breaks_ties(home: Path, tmp_path: Path) -> None:
    src = model(tmp_path / "x.gguf", fim=True)
    data = src.read_bytes()
    for path in (
        home / ".lmstudio" / "models" / "p" / "r" / "coder.gguf",
        ours(home) / "coder.gguf",
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    ollama_model(home / ".ollama" / "models", "coder:latest", src)
    found = find_models({}, str(home))
    assert [c.source for c in found] == ["localllm", "ollama", "lmstudio"]


def test_pick_model_is_first_of_find_models(home: Path) -> None:
    root = ours(home)
    model(root / "general.gguf")
    model(root / "coder.gguf", fim=True)
    found = find_models({}, str(home))
    assert pick_model({}, str(home)) == found[0]
    assert found[0] == ModelCandidate(
        path=str(root / "coder.gguf"),
        source="localllm",
        name="coder.gguf",
        size=(root / "coder.gguf").stat().st_size,
        has_fim=True,
    )


# --- help text ----------------------------------------------------------------------------


def test_no_model_help_text(home: Path, tmp_path: Path) -> None:
    text = no_model_help({}, str(home))
    assert "require('localllm').setup" in text
    assert "model = '/path/to/model.gguf'" in text
    assert str(ours(home)) in text
    assert "ggml-org/Qwen2.5-Coder-1.5B-Q8_0-GGUF" in text
    assert "ollama pull qwen2.5-coder:1.5b-base" in text
    assert len(text.splitlines()) <= 12
    text = no_model_help({"XDG_DATA_HOME": str(tmp_path / "xdg"), "NVIM_APPNAME": "lazyvim"})
    assert str(tmp_path / "xdg" / "lazyvim" / "localllm" / "models") in text
    text = no_model_help({"LOCALLLM_MODELS_DIR": str(tmp_path / "m")}, str(home))
    assert str(tmp_path / "m") in text
    assert "~/.local/share" not in text
