"""A local server that speaks Ollama's HTTP API as documented, backed by real GGUF models.

Ollama cannot be installed here, so the backend's tests run against this: a ThreadingHTTPServer
on 127.0.0.1 that answers the endpoints the plugin uses with Ollama's documented shapes
(docs/api.md; /work/shared/reference/protocols.md §2) and produces its text with
llama-cpp-python, in-process:

- GET /, /api/version, /api/tags, /api/ps; POST /api/show, /api/generate, /api/chat;
- /api/generate streams NDJSON (chunked, one object per line, each written as soon as its token
  is decoded) or answers one JSON with `"stream": false`; the final object carries done_reason
  and the metrics (durations in nanoseconds);
- `suffix` needs the `insert` capability (the model's template references `.Suffix`), else 400
  "<model> does not support insert"; without `raw` the model's Go template is rendered with
  .Prompt/.Suffix/.System and cut at .Response, as Ollama does; with `raw: true` the prompt goes
  verbatim (a suffix is then ignored for the prompt but still checked against the capability);
  an empty prompt only loads the model (done_reason "load", "unload" with keep_alive 0);
- the prompt string is tokenized with special tokens parsed and the vocabulary's own BOS rule,
  as Ollama's llama-server runner does; prefix KV reuse is reported in prompt_eval_count;
- changing `num_ctx` reloads the model (counted in `loads`), as Ollama's scheduler does;
- /api/chat streams `message` chunks the same way; the conversation is rendered with the GGUF's
  own chat template (what Ollama derives a model's template from on import); a prompt longer
  than num_ctx ends the stream with an error line;
- a model configured with `error` answers 200 and then an in-stream {"error": ...} line (both
  /api/generate and /api/chat);
- a client that hangs up stops the generation: the server checks the socket before each token
  and notices a failed write. Every request is recorded (`requests`) with the text the model
  was given, the tokens it generated and whether the client went away.

Only the Go template forms FIM templates use are understood: text, {{ .Field }}, if / else if /
else / end on one field, and the `{{-` / `-}}` trim markers.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import os
import re
import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

VERSION = "0.12.6"
# Ollama's api.DefaultOptions for the options this server honours.
DEFAULT_OPTIONS: dict[str, Any] = {
    "num_predict": -1,
    "temperature": 0.8,
    "top_k": 40,
    "top_p": 0.9,
    "min_p": 0.0,
    "repeat_penalty": 1.1,
    "num_ctx": 4096,
    "stop": [],
}
TEMPLATE_FIELDS = ("Prompt", "Suffix", "System", "Response", "Messages")


# -- Go templates (the subset FIM templates use) ---------------------------------------------

_ACTION = re.compile(r"\{\{(- )?\s*(.*?)\s*( -)?\}\}", re.S)
_GO_SPACE = " \t\r\n"


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass
class _If:
    branches: list[tuple[_Field | None, list[Any]]]


class _Cut(Exception):
    """Rendering reached {{ .Response }}: Ollama drops the rest of the template."""


class GoTemplate:
    """An Ollama prompt template. Raises ValueError for forms outside the supported subset."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.fields: set[str] = set()
        self._root = self._parse(text)

    def _parse(self, text: str) -> list[Any]:
        root: list[Any] = []
        body = root
        stack: list[tuple[_If, list[Any]]] = []  # open ifs and the body that holds each
        pos, trim_next = 0, False

        def add_text(literal: str) -> None:
            if literal:
                body.append(literal)

        for match in _ACTION.finditer(text):
            literal = text[pos : match.start()]
            if trim_next:
                literal = literal.lstrip(_GO_SPACE)
            if match.group(1):
                literal = literal.rstrip(_GO_SPACE)
            add_text(literal)
            trim_next, pos = bool(match.group(3)), match.end()
            action = match.group(2)
            words = action.split()
            if action.startswith("/*"):
                continue
            if len(words) == 2 and words[0] == "if":
                node = _If([(self._field(words[1]), [])])
                body.append(node)
                stack.append((node, body))
                body = node.branches[-1][1]
            elif len(words) == 3 and words[:2] == ["else", "if"] and stack:
                stack[-1][0].branches.append((self._field(words[2]), []))
                body = stack[-1][0].branches[-1][1]
            elif words == ["else"] and stack:
                stack[-1][0].branches.append((None, []))
                body = stack[-1][0].branches[-1][1]
            elif words == ["end"] and stack:
                body = stack.pop()[1]
            elif len(words) == 1 and words[0].startswith("."):
                body.append(self._field(words[0]))
            else:
                raise ValueError(f"unsupported template action {{{{ {action} }}}}")
        literal = text[pos:]
        add_text(literal.lstrip(_GO_SPACE) if trim_next else literal)
        if stack:
            raise ValueError("template: unexpected EOF (an `if` has no `end`)")
        return root

    def _field(self, word: str) -> _Field:
        name = word[1:]
        if not word.startswith(".") or name not in TEMPLATE_FIELDS:
            raise ValueError(f"template: can't evaluate field {word}")
        self.fields.add(name)
        return _Field(name)

    def render(self, values: Mapping[str, str]) -> str:
        out: list[str] = []

        def walk(nodes: list[Any]) -> None:
            for node in nodes:
                if isinstance(node, _If):
                    for condition, body in node.branches:
                        if condition is None or values.get(condition.name):
                            walk(body)
                            break
                elif isinstance(node, _Field):
                    if node.name == "Response":
                        raise _Cut
                    out.append(values.get(node.name, ""))
                else:
                    out.append(node)

        with contextlib.suppress(_Cut):
            walk(self._root)
        return "".join(out)


# -- configuration and records ---------------------------------------------------------------


@dataclass
class FakeModel:
    """One pulled model: its name (`name:tag`; no tag means `:latest`) and how it behaves."""

    name: str
    path: Path | str
    template: str = "{{ .Prompt }}"
    family: str = "llama"
    capabilities: Sequence[str] | None = None  # None: from the template, as Ollama derives them
    parameters: Mapping[str, Any] = field(default_factory=dict)  # Modelfile PARAMETER lines
    error: str | None = None  # answer 200, then this error in the stream...
    error_after: int = 0  # ...once this many tokens were generated

    def __post_init__(self) -> None:
        self.name = qualify(self.name)
        self.go_template = GoTemplate(self.template)

    @property
    def caps(self) -> list[str]:
        if self.capabilities is not None:
            return list(self.capabilities)
        caps = ["completion"]
        if "Suffix" in self.go_template.fields:
            caps.append("insert")
        return caps


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    body: Any = None
    status: int = 0
    rendered: str | None = None  # the text given to the model (after the template)
    prompt_tokens: int = 0
    prompt_eval_count: int = 0
    tokens_generated: int = 0
    done_reason: str | None = None
    disconnected: bool = False
    finished: threading.Event = field(default_factory=threading.Event)


def qualify(name: str) -> str:
    """Ollama's name rule: the tag defaults to `latest`."""
    return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"


def full_name(name: str) -> str:
    """The fully qualified name Ollama's capability errors use."""
    parts = qualify(name).split("/")
    if len(parts) == 1:
        return "registry.ollama.ai/library/" + parts[0]
    if len(parts) == 2:
        return "registry.ollama.ai/" + "/".join(parts)
    return "/".join(parts)


def go_json(value: Any) -> str:
    """JSON as Go's encoding/json writes it (<, >, & and U+2028/9 escaped in strings)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


def now_rfc3339() -> str:
    stamp = datetime.now(timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond:06d}Z"


def held_back(text: str, stops: Sequence[str]) -> int:
    """How many characters at the end of `text` could be the start of a stop string."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:n]):
                longest = n
                break
    return longest


# -- the model runner ------------------------------------------------------------------------


@dataclass
class _Runner:
    llm: Any
    n_ctx: int
    lock: threading.Lock


class _Generation:
    """Greedy/sampled generation of one prompt, token by token, with Ollama's stop rules."""

    def __init__(
        self,
        llm: Any,
        text: str,
        options: Mapping[str, Any],
        record: Recorded,
        client_gone: Callable[[], bool],
    ) -> None:
        import llama_cpp

        self._llama_cpp = llama_cpp
        self.llm = llm
        self.options = options
        self.record = record
        self.client_gone = client_gone
        self.tokens: list[int] = list(
            llm.tokenize(text.encode("utf-8", "replace"), add_bos=True, special=True)
        )
        cached = list(llm._input_ids) if llm.n_tokens else []
        reused = 0
        for a, b in zip(cached, self.tokens):
            if a != b:
                break
            reused += 1
        self.prompt_eval_count = len(self.tokens) - min(reused, len(self.tokens) - 1)
        record.prompt_eval_count = self.prompt_eval_count
        self.generated: list[int] = []
        self.done_reason = "stop"
        self.prompt_eval_ns = 0
        self.eval_ns = 0
        record.prompt_tokens = len(self.tokens)

    def pieces(self) -> Iterator[str]:
        llm, opts, record = self.llm, self.options, self.record
        stops = [s for s in opts.get("stop") or [] if s]
        limit = int(opts.get("num_predict") or -1)
        n_ctx = llm.n_ctx()
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        vocab = llm._model.vocab
        text, sent = "", 0
        started = time.perf_counter_ns()
        first = 0
        tokens = llm.generate(
            self.tokens,
            top_k=int(opts.get("top_k", 40)),
            top_p=float(opts.get("top_p", 0.9)),
            min_p=float(opts.get("min_p", 0.0)),
            temp=float(opts.get("temperature", 0.8)),
            repeat_penalty=float(opts.get("repeat_penalty", 1.1)),
        )
        try:
            for token in tokens:
                if not first:
                    first = time.perf_counter_ns()
                    self.prompt_eval_ns = first - started
                if self._llama_cpp.llama_vocab_is_eog(vocab, token):
                    self.done_reason = "stop"
                    break
                self.generated.append(token)
                record.tokens_generated = len(self.generated)
                text += decoder.decode(llm.detokenize([token]))
                hits = [text.find(s, max(0, sent - len(s))) for s in stops]
                hits = [h for h in hits if h >= 0]
                if hits:
                    cut = min(hits)
                    if cut > sent:
                        yield text[sent:cut]
                    self.done_reason = "stop"
                    return
                ready = len(text) - held_back(text, stops)
                if ready > sent:
                    yield text[sent:ready]
                    sent = ready
                if (
                    0 < limit <= len(self.generated)
                    or len(self.tokens) + len(self.generated) >= n_ctx - 1
                ):
                    self.done_reason = "length"
                    break
                if self.client_gone():
                    record.disconnected = True
                    return
            if len(text) > sent:
                yield text[sent:]
        finally:
            tokens.close()
            self.eval_ns = time.perf_counter_ns() - (first or started)


# -- the server ------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeOllama, address: tuple[str, int]) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class FakeOllama:
    """Ollama's HTTP API on 127.0.0.1 with real models; restartable on the same port."""

    def __init__(self, models: Sequence[FakeModel], *, port: int = 0, n_threads: int = 0) -> None:
        self.models: dict[str, FakeModel] = {m.name: m for m in models}
        self.port = port
        self.n_threads = n_threads or max(1, len(os.sched_getaffinity(0)))
        self.requests: list[Recorded] = []
        self.loads: Counter[str] = Counter()
        self._runners: dict[str, _Runner] = {}
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeOllama:
        if self._httpd is not None:
            return self
        httpd = _Server(self, ("127.0.0.1", self.port))
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits a poll: 0.5 s by default
            name="fake-ollama",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection, as a stopped Ollama would."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.drop_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def close(self) -> None:
        self.stop()
        with self._lock:
            runners, self._runners = self._runners, {}
        for runner in runners.values():
            with runner.lock:
                runner.llm.close()

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- models and records ------------------------------------------------------------------

    def add(self, model: FakeModel) -> None:
        with self._lock:
            self.models[model.name] = model

    def remove(self, name: str) -> None:
        with self._lock:
            self.models.pop(qualify(name), None)

    def lookup(self, name: str) -> FakeModel | None:
        with self._lock:
            return self.models.get(qualify(name))

    def record(self, method: str, path: str) -> Recorded:
        entry = Recorded(method, path)
        with self._lock:
            self.requests.append(entry)
        return entry

    def reset(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self.requests.clear()

    def calls(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def last(self, path: str) -> Recorded:
        found = self.calls(path)
        if not found:
            raise AssertionError(f"the server saw no {path} request")
        return found[-1]

    @contextlib.contextmanager
    def runner(self, model: FakeModel, n_ctx: int) -> Iterator[tuple[Any, int]]:
        """The model's Llama, loaded (or reloaded for another num_ctx) under its lock, and the
        nanoseconds spent loading it for this request."""
        key = str(model.path)
        with self._lock:
            runner = self._runners.get(key)
            if runner is None:
                runner = self._runners[key] = _Runner(None, 0, threading.Lock())
        with runner.lock:
            load_ns = 0
            if runner.llm is None or runner.n_ctx != n_ctx:
                started = time.perf_counter_ns()
                if runner.llm is not None:
                    runner.llm.close()
                    runner.llm = None
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                import llama_cpp

                runner.llm = llama_cpp.Llama(
                    model_path=str(model.path),
                    n_ctx=n_ctx,
                    n_batch=512,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    verbose=False,
                )
                runner.n_ctx = n_ctx
                load_ns = time.perf_counter_ns() - started
                with self._lock:
                    self.loads[model.name] += 1
            yield runner.llm, load_ns


class _TooLong(Exception):
    pass


def _context_checked(chunks: Iterator[Any]) -> Iterator[Any]:
    """llama-cpp-python raises ValueError for a prompt longer than the context."""
    try:
        yield from chunks
    except ValueError as exc:
        if "exceed context window" not in str(exc):
            raise
        raise _TooLong() from None


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    rec: Recorded

    def log_message(self, format: str, *args: Any) -> None:
        return None

    # -- plumbing ----------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.rec.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, go_json(value).encode(), "application/json; charset=utf-8")

    def _start_stream(self) -> None:
        self.rec.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _line(self, value: Any) -> bool:
        """Write one NDJSON line as its own chunk; False when the client has gone away."""
        data = (go_json(value) + "\n").encode()
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.rec.disconnected = True
            self.close_connection = True
            return False
        return True

    def _end_stream(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.rec.disconnected = True
            self.close_connection = True

    def client_gone(self) -> bool:
        """The client closed its end (Go's server notices this and cancels the request)."""
        sock = self.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            raise _BadRequest(400, "missing request body")
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _BadRequest(400, f"invalid character in request body: {exc}") from None
        self.rec.body = body
        if not isinstance(body, dict):
            raise _BadRequest(400, "json: cannot unmarshal into Go value of type api.Request")
        return body

    def _model(self, body: Mapping[str, Any]) -> FakeModel:
        name = body.get("model")
        if not isinstance(name, str) or not name:
            raise _BadRequest(400, "model is required")
        model = self.server.fake.lookup(name)
        if model is None:
            raise _BadRequest(404, f"model '{name}' not found")
        return model

    def _dispatch(self, routes: Mapping[str, Callable[[], None]]) -> None:
        self.rec = self.server.fake.record(self.command, self.path)
        try:
            route = routes.get(self.path)
            if route is None:
                self._send(404, b"404 page not found", "text/plain")
                return
            route()
        except _BadRequest as exc:
            self._json(exc.status, {"error": exc.message})
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.rec.disconnected = True
            self.close_connection = True
        finally:
            self.rec.finished.set()

    def do_GET(self) -> None:
        self._dispatch(
            {
                "/": lambda: self._send(200, b"Ollama is running", "text/plain; charset=utf-8"),
                "/api/version": lambda: self._json(200, {"version": VERSION}),
                "/api/tags": self._tags,
                "/api/ps": self._ps,
            }
        )

    def do_HEAD(self) -> None:
        self.rec = self.server.fake.record(self.command, self.path)
        self.rec.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", "17")
        self.end_headers()
        self.rec.finished.set()

    def do_POST(self) -> None:
        self._dispatch(
            {"/api/show": self._show, "/api/generate": self._generate, "/api/chat": self._chat}
        )

    # -- discovery ---------------------------------------------------------------------------

    @staticmethod
    def _details(model: FakeModel) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": model.family,
            "families": [model.family],
            "parameter_size": "",
            "quantization_level": "",
        }

    def _entry(self, model: FakeModel) -> dict[str, Any]:
        path = Path(model.path)
        return {
            "name": model.name,
            "model": model.name,
            "modified_at": datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ"
            ),
            "size": path.stat().st_size,
            "digest": hashlib.sha256(model.name.encode()).hexdigest(),
            "details": self._details(model),
        }

    def _tags(self) -> None:
        with self.server.fake._lock:
            models = list(self.server.fake.models.values())
        self._json(200, {"models": [self._entry(m) for m in models]})

    def _ps(self) -> None:
        fake = self.server.fake
        with fake._lock:
            loaded = [m for m in fake.models.values() if str(m.path) in fake._runners]
        self._json(200, {"models": [self._entry(m) for m in loaded]})

    def _show(self) -> None:
        model = self._model(self._body())
        from localllm.gguf_meta import read_gguf

        info = read_gguf(model.path).metadata
        model_info = {
            k: ([] if not isinstance(v, (str, int, float, bool)) else v) for k, v in info.items()
        }
        lines = []
        for key, value in model.parameters.items():
            for item in value if isinstance(value, (list, tuple)) else [value]:
                shown = json.dumps(item) if isinstance(item, str) else str(item)
                lines.append(f"{key:<30} {shown}")
        parameters = "\n".join(lines)
        modelfile = (
            f'# Modelfile generated by "ollama show"\nFROM {model.path}\n'
            f'TEMPLATE """{model.template}"""\n' + "".join(f"PARAMETER {line}\n" for line in lines)
        )
        self._json(
            200,
            {
                "modelfile": modelfile,
                "parameters": parameters,
                "template": model.template,
                "details": self._details(model),
                "model_info": model_info,
                "capabilities": model.caps,
                "modified_at": self._entry(model)["modified_at"],
            },
        )

    # -- generation --------------------------------------------------------------------------

    @staticmethod
    def _options(model: FakeModel, body: Mapping[str, Any]) -> dict[str, Any]:
        options = dict(DEFAULT_OPTIONS)
        options.update(model.parameters)
        requested = body.get("options") or {}
        if not isinstance(requested, dict):
            raise _BadRequest(400, "options must be an object")
        options.update(requested)
        if isinstance(options.get("stop"), str):
            options["stop"] = [options["stop"]]
        return options

    def _loaded(self, body: Mapping[str, Any], extra: Mapping[str, Any]) -> None:
        keep_alive = body.get("keep_alive")
        reason = "unload" if keep_alive in (0, "0", "0s") else "load"
        self.rec.done_reason = reason
        self._json(
            200,
            {
                "model": body["model"],
                "created_at": now_rfc3339(),
                **extra,
                "done": True,
                "done_reason": reason,
            },
        )

    def _generate(self) -> None:
        started = time.perf_counter_ns()
        body = self._body()
        raw = bool(body.get("raw"))
        if raw and (body.get("template") or body.get("system") or body.get("context")):
            raise _BadRequest(400, "raw mode does not support template, system, or context")
        model = self._model(body)
        prompt = body.get("prompt") or ""
        suffix = body.get("suffix") or ""
        if not isinstance(prompt, str) or not isinstance(suffix, str):
            raise _BadRequest(400, "prompt and suffix must be strings")
        caps = model.caps
        if "completion" not in caps:
            raise _BadRequest(400, f"{full_name(model.name)} does not support generate")
        if suffix and "insert" not in caps:
            raise _BadRequest(400, f"{full_name(model.name)} does not support insert")
        options = self._options(model, body)
        stream = body.get("stream") is not False
        with self.server.fake.runner(model, int(options["num_ctx"])) as (llm, load_ns):
            if not prompt:
                self._loaded(body, {"response": ""})
                return
            text = prompt
            if not raw:
                values = {"Prompt": prompt, "Suffix": suffix, "System": body.get("system") or ""}
                text = model.go_template.render(values)
            self.rec.rendered = text
            gen = _Generation(llm, text, options, self.rec, self.client_gone)
            if len(gen.tokens) >= llm.n_ctx():
                self._fail(stream, "the request exceeds the available context size")
                return
            if stream:
                self._start_stream()
            if model.error is not None and model.error_after == 0:
                self._fail(stream, model.error, started=True)
                return
            parts: list[str] = []
            pieces = gen.pieces()
            try:
                for written, piece in enumerate(pieces):
                    if model.error is not None and written >= model.error_after:
                        self._fail(stream, model.error, started=True)
                        return
                    if not stream:
                        parts.append(piece)
                        continue
                    chunk = {
                        "model": body["model"],
                        "created_at": now_rfc3339(),
                        "response": piece,
                        "done": False,
                    }
                    if not self._line(chunk):
                        return
            finally:
                pieces.close()
            if self.rec.disconnected:
                return
            self.rec.done_reason = gen.done_reason
            final: dict[str, Any] = {
                "model": body["model"],
                "created_at": now_rfc3339(),
                "response": "".join(parts),
                "done": True,
                "done_reason": gen.done_reason,
            }
            if not raw:
                final["context"] = gen.tokens + gen.generated
            final.update(
                total_duration=time.perf_counter_ns() - started,
                load_duration=load_ns,
                prompt_eval_count=gen.prompt_eval_count,
                prompt_eval_duration=gen.prompt_eval_ns,
                eval_count=len(gen.generated),
                eval_duration=gen.eval_ns,
            )
            if stream:
                if self._line(final):
                    self._end_stream()
            else:
                self._json(200, final)

    def _fail(self, stream: bool, message: str, *, started: bool = False) -> None:
        """An error while running the model: in the stream when streaming (status already 200),
        else an error status."""
        if not stream:
            self._json(500, {"error": message})
            return
        if not started:
            self._start_stream()
        if self._line({"error": message}):
            self._end_stream()

    def _chat(self) -> None:
        started = time.perf_counter_ns()
        body = self._body()
        model = self._model(body)
        if "completion" not in model.caps:
            raise _BadRequest(400, f"{full_name(model.name)} does not support chat")
        messages = body.get("messages") or []
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages
        ):
            raise _BadRequest(400, "messages must be a list of {role, content} objects")
        options = self._options(model, body)
        stream = body.get("stream") is not False
        with self.server.fake.runner(model, int(options["num_ctx"])) as (llm, load_ns):
            if not messages:
                self._loaded(body, {"message": {"role": "assistant", "content": ""}})
                return
            import llama_cpp
            import numpy as np

            seen: list[int] = []

            def count(input_ids: np.ndarray[Any, Any], scores: Any) -> Any:
                if not seen:
                    self.rec.prompt_tokens = self.rec.prompt_eval_count = len(input_ids)
                seen.append(1)
                self.rec.tokens_generated = len(seen)
                return scores

            limit = int(options["num_predict"])
            first = 0
            chunks = llm.create_chat_completion(
                messages=[{"role": m["role"], "content": m.get("content") or ""} for m in messages],
                stream=True,
                max_tokens=limit if limit > 0 else None,
                temperature=float(options["temperature"]),
                top_k=int(options["top_k"]),
                top_p=float(options["top_p"]),
                min_p=float(options["min_p"]),
                repeat_penalty=float(options["repeat_penalty"]),
                stop=list(options.get("stop") or []),
                logits_processor=llama_cpp.LogitsProcessorList([count]),
            )
            if stream:
                self._start_stream()
            if model.error is not None and model.error_after == 0:
                self._fail(stream, model.error, started=True)
                chunks.close()
                return
            parts: list[str] = []
            done_reason = "stop"
            written = 0
            try:
                for chunk in _context_checked(chunks):
                    choice = chunk["choices"][0]
                    if choice.get("finish_reason"):
                        done_reason = choice["finish_reason"]
                    content = (choice.get("delta") or {}).get("content") or ""
                    if not content:
                        continue
                    first = first or time.perf_counter_ns()
                    if self.client_gone():
                        self.rec.disconnected = True
                        return
                    if model.error is not None and written >= model.error_after:
                        self._fail(stream, model.error, started=True)
                        return
                    written += 1
                    if not stream:
                        parts.append(content)
                        continue
                    line = {
                        "model": body["model"],
                        "created_at": now_rfc3339(),
                        "message": {"role": "assistant", "content": content},
                        "done": False,
                    }
                    if not self._line(line):
                        return
            except _TooLong:
                # Ollama's runner refuses a prompt longer than num_ctx (status already sent).
                self._fail(stream, "the request exceeds the available context size", started=True)
                return
            finally:
                chunks.close()
            ended = time.perf_counter_ns()
            self.rec.done_reason = done_reason
            final = {
                "model": body["model"],
                "created_at": now_rfc3339(),
                "message": {"role": "assistant", "content": "".join(parts)},
                "done": True,
                "done_reason": done_reason,
                "total_duration": ended - started,
                "load_duration": load_ns,
                "prompt_eval_count": self.rec.prompt_tokens,
                "prompt_eval_duration": (first or ended) - started - load_ns,
                "eval_count": len(seen),
                "eval_duration": ended - (first or ended),
            }
            if stream:
                if self._line(final):
                    self._end_stream()
            else:
                self._json(200, final)
