"""The only module that talks to Neovim (pynvim). Thin: it turns RPC payloads into requests
for the engine and sends engine updates back to the Lua UI without ever blocking Neovim."""

from __future__ import annotations

import logging
import logging.handlers
import os
import time
from typing import Any

import pynvim

from . import __version__, envcheck, health, utf8
from .config import Settings, read_settings
from .engine import CompletionRequest, Engine, Update
from .errors import LocalLLMError
from .explain import ExplainService, event, request_from_payload
from .models import pick_model
from .privacy import PrivateFormatter
from .protocol import (
    CompletionUpdate,
    ConfigureResult,
    ExplainUpdate,
    InitResult,
    Reply,
    RequestMsg,
    clean,
    parse_activity,
    parse_purge,
    parse_request,
)
from .types import BufferSnapshot, IndentStyle, RequestTimings

log = logging.getLogger("localllm")
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}


def setup_logging(settings: Settings) -> str | None:
    """Log to a file only (stdout is the RPC channel); no buffer text unless level is debug.
    A file that cannot be opened costs the log, not the host: returns the warning to show."""
    log.setLevel(_LEVELS[settings.log_level])
    log.propagate = False
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    if not settings.log_file:
        log.addHandler(logging.NullHandler())
        return None
    try:
        log.addHandler(_file_handler(settings.log_file, debug=settings.log_level == "debug"))
    except OSError as exc:
        log.addHandler(logging.NullHandler())
        return (
            f"cannot open the log file {settings.log_file} ({exc.strerror or exc}): the host "
            "runs without a log. Make that directory writable (it is stdpath('log'), under "
            "$XDG_STATE_HOME)."
        )
    return None


def _file_handler(path: str, debug: bool) -> logging.Handler:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=2, encoding="utf-8"
    )
    handler.setFormatter(
        PrivateFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", debug=debug)
    )
    return handler


def _bad(what: str, exc: Exception) -> None:
    """A malformed message from the editor; its details may quote buffer text: debug only."""
    log.warning("bad %s (%s)", what, type(exc).__name__)
    log.debug("bad %s: %s", what, exc)


def snapshot_from_payload(p: RequestMsg) -> BufferSnapshot:
    return BufferSnapshot(
        path=p["path"],
        filetype=p["filetype"],
        # A line that is not UTF-8 arrives as lone surrogates, or as bytes.
        lines=tuple(map(utf8.as_text, p["lines"])),
        first_line=p["first_line"],
        row=p["row"],
        col=p["col"],
        line_count=p["line_count"],
        indent=IndentStyle(
            use_tabs=not p["expandtab"], width=p["shiftwidth"], tabstop=p["tabstop"]
        ),
        head=tuple(map(utf8.as_text, p.get("head", ()))),
    )


def _reachable(settings: Settings) -> list[str]:
    """Which servers of the configured backend answer now (short loopback probes)."""
    from .backends.auto import LLAMA_SERVER_PORTS, looks_like_llama_server, ollama_models

    found: list[str] = []
    if settings.backend in ("auto", "llama_server"):
        urls = (
            [settings.llama_server.url]
            if settings.llama_server.url
            else [f"http://127.0.0.1:{port}" for port in LLAMA_SERVER_PORTS]
        )
        for url in urls:
            answers = looks_like_llama_server(url)
            found.append(f"llama-server at {url}: {'answers' if answers else 'no answer'}")
    if settings.backend in ("auto", "ollama"):
        models = ollama_models(settings.ollama.url)
        state = "no answer" if models is None else f"answers ({len(models)} models)"
        found.append(f"Ollama at {settings.ollama.url}: {state}")
    return found


@pynvim.plugin
class LocalLLMPlugin:
    def __init__(self, nvim: pynvim.Nvim) -> None:
        self.nvim = nvim
        self.engine: Engine | None = None
        self.explainer: ExplainService | None = None
        # Buffers whose copy went out of step: the next update of each says so (resync), and
        # Lua sends the whole text with its next request. The host never calls into Lua for it.
        self._out_of_step: set[int] = set()

    # -- delivery (engine thread -> nvim main loop) ----------------------------------------

    def _deliver(self, update: Update) -> None:
        payload: CompletionUpdate = update.as_dict()
        if update.bufnr in self._out_of_step:
            self._out_of_step.discard(update.bufnr)
            payload["resync"] = True
        self.nvim.async_call(
            lambda: self.nvim.exec_lua(
                "require('localllm.bridge').on_update(...)", payload, async_=True
            )
        )

    def _notify(self, level: str, message: str) -> None:
        self.nvim.async_call(
            lambda: self.nvim.exec_lua(
                "require('localllm.bridge').on_notify(...)", level, message, async_=True
            )
        )

    # -- entry points ----------------------------------------------------------------------

    @pynvim.function("LocalLLMHostInit", sync=True)
    def host_init(self, args: list[Any]) -> InitResult:
        """Start (or restart) the engine with the UI's config; returns the channel to use,
        and the configure result (error, warnings)."""
        raw = args[0] if args and isinstance(args[0], dict) else {}
        result = InitResult(channel=self.nvim.channel_id, version=__version__)
        configured = self._configure(raw)
        result["warnings"] = configured.get("warnings", [])
        if "error" in configured:
            result["error"] = configured["error"]
        return clean(result)

    @pynvim.rpc_export("localllm_async", sync=False)
    def call_async(self, token: int, name: str, args: list[Any]) -> None:
        """The editor never waits on the host: run one of the synchronous entry points below
        and send its answer to require('localllm.bridge').on_reply(token, answer)."""
        calls = {
            "init": self.host_init,
            "configure": self.configure,
            "status": self.status,
            "health": self.health,
            "explain_status": self.explain_status,
        }
        try:
            answer = Reply(value=calls[name](*args))
        except Exception as exc:  # the answer must come, whatever failed
            log.exception("%s failed", name)
            answer = Reply(error=f"{type(exc).__name__}: {exc}")
        self.nvim.exec_lua(
            "require('localllm.bridge').on_reply(...)", token, clean(answer), async_=True
        )

    @pynvim.rpc_export("localllm_configure", sync=True)
    def configure(self, raw: dict[str, Any]) -> ConfigureResult:
        return self._configure(raw)

    def _configure(self, raw: dict[str, Any]) -> ConfigureResult:
        """{"error": why the config was refused (left out when it was not), "warnings": what
        the user should know although the host runs}."""
        try:
            settings, warnings = read_settings(raw)
        except LocalLLMError as exc:
            return ConfigureResult(error=str(exc), warnings=[])
        log_problem = setup_logging(settings)
        warnings += [log_problem] if log_problem else []
        if self.explainer is not None:  # first: it may share the engine's backend
            self.explainer.close()
            self.explainer = None
        if self.engine is not None:
            self.engine.close()
        self.engine = Engine(settings, self._deliver, notify=self._notify)
        log.info("localllm %s configured: backend %s", __version__, settings.backend)
        return ConfigureResult(warnings=warnings)

    @pynvim.rpc_export("localllm_request", sync=False)
    def request(self, raw: dict[str, Any]) -> None:
        received = time.monotonic_ns()
        if self.engine is None:
            return
        try:
            payload = parse_request(raw)
            snapshot = snapshot_from_payload(payload)
        except (KeyError, TypeError, ValueError) as exc:
            _bad("request payload", exc)
            return
        timings = RequestTimings(fired_ns=payload.get("fired_ns", 0), received_ns=received)
        bufnr = payload["bufnr"]
        sync = payload.get("sync")
        if sync is not None:
            try:
                in_step = self.engine.sync_buffer(bufnr, dict(sync), payload["tick"], snapshot)
            except (TypeError, ValueError) as exc:
                _bad("buffer sync", exc)
                in_step = False
            if in_step:
                self._out_of_step.discard(bufnr)
            else:  # told in this request's updates (CompletionUpdate.resync)
                self._out_of_step.add(bufnr)
        self.engine.submit(
            CompletionRequest(
                id=payload["id"],
                bufnr=bufnr,
                snapshot=snapshot,
                timings=timings,
                root=payload["root"] or None,
            )
        )

    @pynvim.rpc_export("localllm_activity", sync=False)
    def activity(self, raw: dict[str, Any]) -> None:
        """Recent activity from the editor (protocol.ActivityMsg)."""
        if self.engine is None:
            return
        try:
            msg = parse_activity(raw)
        except (KeyError, TypeError, ValueError) as exc:
            _bad("activity payload", exc)
            return
        self.engine.add_activity(msg["path"], msg["text"], msg["kind"], msg["root"] or None)

    @pynvim.rpc_export("localllm_forget", sync=False)
    def forget(self, bufnr: int) -> None:
        """The buffer was unloaded: drop our copy of it."""
        if self.engine is not None:
            self.engine.buffers.detach(int(bufnr))

    @pynvim.rpc_export("localllm_purge", sync=False)
    def purge(self, raw: dict[str, Any]) -> None:
        """A buffer became denied (lua/localllm/privacy.lua sweep): protocol.PurgeMsg."""
        if self.engine is None:
            return
        try:
            msg = parse_purge(raw)
        except (AttributeError, TypeError, ValueError) as exc:
            _bad("purge payload", exc)
            return
        self.engine.purge(msg.get("bufnr"), msg["paths"], msg["denied"])

    @pynvim.rpc_export("localllm_promote", sync=False)
    def promote(self) -> None:
        if self.engine is not None:
            self.engine.promote()

    @pynvim.rpc_export("localllm_cancel", sync=False)
    def cancel(self, request_id: int | None = None) -> None:
        if self.engine is not None:
            self.engine.cancel(request_id)

    @pynvim.rpc_export("localllm_health", sync=True)
    def health(self) -> dict[str, Any]:
        """Facts for :checkhealth localllm (lua/localllm/health.lua); never loads a model."""
        rep: dict[str, Any] = {"version": __version__, "environment": envcheck.report()}
        if self.engine is None:
            rep["state"] = "not configured"
            return clean(rep)
        status = self.engine.status()
        settings = self.engine.settings
        path = status.get("model") if status.get("backend") == "embedded" else None
        if not path and settings.backend in ("auto", "embedded"):
            path = settings.model
            if not path:
                found = pick_model()
                path = found.path if found else None
        # A configured file that is missing or unreadable is reported (health.model_report).
        rep.update(health.report(settings, status, model_path=path, env=os.environ))
        rep["reachable"] = _reachable(settings)
        return clean(rep)

    @pynvim.rpc_export("localllm_status", sync=True)
    def status(self) -> dict[str, Any]:
        if self.engine is None:
            return {"state": "not configured"}
        status = self.engine.status()
        status["history"] = list(self.engine.history)[-50:]
        return clean(status)

    # -- :LocalLLMExplain --------------------------------------------------------------------

    def _explain_event(self, event: ExplainUpdate) -> None:
        self.nvim.async_call(
            lambda: self.nvim.exec_lua(
                "require('localllm.bridge').on_explain(...)", event, async_=True
            )
        )

    @pynvim.rpc_export("localllm_explain", sync=False)
    def explain(self, payload: dict[str, Any]) -> None:
        """A question about code (lua/localllm/explain.lua); the answer streams back."""
        raw_id = payload.get("id") if isinstance(payload, dict) else None
        request_id = raw_id if isinstance(raw_id, int) else 0
        if self.engine is None:
            self._explain_event(
                event(request_id, {"kind": "error", "error": "the plugin is not configured"})
            )
            return
        try:
            request = request_from_payload(payload)
        except (KeyError, TypeError, ValueError) as exc:
            _bad("explain payload", exc)
            self._explain_event(event(request_id, {"kind": "error", "error": "bad request"}))
            return
        if self.explainer is None:
            self.explainer = ExplainService(
                self.engine.settings,
                self._explain_event,
                completion=self.engine.backend,
                notify=self._notify,
                exclude=self.engine.denied,
                index=self.engine.definitions,  # one cache of the sibling files' definitions
            )
        self.explainer.submit(request)

    @pynvim.rpc_export("localllm_explain_cancel", sync=False)
    def explain_cancel(self, request_id: int | None = None) -> None:
        if self.explainer is not None:
            self.explainer.cancel(request_id)

    def explain_status(self) -> dict[str, Any]:
        if self.explainer is None:
            return {"history": []}
        return clean(self.explainer.status())

    @pynvim.shutdown_hook
    def shutdown(self) -> None:
        if self.explainer is not None:
            self.explainer.close()
            self.explainer = None
        if self.engine is not None:
            self.engine.close()
            self.engine = None
