"""The OpenAI-compatible backend: `POST /v1/completions` on vLLM, Ollama's /v1, LM Studio,
llama-server, llama-cpp-python's server or a hosted service.

Where the request goes: `openai.url` is the API root. When it already ends in `/v1` (the form
most servers document, e.g. http://127.0.0.1:8000/v1) we post to `<url>/completions`, otherwise
to `<url>/v1/completions`, so both spellings of a local server's address work.

Fill-in-the-middle: the OpenAI API has a `suffix` field, but servers differ in what they do
with it. `openai.suffix` chooses:

- "always": send `prompt` = the text before the cursor and `suffix` = the text after it;
- "never": send our own FIM prompt (the model family's markers, fim_templates) and no suffix;
  for a model no template is known for, complete from the text before the cursor only;
- "auto" (default): find out once, in prepare(), with a tiny request that carries a suffix.
  A 400/422 that names the suffix (vLLM: "suffix is not currently supported") means our own
  prompt. A 200 is not enough: current llama-server accepts `suffix` and silently drops it, so
  the probe compares `usage.prompt_tokens` with and without the suffix; when the suffix added
  no tokens it never reached the model. Should a later request still be refused for its
  suffix (another server came up on the same port), that request is retried with our prompt
  and the choice is kept for the session. info().detail says which mode is in use and why.

Stop strings: the user's `generation.stop`, then (with our own prompt) the family's stops,
end-of-text first. Local servers take any number; OpenAI itself allows four. We send them all
and, when a server refuses the request naming `stop`, keep the first four from then on (the
post-processor still cuts at any FIM marker that slips through). The same goes for
`stream_options` (asked for to get token counts): dropped for good if a server refuses it.
Only OpenAI's own sampling fields are sent (max_tokens, temperature, top_p, stop): OpenAI
rejects unknown fields such as top_k.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import BackendError, ConfigError
from ..fim_templates import FimTemplate, template_for
from ..types import FimContext, GenerationParams, RequestTimings
from . import BackendInfo, Cancellation, Notify
from .chat import ChatModel, ChatParams, ChatStats, Message, openai_chat_piece
from .http import HttpService, HttpStatusError, api_key_from_env, iter_sse, normalize_url

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger(__name__)

LABEL = "the OpenAI-compatible server"
MAX_STOPS_STRICT = 4  # OpenAI's limit on stop sequences
# A suffix of a few tokens in any tokenizer; FIM markers add more where the server honours it.
PROBE_SUFFIX = "\nb = 2\nc = 3\n"
# Words in a 400/422 message that mean "this server will not take a suffix" (vLLM and old
# llama-server name the field; Ollama says the model "does not support insert").
SUFFIX_REFUSALS = ("suffix", "insert")

MODE_TEXT = {
    "suffix": "FIM by the server (`suffix`)",
    "template": "our own FIM prompt",
    "plain": "no FIM: text before the cursor only",
}


def completions_path(url: str) -> str:
    return "/completions" if url.rstrip("/").endswith("/v1") else "/v1/completions"


def _dedupe(items: Iterator[str] | list[str] | tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(s for s in items if s))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def record_usage(event: Mapping[str, Any], timings: RequestTimings) -> None:
    """Token counts from a chunk: OpenAI's `usage`, and llama-server's `timings` if present."""
    usage = event.get("usage")
    if isinstance(usage, Mapping):
        prompt = _int(usage.get("prompt_tokens"))
        generated = _int(usage.get("completion_tokens"))
        details = usage.get("prompt_tokens_details")
        cached = _int(details.get("cached_tokens")) if isinstance(details, Mapping) else None
        if prompt is not None:
            reused = min(cached or 0, prompt)
            timings.tokens_prompt = prompt
            timings.tokens_reused = reused
            timings.tokens_evaluated = prompt - reused
        if generated is not None:
            timings.tokens_generated = generated
    extra = event.get("timings")  # llama-server: prompt_n evaluated, cache_n reused
    if isinstance(extra, Mapping):
        prompt_n, cache_n = _int(extra.get("prompt_n")), _int(extra.get("cache_n"))
        if prompt_n is not None and cache_n is not None:
            timings.tokens_evaluated = prompt_n
            timings.tokens_reused = cache_n
            timings.tokens_prompt = max(timings.tokens_prompt, prompt_n + cache_n)


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        settings: Settings,
        *,
        notify: Notify | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        oa = settings.openai
        if not oa.url or not oa.model:
            raise ConfigError(
                "openai",
                "backend 'openai' needs openai.url (e.g. http://127.0.0.1:8000/v1) "
                "and openai.model",
            )
        self._settings = settings
        self._model = oa.model
        self._suffix_setting = oa.suffix
        self._notify = notify or (lambda level, message: None)
        url = normalize_url(oa.url, "openai.url")
        self._path = completions_path(url)
        api_key = api_key_from_env(oa.api_key_env)
        self._sends_key = api_key is not None
        self._http = HttpService(
            LABEL,
            url,
            api_key=api_key,
            notify=notify,
            timeout_s=oa.timeout_ms / 1000.0,
            timeout_key="openai.timeout_ms",
            transport=transport,
            allow_remote_http=settings.privacy.allow_remote_http,
        )
        self._template: FimTemplate | None = template_for(oa.model, settings.fim_template)
        self._lock = threading.Lock()
        self._mode: str | None = None  # "suffix" | "template" | "plain"
        self._why = ""
        self._state = "idle"
        self._error = ""
        self._stream_options = True
        self._max_stops: int | None = None
        self._warned_no_fim = False
        # :LocalLLMExplain's model (explain.server_model); None: openai.model.
        self.chat_name: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def mode(self) -> str | None:
        """How FIM is done: "suffix", "template", "plain", or None before prepare() decided."""
        return self._mode

    @property
    def endpoint(self) -> str:
        return self._http.base_url + self._path

    def info(self) -> BackendInfo:
        mode, why = self._mode, self._why
        fim = None if mode is None else mode != "plain"
        if self._state == "error":
            detail = self._error
        elif mode is None:
            detail = f"{self.endpoint}; FIM mode not probed yet"
        else:
            name = f" ({self._template.name})" if mode == "template" and self._template else ""
            detail = f"{MODE_TEXT[mode]}{name}: {why}"
        return BackendInfo(self.name, self._model, fim, self._state, detail)

    def prepare(self) -> None:
        """Decide how to send the suffix; with openai.suffix "auto" this asks the server once."""
        with self._lock:
            if self._mode is not None:
                return
            setting = self._suffix_setting
            try:
                if setting == "always":
                    self._set_mode("suffix", "openai.suffix is 'always'")
                elif setting == "never":
                    self._set_mode(*self._own_prompt("openai.suffix is 'never'"))
                else:
                    self._set_mode(*self._probe())
            except BackendError as exc:
                self._state, self._error = "error", str(exc)
                raise
            self._state, self._error = "ready", ""

    def close(self) -> None:
        self._http.close()

    def _set_mode(self, mode: str, why: str) -> None:
        self._mode, self._why = mode, why
        log.info("openai backend at %s: %s", self.endpoint, MODE_TEXT[mode])
        log.debug("openai backend mode: %s", why)  # may quote the server (and the prompt)
        if mode == "plain" and not self._warned_no_fim:
            self._warned_no_fim = True
            self._notify(
                "warn",
                "localllm: completing from the text before the cursor only: no FIM template "
                f"is known for model '{self._model}' (set fim_template to the model's family)",
            )

    def _own_prompt(self, reason: str) -> tuple[str, str]:
        if self._template is not None:
            return "template", reason
        return "plain", f"{reason}; no FIM template known for model '{self._model}'"

    def _probe(self) -> tuple[str, str]:
        """One tiny request with a suffix, one without: does the suffix reach the model?"""
        self._http.check_retry()
        base = {
            "model": self._model,
            "prompt": "a",
            "max_tokens": 1,
            "temperature": 0.0,
            "stream": False,
        }
        try:
            with_suffix = self._http.post_json(self._path, {**base, "suffix": PROBE_SUFFIX})
        except HttpStatusError as exc:
            if self._refuses(exc, SUFFIX_REFUSALS):
                return self._own_prompt(f"the server refused `suffix` ({exc.server_message})")
            raise self._explain(exc) from None
        try:
            without = self._http.post_json(self._path, base)
        except HttpStatusError as exc:
            raise self._explain(exc) from None
        n_with, n_without = self._prompt_tokens(with_suffix), self._prompt_tokens(without)
        if n_with is None or n_without is None:
            return "suffix", "the server took `suffix` (not verified: it reports no token usage)"
        if n_with <= n_without:
            return self._own_prompt(
                f"the server ignores `suffix` (probe: {n_with} prompt tokens with it, "
                f"{n_without} without)"
            )
        return "suffix", f"the server takes `suffix` (probe: {n_with} vs {n_without} prompt tokens)"

    @staticmethod
    def _prompt_tokens(answer: Any) -> int | None:
        usage = answer.get("usage") if isinstance(answer, Mapping) else None
        return _int(usage.get("prompt_tokens")) if isinstance(usage, Mapping) else None

    # -- errors ----------------------------------------------------------------------------

    @staticmethod
    def _refuses(exc: HttpStatusError, words: tuple[str, ...]) -> bool:
        message = exc.server_message.lower()
        return exc.status in (400, 422) and any(w in message for w in words)

    def _explain(self, exc: HttpStatusError) -> BackendError:
        """The error with what to do about it."""
        env = self._settings.openai.api_key_env
        if exc.status in (401, 403):
            if env is None:
                return BackendError(
                    f"{LABEL} wants an API key: set openai.api_key_env to the name of an "
                    "environment variable that holds it"
                )
            verb = "rejected the API key" if self._sends_key else "wants an API key"
            return BackendError(f"{LABEL} {verb}: set ${env} (openai.api_key_env)")
        if exc.status == 404:
            message = exc.server_message
            if "model" in message.lower() or self._model in message:
                return BackendError(f"{LABEL} has no model '{self._model}' (openai.model)")
            return BackendError(
                f"{LABEL} has no completions endpoint at {self.endpoint} ({message}): "
                "check openai.url"
            )
        return exc

    # -- completion ------------------------------------------------------------------------

    def request_body(self, ctx: FimContext, params: GenerationParams) -> dict[str, Any]:
        """The JSON for `ctx` in the current mode."""
        stops = list(params.stop)
        before = ctx.header + ctx.prefix + ctx.middle
        body: dict[str, Any] = {"model": self._model}
        if self._mode == "suffix":
            body["prompt"] = before
            body["suffix"] = ctx.line_suffix + "\n" + ctx.suffix
        elif self._mode == "template" and self._template is not None:
            body["prompt"] = self._template.render(ctx, ctx.extra)
            stops += self._template.stop
        else:
            body["prompt"] = before
        body.update(max_tokens=params.n_predict, temperature=params.temperature)
        body.update(top_p=params.top_p, stream=True)
        stops = _dedupe(stops)
        if self._max_stops is not None:
            stops = stops[: self._max_stops]
        if stops:
            body["stop"] = stops
        if self._stream_options:
            body["stream_options"] = {"include_usage": True}
        return body

    def _adapt(self, exc: HttpStatusError, body: Mapping[str, Any]) -> bool:
        """After a refused request: change what we send if the refusal says what; True to retry."""
        with self._lock:
            if "suffix" in body and self._refuses(exc, SUFFIX_REFUSALS):
                if self._suffix_setting == "always":
                    raise BackendError(
                        f"{LABEL} does not take `suffix` ({exc.server_message}): "
                        "set openai.suffix to 'auto' or 'never'"
                    ) from None
                self._set_mode(
                    *self._own_prompt(f"the server refused `suffix` ({exc.server_message})")
                )
                return True
            if "stream_options" in body and self._refuses(exc, ("stream_options",)):
                log.info("%s refused stream_options; not sending it again", LABEL)
                self._stream_options = False
                return True
            if (
                len(body.get("stop", ())) > MAX_STOPS_STRICT
                and self._max_stops is None
                and self._refuses(exc, ("stop",))
            ):
                log.info(
                    "%s refused the stop list; sending %d from now on", LABEL, MAX_STOPS_STRICT
                )
                self._max_stops = MAX_STOPS_STRICT
                return True
        return False

    def complete(
        self,
        ctx: FimContext,
        params: GenerationParams,
        cancel: Cancellation,
        timings: RequestTimings,
    ) -> Iterator[str]:
        if self._mode is None:
            self.prepare()
        for _attempt in range(4):  # each refusal we can work around changes one thing, once
            if cancel.cancelled:
                return
            body = self.request_body(ctx, params)
            lines = self._http.stream_lines(self._path, body, cancel)
            try:
                first = next(lines)
            except StopIteration:
                if cancel.cancelled:
                    return
                raise BackendError(f"{LABEL} sent an empty answer") from None
            except HttpStatusError as exc:
                if self._adapt(exc, body):
                    continue
                error = self._explain(exc)
                if exc.status in (401, 403, 404):  # settings to fix, not a passing failure
                    self._state, self._error = "error", str(error)
                raise error from None
            if self._state == "error":
                self._state, self._error = "ready", ""
            try:
                yield from self._read(itertools.chain([first], lines), cancel, timings)
            finally:
                close = getattr(lines, "close", None)
                if close is not None:
                    close()  # drop the connection at once if the caller stopped early
            return
        raise BackendError(f"{LABEL} kept refusing the request; see the log file")

    def _read(
        self, lines: Iterator[str], cancel: Cancellation, timings: RequestTimings
    ) -> Iterator[str]:
        finished = False
        for event in iter_sse(lines):
            if cancel.cancelled:
                return
            error = event.get("error")
            if error:
                message = error.get("message", error) if isinstance(error, Mapping) else error
                raise BackendError(f"{LABEL} reported an error: {str(message)[:300]}")
            record_usage(event, timings)
            choices = event.get("choices")
            if not isinstance(choices, list):
                raise BackendError(f"{LABEL} sent a chunk without choices: {str(event)[:120]}")
            if not choices:
                continue  # the usage chunk
            choice = choices[0]
            if not isinstance(choice, Mapping):
                raise BackendError(f"{LABEL} sent an unexpected choice: {str(choice)[:120]}")
            finish = choice.get("finish_reason")
            if isinstance(finish, str) and finish:
                timings.finish = finish
                finished = True
            text = choice.get("text")
            if isinstance(text, str) and text:
                yield text
        if not finished and not cancel.cancelled:
            # A proxy's error page, or a stream cut short: no chunk said why it ended.
            raise BackendError(f"{LABEL} ended the answer before it was done")

    # -- chat (:LocalLLMExplain) -------------------------------------------------------------

    def chat_model(self) -> ChatModel:
        """No request needed: the server is asked when the question goes out."""
        self._http.check_retry()
        return ChatModel(self.chat_name or self._model, None)

    def chat(
        self,
        messages: Sequence[Message],
        params: ChatParams,
        cancel: Cancellation,
        stats: ChatStats,
    ) -> Iterator[str]:
        """POST /chat/completions (next to /completions), streamed as server-sent events."""
        path = self._path.replace("/completions", "/chat/completions")
        model = self.chat_name or self._model
        for _attempt in range(2):
            body: dict[str, Any] = {
                "model": model,
                "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
                "max_tokens": params.max_tokens,
                "temperature": params.temperature,
                "stream": True,
            }
            if self._stream_options:
                body["stream_options"] = {"include_usage": True}
            lines = self._http.stream_lines(path, body, cancel)
            try:
                for event in iter_sse(lines):
                    if cancel.cancelled:
                        break
                    error = event.get("error")
                    if error:
                        if isinstance(error, Mapping):
                            error = error.get("message", error)
                        raise BackendError(f"{LABEL} reported an error: {str(error)[:300]}")
                    piece = openai_chat_piece(event, stats)
                    if piece:
                        yield piece
            except HttpStatusError as exc:
                if "stream_options" in body and self._refuses(exc, ("stream_options",)):
                    self._stream_options = False
                    continue
                if exc.status == 404 and "model" in exc.server_message.lower():
                    raise BackendError(
                        f"{LABEL} has no model '{model}' (explain.server_model or openai.model)"
                    ) from None
                raise self._explain(exc) from None
            finally:
                close = getattr(lines, "close", None)
                if close is not None:
                    close()
            if cancel.cancelled:
                stats.finish = "cancelled"
            return
