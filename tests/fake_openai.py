"""Local OpenAI-compatible servers for tests, generating with a real model (llama-cpp-python).

`FakeOpenAI(model_path, model_name=...)` serves, on 127.0.0.1:

- `POST /v1/completions` {model, prompt, suffix?, max_tokens, temperature, top_p, stop, stream,
  stream_options}: server-sent events, one `data: {...}` chunk per token in OpenAI's
  `text_completion` shape, a last chunk carrying `finish_reason` ("stop" or "length"), a usage
  chunk with empty `choices` when `stream_options.include_usage` is set (as OpenAI does), then
  `data: [DONE]`. Without `stream` one JSON answer with `usage`.
- `GET /v1/models`.

How it treats `suffix` is chosen per server (and may be changed while it runs):

- "accept_suffix" (Ollama's /v1): the model's own FIM tokens around prompt and suffix;
- "reject_suffix" (vLLM): HTTP 400 with vLLM's error body when the request has `suffix`.

A prompt string without `suffix` is tokenized with special tokens parsed, as vLLM's and
llama-server's tokenizers do, so a FIM prompt written as text reaches the model as FIM tokens.

Errors use OpenAI's shape (`{"error": {"message", "type", "param", "code"}}`): an unknown model
is a 404, a wrong or missing bearer key a 401 when `api_key` is set. Every request is recorded
(`requests`) and every generation too (`generations`: prompt tokens, tokens generated, whether
the client went away), so tests can assert what the server got and that a client disconnect
stops the generation. `hold_after=n` parks each stream after n tokens until `resume` is set,
so a test can act at a known point of the stream without timing anything.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# llama.cpp's OpenMP threads spin while waiting unless told otherwise; set before the import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import llama_cpp

BEHAVIOURS = ("accept_suffix", "reject_suffix")
HOLD_LIMIT_S = 60.0  # a parked stream gives up waiting after this (a test that forgot `resume`)


@dataclass
class Received:
    """One request as the server got it."""

    method: str
    path: str
    body: dict[str, Any]
    authorization: str | None


@dataclass
class Generation:
    """One run of the model."""

    prompt_tokens: list[int]
    stream: bool
    generated: int = 0  # tokens sampled (the work done), counted as they are
    finish: str = ""
    disconnected: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class ClientGone(Exception):
    pass


class FakeOpenAI:
    def __init__(
        self,
        model_path: Path,
        *,
        model_name: str,
        behaviour: str = "accept_suffix",
        api_key: str | None = None,
        max_stop: int | None = None,
        reject_fields: Sequence[str] = (),
        inject_line: str | None = None,
        hold_after: int | None = None,
    ) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {BEHAVIOURS}")
        self.model_path = model_path
        self.model_name = model_name
        self.behaviour = behaviour
        self.api_key = api_key
        self.max_stop = max_stop  # OpenAI's own limit is 4 stop sequences
        self.reject_fields = tuple(reject_fields)  # answered like OpenAI's unknown arguments
        self.inject_line = inject_line  # a raw line written after the first token chunk
        self.hold_after = hold_after
        self.resume = threading.Event()
        self.requests: list[Received] = []
        self.generations: list[Generation] = []
        self._model_lock = threading.Lock()
        self._llm: Any = None
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def root(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def url(self) -> str:
        return self.root + "/v1"

    def start(self) -> FakeOpenAI:
        self._llm = llama_cpp.Llama(
            model_path=str(self.model_path), n_ctx=2048, n_threads=1, verbose=False
        )
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(
            # shutdown() waits up to one poll: 0.5 s by default
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.resume.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._model_lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests look at ------------------------------------------------------------------

    def completions(self) -> list[dict[str, Any]]:
        """Bodies of the POST /v1/completions requests, in order."""
        return [r.body for r in self.requests if r.path.endswith("/completions")]

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        if not text:
            return []
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=special))

    # -- generation ---------------------------------------------------------------------------

    def fim_ids(self) -> tuple[int, int, int] | None:
        vocab = self._llm._model.vocab
        ids = (
            llama_cpp.llama_vocab_fim_pre(vocab),
            llama_cpp.llama_vocab_fim_suf(vocab),
            llama_cpp.llama_vocab_fim_mid(vocab),
        )
        return None if -1 in ids else ids

    def prompt_tokens(self, prompt: str, suffix: str | None) -> list[int]:
        if suffix is None:
            return self.tokenize(prompt, special=True)
        ids = self.fim_ids()
        assert ids is not None
        pre, suf, mid = ids
        return [
            pre,
            *self.tokenize(prompt, special=False),
            suf,
            *self.tokenize(suffix, special=False),
            mid,
        ]


def _error(message: str, kind: str, param: str | None, code: int | str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> FakeOpenAI:
        return self.server.fake  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing --------------------------------------------------------------------------------

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError) as exc:
            self.close_connection = True
            raise ClientGone from exc

    def _event(self, payload: dict[str, Any] | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._chunk(f"data: {text}\n\n".encode())

    def _authorized(self) -> bool:
        key = self.fake.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        self._send_json(
            401,
            _error("Incorrect API key provided.", "invalid_request_error", None, "invalid_api_key"),
        )
        return False

    def _record(self, body: dict[str, Any]) -> None:
        self.fake.requests.append(
            Received(self.command, self.path, body, self.headers.get("Authorization"))
        )

    # -- routes ----------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._record({})
        if not self._authorized():
            return
        if self.path.rstrip("/") != "/v1/models":
            self._send_json(
                404,
                _error(
                    f"Unknown request URL: GET {self.path}", "invalid_request_error", None, None
                ),
            )
            return
        model = {
            "id": self.fake.model_name,
            "object": "model",
            "created": 0,
            "owned_by": "localllm-tests",
        }
        self._send_json(200, {"object": "list", "data": [model]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            body = None
        self._record(body if isinstance(body, dict) else {"_raw": raw.decode(errors="replace")})
        if not self._authorized():
            return
        if self.path.rstrip("/") != "/v1/completions":
            self._send_json(
                404,
                _error(
                    f"Unknown request URL: POST {self.path}", "invalid_request_error", None, None
                ),
            )
            return
        if not isinstance(body, dict):
            self._send_json(400, _error("invalid JSON body", "invalid_request_error", None, None))
            return
        self._complete(body)

    def _complete(self, body: dict[str, Any]) -> None:
        fake = self.fake
        model = body.get("model")
        if model != fake.model_name:
            self._send_json(
                404,
                _error(
                    f"The model `{model}` does not exist.",
                    "invalid_request_error",
                    "model",
                    "model_not_found",
                ),
            )
            return
        for name in fake.reject_fields:
            if name in body:
                self._send_json(
                    400,
                    _error(
                        f"Unrecognized request argument supplied: {name}",
                        "invalid_request_error",
                        None,
                        None,
                    ),
                )
                return
        suffix = body.get("suffix")
        if suffix is not None and fake.behaviour == "reject_suffix":
            # vLLM's answer (vllm/entrypoints/openai: ErrorResponse{error: ErrorInfo}).
            self._send_json(
                400, _error("suffix is not currently supported", "BadRequestError", None, 400)
            )
            return
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or (suffix is not None and not isinstance(suffix, str)):
            self._send_json(
                400,
                _error("prompt and suffix must be strings", "invalid_request_error", None, None),
            )
            return
        stop = body.get("stop") or []
        stop = [stop] if isinstance(stop, str) else list(stop)
        if fake.max_stop is not None and len(stop) > fake.max_stop:
            self._send_json(
                400,
                _error(
                    f"{len(stop)} stop sequences given, at most {fake.max_stop} are allowed",
                    "invalid_request_error",
                    "stop",
                    None,
                ),
            )
            return
        if suffix is not None and fake.fim_ids() is None:
            self._send_json(
                400, _error(f"{model} does not support insert", "invalid_request_error", None, None)
            )
            return
        stream = bool(body.get("stream"))
        options = body.get("stream_options") or {}
        include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
        with fake._model_lock:
            tokens = fake.prompt_tokens(prompt, suffix)
            gen = Generation(tokens, stream)
            fake.generations.append(gen)
            try:
                self._generate(gen, body, stop, stream, include_usage)
            finally:
                gen.done.set()

    def _generate(
        self,
        gen: Generation,
        body: dict[str, Any],
        stop: list[str],
        stream: bool,
        include_usage: bool,
    ) -> None:
        fake = self.fake

        def count(ids: Any, _logits: Any) -> bool:
            # Called before each token is handed out, with the ids up to that token (and once
            # more at the end with the same ids): the count is the ids past the prompt.
            gen.generated = max(gen.generated, len(ids) - len(gen.prompt_tokens) + 1)
            return False

        max_tokens = int(body.get("max_tokens") or 16)
        chunks = fake._llm.create_completion(
            gen.prompt_tokens,
            max_tokens=max_tokens,
            temperature=float(body.get("temperature", 1.0)),
            top_p=float(body.get("top_p", 1.0)),
            stop=stop or None,
            stream=True,
            stopping_criteria=llama_cpp.StoppingCriteriaList([count]),
        )
        base = {
            "id": "cmpl-" + uuid.uuid4().hex[:24],
            "object": "text_completion",
            "created": int(time.time()),
            "model": fake.model_name,
        }

        def usage() -> dict[str, int]:
            # llama-cpp-python samples one token past max_tokens before it stops; like
            # llama-server, an end-of-generation token counts.
            n, m = len(gen.prompt_tokens), min(gen.generated, max_tokens)
            return {"prompt_tokens": n, "completion_tokens": m, "total_tokens": n + m}

        def choice(text: str, finish: str | None) -> dict[str, Any]:
            return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}

        if not stream:
            text = ""
            for chunk in chunks:
                c = chunk["choices"][0]
                text += c.get("text") or ""
                gen.finish = c.get("finish_reason") or gen.finish
            self._send_json(
                200, {**base, "choices": [choice(text, gen.finish or "length")], "usage": usage()}
            )
            return

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        extra = {"usage": None} if include_usage else {}
        sent = 0
        try:
            for chunk in chunks:
                c = chunk["choices"][0]
                gen.finish = c.get("finish_reason") or gen.finish
                text = c.get("text") or ""
                if text:
                    self._event({**base, "choices": [choice(text, None)], **extra})
                    sent += 1
                    if sent == 1 and fake.inject_line is not None:
                        self._chunk(f"{fake.inject_line}\n\n".encode())
                    if fake.hold_after is not None and sent == fake.hold_after:
                        fake.resume.wait(HOLD_LIMIT_S)
            self._event({**base, "choices": [choice("", gen.finish or "length")], **extra})
            if include_usage:
                self._event({**base, "choices": [], "usage": usage()})
            self._event("[DONE]")
            self._chunk(b"")  # the last chunk of a chunked body
        except ClientGone:
            gen.disconnected = True
        finally:
            chunks.close()
