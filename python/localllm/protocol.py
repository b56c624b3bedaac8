"""The messages between the Lua UI and this host, declared once for Python. Their Lua twin is
lua/localllm/messages.lua (LuaLS classes of the same names and fields; tests/test_protocol.py
fails when the two disagree).

Editor -> host: RequestMsg (with SyncMsg), ActivityMsg, PurgeMsg, ExplainMsg, and the config
table of init/configure. Host -> editor: one update shape for both streams (Update, extended by
CompletionUpdate and ExplainUpdate), ConfigureResult/InitResult, Reply and the status dicts.

Rules: the host never sends None (a field without a value is left out, see `clean`), so Lua
tests `x == nil` and never meets vim.NIL; `parse_*` turn a payload into a typed value in one
place and raise KeyError/TypeError/ValueError on a malformed one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypedDict, TypeVar, cast

# -- editor -> host ------------------------------------------------------------------------


class SyncMsg(TypedDict, total=False):
    """Python's copy of a buffer brought up to date: one of the two fields."""

    full: list[str]
    edits: list[list[Any]]  # [first, last_old, lines] replacements in order


class _WindowMsg(TypedDict):
    """What a completion request and an explain question both carry: lines of a buffer."""

    id: int
    bufnr: int
    path: str
    filetype: str
    lines: list[str]  # a window of the buffer (long lines cut in a request)
    first_line: int  # 0-based row of lines[1]


class _RequestOptional(TypedDict, total=False):
    head: list[str]
    sync: SyncMsg
    fired_ns: int


class RequestMsg(_WindowMsg, _RequestOptional):
    """localllm_request: the window around the cursor (session.lua)."""

    row: int
    col: int
    line_count: int
    tick: int
    expandtab: bool
    shiftwidth: int
    tabstop: int
    root: str


class ActivityMsg(TypedDict):
    """localllm_activity: recent edits, yanks and visits for later prompts."""

    kind: str
    path: str
    text: str
    root: str


class _PurgeOptional(TypedDict, total=False):
    bufnr: int


class PurgeMsg(_PurgeOptional):
    """localllm_purge: a buffer became denied (privacy.lua); no bufnr: only the list changed."""

    paths: list[str]
    denied: list[str]


class _ExplainOptional(TypedDict, total=False):
    head: list[str]
    start_col: int
    end_col: int


class ExplainMsg(_WindowMsg, _ExplainOptional):
    """localllm_explain: a question about code (explain.lua)."""

    ranged: bool
    start_row: int
    end_row: int
    cursor_row: int
    question: str
    root: str


# -- host -> editor ------------------------------------------------------------------------

UpdateKind = Literal["start", "text", "done", "error"]


class _UpdateOptional(TypedDict, total=False):
    error: str


class Update(_UpdateOptional):
    """One update of a stream, completion or explain: the fields both Lua consumers read.
    `final` is true on the last one (kind 'done' or 'error'); `error` only with kind 'error'."""

    id: int
    kind: UpdateKind
    final: bool
    text: str


class _CompletionOptional(TypedDict, total=False):
    resync: bool


class CompletionUpdate(Update, _CompletionOptional):
    """A suggestion so far (`text`); `resync`: the host's copy of the buffer went out of step,
    the next request should carry the whole text."""

    bufnr: int
    source: str
    timings: dict[str, Any]


class ExplainUpdate(Update, total=False):
    """An explanation's event: kind 'text' has the next piece in `text`; 'start' says what is
    asked of which model, 'done' how it went."""

    model: str
    title: str
    note: str
    model_note: str
    start_row: int
    end_row: int
    context: list[str]
    finish: str
    tokens: int
    prompt_tokens: int
    first_ms: float
    total_ms: float
    tokens_per_s: float


class ConfigureResult(TypedDict, total=False):
    """The answer to configure: `error` when the config was refused, `warnings` always."""

    error: str
    warnings: list[str]


class InitResult(ConfigureResult, total=False):
    """The answer to init: the configure result, the channel and the host's version."""

    channel: int
    version: str


class Reply(TypedDict, total=False):
    """What bridge.on_reply gets for a localllm_async call: its value or why it failed."""

    value: Any
    error: str


# -- helpers -------------------------------------------------------------------------------

T = TypeVar("T")


def clean(value: T) -> T:
    """`value` with every None left out (dict entries and list items), all the way down: what
    the host sends never holds a null."""
    if isinstance(value, dict):
        return cast(T, {k: clean(v) for k, v in value.items() if v is not None})
    if isinstance(value, (list, tuple)):
        return cast(T, [clean(v) for v in value if v is not None])
    return value


def _field(raw: dict[str, Any], key: str, conv: Callable[[Any], T], default: T | None) -> T:
    value = raw.get(key)
    if value is None:
        if default is None:
            raise KeyError(key)
        return default
    return conv(value)


def _lines(value: Any) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return list(value)


def _dict(raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise TypeError(f"expected a table, got {type(raw).__name__}")
    return raw


def parse_request(raw: object) -> RequestMsg:
    """A localllm_request payload as a RequestMsg (the few fields that may be missing from
    an older UI get the defaults they always had)."""
    p = _dict(raw)
    lines = _field(p, "lines", _lines, None)
    tabstop = int(p.get("tabstop") or 8)
    msg = RequestMsg(
        id=_field(p, "id", int, None),
        bufnr=_field(p, "bufnr", int, 0),
        path=_field(p, "path", str, ""),
        filetype=_field(p, "filetype", str, ""),
        lines=lines,
        first_line=_field(p, "first_line", int, 0),
        row=_field(p, "row", int, None),
        col=_field(p, "col", int, None),
        line_count=_field(p, "line_count", int, len(lines)),
        tick=_field(p, "tick", int, 0),
        expandtab=_field(p, "expandtab", bool, True),
        shiftwidth=int(p.get("shiftwidth") or p.get("tabstop") or 4),
        tabstop=tabstop,
        root=_field(p, "root", str, ""),
    )
    if p.get("head"):
        msg["head"] = _lines(p["head"])
    if isinstance(p.get("sync"), dict):
        msg["sync"] = cast(SyncMsg, p["sync"])
    if p.get("fired_ns"):
        msg["fired_ns"] = int(p["fired_ns"])
    return msg


def parse_activity(raw: object) -> ActivityMsg:
    p = _dict(raw)
    return ActivityMsg(
        kind=_field(p, "kind", str, "edit") or "edit",
        path=str(p["path"]),
        text=str(p["text"]),
        root=_field(p, "root", str, ""),
    )


def parse_purge(raw: object) -> PurgeMsg:
    p = _dict(raw)
    msg = PurgeMsg(
        paths=[str(x) for x in _lines(p.get("paths") or [])],
        denied=[str(x) for x in _lines(p.get("denied") or [])],
    )
    if p.get("bufnr") is not None:
        msg["bufnr"] = int(p["bufnr"])
    return msg


def parse_explain(raw: object) -> ExplainMsg:
    p = _dict(raw)
    msg = ExplainMsg(
        id=_field(p, "id", int, None),
        bufnr=_field(p, "bufnr", int, 0),
        path=_field(p, "path", str, ""),
        filetype=_field(p, "filetype", str, ""),
        lines=[str(line) for line in _field(p, "lines", _lines, None)],
        first_line=_field(p, "first_line", int, 0),
        ranged=bool(p.get("ranged")),
        start_row=_field(p, "start_row", int, 0),
        end_row=_field(p, "end_row", int, 0),
        cursor_row=_field(p, "cursor_row", int, 0),
        question=_field(p, "question", str, ""),
        root=_field(p, "root", str, ""),
    )
    if p.get("start_col") is not None:
        msg["start_col"] = int(p["start_col"])
    if p.get("end_col") is not None:
        msg["end_col"] = int(p["end_col"])
    if p.get("head"):
        msg["head"] = [str(line) for line in _lines(p["head"])]
    return msg
