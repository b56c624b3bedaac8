"""The Ollama backend against a local server that speaks Ollama's API, with real models.

tests/fake_ollama.py implements the documented behaviour (NDJSON, suffix/raw/insert rules,
empty prompt, in-stream errors, 404s) and runs the models with llama-cpp-python. The tiny
deterministic models answer known pieces after any prompt, so texts are exact; what the
backend sent and what the model was given are read from the server's request log.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import model_files
from fake_ollama import FakeModel, FakeOllama, GoTemplate, Recorded
from localllm.backends import Cancellation
from localllm.backends import http as http_module
from localllm.backends.ollama import (
    OllamaBackend,
    capabilities,
    keep_alive_value,
    parameter_stops,
)
from localllm.config import OllamaSettings, Settings
from localllm.errors import BackendError, BackendUnavailable
from localllm.fim_templates import TEMPLATES
from localllm.types import FimContext, GenerationParams, IndentStyle, RequestTimings
from test_fim_templates import CHAT_MARKERS, FIM_MARKERS

pytestmark = pytest.mark.model

# Ollama's qwen2.5-coder template, FIM branch (the chat branch is outside the fake's subset).
QWEN_TEMPLATE = (
    "{{- if .Suffix }}<|fim_prefix|>{{ .Prompt }}<|fim_suffix|>{{ .Suffix }}<|fim_middle|>"
    "{{- else }}{{ .Prompt }}{{- end }}"
)
# The CodeLlama-style template from Ollama's own generate tests.
PRE_SUF_MID_TEMPLATE = (
    "{{- if .Suffix }}<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>\n"
    "{{- else }}{{ .Prompt }}\n{{- end }}"
)
HELLO = ["fmt.Println(", '"hello"', ")"]
ADD = ["return", " a + b"]
BROKEN = "an error was encountered while running the model"
PARAMS = GenerationParams(n_predict=16, temperature=0.0)


def models(tiny: Path, add: Path, gemma: Path, smollm: Path) -> list[FakeModel]:
    return [
        FakeModel("llama3.2:1b", tiny),  # pulled first, cannot fill in the middle
        FakeModel("nomic-embed-text", tiny, family="nomic-bert", capabilities=["embedding"]),
        FakeModel(
            "qwen2.5-coder:1.5b-base",
            tiny,
            QWEN_TEMPLATE,
            family="qwen2",
            parameters={"stop": ["<|endoftext|>"]},
        ),
        FakeModel("mycoder", add, PRE_SUF_MID_TEMPLATE, parameters={"stop": ["<EOT>"]}),
        FakeModel(
            "qwen2.5-coder:broken", tiny, QWEN_TEMPLATE, "qwen2", error=BROKEN, error_after=1
        ),
        FakeModel("gemma3:270m", gemma, family="gemma3"),
        FakeModel("smollm2:135m", smollm),
    ]


@pytest.fixture(scope="module")
def add_model() -> Path:
    return model_files.tiny_path(ADD)


@pytest.fixture(scope="module")
def server(tiny_model: Path, add_model: Path, gemma_model: Path) -> Iterator[FakeOllama]:
    with FakeOllama(models(tiny_model, add_model, gemma_model, model_files.smollm2_path())) as s:
        yield s


@pytest.fixture
def fake(server: FakeOllama) -> FakeOllama:
    server.reset()
    return server


def settings_for(url: str, **ollama: Any) -> Settings:
    fim_template = ollama.pop("fim_template", None)
    return Settings(
        backend="ollama",
        ollama=dataclasses.replace(OllamaSettings(url=url), **ollama),
        fim_template=fim_template,
    )


class Notes:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, level: str, message: str) -> None:
        self.seen.append((level, message))


def make(url: str, notes: Notes | None = None, **ollama: Any) -> OllamaBackend:
    return OllamaBackend(settings_for(url, **ollama), notify=notes)


def ctx_for(
    prefix: str = "package main\n\nfunc main() {\n",
    middle: str = "\t",
    line_suffix: str = "",
    suffix: str = "}\n",
    *,
    header: str = "",
    filename: str = "main.go",
) -> FimContext:
    return FimContext(
        filename=filename,
        language="go",
        header=header,
        prefix=prefix,
        middle=middle,
        line_suffix=line_suffix,
        suffix=suffix,
        multiline=True,
        indent=IndentStyle(use_tabs=True),
    )


def run(
    backend: OllamaBackend,
    ctx: FimContext,
    params: GenerationParams = PARAMS,
) -> tuple[list[str], RequestTimings]:
    timings = RequestTimings()
    pieces = list(backend.complete(ctx, params, Cancellation(), timings))
    return pieces, timings


def completions(fake: FakeOllama) -> list[Recorded]:
    """/api/generate requests with a prompt (not the empty-prompt load)."""
    return [r for r in fake.calls("/api/generate") if r.body and r.body.get("prompt")]


# -- model choice, raw mode ----------------------------------------------------------------


def test_auto_picks_the_first_fim_model_and_sends_our_raw_prompt(fake: FakeOllama) -> None:
    # base_url overrides ollama.url (a trailing slash is fine).
    backend = OllamaBackend(settings_for("http://127.0.0.1:1"), base_url=fake.url + "/")
    backend.prepare()

    info = backend.info()
    assert (info.name, info.model, info.fim, info.state) == (
        "ollama",
        "qwen2.5-coder:1.5b-base",
        True,
        "ready",
    )
    assert "raw FIM prompt (qwen markers)" in info.detail and fake.url in info.detail
    # Models that cannot fill in the middle (and embedding models) were passed over.
    assert [r.body["model"] for r in fake.calls("/api/show")] == [
        "llama3.2:1b",
        "nomic-embed-text:latest",
        "qwen2.5-coder:1.5b-base",
    ]
    load = fake.last("/api/generate")
    assert load.body == {
        "model": "qwen2.5-coder:1.5b-base",
        "keep_alive": "30m",
        "options": {"num_ctx": 4096},
    }
    assert load.done_reason == "load" and load.tokens_generated == 0

    pieces, timings = run(backend, ctx_for())

    assert pieces == HELLO  # streamed token by token
    sent = fake.last("/api/generate")
    expected_prompt = (
        "<|repo_name|>project\n<|file_sep|>main.go\n"
        "<|fim_prefix|>package main\n\nfunc main() {\n<|fim_suffix|>\n}\n<|fim_middle|>\t"
    )
    assert sent.body == {
        "model": "qwen2.5-coder:1.5b-base",
        "stream": True,
        "keep_alive": "30m",
        "options": {
            "num_predict": 16,
            "temperature": 0.0,
            "top_k": 40,
            "top_p": 0.9,
            "min_p": 0.05,
            "repeat_penalty": 1.0,
            "num_ctx": 4096,
            "stop": list(TEMPLATES["qwen"].stop),  # the model's own <|endoftext|> first
        },
        "prompt": expected_prompt,
        "raw": True,
    }
    assert expected_prompt == TEMPLATES["qwen"].render(ctx_for())
    assert sent.rendered == expected_prompt  # raw: verbatim, no template applied
    assert sent.status == 200 and sent.done_reason == "stop"
    assert timings.tokens_generated == 3 == sent.tokens_generated
    assert timings.tokens_evaluated == sent.prompt_eval_count > 0
    assert timings.finish == "stop"


def test_typing_on_the_line_only_changes_the_end_of_the_raw_prompt(fake: FakeOllama) -> None:
    backend = make(fake.url)
    backend.prepare()

    run(backend, ctx_for(middle="\t"))
    _, timings = run(backend, ctx_for(middle="\tfmt"))

    first, second = (r.body["prompt"] for r in completions(fake))
    marker = "<|fim_middle|>"
    assert first.endswith(marker + "\t") and second.endswith(marker + "\tfmt")
    assert first.split(marker)[0] == second.split(marker)[0]
    # The server's prompt cache kept everything before the typed text: 3 new tokens (f, m, t).
    assert timings.tokens_evaluated == 3


def test_stop_strings_reach_the_server(fake: FakeOllama) -> None:
    backend = make(fake.url)
    params = dataclasses.replace(PARAMS, stop=('"hello"',))

    pieces, timings = run(backend, ctx_for(), params)

    assert "".join(pieces) == "fmt.Println("
    assert timings.finish == "stop"
    stop = fake.last("/api/generate").body["options"]["stop"]
    assert stop == [*TEMPLATES["qwen"].stop, '"hello"']


def test_fim_template_override_and_raw_mode_never_send_suffix(fake: FakeOllama) -> None:
    # mycoder can take `suffix`, but raw mode with named markers builds the prompt itself.
    backend = make(fake.url, model="mycoder", mode="raw", fim_template="codellama")
    ctx = ctx_for("def add(a, b):\n", "    ", "", "\nprint(add(1, 2))\n", filename="add.py")

    pieces, _ = run(backend, ctx)

    assert "".join(pieces) == "return a + b"
    sent = fake.last("/api/generate").body
    assert "suffix" not in sent and sent["raw"] is True
    assert sent["prompt"] == TEMPLATES["codellama"].render(ctx)
    assert sent["prompt"].endswith(" <MID>    ")


def test_raw_mode_needs_known_markers(fake: FakeOllama) -> None:
    backend = make(fake.url, model="mycoder", mode="raw")
    with pytest.raises(BackendError, match="set fim_template"):
        backend.prepare()
    assert backend.info().state == "error"


# -- suffix mode ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["suffix", "auto"])
def test_suffix_mode_lets_ollama_render_the_model_template(fake: FakeOllama, mode: str) -> None:
    # auto: the markers of "mycoder" are unknown, but its template takes .Suffix (insert).
    backend = make(fake.url, model="mycoder", mode=mode)
    ctx = ctx_for("def add(a, b):\n", "    ", "", "\nprint(add(1, 2))\n", filename="add.py")

    pieces, timings = run(backend, ctx)

    assert "".join(pieces) == "return a + b"
    assert backend.info().fim is True and "suffix" in backend.info().detail
    sent = fake.last("/api/generate")
    assert "raw" not in sent.body
    assert sent.body["prompt"] == "def add(a, b):\n    "
    assert sent.body["suffix"] == "\n\nprint(add(1, 2))\n"
    assert sent.body["options"]["stop"] == ["<EOT>"]  # the model's own stop parameter kept
    assert sent.rendered == "<PRE> def add(a, b):\n     <SUF>\n\nprint(add(1, 2))\n <MID>"
    assert timings.finish == "stop" and timings.tokens_generated == 2


def test_suffix_mode_for_a_model_without_insert_is_an_error(fake: FakeOllama) -> None:
    backend = make(fake.url, model="llama3.2:1b", mode="suffix")
    with pytest.raises(BackendError, match=r"template has no \.Suffix"):
        backend.prepare()


@pytest.mark.parametrize(
    ("ctx", "prompt", "suffix"),
    [
        # top of a file: an empty prompt would only load the model
        (ctx_for("", "", "", "x = 1\n"), "\n", "\nx = 1\n"),
        # an empty buffer: an empty suffix would not be FIM at all
        (ctx_for("", "", "", ""), "\n", "\n"),
        # end of the file, cursor on the last line
        (ctx_for("x = 1\n", "y", "", ""), "x = 1\ny", "\n"),
    ],
)
def test_suffix_mode_never_sends_an_empty_prompt_or_suffix(
    fake: FakeOllama, ctx: FimContext, prompt: str, suffix: str
) -> None:
    backend = make(fake.url, model="mycoder", mode="suffix")

    pieces, timings = run(backend, ctx)

    sent = fake.last("/api/generate")
    assert (sent.body["prompt"], sent.body["suffix"]) == (prompt, suffix)
    assert sent.done_reason == "stop"  # generated, not "load"
    assert "".join(pieces) == "return a + b" and timings.finish == "stop"


def test_raw_prompt_at_the_top_of_a_file_is_not_empty(fake: FakeOllama) -> None:
    backend = make(fake.url)
    pieces, _ = run(backend, ctx_for("", "", "", ""))
    assert fake.last("/api/generate").body["prompt"].endswith("<|fim_suffix|><|fim_middle|>")
    assert pieces == HELLO


# -- no FIM --------------------------------------------------------------------------------


def test_a_model_without_fim_completes_the_prefix_and_says_so_once(fake: FakeOllama) -> None:
    notes = Notes()
    backend = make(fake.url, notes, model="llama3.2:1b")

    first, _ = run(backend, ctx_for())
    second, _ = run(backend, ctx_for(middle="\tx"))

    assert first == second == HELLO
    assert backend.info().fim is False
    warnings = [m for level, m in notes.seen if level == "warn"]
    assert len(warnings) == 1
    assert "cannot fill in the middle" in warnings[0]
    assert "ollama pull qwen2.5-coder:1.5b-base" in warnings[0]
    sent = fake.last("/api/generate").body
    assert "suffix" not in sent and sent["raw"] is True  # no chat template around the code
    assert sent["prompt"] == "package main\n\nfunc main() {\n\tx"


def test_a_model_without_fim_sends_nothing_for_an_empty_buffer(fake: FakeOllama) -> None:
    backend = make(fake.url, model="llama3.2:1b")
    backend.prepare()
    fake.reset()

    pieces, timings = run(backend, ctx_for("", "", "", ""))

    assert pieces == [] and timings.finish == "empty_prompt"
    assert fake.calls("/api/generate") == []


# -- models missing ------------------------------------------------------------------------


def test_a_configured_model_that_is_not_pulled(fake: FakeOllama) -> None:
    backend = make(fake.url, model="qwen2.5-coder:7b")

    with pytest.raises(BackendError) as err:
        backend.prepare()

    assert str(err.value) == (
        "Ollama has no model 'qwen2.5-coder:7b' — run: ollama pull qwen2.5-coder:7b"
    )
    assert fake.last("/api/show").status == 404
    assert backend.info().state == "error"


def test_a_model_removed_after_prepare(fake: FakeOllama, tiny_model: Path) -> None:
    fake.add(FakeModel("scratch-coder:1b", tiny_model, QWEN_TEMPLATE, "qwen2"))
    backend = make(fake.url, model="scratch-coder:1b")
    backend.prepare()
    fake.remove("scratch-coder:1b")

    with pytest.raises(BackendError, match=r"run: ollama pull scratch-coder:1b$"):
        run(backend, ctx_for())
    assert fake.last("/api/generate").status == 404

    fake.add(FakeModel("scratch-coder:1b", tiny_model, QWEN_TEMPLATE, "qwen2"))
    backend.prepare()  # the engine prepares before every request: this looks again
    assert run(backend, ctx_for())[0] == HELLO
    fake.remove("scratch-coder:1b")


def test_no_fim_model_pulled(tiny_model: Path) -> None:
    plain = [
        FakeModel("llama3.2:1b", tiny_model),
        FakeModel("nomic-embed-text", tiny_model, capabilities=["embedding"]),
    ]
    with FakeOllama(plain) as fake:
        with pytest.raises(BackendError) as err:
            make(fake.url).prepare()
        message = str(err.value)
        assert "no model that can fill in the middle" in message
        assert "pulled: llama3.2:1b, nomic-embed-text:latest" in message
        assert "ollama pull qwen2.5-coder:1.5b-base" in message
    nothing = r"no models pulled.*ollama pull qwen2\.5-coder"
    with FakeOllama([]) as empty, pytest.raises(BackendError, match=nothing):
        make(empty.url).prepare()


# -- errors, cancellation, reachability ----------------------------------------------------


def test_an_error_inside_a_200_stream(fake: FakeOllama) -> None:
    backend = make(fake.url, model="qwen2.5-coder:broken")
    stream = backend.complete(ctx_for(), PARAMS, Cancellation(), RequestTimings())

    assert next(stream) == "fmt.Println("
    with pytest.raises(BackendError) as err:
        next(stream)

    assert str(err.value) == f"Ollama reported an error: {BROKEN}"
    assert fake.last("/api/generate").status == 200


@pytest.mark.parametrize("how", ["cancel", "close"])
def test_cancelling_mid_stream_stops_the_generation(fake: FakeOllama, how: str) -> None:
    backend = make(fake.url, model="gemma3:270m")
    params = GenerationParams(n_predict=400, temperature=0.0, time_limit_ms=600_000)
    ctx = ctx_for("", "1, 2, 3, 4, 5, 6, 7, 8,", "", "")
    cancel = Cancellation()
    timings = RequestTimings()
    stream = backend.complete(ctx, params, cancel, timings)

    first = next(stream)  # " " then "9", ", ", "1", "0"...
    assert first
    if how == "cancel":
        cancel.cancel()  # from the engine: closes the response at once
        assert list(stream) == []
    else:
        stream.close()  # the engine stops reading (suggestion complete)

    seen = fake.last("/api/generate")
    assert seen.finished.wait(120), "the server is still generating"
    assert seen.disconnected
    assert seen.done_reason is None  # it never got to write the final object
    assert 1 <= seen.tokens_generated < 50 < params.n_predict

    # The model is free again and the backend opens a new connection.
    pieces, timings = run(backend, ctx, GenerationParams(n_predict=3, temperature=0.0))
    assert timings.finish == "length" and timings.tokens_generated == 3
    assert "".join(pieces).startswith(first)


def test_server_down_then_back(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_module, "RETRY_DELAYS", (0.0,))  # retry at once
    fake = FakeOllama(
        [FakeModel("qwen2.5-coder:1.5b-base", tiny_model, QWEN_TEMPLATE, "qwen2")]
    ).start()
    notes = Notes()
    try:
        backend = make(fake.url, notes)
        assert run(backend, ctx_for())[0] == HELLO
        fake.stop()

        with pytest.raises(BackendUnavailable) as err:
            run(backend, ctx_for())
        assert str(err.value) == f"cannot reach Ollama at {fake.url} — is it running?"
        assert backend.info().state == "error"
        never_up = make(fake.url)
        with pytest.raises(BackendUnavailable, match="is it running"):
            never_up.prepare()

        fake.start()  # same port
        pieces, timings = run(backend, ctx_for())
        assert pieces == HELLO and timings.finish == "stop"
        assert backend.info().state == "ready"
        assert ("info", f"localllm: Ollama at {fake.url} is back") in notes.seen
        never_up.prepare()
        assert never_up.info().state == "ready"
    finally:
        fake.close()


def test_num_ctx_stays_the_same_so_ollama_loads_the_model_once(tiny_model: Path) -> None:
    name = "qwen2.5-coder:1.5b-base"
    with FakeOllama([FakeModel(name, tiny_model, QWEN_TEMPLATE, "qwen2")]) as fake:
        backend = make(fake.url, num_ctx=2048)
        run(backend, ctx_for())
        run(backend, ctx_for(middle="\tfmt"))
        assert fake.loads[name] == 1
        assert {r.body["options"]["num_ctx"] for r in fake.calls("/api/generate")} == {2048}

        # The fake reloads on another num_ctx, as Ollama does.
        body = {"model": name, "prompt": "x", "stream": False, "options": {"num_ctx": 1024}}
        httpx.post(fake.url + "/api/generate", json=body, timeout=60).raise_for_status()
        assert fake.loads[name] == 2


def test_keep_alive_and_parameters_helpers() -> None:
    assert keep_alive_value("30m") == "30m"
    assert keep_alive_value("-1") == -1
    assert keep_alive_value("0") == 0
    parameters = [f"{'num_ctx':<30} 4096", f"{'stop':<30} " + '"<|endoftext|>"']
    show = {"parameters": "\n".join([*parameters, 'stop "\\u003cEOT\\u003e"'])}
    assert parameter_stops(show) == ["<|endoftext|>", "<EOT>"]
    assert capabilities({"template": "{{ .Prompt }}"}) == ["completion"]
    assert capabilities({"template": "<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>"}) == [
        "completion",
        "insert",
    ]
    assert capabilities({"capabilities": ["completion", "tools"]}) == ["completion", "tools"]


# -- the fake server itself: documented behaviour -------------------------------------------


def post(fake: FakeOllama, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(fake.url + path, json=body, timeout=120)


def test_fake_discovery_endpoints(fake: FakeOllama) -> None:
    assert httpx.get(fake.url + "/api/version").json()["version"]
    tags = httpx.get(fake.url + "/api/tags").json()["models"]
    qwen = next(m for m in tags if m["name"] == "qwen2.5-coder:1.5b-base")
    assert qwen["model"] == qwen["name"] and qwen["size"] > 0
    assert qwen["details"]["family"] == "qwen2" and qwen["details"]["format"] == "gguf"

    show = post(fake, "/api/show", {"model": "qwen2.5-coder:1.5b-base"}).json()
    assert show["capabilities"] == ["completion", "insert"]
    assert show["template"] == QWEN_TEMPLATE
    assert show["model_info"]["general.architecture"] == "llama"
    assert parameter_stops(show) == ["<|endoftext|>"]
    assert post(fake, "/api/show", {"model": "llama3.2:1b"}).json()["capabilities"] == [
        "completion"
    ]
    missing = post(fake, "/api/show", {"model": "nope"})
    assert (missing.status_code, missing.json()) == (404, {"error": "model 'nope' not found"})
    assert httpx.get(fake.url + "/api/nothing").status_code == 404


def test_fake_generate_documented_edge_cases(fake: FakeOllama) -> None:
    opts = {"temperature": 0, "num_predict": 8}
    # An empty prompt loads the model and generates nothing.
    loaded = post(fake, "/api/generate", {"model": "qwen2.5-coder:1.5b-base"})
    assert loaded.json()["done_reason"] == "load" and loaded.json()["response"] == ""
    assert fake.last("/api/generate").tokens_generated == 0
    unload = post(fake, "/api/generate", {"model": "qwen2.5-coder:1.5b-base", "keep_alive": 0})
    assert unload.json()["done_reason"] == "unload"

    # suffix needs the insert capability, also with raw (where it is otherwise ignored).
    for raw in (False, True):
        body = {"model": "llama3.2:1b", "prompt": "x", "suffix": "y", "raw": raw}
        refused = post(fake, "/api/generate", body)
        assert refused.status_code == 400
        assert refused.json() == {
            "error": "registry.ollama.ai/library/llama3.2:1b does not support insert"
        }
    body = {"model": "mycoder", "prompt": "a", "suffix": "b", "raw": True, "options": opts}
    post(fake, "/api/generate", body)
    assert fake.last("/api/generate").rendered == "a"
    # An empty suffix is no FIM: the template's other branch.
    body = {"model": "mycoder", "prompt": "a", "suffix": "", "options": opts}
    post(fake, "/api/generate", body)
    assert fake.last("/api/generate").rendered == "a"
    refused = post(
        fake, "/api/generate", {"model": "mycoder", "prompt": "a", "raw": True, "system": "s"}
    )
    assert refused.json() == {"error": "raw mode does not support template, system, or context"}
    missing = post(fake, "/api/generate", {"model": "nope", "prompt": "a"})
    assert (missing.status_code, missing.json()) == (404, {"error": "model 'nope' not found"})

    # Not streamed: one JSON object with the whole response and the metrics.
    body = {"model": "qwen2.5-coder:1.5b-base", "prompt": "x", "stream": False, "options": opts}
    whole = post(fake, "/api/generate", body)
    assert whole.headers["content-type"] == "application/json; charset=utf-8"
    answer = whole.json()
    assert answer["response"] == "".join(HELLO) and answer["done"] is True
    assert answer["eval_count"] == 3 and answer["done_reason"] == "stop"
    assert answer["context"]  # not raw: the (deprecated) context comes back
    for key in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert isinstance(answer[key], int)

    # num_predict ends it with "length"; streamed as NDJSON, one token per line.
    body = {"model": "qwen2.5-coder:1.5b-base", "prompt": "x", "raw": True}
    body["options"] = {"temperature": 0, "num_predict": 2}
    with httpx.stream("POST", fake.url + "/api/generate", json=body, timeout=60) as response:
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert [line["response"] for line in lines[:-1]] == HELLO[:2]
    assert all(line["done"] is False for line in lines[:-1])
    assert lines[-1]["done"] is True and lines[-1]["done_reason"] == "length"
    assert "context" not in lines[-1]  # raw mode returns no context


def test_fake_broken_model_errors_in_stream_or_with_a_status(fake: FakeOllama) -> None:
    body = {"model": "qwen2.5-coder:broken", "prompt": "x", "options": {"temperature": 0}}
    with httpx.stream("POST", fake.url + "/api/generate", json=body, timeout=60) as response:
        assert response.status_code == 200
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines == [
        {
            "model": "qwen2.5-coder:broken",
            "created_at": lines[0]["created_at"],
            "response": "fmt.Println(",
            "done": False,
        },
        {"error": BROKEN},
    ]
    whole = post(fake, "/api/generate", {**body, "stream": False})
    assert (whole.status_code, whole.json()) == (500, {"error": BROKEN})


def test_fake_go_templates() -> None:
    template = GoTemplate(PRE_SUF_MID_TEMPLATE)
    assert template.fields == {"Suffix", "Prompt"}
    # The case from Ollama's generate tests.
    values = {"Prompt": "def add(", "Suffix": "    return c"}
    assert template.render(values) == "<PRE> def add( <SUF>    return c <MID>"
    assert template.render({"Prompt": "def add("}) == "def add("
    chat = GoTemplate("{{ if .System }}S:{{ .System }} {{ end }}U:{{ .Prompt }} A:{{ .Response }}!")
    assert chat.render({"Prompt": "hi"}) == "U:hi A:"  # cut at .Response
    with pytest.raises(ValueError, match="unsupported"):
        GoTemplate("{{ range .Messages }}{{ .Content }}{{ end }}")


def test_fake_chat_streams_ndjson(fake: FakeOllama) -> None:
    body: dict[str, Any] = {
        "model": "smollm2:135m",
        "messages": [{"role": "user", "content": "What does fmt.Println do in Go?"}],
        "options": {"temperature": 0, "num_predict": 24},
    }
    with httpx.stream("POST", fake.url + "/api/chat", json=body, timeout=120) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.iter_lines() if line]

    *chunks, final = lines
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk["model"] == "smollm2:135m" and chunk["done"] is False
        assert chunk["message"]["role"] == "assistant"
        assert isinstance(chunk["message"]["content"], str) and chunk["message"]["content"]
    streamed = "".join(chunk["message"]["content"] for chunk in chunks)
    assert final["done"] is True and final["done_reason"] in ("stop", "length")
    assert final["message"] == {"role": "assistant", "content": ""}
    assert final["prompt_eval_count"] > 0 and 0 < final["eval_count"] <= 24

    whole = post(fake, "/api/chat", {**body, "stream": False}).json()
    assert whole["done"] is True and whole["message"]["content"] == streamed  # greedy

    loaded = post(fake, "/api/chat", {"model": "smollm2:135m", "messages": []}).json()
    assert loaded["done_reason"] == "load"
    assert loaded["message"] == {"role": "assistant", "content": ""}


def test_the_engine_completes_through_ollama(fake: FakeOllama) -> None:
    from localllm.engine import CompletionRequest, Engine, Update
    from localllm.types import BufferSnapshot

    updates: list[Update] = []
    settings = settings_for(fake.url)
    engine = Engine(settings, updates.append, backend=OllamaBackend(settings), start_worker=False)
    go = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\t\n\tfmt.Println(x)\n}\n'
    snap = BufferSnapshot.from_text(go, 6, 1, path="/src/app/main.go", filetype="go")
    try:
        assert engine.process(CompletionRequest(1, 0, snap, root="/src")) == 'fmt.Println("hello")'
    finally:
        engine.close()

    final = updates[-1]
    assert final.final and final.source == "model" and final.error is None
    assert final.timings["tokens_generated"] == 3 and final.timings["finish"] == "stop"
    prompt = fake.last("/api/generate").body["prompt"]
    assert prompt.startswith("<|repo_name|>")
    assert "<|file_sep|>app/main.go\n" in prompt
    assert prompt.endswith("<|fim_middle|>\t")


@pytest.mark.parametrize("family", sorted(TEMPLATES))
@pytest.mark.parametrize("marker", [m.strip() for m in FIM_MARKERS] + CHAT_MARKERS)
def test_raw_prompt_carries_no_marker_from_the_buffer(
    fake: FakeOllama, family: str, marker: str
) -> None:
    backend = make(fake.url, model="mycoder", mode="raw", fim_template=family)
    ctx = ctx_for(f"s = '{marker}'\n", f"t{marker}", f"{marker}", f"\n# {marker}\n")
    run(backend, ctx)
    sent = fake.last("/api/generate").body["prompt"]
    clean = TEMPLATES[family].render(ctx_for("s = ''\n", "t", "", "\n# \n"))
    assert sent.count(marker) == clean.count(marker), sent
    assert marker in sent.replace("\u200b", "")
