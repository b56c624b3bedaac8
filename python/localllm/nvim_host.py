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
from .explain import ExplainService, request_from_payload
from .models import pick_model
from .privacy import PrivateFormatter
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


def snapshot_from_payload(p: dict[str, Any]) -> BufferSnapshot:
    return BufferSnapshot(
        path=str(p.get("path") or ""),
        filetype=str(p.get("filetype") or ""),
        # A line that is not UTF-8 arrives as lone surrogates, or as bytes.
        lines=tuple(map(utf8.as_text, p["lines"])),
        first_line=int(p.get("first_line", 0)),
        row=int(p["row"]),
        col=int(p["col"]),
        line_count=int(p.get("line_count", len(p["lines"]))),
        indent=IndentStyle(
            use_tabs=not p.get("expandtab", True),
            width=int(p.get("shiftwidth") or p.get("tabstop") or 4),
            tabstop=int(p.get("tabstop") or 8),
        ),
        head=tuple(map(utf8.as_text, p.get("head") or ())),
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

    # -- delivery (engine thread -> nvim main loop) ----------------------------------------

    def _deliver(self, update: Update) -> None:
        payload = update.as_dict()
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
    def host_init(self, args: list[Any]) -> dict[str, Any]:
        """Start (or restart) the engine with the UI's config; returns the channel to use,
        and the configure result (error, warnings)."""
        raw = args[0] if args and isinstance(args[0], dict) else {}
        result = self._configure(raw)
        return {"channel": self.nvim.channel_id, "version": __version__, **result}

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
            answer: dict[str, Any] = {"value": calls[name](*args)}
        except Exception as exc:  # the answer must come, whatever failed
            log.exception("%s failed", name)
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        self.nvim.exec_lua(
            "require('localllm.bridge').on_reply(...)", token, answer, async_=True
        )

    @pynvim.rpc_export("localllm_configure", sync=True)
    def configure(self, raw: dict[str, Any]) -> dict[str, Any]:
        return self._configure(raw)

    def _configure(self, raw: dict[str, Any]) -> dict[str, Any]:
        """{"error": why the config was refused or None, "warnings": what the user should
        know although the host runs}."""
        try:
            settings, warnings = read_settings(raw)
        except LocalLLMError as exc:
            return {"error": str(exc), "warnings": []}
        log_problem = setup_logging(settings)
        warnings += [log_problem] if log_problem else []
        if self.explainer is not None:  # first: it may share the engine's backend
            self.explainer.close()
            self.explainer = None
        if self.engine is not None:
            self.engine.close()
        self.engine = Engine(settings, self._deliver, notify=self._notify)
        log.info("localllm %s configured: backend %s", __version__, settings.backend)
        return {"error": None, "warnings": warnings}

    @pynvim.rpc_export("localllm_request", sync=False)
    def request(self, payload: dict[str, Any]) -> None:
        received = time.monotonic_ns()
        if self.engine is None:
            return
        try:
            snapshot = snapshot_from_payload(payload)
        except (KeyError, TypeError, ValueError) as exc:
            _bad("request payload", exc)
            return
        timings = RequestTimings(fired_ns=int(payload.get("fired_ns") or 0), received_ns=received)
        bufnr = int(payload.get("bufnr", 0))
        sync = payload.get("sync")
        if isinstance(sync, dict):
            tick = int(payload.get("tick") or 0)
            try:
                in_step = self.engine.sync_buffer(bufnr, sync, tick, snapshot)
            except (TypeError, ValueError) as exc:
                _bad("buffer sync", exc)
                in_step = False
            if not in_step:
                self.nvim.exec_lua("require('localllm.sync').resync(...)", bufnr, async_=True)
        self.engine.submit(
            CompletionRequest(
                id=int(payload["id"]),
                bufnr=bufnr,
                snapshot=snapshot,
                timings=timings,
                root=payload.get("root") or None,
            )
        )

    @pynvim.rpc_export("localllm_activity", sync=False)
    def activity(self, payload: dict[str, Any]) -> None:
        """Recent activity from the editor: {kind, path, text, root}."""
        if self.engine is None:
            return
        try:
            self.engine.add_activity(
                str(payload["path"]),
                str(payload["text"]),
                str(payload.get("kind") or "edit"),
                payload.get("root") or None,
            )
        except (KeyError, TypeError) as exc:
            _bad("activity payload", exc)

    @pynvim.rpc_export("localllm_forget", sync=False)
    def forget(self, bufnr: int) -> None:
        """The buffer was unloaded: drop our copy of it."""
        if self.engine is not None:
            self.engine.buffers.detach(int(bufnr))

    @pynvim.rpc_export("localllm_purge", sync=False)
    def purge(self, payload: dict[str, Any]) -> None:
        """A buffer became denied (lua/localllm/privacy.lua sweep): {bufnr, paths, denied}."""
        if self.engine is None:
            return
        try:
            bufnr = payload.get("bufnr")
            self.engine.purge(
                None if bufnr is None else int(bufnr),
                [str(p) for p in payload.get("paths") or ()],
                [str(p) for p in payload.get("denied") or ()],
            )
        except (AttributeError, TypeError, ValueError) as exc:
            _bad("purge payload", exc)

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
            return rep
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
        return rep

    @pynvim.rpc_export("localllm_status", sync=True)
    def status(self) -> dict[str, Any]:
        if self.engine is None:
            return {"state": "not configured"}
        status = self.engine.status()
        status["history"] = list(self.engine.history)[-50:]
        return status

    # -- :LocalLLMExplain --------------------------------------------------------------------

    def _explain_event(self, event: dict[str, Any]) -> None:
        self.nvim.async_call(
            lambda: self.nvim.exec_lua(
                "require('localllm.bridge').on_explain(...)", event, async_=True
            )
        )

    @pynvim.rpc_export("localllm_explain", sync=False)
    def explain(self, payload: dict[str, Any]) -> None:
        """A question about code (lua/localllm/explain.lua); the answer streams back."""
        request_id = payload.get("id") if isinstance(payload, dict) else None
        if self.engine is None:
            self._explain_event(
                {"id": request_id, "kind": "error", "message": "the plugin is not configured"}
            )
            return
        try:
            request = request_from_payload(payload)
        except (KeyError, TypeError, ValueError) as exc:
            _bad("explain payload", exc)
            self._explain_event({"id": request_id, "kind": "error", "message": "bad request"})
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
            return {"busy": None, "history": []}
        return self.explainer.status()

    @pynvim.shutdown_hook
    def shutdown(self) -> None:
        if self.explainer is not None:
            self.explainer.close()
            self.explainer = None
        if self.engine is not None:
            self.engine.close()
            self.engine = None
