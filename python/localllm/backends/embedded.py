"""The embedded backend: llama-cpp-python inside the plugin's own process, no server to start.

The FIM prompt is built as token ids here (llama-cpp-python's `suffix=` path puts token id 0
where the FIM tokens belong). Layout, PSM with the typed part of the line after the middle token:

    [BOS] [SEP file\\n] PRE header+prefix SUF line_suffix\\n suffix MID middle

Everything up to MID stays identical while the user types on one line, so llama.cpp's prefix
match reuses its KV cache and only the last few tokens are evaluated per keystroke. A model
without FIM tokens gets `[BOS] (// file) header+prefix middle` and the suffix only trims output.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .. import utf8
from ..errors import BackendError, ModelError
from ..gguf_meta import GGUFError, read_gguf
from ..models import no_model_help, pick_model
from ..prompt import PromptTooLong, token_prompt
from ..types import FimContext, GenerationParams, RequestTimings
from . import BackendInfo, Cancellation, Notify
from .chat import PLAIN_STOPS, ChatModel, ChatParams, ChatStats, Message, plain_chat_prompt

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger(__name__)

NULL_TOKEN = -1
_llama_log_callback: Any = None


def _route_llama_logs(llama_cpp: Any) -> None:
    """Send llama.cpp's own log lines to our log file instead of the process's stderr."""
    global _llama_log_callback
    if _llama_log_callback is not None:
        return
    import ctypes

    native = logging.getLogger("localllm.llama_cpp")

    def on_log(level: int, text: bytes, _user: Any) -> None:
        if native.isEnabledFor(logging.DEBUG):
            native.debug("%s", text.decode("utf-8", errors="replace").rstrip())

    _llama_log_callback = llama_cpp.llama_log_callback(on_log)
    llama_cpp.llama_log_set(_llama_log_callback, ctypes.c_void_p(0))


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


PREFILL_CHUNK = 128  # tokens evaluated between two looks at the cancellation


def _prefill(llm: Any, prompt: list[int], reused: int, cancel: Cancellation) -> bool:
    """Evaluate all but the last prompt token in chunks, looking at `cancel` between them:
    llama.cpp checks nothing while it evaluates, so a cancelled request would otherwise go on
    for its whole prompt (seconds for a cold one). generate() then finds the prompt cached and
    evaluates the last token itself. False when cancelled."""
    todo = len(prompt) - 1
    if todo - reused <= PREFILL_CHUNK:
        return not cancel.cancelled
    if reused and not llm._ctx.kv_cache_seq_rm(-1, reused, -1):
        reused = 0  # a cache that cannot be cut there (sliding-window attention): start over
    llm.n_tokens = reused
    pos = reused
    while pos < todo:
        if cancel.cancelled:
            return False
        end = min(todo, pos + PREFILL_CHUNK)
        llm.eval(prompt[pos:end])
        pos = end
    return not cancel.cancelled


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, settings: Settings, *, notify: Notify | None = None) -> None:
        self._settings = settings
        self._notify = notify or (lambda level, message: None)
        self._lock = threading.Lock()
        # One generation at a time: completion (engine thread) and chat (explain thread) may
        # share this backend, and a Llama object is not thread-safe.
        self._gen_lock = threading.Lock()
        self._llm: Any = None
        self._model_path: str | None = settings.model
        self._state = "idle"
        self._detail = ""
        self._fim: dict[str, int] = {}
        self._bos: int | None = None
        self._max_ctx: int | None = None  # the context the model was trained for
        self._load_error: ModelError | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def info(self) -> BackendInfo:
        fim = None if self._llm is None else bool(self._fim)
        return BackendInfo(self.name, self._model_path, fim, self._state, self._detail)

    def prepare(self) -> None:
        with self._lock:
            if self._llm is not None:
                return
            if self._load_error is not None:
                raise self._load_error
            try:
                self._load()
            except ModelError as exc:
                self._state, self._detail = "error", str(exc)
                self._load_error = exc
                raise

    def _load(self) -> None:
        path = self._settings.model
        if not path:
            found = pick_model()
            if found is None:
                raise ModelError(no_model_help())
            path = found.path
        self._model_path = path
        if not os.path.isfile(path):
            raise ModelError(f"model file not found: {path} — check `model` in your setup()")
        try:
            meta = read_gguf(path)
        except GGUFError as exc:
            raise ModelError(f"{exc} — `model` must point to a .gguf file") from None
        except OSError as exc:
            raise ModelError(f"cannot read model file {path}: {exc.strerror}") from None
        # llama.cpp's OpenMP threads spin while they wait; when the editor or anything else
        # keeps a core busy that turns 20 ms tokens into 1 s tokens. Passive waiting costs
        # little and must be set before the OpenMP runtime loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import llama_cpp
        except ImportError:
            raise ModelError(
                "llama-cpp-python is not installed in the Python that runs the plugin "
                f"({sys.executable}); install it with: {sys.executable} -m pip install "
                "llama-cpp-python"
            ) from None
        _route_llama_logs(llama_cpp)
        self._state, self._detail = "loading", f"loading {os.path.basename(path)}"
        self._notify("info", f"localllm: loading model {os.path.basename(path)}…")
        started = time.monotonic()
        emb = self._settings.embedded
        threads = emb.n_threads or max(1, len(os.sched_getaffinity(0)))
        n_ctx = emb.n_ctx
        self._max_ctx = meta.context_length
        if meta.context_length:
            n_ctx = min(n_ctx, meta.context_length)
        try:
            llm = llama_cpp.Llama(
                model_path=path,
                n_ctx=n_ctx,
                n_batch=emb.n_batch,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp could not load {path}: {exc}") from None
        vocab = llm._model.vocab
        fim = {
            "pre": llama_cpp.llama_vocab_fim_pre(vocab),
            "suf": llama_cpp.llama_vocab_fim_suf(vocab),
            "mid": llama_cpp.llama_vocab_fim_mid(vocab),
            "sep": llama_cpp.llama_vocab_fim_sep(vocab),
        }
        has_fim = all(fim[k] != NULL_TOKEN for k in ("pre", "suf", "mid"))
        self._fim = {k: v for k, v in fim.items() if v != NULL_TOKEN} if has_fim else {}
        self._bos = llm.token_bos() if llama_cpp.llama_vocab_get_add_bos(vocab) else None
        self._llm = llm
        self._state = "ready"
        mode = "FIM" if has_fim else "no FIM tokens: prefix only"
        self._detail = f"n_ctx {llm.n_ctx()}, {threads} threads, {mode}"
        log.info("loaded %s in %.2fs: %s", path, time.monotonic() - started, self._detail)
        self._notify("info", f"localllm: model ready ({os.path.basename(path)}, {mode})")

    def close(self) -> None:
        with self._lock, self._gen_lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None
                self._state = "idle"

    # -- prompt ----------------------------------------------------------------------------

    def _tokenize(self, text: str) -> list[int]:
        if not text:
            return []
        # special=False: FIM or control-token text inside user code stays plain text.
        # Invalid UTF-8 in the buffer is tokenized as the bytes it is.
        return list(self._llm.tokenize(utf8.encode(text), add_bos=False, special=False))

    def build_prompt(self, ctx: FimContext, n_predict: int) -> list[int]:
        """Token ids for `ctx`, cut at the start if the context window is short."""
        try:
            return token_prompt(
                ctx,
                self._tokenize,
                fim=self._fim or None,
                bos=self._bos,
                limit=self._llm.n_ctx() - n_predict - 1,
            )
        except PromptTooLong as exc:
            raise self._too_long(exc.needed + n_predict + 1) from None

    def _too_long(self, n_ctx: int) -> BackendError:
        """The cursor line (a minified one) is never cut: only a larger window helps."""
        why = (
            "the cursor line and the lines after it do not fit the model's context window "
            f"(n_ctx {self._llm.n_ctx()})"
        )
        if self._max_ctx and n_ctx > self._max_ctx:
            return BackendError(f"{why}, and this model takes at most {self._max_ctx} tokens")
        return BackendError(f"{why}; raise embedded.n_ctx to at least {n_ctx}")

    # -- completion ------------------------------------------------------------------------

    def complete(
        self,
        ctx: FimContext,
        params: GenerationParams,
        cancel: Cancellation,
        timings: RequestTimings,
    ) -> Iterator[str]:
        if self._llm is None:
            self.prepare()
        with self._generating(cancel) as ready:
            if ready:
                yield from self._complete(ctx, params, cancel, timings)

    @contextmanager
    def _generating(self, cancel: Cancellation) -> Iterator[bool]:
        """Hold the model for one generation; False when cancelled while waiting for it."""
        while not self._gen_lock.acquire(timeout=0.02):
            if cancel.cancelled:
                yield False
                return
        try:
            yield not cancel.cancelled and self._llm is not None
        finally:
            self._gen_lock.release()

    def _complete(
        self,
        ctx: FimContext,
        params: GenerationParams,
        cancel: Cancellation,
        timings: RequestTimings,
    ) -> Iterator[str]:
        import llama_cpp

        llm = self._llm
        prompt = self.build_prompt(ctx, params.n_predict)
        cached = list(llm._input_ids) if llm.n_tokens else []
        reused = common_prefix_length(cached, prompt)
        if reused == len(prompt):
            reused -= 1  # llama.cpp always evaluates at least one token for fresh logits
        timings.tokens_prompt = len(prompt)
        timings.tokens_reused = reused
        timings.tokens_evaluated = len(prompt) - reused
        if not _prefill(llm, prompt, reused, cancel):
            timings.finish = "cancelled"
            return
        deadline: list[float] = []
        sampled = [0]
        limit_s = params.time_limit_ms / 1000.0

        def should_stop(_ids: Any, _logits: Any) -> bool:
            # Called once per sampled token: the time limit counts from the first token,
            # so a cold prompt still yields a suggestion.
            sampled[0] += 1
            timings.tokens_generated = sampled[0]
            if cancel.cancelled:
                timings.finish = "cancelled"
                return True
            now = time.monotonic()
            if not deadline:
                deadline.append(now + limit_s)
            elif now > deadline[0]:
                timings.finish = "time_limit"
                return True
            return False

        stream = llm.create_completion(
            prompt,
            max_tokens=params.n_predict,
            temperature=params.temperature,
            top_k=params.top_k,
            top_p=params.top_p,
            min_p=params.min_p,
            repeat_penalty=params.repeat_penalty,
            stop=list(params.stop) or None,
            stream=True,
            stopping_criteria=llama_cpp.StoppingCriteriaList([should_stop]),
        )
        try:
            for chunk in stream:
                choice = chunk["choices"][0]
                text = choice.get("text") or ""
                if choice.get("finish_reason") and not timings.finish:
                    timings.finish = choice["finish_reason"]
                if text:
                    yield text
        finally:
            stream.close()

    # -- chat (:LocalLLMExplain) -------------------------------------------------------------

    def _has_chat_template(self) -> bool:
        metadata = getattr(self._llm, "metadata", None) or {}
        return bool(metadata.get("tokenizer.chat_template"))

    def chat_model(self) -> ChatModel:
        self.prepare()
        note = None
        if not self._has_chat_template():
            note = (
                "this model has no chat template: it was asked with a plain-text prompt and "
                "may answer poorly; an instruct model (e.g. Qwen2.5-Coder-Instruct) answers "
                "better (explain.model)"
            )
        label = os.path.basename(self._model_path or "embedded model")
        return ChatModel(label, self._llm.n_ctx() if self._llm is not None else None, note)

    def chat(
        self,
        messages: Sequence[Message],
        params: ChatParams,
        cancel: Cancellation,
        stats: ChatStats,
    ) -> Iterator[str]:
        """The answer from the GGUF's chat template (create_chat_completion), or from a plain
        prompt when the model has none."""
        import llama_cpp

        self.prepare()
        with self._generating(cancel) as ready:
            if not ready:
                stats.finish = "cancelled"
                return
            llm = self._llm
            counted = [0]

            def count(input_ids: Any, scores: Any) -> Any:
                if not counted[0]:
                    stats.prompt_tokens = len(input_ids)
                counted[0] += 1
                stats.generated_tokens = counted[0]
                return scores

            def should_stop(_ids: Any, _logits: Any) -> bool:
                return cancel.cancelled

            try:
                if self._has_chat_template():
                    stream = llm.create_chat_completion(
                        messages=[dict(m) for m in messages],
                        stream=True,
                        max_tokens=params.max_tokens,
                        temperature=params.temperature,
                        repeat_penalty=params.repeat_penalty,
                        logits_processor=llama_cpp.LogitsProcessorList([count]),
                    )
                else:
                    stream = llm.create_completion(
                        plain_chat_prompt(messages),
                        stream=True,
                        max_tokens=params.max_tokens,
                        temperature=params.temperature,
                        repeat_penalty=params.repeat_penalty,
                        stop=list(PLAIN_STOPS),
                        logits_processor=llama_cpp.LogitsProcessorList([count]),
                        stopping_criteria=llama_cpp.StoppingCriteriaList([should_stop]),
                    )
            except ValueError as exc:  # "Requested tokens (N) exceed context window of M"
                raise BackendError(
                    f"the question does not fit the model's context window ({exc}); select "
                    "less code or raise embedded.n_ctx"
                ) from None
            try:
                for chunk in stream:
                    if cancel.cancelled:
                        stats.finish = "cancelled"
                        return
                    choice = chunk["choices"][0]
                    if "delta" in choice:
                        text = (choice.get("delta") or {}).get("content") or ""
                    else:
                        text = choice.get("text") or ""
                    if choice.get("finish_reason"):
                        stats.finish = str(choice["finish_reason"])
                    if text:
                        yield text
            except ValueError as exc:
                raise BackendError(
                    f"the question does not fit the model's context window ({exc}); select "
                    "less code or raise embedded.n_ctx"
                ) from None
            finally:
                stream.close()
            if cancel.cancelled:
                stats.finish = "cancelled"
