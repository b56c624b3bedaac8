"""The llama-server backend: llama.cpp's own HTTP server, started by the user (as for llama.vim).

Once per (re)connection the backend reads /props (model file, context size), asks /infill with
nothing to do whether the model has FIM tokens (501 when it has none) and looks up the FIM token
ids: from the GGUF file itself when the server runs on this machine, else by tokenizing the
known family markers. Two ways to complete then:

- "completion": POST /completion with our own prompt as token ids, the same layout as the
  embedded backend (the typed part of the line after the middle token):

      [BOS] [SEP file\\n] PRE header+prefix SUF line_suffix\\n suffix MID middle

  While the user types on one line everything up to MID stays identical, so the server's prompt
  cache keeps it and only the few new tokens are evaluated per keystroke. The user's text is
  tokenized by POST /tokenize with parse_special false (strings inside a prompt array would be
  parsed with special tokens, so FIM marker text in the code would become control tokens);
  the token ids of unchanged pieces are remembered, so a keystroke costs one small /tokenize.
- "infill": POST /infill with input_prefix, input_suffix and `prompt` = the typed part of the
  line (llama.vim's request). The server puts `prompt` before its suffix token, so each
  keystroke re-evaluates the whole suffix; used when the FIM token ids cannot be found.

A model without FIM tokens is completed from the text before the cursor (/completion with a
plain prompt), after one warning. "auto" picks "completion" when the FIM ids are known.
Every request pins slot 0 and streams (SSE); cancelling closes the stream and the server stops.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import utf8
from ..errors import BackendError, BackendUnavailable
from ..fim_templates import TEMPLATES, FimTemplate, defuse_markers, template_for
from ..gguf_meta import GGUFError, read_gguf
from ..prompt import PromptTooLong, token_prompt
from ..types import FimContext, GenerationParams, RequestTimings
from . import BackendInfo, Cancellation, Notify
from .chat import ChatModel, ChatParams, ChatStats, Message, openai_chat_piece
from .http import (
    HttpService,
    HttpStatusError,
    api_key_from_env,
    is_loopback,
    iter_sse,
    normalize_url,
)

if TYPE_CHECKING:
    import httpx

    from ..config import Settings

log = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8012"
LABEL = "llama-server"
SLOT = 0
SLOT_WAIT_S = 3.0  # the longest wait for the slot a dropped request still holds
SLOT_POLL_S = 0.02
NO_FIM_WARNING = (
    "localllm: the model in llama-server has no FIM tokens: completing from the text before "
    "the cursor only; use a coder base model such as Qwen2.5-Coder"
)
RESPONSE_FIELDS = (
    "content",
    "model",
    "stop",
    "stop_type",
    "timings/prompt_n",
    "timings/cache_n",
    "timings/predicted_n",
    "tokens_cached",
    "truncated",
)
TOKEN_CACHE_SIZE = 16

# How a session completes.
INFILL = "infill"  # POST /infill, the server builds the FIM prompt
COMPLETION = "completion"  # POST /completion with our FIM token layout
PLAIN = "plain"  # POST /completion with the text before the cursor (no FIM tokens)

_ENDPOINT_DETAIL = {
    INFILL: "/infill",
    COMPLETION: "/completion with FIM token ids",
    PLAIN: "/completion, no FIM tokens: prefix only",
}


@dataclass(slots=True)
class _Session:
    """What we learnt about the server on connecting; dropped when it goes away."""

    model_path: str | None
    model_id: str | None  # what the server calls the model in its answers (alias or path)
    n_ctx: int | None
    build: str | None
    fim: bool
    endpoint: str
    fim_ids: dict[str, int] = field(default_factory=dict)
    bos: int | None = None
    template: FimTemplate | None = None
    tokens: OrderedDict[str, list[int]] = field(default_factory=OrderedDict)

    @property
    def model(self) -> str | None:
        return os.path.basename(self.model_path) if self.model_path else None


def clean_text(text: str) -> str:
    """Text that can go into JSON: invalid UTF-8 from the buffer (lone surrogates) replaced."""
    return utf8.valid(text)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class LlamaServerBackend:
    name = "llama_server"

    def __init__(
        self,
        settings: Settings,
        *,
        notify: Notify | None = None,
        base_url: str | None = None,
        env: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._conf = settings.llama_server
        self._notify = notify or (lambda level, message: None)
        url = normalize_url(base_url or self._conf.url or DEFAULT_URL, "llama_server.url")
        self._key_env = self._conf.api_key_env
        self._has_key = api_key_from_env(self._key_env, env) is not None
        self._http = HttpService(
            LABEL,
            url,
            api_key=api_key_from_env(self._key_env, env),
            notify=notify,
            timeout_s=self._conf.timeout_ms / 1000.0,
            timeout_key="llama_server.timeout_ms",
            transport=transport,
            allow_remote_http=settings.privacy.allow_remote_http,
        )
        self.url = self._http.base_url
        self._lock = threading.Lock()
        self._session: _Session | None = None
        self._state = "idle"
        self._detail = ""
        self._warned_no_fim = False
        self._warned_no_ids = False
        # A request dropped mid-answer holds the server's slot until the batch it is on ends;
        # the next request waits for that (_wait_for_slot). None: /slots not asked yet.
        self._slot_busy = False
        self._slots_endpoint: bool | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def info(self) -> BackendInfo:
        session = self._session
        if session is None:
            return BackendInfo(self.name, None, None, self._state, self._detail or self.url)
        parts = [_ENDPOINT_DETAIL[session.endpoint]]
        if session.n_ctx:
            parts.append(f"n_ctx {session.n_ctx}")
        parts.append(self.url)
        return BackendInfo(self.name, session.model, session.fim, "ready", ", ".join(parts))

    def prepare(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            try:
                self._http.check_retry()
                self._http.get_json("/health")
                session = self._connect()
            except HttpStatusError as exc:
                error = self._status_error(exc)
                self._set_failed(error, loading=exc.status == 503)
                raise error from None
            except BackendError as exc:
                self._set_failed(exc)
                raise
            self._session = session
            self._state, self._detail = "ready", ""
            log.info("llama-server at %s: %s", self.url, self.info().detail)

    def close(self) -> None:
        self._http.close()  # first: a prepare() blocked on the server returns, and its lock
        with self._lock:
            self._session = None
            self._state, self._detail = "idle", ""

    def _set_failed(self, error: BackendError, *, loading: bool = False) -> None:
        self._session = None
        self._state = "loading" if loading else "error"
        self._detail = str(error)

    # -- connecting ------------------------------------------------------------------------

    def _connect(self) -> _Session:
        props = self._http.get_json("/props")
        if not isinstance(props, dict):
            props = {}
        model_path = props.get("model_path")
        model_path = model_path if isinstance(model_path, str) and model_path else None
        settings = props.get("default_generation_settings")
        n_ctx = _int(settings.get("n_ctx")) if isinstance(settings, dict) else None
        build = props.get("build_info")
        build = build if isinstance(build, str) else None
        alias = props.get("model_alias")
        model_id = alias if isinstance(alias, str) and alias else model_path
        fim = self._probe_infill()
        session = _Session(model_path, model_id, n_ctx, build, fim, PLAIN if not fim else INFILL)
        wanted = self._conf.endpoint
        if not fim:
            if not self._warned_no_fim:
                self._warned_no_fim = True
                self._notify("warn", NO_FIM_WARNING)
            session.bos = self._bos_id()
        elif wanted != INFILL:
            found = self._fim_ids_from_gguf(model_path) or self._fim_ids_from_tokenize(session)
            if found is not None:
                session.fim_ids, session.template = found
                session.bos = self._bos_id()
                session.endpoint = COMPLETION
            elif wanted == COMPLETION and not self._warned_no_ids:
                self._warned_no_ids = True
                self._notify(
                    "warn",
                    "localllm: cannot find the FIM token ids of the model in llama-server; "
                    "using its /infill endpoint (set fim_template to name the model family)",
                )
        log.debug(
            "llama-server %s (%s): n_ctx %s, fim %s, ids %s, bos %s, template %s",
            session.model,
            build,
            n_ctx,
            fim,
            session.fim_ids,
            session.bos,
            session.template.name if session.template else None,
        )
        return session

    def _probe_infill(self) -> bool:
        """True when /infill works; 501 not_supported_error means the model has no FIM tokens."""
        probe = {
            "input_prefix": "",
            "input_suffix": "",
            "n_predict": 0,
            "id_slot": SLOT,
            "cache_prompt": True,
            "response_fields": [""],
        }
        try:
            self._http.post_json("/infill", probe)
        except HttpStatusError as exc:
            if exc.status == 501:
                return False
            raise
        return True

    def _fim_ids_from_gguf(
        self, model_path: str | None
    ) -> tuple[dict[str, int], FimTemplate | None] | None:
        """The FIM ids from the model file, when the server runs here and the file is readable."""
        if not model_path or not is_loopback(self.url) or not os.path.isfile(model_path):
            return None
        try:
            meta = read_gguf(model_path, tokens=True)
        except (OSError, GGUFError) as exc:
            log.debug("cannot read %s: %s", model_path, exc)
            return None
        if not meta.has_fim:
            return None
        ids = {k: v for k, v in meta.fim_token_ids.items() if k in ("pre", "suf", "mid", "sep")}
        template = None
        if meta.tokens is not None:
            pre_text = meta.tokens[ids["pre"]]
            template = next(
                (t for t in self._candidates(model_path) if t.prefix.strip() == pre_text.strip()),
                None,
            )
        if template is None:
            template = template_for(os.path.basename(model_path), self._settings.fim_template)
        return ids, template

    def _candidates(self, model_path: str | None) -> list[FimTemplate]:
        """Families to try, the configured or name-matched one first (prefix-suffix-middle)."""
        first = template_for(os.path.basename(model_path or ""), self._settings.fim_template)
        ordered = [first] if first is not None else []
        ordered += [t for t in TEMPLATES.values() if t is not first]
        return [t for t in ordered if not t.suffix_first and t.middle.strip()]

    def _fim_ids_from_tokenize(
        self, session: _Session
    ) -> tuple[dict[str, int], FimTemplate | None] | None:
        """Find the ids by tokenizing the known family markers: one token each is the id."""
        single: dict[str, int | None] = {}

        def one_token(marker: str) -> int | None:
            marker = marker.strip()
            if marker not in single:
                ids = self._tokenize_raw(marker, special=True)
                single[marker] = ids[0] if len(ids) == 1 else None
                # A real control token: as plain text it is several tokens.
                if single[marker] is not None and len(self._tokenize_raw(marker)) == 1:
                    single[marker] = None
            return single[marker]

        for template in self._candidates(session.model_path):
            pre = one_token(template.prefix)
            if pre is None:
                continue
            suf, mid = one_token(template.suffix), one_token(template.middle)
            if suf is None or mid is None:
                continue
            ids = {"pre": pre, "suf": suf, "mid": mid}
            if template.file_sep:
                sep = one_token(template.file_sep)
                if sep is not None:
                    ids["sep"] = sep
            return ids, template
        return None

    def _bos_id(self) -> int | None:
        """The BOS id when the server's tokenizer adds one, else None."""
        plain = self._tokenize_raw("a")
        body = self._http.post_json(
            "/tokenize",
            {"content": "a", "add_special": True, "parse_special": False},
            timeout_s=self._http.quick_s,
        )
        with_special = self._ids(body)
        if len(with_special) > len(plain) and with_special[1 : 1 + len(plain)] == plain:
            return with_special[0]
        return None

    # -- tokens ----------------------------------------------------------------------------

    def _ids(self, body: Any) -> list[int]:
        tokens = body.get("tokens") if isinstance(body, dict) else None
        if not isinstance(tokens, list):
            raise BackendError("llama-server sent an unexpected /tokenize answer")
        out: list[int] = []
        for t in tokens:
            value = _int(t.get("id") if isinstance(t, dict) else t)
            if value is None:
                raise BackendError("llama-server sent an unexpected /tokenize answer")
            out.append(value)
        return out

    def _tokenize_raw(self, text: str, *, special: bool = False) -> list[int]:
        body = self._http.post_json(
            "/tokenize",
            {"content": text, "add_special": False, "parse_special": special},
            timeout_s=self._http.quick_s,
        )
        return self._ids(body)

    def _tokenize(self, session: _Session, text: str) -> list[int]:
        """User text as plain tokens (marker text stays text), remembered per piece of text."""
        if not text:
            return []
        cache = session.tokens
        ids = cache.get(text)
        if ids is not None:
            cache.move_to_end(text)
            return ids
        ids = self._tokenize_raw(clean_text(text))
        cache[text] = ids
        while len(cache) > TOKEN_CACHE_SIZE:
            cache.popitem(last=False)
        return ids

    # -- requests --------------------------------------------------------------------------

    def build_prompt(self, ctx: FimContext, n_predict: int) -> list[int]:
        """The /completion prompt for `ctx` as token ids (connects first if needed)."""
        self.prepare()
        session = self._session
        if session is None:
            raise BackendUnavailable(f"llama-server at {self.url} is not connected")
        return self._build_prompt(session, ctx, n_predict)

    def _build_prompt(self, session: _Session, ctx: FimContext, n_predict: int) -> list[int]:
        """Token ids for /completion, cut at the start to fit the server's context."""
        fim = session.fim_ids if session.endpoint == COMPLETION else None
        limit = session.n_ctx - n_predict - 1 if session.n_ctx else 1 << 30
        try:
            return token_prompt(
                ctx,
                lambda text: self._tokenize(session, text),
                fim=fim,
                bos=session.bos,
                limit=limit,
            )
        except PromptTooLong as exc:
            # The prefix is cut away already: lowering context.prefix_tokens would not help.
            raise BackendError(
                "the cursor line and the lines after it do not fit llama-server's context "
                f"(n_ctx {session.n_ctx} per slot); start llama-server with "
                f"-c {exc.needed + n_predict + 1} or more (times --parallel)"
            ) from None

    def _request(
        self, session: _Session, ctx: FimContext, params: GenerationParams
    ) -> tuple[str, dict[str, Any]]:
        stop = list(params.stop)
        if session.endpoint == INFILL:
            after = ctx.after_cursor
            path = "/infill"
            body: dict[str, Any] = {
                "input_prefix": clean_text(ctx.header + ctx.prefix),
                "input_suffix": clean_text(after),
                "input_extra": [
                    {"filename": path, "text": clean_text(text.rstrip() + "\n")}
                    for path, text in ctx.extra
                ],
                # The server parses special tokens in `prompt` (not in the input_* fields) and
                # drops a token-id `prompt` (measured), so marker text in it is defused.
                "prompt": defuse_markers(clean_text(ctx.middle)),
            }
        else:
            path = "/completion"
            body = {"prompt": self._build_prompt(session, ctx, params.n_predict)}
            if session.template is not None:
                stop += [s for s in session.template.stop if s not in stop]
        body.update(
            stream=True,
            cache_prompt=True,
            id_slot=SLOT,
            n_predict=params.n_predict,
            temperature=params.temperature,
            top_k=params.top_k,
            top_p=params.top_p,
            min_p=params.min_p,
            repeat_penalty=params.repeat_penalty,
            stop=stop,
            t_max_predict_ms=params.time_limit_ms,
            response_fields=list(RESPONSE_FIELDS),
        )
        return path, body

    def complete(
        self,
        ctx: FimContext,
        params: GenerationParams,
        cancel: Cancellation,
        timings: RequestTimings,
    ) -> Iterator[str]:
        if self._session is None:
            self.prepare()
        session = self._session
        if session is None:  # closed meanwhile
            raise BackendUnavailable(f"llama-server at {self.url} is not connected")
        try:
            path, body = self._request(session, ctx, params)
            yield from self._stream(session, path, body, cancel, timings)
        except HttpStatusError as exc:
            error = self._status_error(exc)
            if not self._is_context_error(exc):
                # Ask the server again before the next request: it may run another model now.
                self._set_failed(error, loading=exc.status == 503)
            raise error from None
        except BackendUnavailable as exc:
            self._set_failed(exc)
            raise

    def _stream(
        self,
        session: _Session,
        path: str,
        body: Mapping[str, Any],
        cancel: Cancellation,
        timings: RequestTimings,
    ) -> Iterator[str]:
        final = False
        if not self._wait_for_slot(cancel):
            timings.finish = "cancelled"
            return
        lines = self._http.stream_lines(path, body, cancel)
        try:
            for event in iter_sse(lines):
                error = event.get("error")
                if error is not None:
                    raise self._event_error(error)
                content = event.get("content")
                if isinstance(content, str) and content:
                    yield content
                if event.get("stop") is True or "stop_type" in event:
                    final = True
                    self._fill_timings(event, timings)
                    self._check_model(session, event.get("model"))
                    # Stop here: llama-server closes the connection after a stream although
                    # it says keep-alive; closing the response before the end of the body
                    # makes httpx drop that connection instead of reusing a closed one.
                    break
        finally:
            close = getattr(lines, "close", None)
            if close is not None:
                close()  # closes the response: a cancelled or abandoned answer stops the server
            if not final:
                self._slot_busy = True
        if cancel.cancelled:
            timings.finish = "cancelled"
        elif not final:
            raise BackendError("llama-server ended the answer without its final event")

    def _wait_for_slot(self, cancel: Cancellation) -> bool:
        """After a request was dropped mid-answer, wait until the server has let go of it.

        llama-server notices a closed connection only when the batch it evaluates ends, and
        requests sent meanwhile queue behind it; each of those is then started for one batch
        too, although nobody waits for it. Typing fast, that is a growing queue of work for
        requests long cancelled (the soak benchmark saw minutes of it). So the next request
        waits until /slots says our slot is idle, and one cancelled while it waits is never
        sent. Servers without /slots (--no-slots) are not asked again. False when cancelled.
        """
        if not self._slot_busy or self._slots_endpoint is False:
            return not cancel.cancelled
        deadline = time.monotonic() + SLOT_WAIT_S
        while not cancel.cancelled and time.monotonic() < deadline:
            try:
                slots = self._http.get_json("/slots", timeout_s=1.0)
            except HttpStatusError:
                self._slots_endpoint = False
                break
            except BackendError:
                break
            self._slots_endpoint = True
            busy = isinstance(slots, list) and any(
                isinstance(slot, dict) and slot.get("id") == SLOT and slot.get("is_processing")
                for slot in slots
            )
            if not busy:
                break
            cancel.wait(SLOT_POLL_S)
        if cancel.cancelled:
            return False  # the server may still be busy: the next request waits too
        self._slot_busy = False
        return True

    def _check_model(self, session: _Session, model: Any) -> None:
        """A server restarted with another model between two requests: connect again."""
        if isinstance(model, str) and session.model_id and model != session.model_id:
            log.info("llama-server now runs %s (was %s): reconnecting", model, session.model_id)
            with self._lock:
                if self._session is session:
                    self._session = None

    @staticmethod
    def _fill_timings(event: Mapping[str, Any], timings: RequestTimings) -> None:
        evaluated = _int(event.get("timings/prompt_n")) or 0
        reused = _int(event.get("timings/cache_n")) or 0
        timings.tokens_evaluated = evaluated
        timings.tokens_reused = reused
        timings.tokens_prompt = evaluated + reused
        timings.tokens_generated = _int(event.get("timings/predicted_n")) or 0
        stop_type = event.get("stop_type")
        if isinstance(stop_type, str) and stop_type != "none":
            timings.finish = stop_type
        if event.get("truncated") is True:
            log.debug(
                "llama-server truncated the prompt (tokens_cached %s)", event.get("tokens_cached")
            )

    # -- errors ----------------------------------------------------------------------------

    def _key_hint(self) -> str:
        if self._key_env:
            return f"set ${self._key_env} (llama_server.api_key_env)"
        return "set llama_server.api_key_env to the name of a variable that holds the key"

    def _status_error(self, exc: HttpStatusError) -> BackendError:
        """Our error for an HTTP error status, with what to do about it."""
        if exc.status in (401, 403):
            if self._has_key:
                return BackendError(
                    f"llama-server rejected the API key: {self._key_hint()} to the server's "
                    "--api-key"
                )
            return BackendError(f"llama-server wants an API key: {self._key_hint()}")
        if exc.status == 503:
            return BackendUnavailable(f"llama-server at {self.url} is still loading its model")
        if self._is_context_error(exc):
            return self._context_error()
        if exc.status == 404:
            return BackendError(
                f"{exc} — is {self.url} a llama.cpp llama-server? (llama_server.url)"
            )
        return exc

    @staticmethod
    def _is_context_error(exc: HttpStatusError) -> bool:
        # exceed_context_size_error: "request (N tokens) exceeds the available context size"
        return exc.status == 400 and "context size" in exc.server_message

    @staticmethod
    def _context_error() -> BackendError:
        return BackendError(
            "the prompt does not fit llama-server's context (-c); lower context.prefix_tokens "
            "or start the server with a larger -c"
        )

    def _event_error(self, error: Any) -> BackendError:
        if isinstance(error, dict):
            if error.get("type") == "exceed_context_size_error":
                return self._context_error()
            message = error.get("message", error)
        else:
            message = error
        return BackendError(f"llama-server reported an error: {str(message)[:300]}")

    # -- chat (:LocalLLMExplain) -------------------------------------------------------------

    def chat_model(self) -> ChatModel:
        """What the server runs (GET /props): its model, context size and chat template."""
        self._http.check_retry()
        try:
            props = self._http.get_json("/props")
        except HttpStatusError as exc:
            raise self._status_error(exc) from None
        if not isinstance(props, dict):
            props = {}
        model_path = props.get("model_path")
        alias = props.get("model_alias")
        label = alias if isinstance(alias, str) and alias else model_path
        label = os.path.basename(label) if isinstance(label, str) and label else "llama-server"
        settings = props.get("default_generation_settings")
        n_ctx = _int(settings.get("n_ctx")) if isinstance(settings, dict) else None
        note = None
        if not props.get("chat_template"):
            note = (
                "the model in llama-server has no chat template: the server's default "
                "template is used and the answer may be poor; run an instruct model"
            )
        return ChatModel(label, n_ctx, note)

    def chat(
        self,
        messages: Sequence[Message],
        params: ChatParams,
        cancel: Cancellation,
        stats: ChatStats,
    ) -> Iterator[str]:
        """POST /v1/chat/completions, streamed; no slot is pinned (completion keeps slot 0's
        cache when the server has more than one)."""
        body: dict[str, Any] = {
            "messages": [
                {"role": m["role"], "content": clean_text(m["content"])} for m in messages
            ],
            "stream": True,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "repeat_penalty": params.repeat_penalty,
            "cache_prompt": True,
            "stream_options": {"include_usage": True},
        }
        lines = self._http.stream_lines("/v1/chat/completions", body, cancel)
        try:
            for event in iter_sse(lines):
                error = event.get("error")
                if error is not None:
                    raise self._chat_error_event(error)
                piece = openai_chat_piece(event, stats)
                if piece:
                    yield piece
        except HttpStatusError as exc:
            if self._is_context_error(exc):
                raise BackendError(CHAT_CONTEXT_ERROR) from None
            raise self._status_error(exc) from None
        finally:
            close = getattr(lines, "close", None)
            if close is not None:
                close()
        if cancel.cancelled:
            stats.finish = "cancelled"

    def _chat_error_event(self, error: Any) -> BackendError:
        if isinstance(error, dict) and error.get("type") == "exceed_context_size_error":
            return BackendError(CHAT_CONTEXT_ERROR)
        return self._event_error(error)


CHAT_CONTEXT_ERROR = (
    "the question does not fit llama-server's context (-c): select less code or start the "
    "server with a larger -c"
)
