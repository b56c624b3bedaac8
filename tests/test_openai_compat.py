"""The OpenAI-compatible backend against local servers that generate with real (tiny) models:
fake OpenAI servers (tests/fake_openai.py: Ollama-like and vLLM-like suffix handling) and a real
llama-server's /v1/completions, which silently drops `suffix`."""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import model_files
from fake_openai import FakeOpenAI
from localllm.backends import Cancellation
from localllm.backends.openai_compat import OpenAIBackend, completions_path, record_usage
from localllm.config import OpenAISettings, parse_settings
from localllm.errors import BackendError, BackendUnavailable, ConfigError
from localllm.fim_templates import TEMPLATES
from localllm.types import FimContext, GenerationParams, IndentStyle, RequestTimings
from test_fim_templates import CHAT_MARKERS, FIM_MARKERS
from test_ollama import ctx_for

QWEN = "Qwen/Qwen2.5-Coder-1.5B"
ANSWER = 'fmt.Println("hello")'  # what the tiny model says after any prompt

HEADER = 'package main\n\nimport "fmt"\n\n'
CTX = FimContext(
    filename="main.go",
    language="go",
    header=HEADER,
    prefix="func main() {\n",
    middle="\tfmt.",
    line_suffix="",
    suffix="}\n",
    multiline=True,
    indent=IndentStyle(use_tabs=True),
)
BEFORE = HEADER + "func main() {\n\tfmt."
QWEN_PROMPT = (
    "<|repo_name|>project\n<|file_sep|>main.go\n"
    f"<|fim_prefix|>{HEADER}func main() {{\n<|fim_suffix|>\n}}\n<|fim_middle|>\tfmt."
)
QWEN_STOPS = [
    "<|endoftext|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
    "<|im_start|>",
    "<|im_end|>",
]

Notes = list[tuple[str, str]]


@pytest.fixture(autouse=True)
def no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def fake(tiny_model: Path) -> Iterator[Callable[..., FakeOpenAI]]:
    """Start fake OpenAI servers on loopback ports; all stopped at the end of the test."""
    started: list[FakeOpenAI] = []

    def start(model: Path = tiny_model, **kwargs: Any) -> FakeOpenAI:
        kwargs.setdefault("model_name", QWEN)
        server = FakeOpenAI(model, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def make_backend(
    url: str,
    *,
    model: str = QWEN,
    suffix: str = "auto",
    generation: dict[str, Any] | None = None,
    transport: httpx.BaseTransport | None = None,
    **raw: Any,
) -> tuple[OpenAIBackend, Notes]:
    notes: Notes = []
    settings = parse_settings(
        {
            "backend": "openai",
            "openai": {"url": url, "model": model, "suffix": suffix},
            "generation": generation or {},
            **raw,
        }
    )
    backend = OpenAIBackend(
        settings, notify=lambda level, message: notes.append((level, message)), transport=transport
    )
    return backend, notes


def run(
    backend: OpenAIBackend,
    ctx: FimContext = CTX,
    params: GenerationParams | None = None,
    timings: RequestTimings | None = None,
) -> str:
    backend.prepare()
    return "".join(
        backend.complete(
            ctx, params or GenerationParams(), Cancellation(), timings or RequestTimings()
        )
    )


# -- where requests go ---------------------------------------------------------------------------


def test_the_completions_path_follows_the_configured_url() -> None:
    assert completions_path("http://127.0.0.1:8000/v1") == "/completions"
    assert completions_path("http://127.0.0.1:8000/v1/") == "/completions"
    assert completions_path("https://example.com/openai/v1") == "/completions"
    assert completions_path("http://127.0.0.1:1234") == "/v1/completions"
    assert completions_path("http://127.0.0.1:1234/api") == "/v1/completions"


@pytest.mark.parametrize("root", [False, True])
def test_a_url_with_or_without_v1_reaches_v1_completions(
    fake: Callable[..., FakeOpenAI], root: bool
) -> None:
    server = fake()
    backend, _ = make_backend(server.root if root else server.url, suffix="always")
    assert run(backend) == ANSWER
    assert [r.path for r in server.requests] == ["/v1/completions"]


# -- suffix handling -----------------------------------------------------------------------------


def test_a_server_that_takes_suffix_gets_prompt_and_suffix(fake: Callable[..., FakeOpenAI]) -> None:
    server = fake(behaviour="accept_suffix")
    backend, notes = make_backend(server.url)
    assert backend.info().fim is None
    timings = RequestTimings()
    assert run(backend, timings=timings) == ANSWER

    assert backend.mode == "suffix"
    info = backend.info()
    assert info.fim is True and info.state == "ready"
    assert "takes `suffix`" in info.detail
    probe_with, probe_without, request = server.completions()
    assert probe_with["prompt"] == probe_without["prompt"] == "a"
    assert "suffix" in probe_with and "suffix" not in probe_without
    assert probe_with["stream"] is False and probe_with["max_tokens"] == 1
    assert request["prompt"] == BEFORE
    assert request["suffix"] == "\n}\n"
    assert request["stream"] is True
    assert request["max_tokens"] == GenerationParams().n_predict
    assert "stop" not in request  # no user stops, and the server's template brings its own
    # The server put the model's FIM tokens around prompt and suffix.
    gen = server.generations[-1]
    pre, suf, mid = server.fim_ids() or (0, 0, 0)
    assert gen.prompt_tokens[0] == pre and gen.prompt_tokens[-1] == mid
    assert suf in gen.prompt_tokens
    # usage from the stream's last chunk
    assert timings.finish == "stop"
    assert timings.tokens_prompt == len(gen.prompt_tokens)
    assert timings.tokens_evaluated == len(gen.prompt_tokens)
    assert timings.tokens_generated == gen.generated == 4  # three pieces and end-of-text
    assert notes == []  # loopback: no plain-http warning


def test_a_server_that_refuses_suffix_gets_our_fim_prompt_and_it_is_remembered(
    fake: Callable[..., FakeOpenAI],
) -> None:
    server = fake(behaviour="reject_suffix")
    backend, notes = make_backend(server.url)
    params = GenerationParams(stop=("\n\n",))
    assert run(backend, params=params) == ANSWER
    assert run(backend, params=params) == ANSWER

    assert backend.mode == "template"
    info = backend.info()
    assert info.fim is True
    assert "our own FIM prompt (qwen)" in info.detail
    assert "suffix is not currently supported" in info.detail
    probe, first, second = server.completions()
    assert probe["suffix"]  # refused with a 400 ...
    for body in (first, second):  # ... so no request carries a suffix again
        assert "suffix" not in body
        assert body["prompt"] == QWEN_PROMPT
        assert body["stop"] == ["\n\n", *QWEN_STOPS]
    # The markers reached the model as FIM tokens, not as text.
    assert server.generations[-1].prompt_tokens == server.tokenize(QWEN_PROMPT, special=True)
    assert len(server.tokenize(QWEN_PROMPT, special=False)) > len(
        server.generations[-1].prompt_tokens
    )
    assert notes == []


def test_a_refusal_after_the_probe_switches_to_our_prompt_for_the_session(
    fake: Callable[..., FakeOpenAI],
) -> None:
    server = fake(behaviour="accept_suffix")
    backend, _ = make_backend(server.url)
    backend.prepare()
    assert backend.mode == "suffix"
    server.behaviour = "reject_suffix"  # e.g. vLLM now answers on that port

    assert run(backend) == ANSWER
    assert run(backend) == ANSWER
    bodies = server.completions()[2:]  # after the two probe requests
    assert [("suffix" in b) for b in bodies] == [True, False, False]
    assert bodies[1]["prompt"] == bodies[2]["prompt"] == QWEN_PROMPT
    assert backend.mode == "template"
    assert "refused `suffix`" in backend.info().detail


def test_llama_server_drops_suffix_silently_and_the_probe_notices(llama_server_tiny: Any) -> None:
    backend, notes = make_backend(llama_server_tiny.url + "/v1")
    timings = RequestTimings()
    assert run(backend, timings=timings) == ANSWER

    assert backend.mode == "template"
    assert "ignores `suffix`" in backend.info().detail
    assert backend.info().fim is True
    # The prompt the server evaluated is our Qwen FIM prompt with its markers as single tokens.
    tokenized = httpx.post(
        llama_server_tiny.url + "/tokenize", json={"content": QWEN_PROMPT, "parse_special": True}
    ).json()["tokens"]
    as_text = httpx.post(
        llama_server_tiny.url + "/tokenize", json={"content": QWEN_PROMPT, "parse_special": False}
    ).json()["tokens"]
    assert timings.tokens_prompt == len(tokenized) < len(as_text)
    assert timings.tokens_generated > 0
    assert timings.finish == "stop"
    assert notes == []


def test_never_sends_our_prompt_without_probing(fake: Callable[..., FakeOpenAI]) -> None:
    server = fake(behaviour="accept_suffix")
    backend, notes = make_backend(server.url, suffix="never")
    assert run(backend) == ANSWER
    (request,) = server.completions()  # no probe
    assert "suffix" not in request
    assert request["prompt"] == QWEN_PROMPT
    assert backend.info().detail == "our own FIM prompt (qwen): openai.suffix is 'never'"
    assert notes == []


def test_never_with_an_unknown_model_family_completes_from_the_prefix_and_says_so_once(
    fake: Callable[..., FakeOpenAI],
) -> None:
    server = fake(model_name="my-finetune")
    backend, notes = make_backend(server.url, model="my-finetune", suffix="never")
    assert run(backend) == ANSWER
    assert run(backend) == ANSWER
    for body in server.completions():
        assert body["prompt"] == BEFORE
        assert "suffix" not in body
    assert backend.mode == "plain"
    assert backend.info().fim is False
    assert [level for level, _ in notes] == ["warn"]
    assert "no FIM template is known for model 'my-finetune'" in notes[0][1]
    assert "fim_template" in notes[0][1]


def test_fim_template_setting_overrides_the_model_name(fake: Callable[..., FakeOpenAI]) -> None:
    server = fake(model_name="my-finetune")
    backend, notes = make_backend(
        server.url, model="my-finetune", suffix="never", fim_template="starcoder"
    )
    assert run(backend) == ANSWER
    (request,) = server.completions()
    assert request["prompt"] == (
        f"<file_sep>main.go\n<fim_prefix>{HEADER}func main() {{\n"
        "<fim_suffix>\n}\n<fim_middle>\tfmt."
    )
    assert notes == []


def test_our_fim_prompt_carries_no_marker_from_the_buffer(fake: Callable[..., FakeOpenAI]) -> None:
    """Every family's template, every FIM and chat marker in each part of the buffer: the body
    the server receives holds only our own markers (one server for the whole grid)."""
    server = fake(model_name="my-finetune")
    clean_ctx = ctx_for("s = ''\n", "t", "", "\n# \n")
    for family in sorted(TEMPLATES):
        backend, _ = make_backend(
            server.url, model="my-finetune", suffix="never", fim_template=family
        )
        clean = TEMPLATES[family].render(clean_ctx)
        for marker in [m.strip() for m in FIM_MARKERS] + CHAT_MARKERS:
            run(backend, ctx_for(f"s = '{marker}'\n", f"t{marker}", marker, f"\n# {marker}\n"))
            sent = server.completions()[-1]["prompt"]
            assert sent.count(marker) == clean.count(marker), (family, marker, sent)
            assert marker in sent.replace("\u200b", ""), (family, marker)


def test_auto_falls_back_to_the_prefix_when_the_family_is_unknown(
    fake: Callable[..., FakeOpenAI],
) -> None:
    server = fake(behaviour="reject_suffix", model_name="my-finetune")
    backend, notes = make_backend(server.url, model="my-finetune")
    assert run(backend) == ANSWER
    assert server.completions()[-1]["prompt"] == BEFORE
    assert backend.mode == "plain"
    assert "no FIM template known" in backend.info().detail
    assert len(notes) == 1


def test_always_sends_the_suffix_without_probing(fake: Callable[..., FakeOpenAI]) -> None:
    server = fake(behaviour="accept_suffix")
    backend, _ = make_backend(server.url, suffix="always")
    assert run(backend) == ANSWER
    (request,) = server.completions()
    assert (request["prompt"], request["suffix"]) == (BEFORE, "\n}\n")
    assert backend.info().detail == "FIM by the server (`suffix`): openai.suffix is 'always'"


def test_always_against_a_server_that_refuses_suffix_says_what_to_change(
    fake: Callable[..., FakeOpenAI],
) -> None:
    server = fake(behaviour="reject_suffix")
    backend, _ = make_backend(server.url, suffix="always")
    with pytest.raises(BackendError, match=r"does not take `suffix`.*openai\.suffix to 'auto'"):
        run(backend)
    assert len(server.completions()) == 1  # no retry without the suffix
    assert backend.mode == "suffix"


# -- what else a server may refuse ----------------------------------------------------------------


def test_a_server_limited_to_four_stop_strings_gets_the_first_four_from_then_on(
    fake: Callable[..., FakeOpenAI],
) -> None:
    server = fake(max_stop=4)
    backend, _ = make_backend(server.url, suffix="never")
    params = GenerationParams(stop=("\n\n",))
    assert run(backend, params=params) == ANSWER
    assert run(backend, params=params) == ANSWER
    stops = [body["stop"] for body in server.completions()]
    assert stops == [["\n\n", *QWEN_STOPS], ["\n\n", *QWEN_STOPS[:3]], ["\n\n", *QWEN_STOPS[:3]]]


def test_a_server_that_refuses_stream_options_is_not_sent_them_again(
    fake: Callable[..., FakeOpenAI],
) -> None:
    server = fake(reject_fields=["stream_options"])
    backend, _ = make_backend(server.url, suffix="always")
    timings = RequestTimings()
    assert run(backend, timings=timings) == ANSWER
    assert run(backend) == ANSWER
    assert [("stream_options" in b) for b in server.completions()] == [True, False, False]
    assert timings.finish == "stop"
    assert timings.tokens_generated == 0  # no usage without stream_options


def test_finish_reason_length_is_recorded(fake: Callable[..., FakeOpenAI]) -> None:
    server = fake()
    backend, _ = make_backend(server.url, suffix="always")
    timings = RequestTimings()
    assert (
        run(backend, params=GenerationParams(n_predict=2), timings=timings) == 'fmt.Println("hello"'
    )
    assert server.completions()[-1]["max_tokens"] == 2
    assert timings.finish == "length"
    assert timings.tokens_generated == 2


# -- errors --------------------------------------------------------------------------------------


def test_api_key_from_the_environment(
    fake: Callable[..., FakeOpenAI], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake(api_key="s3cret")

    backend, _ = make_backend(server.url)
    with pytest.raises(BackendError, match=r"wants an API key: set \$OPENAI_API_KEY"):
        backend.prepare()
    assert backend.info().state == "error"

    monkeypatch.setenv("OPENAI_API_KEY", "wrong")
    backend, _ = make_backend(server.url, suffix="never")
    with pytest.raises(
        BackendError, match=r"rejected the API key: set \$OPENAI_API_KEY \(openai.api_key_env\)"
    ):
        run(backend)
    assert backend.info().state == "error"
    assert "rejected the API key" in backend.info().detail

    monkeypatch.setenv("OPENAI_API_KEY", "s3cret")
    backend, _ = make_backend(server.url)
    assert run(backend) == ANSWER
    assert backend.info().state == "ready"
    assert server.requests[-1].authorization == "Bearer s3cret"
    assert "s3cret" not in repr(vars(backend))  # only the HTTP client's headers hold it


def test_api_key_env_names_the_variable(
    fake: Callable[..., FakeOpenAI], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake(api_key="s3cret")
    monkeypatch.setenv("VLLM_KEY", "nope")
    settings = parse_settings(
        {"openai": {"url": server.url, "model": QWEN, "api_key_env": "VLLM_KEY"}}
    )
    with pytest.raises(BackendError, match=r"rejected the API key: set \$VLLM_KEY"):
        OpenAIBackend(settings).prepare()
    monkeypatch.setenv("VLLM_KEY", "s3cret")
    assert run(OpenAIBackend(settings)) == ANSWER


def test_an_unknown_model_is_named(fake: Callable[..., FakeOpenAI]) -> None:
    server = fake()
    backend, _ = make_backend(server.url, model="qwen-nope")
    with pytest.raises(BackendError, match=r"has no model 'qwen-nope' \(openai.model\)"):
        backend.prepare()
    backend, _ = make_backend(server.url, model="qwen-nope", suffix="never")
    with pytest.raises(BackendError, match=r"has no model 'qwen-nope' \(openai.model\)"):
        run(backend)


def test_a_wrong_path_says_to_check_the_url(fake: Callable[..., FakeOpenAI]) -> None:
    server = fake()
    backend, _ = make_backend(server.root + "/api/v1", suffix="always")
    with pytest.raises(BackendError, match=r"has no completions endpoint at .*check openai\.url"):
        run(backend)


def test_an_unreachable_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend, _ = make_backend(f"http://127.0.0.1:{port}/v1")
    with pytest.raises(BackendUnavailable, match=r"cannot reach .* at http://127.0.0.1:\d+/v1"):
        backend.prepare()
    assert backend.info().state == "error"
    # Backing off: the next attempt fails at once without a new connection.
    with pytest.raises(BackendUnavailable, match="is it running"):
        backend.prepare()


def test_a_garbage_sse_line_is_an_error(fake: Callable[..., FakeOpenAI]) -> None:
    server = fake(inject_line="data: {this is not json")
    backend, _ = make_backend(server.url, suffix="always")
    with pytest.raises(BackendError, match="not JSON"):
        run(backend)


# -- without a network: a mock transport -------------------------------------------------------


def sse(*events: dict[str, Any] | str) -> bytes:
    return b"".join(
        f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode() for e in events
    )


def chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 0,
        "model": QWEN,
        "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}],
    }


def test_plain_http_to_another_machine_needs_the_opt_in() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=sse(chunk("x"), chunk("", "stop"), "[DONE]"))

    url = "http://10.1.2.3:1/v1"
    # The config refuses it...
    with pytest.raises(ConfigError, match=r"config\.openai\.url: .*plain http.*allow_remote_http"):
        make_backend(url, suffix="always", transport=httpx.MockTransport(handler))
    # ...and so does the backend itself, whatever built its settings: nothing is sent.
    settings = dataclasses.replace(
        parse_settings({"backend": "openai", "openai": {"url": "https://h/v1", "model": QWEN}}),
        openai=OpenAISettings(url=url, model=QWEN, suffix="always"),
    )
    refused = OpenAIBackend(settings, transport=httpx.MockTransport(handler))
    with pytest.raises(BackendError, match=r"not sending anything: .*plain http"):
        run(refused)
    assert seen == []
    # With the opt-in it goes.
    backend, notes = make_backend(
        url,
        suffix="always",
        transport=httpx.MockTransport(handler),
        privacy={"allow_remote_http": True},
    )
    assert run(backend) == "x"
    assert seen == ["http://10.1.2.3:1/v1/completions"]
    assert notes == []


def test_an_error_event_in_the_stream_is_reported() -> None:
    error = {"error": {"message": "out of memory", "type": "InternalServerError", "code": 500}}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sse(chunk("x"), error))

    backend, _ = make_backend(
        "http://127.0.0.1:9/v1", suffix="always", transport=httpx.MockTransport(handler)
    )
    with pytest.raises(BackendError, match="reported an error: out of memory"):
        run(backend)


def test_a_chunk_without_choices_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sse({"id": "x", "object": "text_completion"}))

    backend, _ = make_backend(
        "http://127.0.0.1:9/v1", suffix="always", transport=httpx.MockTransport(handler)
    )
    with pytest.raises(BackendError, match="without choices"):
        run(backend)


def test_the_probe_trusts_a_server_that_reports_no_usage() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if not body["stream"]:
            return httpx.Response(200, json={"choices": [{"text": "b", "index": 0}]})
        return httpx.Response(200, content=sse(chunk("y", "stop"), "[DONE]"))

    backend, _ = make_backend("http://127.0.0.1:9/v1", transport=httpx.MockTransport(handler))
    assert run(backend) == "y"
    assert backend.mode == "suffix"
    assert "not verified" in backend.info().detail
    assert bodies[-1]["suffix"] == "\n}\n"


def test_usage_and_llama_server_timings_fill_the_token_counts() -> None:
    timings = RequestTimings()
    usage = {"prompt_tokens": 50, "completion_tokens": 7}
    record_usage({"usage": {**usage, "prompt_tokens_details": {"cached_tokens": 40}}}, timings)
    assert (timings.tokens_prompt, timings.tokens_reused, timings.tokens_evaluated) == (50, 40, 10)
    assert timings.tokens_generated == 7
    record_usage({"timings": {"prompt_n": 3, "cache_n": 47}}, timings)
    assert (timings.tokens_prompt, timings.tokens_reused, timings.tokens_evaluated) == (50, 47, 3)
    record_usage({"usage": None}, timings)  # the other chunks of an include_usage stream
    assert timings.tokens_generated == 7


# -- cancellation ----------------------------------------------------------------------------------


def test_cancelling_mid_stream_closes_the_connection_and_the_server_stops(
    fake: Callable[..., FakeOpenAI],
) -> None:
    pieces = [f" w{i}" for i in range(120)]
    server = fake(model_files.tiny_path(pieces), hold_after=3)
    backend, _ = make_backend(server.url, suffix="always")
    backend.prepare()
    cancel = Cancellation()
    stream = backend.complete(CTX, GenerationParams(n_predict=200), cancel, RequestTimings())
    assert next(stream) == " w0"

    cancel.cancel()  # from the engine: closes the response
    server.resume.set()  # let the server go on writing into the closed connection
    rest = list(stream)
    assert rest == []

    gen = server.generations[-1]
    assert gen.done.wait(60)
    assert gen.disconnected
    assert 3 <= gen.generated < len(pieces)


def test_closing_the_stream_early_also_drops_the_connection(
    fake: Callable[..., FakeOpenAI],
) -> None:
    pieces = [f" v{i}" for i in range(120)]
    server = fake(model_files.tiny_path(pieces), hold_after=2)
    backend, _ = make_backend(server.url, suffix="always")
    backend.prepare()
    stream = backend.complete(
        CTX, GenerationParams(n_predict=200), Cancellation(), RequestTimings()
    )
    assert next(stream) == " v0"
    stream.close()  # the engine stops reading (e.g. the suggestion is complete)
    server.resume.set()
    gen = server.generations[-1]
    assert gen.done.wait(60)
    assert gen.disconnected
    assert gen.generated < len(pieces)
