"""What the HTTP backends share: one keep-alive client each, streaming parsers, error mapping,
cancellation that closes the stream, and the reachability state with quiet retries.

Errors become our own types with messages that say what to do; a cancelled request closes its
response at once so the server stops generating.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import BackendError, BackendUnavailable, ConfigError
from . import Cancellation, Notify

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0
# Backoff between reconnection attempts once a server went away (seconds).
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    ) -> None:
        self.label = label
        self.base_url = base_url.rstrip("/")
        self._notify = notify or (lambda level, message: None)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=CONNECT_TIMEOUT_S),
            transport=transport,
        )
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._warned_plain_http = False

    # -- reachability -------------------------------------------------------------------------

    def unreachable_message(self) -> str:
        return f"cannot reach {self.label} at {self.base_url} — is it running?"

    def check_retry(self) -> None:
        """While the server is down, fail fast until the next retry is due (no network)."""
        with self._lock:
            if self._down_since is not None and time.monotonic() < self._retry_at:
                raise BackendUnavailable(self.unreachable_message())

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

    def warn_plain_http(self) -> None:
        """Buffer text over plain http to another machine: say so once."""
        if self._warned_plain_http:
            return
        self._warned_plain_http = True
        if urlsplit(self.base_url).scheme == "http" and not is_loopback(self.base_url):
            self._notify(
                "warn",
                f"localllm: buffer text goes over plain http to {self.base_url}; "
                "use https or an SSH tunnel to a loopback port",
            )

    # -- requests ----------------------------------------------------------------------------

    def get_json(self, path: str, *, timeout_s: float | None = None) -> Any:
        with self._translate():
            response = self.client.get(path, timeout=timeout_s)
        return self._json_or_error(response)

    def post_json(
        self, path: str, body: Mapping[str, Any], *, timeout_s: float | None = None
    ) -> Any:
        with self._translate():
            response = self.client.post(path, json=body, timeout=timeout_s)
        return self._json_or_error(response)

    def _json_or_error(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
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

        Cancelling closes the response from the cancelling thread, so the server sees the
        connection drop and stops generating.
        """
        self.check_retry()
        self.warn_plain_http()
        with self._translate():
            request = self.client.build_request("POST", path, json=body)
            response = self.client.send(request, stream=True)
        closed = threading.Event()

        def close() -> None:
            if not closed.is_set():
                closed.set()
                response.close()

        cancel.on_cancel(close)
        try:
            if response.status_code >= 400:
                response.read()
                raise HttpStatusError(response.status_code, error_message(response), self.label)
            with self._translate(streaming=True):
                for line in response.iter_lines():
                    if cancel.cancelled:
                        return
                    yield line
        except (httpx.StreamClosed, httpx.ReadError):
            if not cancel.cancelled:
                raise BackendError(f"{self.label} closed the connection mid-answer") from None
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


class HttpStatusError(BackendError):
    """An HTTP error status, with the server's message."""

    def __init__(self, status: int, message: str, label: str) -> None:
        super().__init__(f"{label} answered HTTP {status}: {message}")
        self.status = status
        self.server_message = message
