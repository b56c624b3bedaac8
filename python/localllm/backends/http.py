"""What the HTTP backends share: a keep-alive client each (and a connection of its own per
streamed answer), streaming parsers, error mapping, cancellation that shuts the stream down,
the reachability state with quiet retries, and Retry-After.

Errors become our own types with messages that say what to do; a cancelled request shuts its
connection down at once, so the server stops generating and a stalled read returns.
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

from ..errors import BackendError, BackendUnavailable, ConfigError
from ..privacy import is_loopback as is_loopback  # re-exported for the backends
from ..privacy import plain_http_refusal, register_secret, sends_in_clear
from . import Cancellation, Notify

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0
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


class HttpService:
    """One server: a keep-alive client, reachability with backoff, and streaming requests."""

    def __init__(
        self,
        label: str,
        base_url: str,
        *,
        api_key: str | None = None,
        notify: Notify | None = None,
        timeout_s: float = 30.0,
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
        self.client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=CONNECT_TIMEOUT_S),
            transport=transport,
        )
        # Streams get a connection of their own (no keep-alive): a cancelled request shuts its
        # socket down, which also wakes a read blocked on a server that stalls.
        self._streams = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=CONNECT_TIMEOUT_S),
            transport=transport,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._failures = 0
        self._retry_at = 0.0
        # The server said "not now" (429/503 with Retry-After): no request before then.
        self._busy_until = 0.0
        self._busy_message = ""

    # -- reachability -------------------------------------------------------------------------

    def unreachable_message(self) -> str:
        return f"cannot reach {self.label} at {self.base_url} — is it running?"

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
        self.check_plain_http()
        with self._translate():
            response = self.client.get(path, timeout=timeout_s)
        return self._json_or_error(response)

    def post_json(
        self, path: str, body: Mapping[str, Any], *, timeout_s: float | None = None
    ) -> Any:
        self.check_plain_http()
        with self._translate():
            response = self.client.post(path, json=body, timeout=timeout_s)
        return self._json_or_error(response)

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
        headers or mid-answer) returns at once; a cancelled request then ends quietly.
        """
        self.check_plain_http()
        self.check_retry()
        sockets: list[socket.socket] = []
        responses: list[httpx.Response] = []
        closed = threading.Event()

        def trace(event: str, info: Mapping[str, Any]) -> None:
            if event.startswith("connection.connect_") and event.endswith(".complete"):
                stream = info.get("return_value")
                sock = stream.get_extra_info("socket") if stream is not None else None
                if isinstance(sock, socket.socket):
                    sockets.append(sock)
                    if closed.is_set():  # cancelled while connecting
                        _shutdown(sock)

        def close() -> None:
            if not closed.is_set():
                closed.set()
                for sock in sockets:
                    _shutdown(sock)
                for response in responses:
                    response.close()

        cancel.on_cancel(close)
        try:
            with self._translate():
                request = self._streams.build_request(
                    "POST", path, json=body, extensions={"trace": trace}
                )
                response = self._streams.send(request, stream=True)
        except BackendError:
            if cancel.cancelled:
                return
            raise
        responses.append(response)
        if cancel.cancelled:
            close()
            return
        try:
            if response.status_code >= 400:
                response.read()
                self.note_retry_after(response)
                raise HttpStatusError(response.status_code, error_message(response), self.label)
            with self._translate(streaming=True):
                for line in _utf8_lines(response.iter_bytes()):
                    if cancel.cancelled:
                        return
                    yield line
        except (httpx.StreamClosed, httpx.ReadError, httpx.StreamError):
            if not cancel.cancelled:
                raise BackendError(f"{self.label} closed the connection mid-answer") from None
        except BackendError:
            if not cancel.cancelled:
                raise
        finally:
            close()

    @contextmanager
    def _translate(self, *, streaming: bool = False) -> Iterator[None]:
        try:
            yield
        except httpx.ConnectError:
            self.mark_down()
            raise BackendUnavailable(self.unreachable_message()) from None
        except httpx.TimeoutException:
            raise BackendError(f"{self.label} at {self.base_url} did not answer in time") from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if streaming and isinstance(exc, httpx.ReadError):
                raise
            raise BackendError(f"{self.label} broke the connection: {exc}") from None
        except UnicodeDecodeError:
            raise BackendError(f"{self.label} sent text that is not UTF-8") from None
        else:
            self.mark_up()

    def close(self) -> None:
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
