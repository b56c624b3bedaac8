"""The Ollama backend: POST /api/generate with an NDJSON stream.

The model is `ollama.model`, or the first pulled model that can fill in the middle: its
`/api/show` capabilities include `insert` (its template uses `.Suffix`) or its name maps to one
of our FIM templates. How the fill-in-the-middle request is made (`ollama.mode`):

- raw: our own FIM prompt (fim_templates) sent verbatim with `raw: true`. It names the file, and
  the typed part of the line goes after the middle marker, so everything before it stays the
  same while the user types and Ollama's llama-server reuses its KV cache. `suffix` is never
  sent with it: raw mode ignores it for the prompt but still demands the insert capability.
- suffix: `prompt` (text before the cursor) and `suffix` (text after it); Ollama renders the
  model's own template. An empty suffix means "no FIM" to Ollama and an empty prompt only loads
  the model, so neither is ever sent empty.
- auto: raw when the FIM markers are known from `fim_template` or the model's name, else suffix
  when the model has the insert capability, else raw with the markers of the model's family,
  else a plain completion of the text before the cursor (said once).

Options stay the same between requests (a different `num_ctx` makes Ollama reload the model);
`stop` replaces the model's own stop parameters in Ollama, so those are sent along.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import BackendError, BackendUnavailable
from ..fim_templates import FimTemplate, template_for
from ..types import FimContext, GenerationParams, RequestTimings
from . import BackendInfo, Cancellation, Notify
from .chat import ChatModel, ChatParams, ChatStats, Message
from .http import HttpService, HttpStatusError, iter_ndjson, normalize_url

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["RECOMMENDED_MODEL", "OllamaBackend"]

log = logging.getLogger(__name__)

RECOMMENDED_MODEL = "qwen2.5-coder:1.5b-base"
# Loading a large model from disk can take far longer than one completion may.
LOAD_TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class _Plan:
    """The chosen model and how to ask it."""

    model: str
    mode: str  # "raw" | "suffix" | "plain"
    template: FimTemplate | None
    stop: tuple[str, ...]  # the model's own stop parameters, then the template's

    def describe(self) -> str:
        if self.mode == "raw" and self.template is not None:
            return f"raw FIM prompt ({self.template.name} markers)"
        if self.mode == "suffix":
            return "FIM through the model's template (suffix)"
        return "no FIM: text before the cursor only"


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for s in items if s))


def capabilities(show: dict[str, Any]) -> list[str]:
    """An /api/show answer's capabilities; older servers have none: derive them like Ollama."""
    caps = show.get("capabilities")
    if isinstance(caps, list):
        return [str(c) for c in caps]
    template = str(show.get("template") or "")
    return ["completion", "insert"] if ".Suffix" in template else ["completion"]


def parameter_stops(show: dict[str, Any]) -> list[str]:
    """The `stop` lines of an /api/show `parameters` text (`stop   "<|endoftext|>"`)."""
    stops = []
    for line in str(show.get("parameters") or "").splitlines():
        key, _, value = line.strip().partition(" ")
        value = value.strip()
        if key != "stop" or not value:
            continue
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value.strip('"')
        if isinstance(parsed, str) and parsed:
            stops.append(parsed)
    return stops


def keep_alive_value(text: str) -> str | int:
    """Ollama takes a duration ("30m") or seconds as a number; "-1" alone is not a duration."""
    return int(text) if re.fullmatch(r"-?\d+", text.strip()) else text


class OllamaBackend:
    name = "ollama"

    def __init__(
        self,
        settings: Settings,
        *,
        notify: Notify | None = None,
        base_url: str | None = None,
    ) -> None:
        self._settings = settings
        self._ollama = settings.ollama
        self._notify: Notify = notify or (lambda level, message: None)
        url = normalize_url(base_url or self._ollama.url, "ollama.url")
        self._service = HttpService(
            "Ollama",
            url,
            notify=self._notify,
            timeout_s=self._ollama.timeout_ms / 1000.0,
            timeout_key="ollama.timeout_ms",
            allow_remote_http=settings.privacy.allow_remote_http,
        )
        self._lock = threading.Lock()
        self._plan: _Plan | None = None
        self._state = "idle"
        self._detail = ""
        self._said_no_fim = False
        # :LocalLLMExplain's model (explain.server_model); None: ollama.model, else the
        # completion model.
        self.chat_name: str | None = None
        self._chat: str | None = None

    @property
    def url(self) -> str:
        return self._service.base_url

    # -- lifecycle -------------------------------------------------------------------------

    def info(self) -> BackendInfo:
        plan = self._plan
        model = plan.model if plan else self._ollama.model
        fim = None if plan is None else plan.mode != "plain"
        return BackendInfo(self.name, model, fim, self._state, self._detail)

    def prepare(self) -> None:
        """Find the model and how to ask it, and have Ollama load it (once per success)."""
        with self._lock:
            if self._plan is not None:
                return
            try:
                plan = self._connect()
            except BackendError as exc:
                self._state, self._detail = "error", str(exc)
                raise
            self._plan = plan
            self._state, self._detail = "ready", f"{plan.describe()}, {self.url}"

    def close(self) -> None:
        self._service.close()

    def _connect(self) -> _Plan:
        self._service.check_retry()
        self._state, self._detail = "loading", f"connecting to {self.url}"
        tags = self._service.get_json("/api/tags")
        models = tags.get("models") if isinstance(tags, dict) else None
        names = [
            str(m.get("name") or m.get("model"))
            for m in (models if isinstance(models, list) else [])
            if isinstance(m, dict) and (m.get("name") or m.get("model"))
        ]
        wanted = self._ollama.model
        if wanted:
            name, show = wanted, self._show(wanted)
        else:
            name, show = self._pick(names)
        plan = self._plan_for(name, show)
        self._load(plan)
        if plan.mode == "plain" and not self._said_no_fim:
            self._said_no_fim = True
            self._notify(
                "warn",
                f"localllm: Ollama model '{name}' cannot fill in the middle; completing from "
                f"the text before the cursor only (for FIM: ollama pull {RECOMMENDED_MODEL})",
            )
        log.info("Ollama at %s: %s, %s", self.url, name, plan.describe())
        return plan

    def _show(self, name: str) -> dict[str, Any]:
        try:
            show = self._service.post_json(
                "/api/show", {"model": name}, timeout_s=self._service.quick_s
            )
        except HttpStatusError as exc:
            if exc.status == 404:
                raise BackendError(self._missing(name)) from None
            raise
        if not isinstance(show, dict):
            raise BackendError("Ollama sent an unexpected answer to /api/show")
        return show

    @staticmethod
    def _missing(name: str) -> str:
        return f"Ollama has no model '{name}' — run: ollama pull {name}"

    def _pick(self, names: list[str]) -> tuple[str, dict[str, Any]]:
        """The first pulled model that can fill in the middle."""
        for name in names:
            try:
                show = self._show(name)
            except BackendUnavailable:
                raise
            except BackendError:
                continue  # removed since /api/tags, or not showable
            caps = capabilities(show)
            if "completion" not in caps:
                continue  # embedding models
            if "insert" in caps or template_for(name) is not None:
                return name, show
        pulled = f"pulled: {', '.join(names)}" if names else "no models pulled"
        raise BackendError(
            f"Ollama at {self.url} has no model that can fill in the middle ({pulled}) — "
            f"pull a FIM model: ollama pull {RECOMMENDED_MODEL} (or set ollama.model)"
        )

    def _plan_for(self, name: str, show: dict[str, Any]) -> _Plan:
        details = show.get("details")
        family = str(details.get("family") or "") if isinstance(details, dict) else ""
        override = self._settings.fim_template
        by_name = template_for(name, override)
        by_family = template_for(family) if family and not override else None
        insert = "insert" in capabilities(show)
        mode = self._ollama.mode
        template: FimTemplate | None
        if mode == "raw":
            template = by_name or by_family
            if template is None:
                raise BackendError(
                    f"ollama.mode is 'raw' but the FIM markers of '{name}' are unknown — "
                    "set fim_template, or use ollama.mode = 'auto'"
                )
        elif mode == "suffix":
            if not insert:
                raise BackendError(
                    f"Ollama model '{name}' cannot fill in the middle through `suffix` (its "
                    "template has no .Suffix) — use ollama.mode = 'auto' or 'raw'"
                )
            template = by_name or by_family
        elif by_name is not None:
            mode, template = "raw", by_name
        elif insert:
            mode, template = "suffix", by_family
        elif by_family is not None:
            mode, template = "raw", by_family
        else:
            mode, template = "plain", None
        stops = _dedupe([*parameter_stops(show), *(template.stop if template else ())])
        return _Plan(name, mode, template, stops)

    def _load(self, plan: _Plan) -> None:
        """An empty prompt makes Ollama load the model (with our runner options) and answer."""
        self._state, self._detail = "loading", f"Ollama is loading {plan.model}"
        body = {
            "model": plan.model,
            "keep_alive": keep_alive_value(self._ollama.keep_alive),
            "options": {"num_ctx": self._ollama.num_ctx},
        }
        timeout = max(LOAD_TIMEOUT_S, self._ollama.timeout_ms / 1000.0)
        try:
            answer = self._service.post_json("/api/generate", body, timeout_s=timeout)
        except HttpStatusError as exc:
            if exc.status == 404:
                raise BackendError(self._missing(plan.model)) from None
            raise BackendError(
                f"Ollama could not load '{plan.model}': {exc.server_message}"
            ) from None
        if isinstance(answer, dict) and answer.get("error"):
            raise BackendError(f"Ollama could not load '{plan.model}': {answer['error']}")

    # -- completion ------------------------------------------------------------------------

    def request_body(
        self, ctx: FimContext, params: GenerationParams, plan: _Plan | None = None
    ) -> dict[str, Any] | None:
        """The /api/generate body for `ctx`, or None when there is nothing to send."""
        plan = plan or self._plan
        if plan is None:
            raise BackendError("the Ollama backend is not prepared")
        options: dict[str, Any] = {
            "num_predict": params.n_predict,
            "temperature": params.temperature,
            "top_k": params.top_k,
            "top_p": params.top_p,
            "min_p": params.min_p,
            "repeat_penalty": params.repeat_penalty,
            "num_ctx": self._ollama.num_ctx,
        }
        stop = _dedupe([*plan.stop, *params.stop])
        if stop:
            options["stop"] = list(stop)
        body: dict[str, Any] = {
            "model": plan.model,
            "stream": True,
            "keep_alive": keep_alive_value(self._ollama.keep_alive),
            "options": options,
        }
        before = ctx.header + ctx.prefix + ctx.middle
        if plan.mode == "raw" and plan.template is not None:
            body["prompt"] = plan.template.render(ctx, ctx.extra)
            body["raw"] = True
        elif plan.mode == "suffix":
            body["prompt"] = before or "\n"  # an empty prompt only loads the model
            body["suffix"] = ctx.line_suffix + "\n" + ctx.suffix  # never empty: "" is no FIM
        else:
            if not before:
                return None
            body["prompt"] = before
            body["raw"] = True  # the text itself, not wrapped in a chat template
        return body

    def complete(
        self,
        ctx: FimContext,
        params: GenerationParams,
        cancel: Cancellation,
        timings: RequestTimings,
    ) -> Iterator[str]:
        if self._plan is None:
            self.prepare()
        plan = self._plan
        assert plan is not None
        body = self.request_body(ctx, params, plan)
        if body is None:
            timings.finish = "empty_prompt"
            return
        limit_s = params.time_limit_ms / 1000.0
        deadline = 0.0
        lines = self._service.stream_lines("/api/generate", body, cancel)
        try:
            for obj in iter_ndjson(lines):
                if "error" in obj:
                    raise BackendError(f"Ollama reported an error: {str(obj['error'])[:300]}")
                text = obj.get("response")
                if isinstance(text, str) and text:
                    yield text
                    now = time.monotonic()
                    if not deadline:
                        deadline = now + limit_s
                    elif now > deadline:
                        timings.finish = "time_limit"
                        return
                if obj.get("done"):
                    timings.tokens_evaluated = int(obj.get("prompt_eval_count") or 0)
                    timings.tokens_generated = int(obj.get("eval_count") or 0)
                    timings.finish = str(obj.get("done_reason") or "stop")
                    self._state, self._detail = "ready", f"{plan.describe()}, {self.url}"
                    return
            if not cancel.cancelled:
                raise BackendError("Ollama ended the answer before it was done")
        except HttpStatusError as exc:
            if exc.status == 404:
                self._plan = None  # removed since prepare(): look again next time
                self._state, self._detail = "error", self._missing(plan.model)
                raise BackendError(self._missing(plan.model)) from None
            raise
        except BackendUnavailable as exc:
            self._state, self._detail = "error", str(exc)
            raise
        finally:
            close = getattr(lines, "close", None)
            if close is not None:
                close()

    # -- chat (:LocalLLMExplain) -------------------------------------------------------------

    def chat_model(self) -> ChatModel:
        """The chat model: explain.server_model, ollama.model, else the completion model."""
        self._service.check_retry()
        name = self.chat_name or self._ollama.model or self._first_chat_model()
        show = self._show(name)
        caps = capabilities(show)
        if "completion" not in caps:
            raise BackendError(
                f"Ollama model '{name}' cannot chat (capabilities: {', '.join(caps)}) — "
                "set explain.server_model to a chat model"
            )
        self._chat = name
        return ChatModel(name, self._ollama.num_ctx)

    def _first_chat_model(self) -> str:
        """The completion model when there is one, else the first pulled model that chats."""
        try:
            self.prepare()
        except BackendUnavailable:
            raise
        except BackendError:
            pass
        if self._plan is not None:
            return self._plan.model
        tags = self._service.get_json("/api/tags")
        models = tags.get("models") if isinstance(tags, dict) else None
        for entry in models if isinstance(models, list) else []:
            name = entry.get("name") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not name:
                continue
            try:
                if "completion" in capabilities(self._show(name)):
                    return name
            except BackendUnavailable:
                raise
            except BackendError:
                continue
        raise BackendError(
            f"Ollama at {self.url} has no model to explain with — pull an instruct model "
            "(e.g. ollama pull qwen2.5-coder:1.5b-instruct) and set explain.server_model"
        )

    def chat(
        self,
        messages: Sequence[Message],
        params: ChatParams,
        cancel: Cancellation,
        stats: ChatStats,
    ) -> Iterator[str]:
        """POST /api/chat, NDJSON stream; the model renders its own chat template."""
        name = self._chat or self.chat_model().label
        body: dict[str, Any] = {
            "model": name,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "stream": True,
            "keep_alive": keep_alive_value(self._ollama.keep_alive),
            # The same num_ctx as completion: another one would make Ollama reload the model.
            "options": {
                "num_predict": params.max_tokens,
                "temperature": params.temperature,
                "repeat_penalty": params.repeat_penalty,
                "num_ctx": self._ollama.num_ctx,
            },
        }
        lines = self._service.stream_lines("/api/chat", body, cancel)
        try:
            for obj in iter_ndjson(lines):
                if "error" in obj:
                    raise BackendError(f"Ollama reported an error: {str(obj['error'])[:300]}")
                message = obj.get("message")
                content = message.get("content") if isinstance(message, dict) else None
                if isinstance(content, str) and content:
                    yield content
                if obj.get("done"):
                    stats.prompt_tokens = int(obj.get("prompt_eval_count") or 0)
                    stats.generated_tokens = int(obj.get("eval_count") or 0)
                    stats.finish = str(obj.get("done_reason") or "stop")
                    return
            if not cancel.cancelled:
                raise BackendError("Ollama ended the answer before it was done")
            stats.finish = "cancelled"
        except HttpStatusError as exc:
            if exc.status == 404:
                self._chat = None
                raise BackendError(self._missing(name)) from None
            raise BackendError(f"Ollama could not answer: {exc.server_message}") from None
        finally:
            close = getattr(lines, "close", None)
            if close is not None:
                close()
