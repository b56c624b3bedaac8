"""What the HTTP backends share: a keep-alive client each (and a connection of its own per
streamed answer), streaming parsers, error mapping, cancellation that shuts the stream down,
the reachability state with quiet retries, and Retry-After.

Errors become our own types with messages that say what to do; a cancelled request shuts its
connection down at once, so the server stops generating and a stalled read returns.

Every call has a deadline for the whole of it (httpx's timeouts count per read, so a server
that sends a byte a second, or is stopped with SIGSTOP after accepting, would hold a call
forever): when it passes, the call's socket is shut down from a timer and the call fails with
BackendTimeout. A plain call is `timeout_ms` of the backend at most, the quick ones (GET:
/health, /props, /api/tags; /tokenize, /api/show) QUICK_S at most; a stream has its deadline
until its first line, then the engine's time limit takes over. Calls made while a request
runs end when it is cancelled (Cancellation.governs_calls), and close() ends them all, so
nothing waits on a server that does not answer. There is no keep-alive connection: only a
connection made for the call can be shut down from another thread.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx

from .. import utf8
from ..errors import BackendError, BackendTimeout, BackendUnavailable, ConfigError
from ..privacy import is_loopback as is_loopback  # re-exported for the backends
from ..privacy import plain_http_refusal, register_secret, sends_in_clear
from . import Cancellation, Notify, daemon_timer

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0
QUICK_S = 3.0  # the deadline of a call that only reads the server's state (or tokenizes)
_NEWLINE = re.compile(r"\r\n|\r|\n")
# Backoff between reconnection attempts once a server went away (seconds).
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)


def api_key_from_env(env_name: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The API key named by the config: read from the environment, never stored in the config."""
    if not env_name:
        return None
    value = (env if env is not None else os.environ).get(env_name, "").strip()
    return value or None


def normalize_url(url: str, key: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(key, f"expected an http:// or https:// URL, got {url!r}")
    return url.rstrip("/")


def error_message(response: httpx.Response) -> str:
    """The server's own words from an error body (llama.cpp, Ollama and OpenAI shapes)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, httpx.ResponseNotRead):
        text = response.text.strip() if response.is_closed else ""
        return text[:300] or response.reason_phrase
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err:
            return str(err)[:300]
    return str(body)[:300]


def iter_sse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Server-sent events: `data: {json}` lines; comments (`:`) ignored; ends at `[DONE]`."""
    for line in lines:
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "error":  # older llama.cpp builds
            raise BackendError(f"the server reported an error: {value.strip()[:300]}")
        if field != "data":
            continue
        if value.strip() == "[DONE]":
            return
        yield parse_json_line(value)


def iter_ndjson(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.strip():
            yield parse_json_line(line)


def parse_json_line(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise BackendError(f"the server sent something that is not JSON: {text[:120]!r}") from None
    if not isinstance(value, dict):
        raise BackendError(f"the server sent unexpected JSON: {text[:120]!r}")
    return value


JSON_HEADERS = {"Content-Type": "application/json"}


def json_body(body: Mapping[str, Any]) -> bytes:
    """A request's JSON. Buffer text that is not UTF-8 (lone surrogates) goes as U+FFFD: httpx
    would fail encoding it."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return utf8.valid(text).encode("utf-8")


def _timeouts(deadline_s: float) -> httpx.Timeout:
    return httpx.Timeout(deadline_s, connect=min(CONNECT_TIMEOUT_S, deadline_s))


class _Call:
    """One call's connection, so that another thread can end it: shutting its socket down
    makes a blocked connect or read return at once. `reason` says why it was ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.reason = ""  # "deadline", "cancelled", "closed", "done"

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpx's trace hook: keeps the socket of each connection the call makes."""
        if not (event.startswith("connection.connect_") and event.endswith(".complete")):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.append(sock)
                ended = bool(self.reason)
            if ended:  # ended while it connected
                _shutdown(sock)

    def end(self, reason: str) -> None:
        with self._lock:
            if self.reason:
                return
            self.reason = reason
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def start_deadline(self, deadline_s: float) -> threading.Timer:
        return daemon_timer(deadline_s, self.end, "deadline")


def probe_json(url: str, path: str, deadline_s: float) -> tuple[int, Any] | None:
    """GET `url + path`, all of it within `deadline_s`: (status, JSON body or None), or None
    when nothing answered in time. Quick looks for `backend = "auto"` and :checkhealth."""
    cancel = Cancellation.current()
    if cancel is not None and cancel.cancelled:
        return None
    call = _Call()
    if cancel is not None:
        cancel.on_cancel(lambda: call.end("cancelled"))
    timer = call.start_deadline(deadline_s)
    try:
        with httpx.Client(
            timeout=_timeouts(deadline_s), limits=httpx.Limits(max_keepalive_connections=0)
        ) as client:
            response = client.get(url + path, extensions={"trace": call.trace})
    except httpx.HTTPError:
        return None
    finally:
        timer.cancel()
        call.end("done")
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    return response.status_code, body


class HttpService:
    """One server: its clients, reachability with backoff, and calls that all end in time."""

    def __init__(
        self,
        label: str,
        base_url: str,
        *,
        api_key: str | None = None,
        notify: Notify | None = None,
        timeout_s: float = 30.0,
        timeout_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
        allow_remote_http: bool = False,
    ) -> None:
        self.label = label
        self.base_url = base_url.rstrip("/")
        # Plain http to another machine is refused unless privacy.allow_remote_http is set.
        self._refusal = (
            plain_http_refusal(self.base_url)
            if sends_in_clear(self.base_url) and not allow_remote_http
            else None
        )
        self._notify = notify or (lambda level, message: None)
        register_secret(api_key)  # masked in the log file, whatever quotes it
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # The deadline of a call (the setting that says so: named in the timeout message).
        self.timeout_s = timeout_s
        self._timeout_key = timeout_key
        # No keep-alive: each call makes its own connection, whose socket _Call can shut down.
        self.client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=_timeouts(timeout_s),
            transport=transport,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self._streams = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=_timeouts(timeout_s),
            transport=transport,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self._lock = threading.Lock()
        self._calls: set[_Call] = set()
        self._closed = False
        self._down_since: float | None = None
        self._failures = 0
        self._retry_at = 0.0
        # The server said "not now" (429/503 with Retry-After): no request before then.
        self._busy_until = 0.0
        self._busy_message = ""

    @property
    def quick_s(self) -> float:
        """The deadline of a call that only reads the server's state or tokenizes."""
        return min(self.timeout_s, QUICK_S)

    # -- reachability -------------------------------------------------------------------------

    def unreachable_message(self) -> str:
        return f"cannot reach {self.label} at {self.base_url} — is it running?"

    def timeout_message(self, path: str, deadline_s: float) -> str:
        advice = "restart it"
        if self._timeout_key and deadline_s >= self.timeout_s:
            advice += f", or raise {self._timeout_key} if it is only slow"
        return (
            f"{self.label} at {self.base_url} did not answer {path} within {deadline_s:g} s — "
            f"is it stopped or overloaded? {advice[0].upper()}{advice[1:]}"
        )

    def check_retry(self) -> None:
        """While the server is down, fail fast until the next retry is due (no network)."""
        with self._lock:
            if self._down_since is not None and time.monotonic() < self._retry_at:
                raise BackendUnavailable(self.unreachable_message())
            if time.monotonic() < self._busy_until:
                raise BackendError(self._busy_message)

    def note_retry_after(self, response: httpx.Response) -> None:
        """429/503 with Retry-After (seconds): send nothing more until then (at most 5 min).
        Raises the "busy" error for a 429 that says how long to wait."""
        if response.status_code not in (429, 503):
            return
        try:
            delay = float(response.headers.get("retry-after", ""))
        except ValueError:
            return  # absent, or an HTTP date: the usual error handling applies
        if not 0 < delay < float("inf"):
            return
        delay = min(delay, 300.0)
        with self._lock:
            self._busy_until = time.monotonic() + delay
            self._busy_message = (
                f"{self.label} is busy (HTTP {response.status_code}); "
                f"asked to wait {delay:g} s before the next request"
            )
        if response.status_code == 429:
            raise BackendError(self._busy_message)

    def mark_down(self) -> None:
        with self._lock:
            first = self._down_since is None
            if first:
                self._down_since = time.monotonic()
            delay = RETRY_DELAYS[min(self._failures, len(RETRY_DELAYS) - 1)]
            self._failures += 1
            self._retry_at = time.monotonic() + delay
        if first:
            log.warning("%s went away", self.unreachable_message())

    def mark_up(self) -> None:
        with self._lock:
            was_down = self._down_since is not None
            self._down_since, self._failures, self._retry_at = None, 0, 0.0
        if was_down:
            self._notify("info", f"localllm: {self.label} at {self.base_url} is back")

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def check_plain_http(self) -> None:
        """Nothing goes over plain http to another machine without the user's opt-in."""
        if self._refusal is not None:
            raise BackendError(f"{self.label}: not sending anything: {self._refusal}")

    # -- requests ----------------------------------------------------------------------------

    def get_json(self, path: str, *, timeout_s: float | None = None) -> Any:
        """GET within `timeout_s` in all (default: quick_s)."""
        return self._call_json("GET", path, None, self.quick_s if timeout_s is None else timeout_s)

    def post_json(
        self, path: str, body: Mapping[str, Any], *, timeout_s: float | None = None
    ) -> Any:
        """POST within `timeout_s` in all (default: the backend's timeout_ms)."""
        deadline = self.timeout_s if timeout_s is None else timeout_s
        return self._call_json("POST", path, body, deadline)

    def _call_json(
        self, method: str, path: str, body: Mapping[str, Any] | None, deadline_s: float
    ) -> Any:
        self.check_plain_http()
        call = self._begin(Cancellation.current())
        timer = call.start_deadline(deadline_s)
        try:
            with self._translate(call, path, deadline_s):
                response = self.client.request(
                    method,
                    path,
                    content=None if body is None else json_body(body),
                    headers=None if body is None else JSON_HEADERS,
                    timeout=_timeouts(deadline_s),
                    extensions={"trace": call.trace},
                )
        finally:
            timer.cancel()
            self._finish(call)
        return self._json_or_error(response)

    def _begin(self, cancel: Cancellation | None) -> _Call:
        """A new call, ended by `cancel` and by close()."""
        if cancel is not None and cancel.cancelled:
            raise BackendError(f"{self.label}: the request was cancelled")
        call = _Call()
        with self._lock:
            if self._closed:
                raise BackendUnavailable(f"{self.label}: the plugin closed this connection")
            self._calls.add(call)
        if cancel is not None:
            cancel.on_cancel(lambda: call.end("cancelled"))
        return call

    def _finish(self, call: _Call) -> None:
        call.end("done")
        with self._lock:
            self._calls.discard(call)

    def _json_or_error(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            self.note_retry_after(response)
            raise HttpStatusError(response.status_code, error_message(response), self.label)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BackendError(f"{self.label} sent a response that is not JSON") from None

    def stream_lines(
        self,
        path: str,
        body: Mapping[str, Any],
        cancel: Cancellation,
    ) -> Iterator[str]:
        """POST `body` and yield the response's lines as they arrive.

        Cancelling shuts the connection down from the cancelling thread, so the server sees it
        drop and stops generating, and a read blocked on a server that stalls (before its
        headers or mid-answer) returns at once; a cancelled request then ends quietly. The
        first line must come within timeout_s (BackendTimeout); after it, the caller's time
        limit (a cancellation) bounds the answer.
        """
        self.check_plain_http()
        self.check_retry()
        call = self._begin(cancel)
        responses: list[httpx.Response] = []

        def close_responses() -> None:
            for response in responses:
                response.close()

        cancel.on_cancel(close_responses)
        timer = call.start_deadline(self.timeout_s)
        try:
            try:
                with self._translate(call, path, self.timeout_s):
                    request = self._streams.build_request(
                        "POST",
                        path,
                        content=json_body(body),
                        headers=JSON_HEADERS,
                        extensions={"trace": call.trace},
                    )
                    response = self._streams.send(request, stream=True)
            except BackendError:
                if cancel.cancelled:
                    return
                raise
            responses.append(response)
            if cancel.cancelled:
                return
            try:
                if response.status_code >= 400:
                    with self._translate(call, path, self.timeout_s):
                        response.read()
                    self.note_retry_after(response)
                    raise HttpStatusError(
                        response.status_code, error_message(response), self.label
                    )
                with self._translate(call, path, self.timeout_s, streaming=True):
                    for line in _utf8_lines(response.iter_bytes()):
                        timer.cancel()  # it answers: from now on the caller's limit counts
                        if cancel.cancelled:
                            return
                        yield line
            except (httpx.StreamClosed, httpx.ReadError, httpx.StreamError):
                if call.reason == "deadline":
                    raise BackendTimeout(self.timeout_message(path, self.timeout_s)) from None
                if not cancel.cancelled:
                    raise BackendError(f"{self.label} closed the connection mid-answer") from None
            except BackendError:
                if not cancel.cancelled:
                    raise
        finally:
            timer.cancel()
            self._finish(call)
            close_responses()

    def _ended(self, call: _Call, path: str, deadline_s: float) -> BackendError:
        """The error of a call we ended ourselves."""
        if call.reason == "deadline":
            return BackendTimeout(self.timeout_message(path, deadline_s))
        if call.reason == "closed":
            return BackendUnavailable(f"{self.label}: the plugin closed this connection")
        return BackendError(f"{self.label}: the request was cancelled")

    @contextmanager
    def _translate(
        self, call: _Call, path: str, deadline_s: float, *, streaming: bool = False
    ) -> Iterator[None]:
        try:
            yield
        except httpx.HTTPError as exc:
            # Ended by us. A cancelled stream ends quietly: stream_lines sees the cancel.
            if call.reason in ("deadline", "closed") or (call.reason and not streaming):
                raise self._ended(call, path, deadline_s) from None
            if isinstance(exc, httpx.ConnectError):
                self.mark_down()
                raise BackendUnavailable(self.unreachable_message()) from None
            if isinstance(exc, httpx.TimeoutException):
                raise BackendTimeout(self.timeout_message(path, deadline_s)) from None
            if streaming and isinstance(exc, httpx.ReadError):
                raise
            if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
                raise BackendError(f"{self.label} broke the connection: {exc}") from None
            raise BackendError(f"{self.label}: {type(exc).__name__}: {exc}") from None
        except UnicodeDecodeError:
            raise BackendError(f"{self.label} sent text that is not UTF-8") from None
        else:
            self.mark_up()

    def close(self) -> None:
        """End every call in flight (a worker blocked on a silent server returns) and close."""
        with self._lock:
            self._closed = True
            calls = list(self._calls)
        for call in calls:
            call.end("closed")
        self.client.close()
        self._streams.close()


def _utf8_lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """The lines of a streamed body, decoded strictly: bytes that are not UTF-8 raise
    UnicodeDecodeError instead of turning into U+FFFD in a suggestion."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        *complete, pending = _NEWLINE.split(pending)
        yield from complete
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def _shutdown(sock: socket.socket) -> None:
    """End a connection from another thread: a blocked recv() returns at once."""
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class HttpStatusError(BackendError):
    """An HTTP error status, with the server's message."""

    def __init__(self, status: int, message: str, label: str) -> None:
        super().__init__(f"{label} answered HTTP {status}: {message}")
        self.status = status
        self.server_message = message
