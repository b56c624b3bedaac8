"""The declared protocol: lua/localllm/messages.lua (LuaLS classes) and python/localllm/
protocol.py (TypedDicts) name the same messages with the same fields, the host sends no None,
and completion and explain updates share one shape."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import pytest

from localllm import protocol
from localllm.config import parse_settings
from localllm.engine import Update
from localllm.explain import ExplainService, event, request_from_payload
from localllm.nvim_host import LocalLLMPlugin, snapshot_from_payload

MESSAGES = Path(__file__).resolve().parents[1] / "lua" / "localllm" / "messages.lua"

CLASS = re.compile(r"^---@class\s+localllm\.(\w+)\s*(?::\s*localllm\.(\w+))?")
FIELD = re.compile(r"^---@field\s+(\w+)(\??)\s+(\S+)")


def lua_classes() -> dict[str, dict[str, bool]]:
    """messages.lua's classes: name -> {field: optional}, inherited fields included."""
    own: dict[str, dict[str, bool]] = {}
    parents: dict[str, str | None] = {}
    current: str | None = None
    for line in MESSAGES.read_text(encoding="utf-8").splitlines():
        if m := CLASS.match(line):
            current = m.group(1)
            own[current], parents[current] = {}, m.group(2)
        elif (m := FIELD.match(line)) and current:
            name, question, kind = m.groups()
            own[current][name] = bool(question) or kind.endswith("|nil")
        elif not line.startswith("---"):
            current = None

    def fields(name: str) -> dict[str, bool]:
        parent = parents[name]
        return {**(fields(parent) if parent else {}), **own[name]}

    return {name: fields(name) for name in own}


def python_classes() -> dict[str, dict[str, bool]]:
    """protocol.py's public TypedDicts: name -> {field: optional}."""
    out: dict[str, dict[str, bool]] = {}
    for name, obj in vars(protocol).items():
        if name.startswith("_") or not typing.is_typeddict(obj):
            continue
        out[name] = {k: True for k in obj.__optional_keys__} | {
            k: False for k in obj.__required_keys__
        }
    return out


def test_lua_and_python_declare_the_same_messages_and_fields() -> None:
    lua, py = lua_classes(), python_classes()
    # Msg/Result/Update/Reply: the protocol's classes (messages.lua declares nothing else).
    assert set(lua) == set(py), "a message declared on one side only"
    for name in sorted(lua):
        assert lua[name] == py[name], f"{name}: {{field: optional}} differ"


def test_the_parser_sees_every_class_of_messages_lua() -> None:
    text = MESSAGES.read_text(encoding="utf-8")
    assert len(lua_classes()) == text.count("---@class") >= 11
    assert lua_classes()["CompletionUpdate"]["text"] is False  # inherited from Update


def test_clean_leaves_out_every_none_all_the_way_down() -> None:
    value = {"a": None, "b": [1, None, {"c": None, "d": 2}], "e": {"f": None}}
    assert protocol.clean(value) == {"b": [1, {"d": 2}], "e": {}}


def test_completion_updates_have_the_shared_shape_and_no_none() -> None:
    partial = Update(1, 3, "fo", False, "model", {"ttft_ms": 1.0}).as_dict()
    final = Update(1, 3, "foo", True, "model", {}).as_dict()
    error = Update(2, 3, "", True, "error", {}, "model file not found").as_dict()
    assert partial == {
        "id": 1,
        "kind": "text",
        "final": False,
        "text": "fo",
        "bufnr": 3,
        "source": "model",
        "timings": {"ttft_ms": 1.0},
    }
    assert (final["kind"], final["final"], "error" in final) == ("done", True, False)
    assert (error["kind"], error["final"], error["error"]) == (
        "error",
        True,
        "model file not found",
    )
    shared = set(protocol.Update.__required_keys__)
    for update in (partial, final, error):
        assert shared <= set(update) and None not in update.values()


def test_explain_events_have_the_same_shape() -> None:
    start = event(4, {"kind": "start", "model": "m", "title": "t", "note": None})
    piece = event(4, {"kind": "text", "text": "The store"})
    error = event(4, {"kind": "error", "error": "bad"})
    assert start == {
        "id": 4,
        "kind": "start",
        "final": False,
        "text": "",
        "model": "m",
        "title": "t",
    }
    assert (piece["text"], piece["final"]) == ("The store", False)
    assert (error["final"], error["error"], "message" in error) == (True, "bad", False)


def test_an_explain_service_sends_only_the_shared_shape() -> None:
    events: list[protocol.ExplainUpdate] = []
    service = ExplainService(parse_settings({"backend": "none"}), events.append, start_worker=False)
    service.submit(request_from_payload({"id": 9, "path": "/a/.env", "lines": ["x"]}))
    assert events == [
        {
            "id": 9,
            "kind": "error",
            "final": True,
            "text": "",
            "error": "nothing of this file is sent to the model (privacy.deny)",
        }
    ]


def request_payload(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 1,
        "bufnr": 2,
        "path": "/a.go",
        "filetype": "go",
        "lines": ["package main", "func"],
        "first_line": 0,
        "row": 1,
        "col": 4,
        "line_count": 2,
        "tick": 5,
        "expandtab": False,
        "shiftwidth": 0,
        "tabstop": 4,
        "root": "/",
    }
    return base | over


def test_a_request_payload_is_parsed_once_into_typed_values() -> None:
    msg = protocol.parse_request(request_payload(sync={"full": ["package main"]}, fired_ns=7))
    assert (msg["id"], msg["row"], msg["shiftwidth"], msg["fired_ns"]) == (1, 1, 4, 7)
    assert msg["sync"] == {"full": ["package main"]}
    snap = snapshot_from_payload(msg)
    assert snap.indent.use_tabs and snap.indent.width == 4 and snap.cursor_line == "func"
    # What an older UI may leave out gets the defaults it always had.
    lean = protocol.parse_request({"id": 1, "lines": ["x"], "row": 0, "col": 0})
    assert (lean["path"], lean["line_count"], lean["expandtab"], "sync" in lean) == (
        "",
        1,
        True,
        False,
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"lines": ["x"], "row": 0, "col": 0},  # no id
        request_payload(row="one"),
        request_payload(lines="not a list"),
        "not a table",
    ],
)
def test_a_bad_request_payload_raises_what_the_host_reports(bad: Any) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        protocol.parse_request(bad)


def test_purge_activity_and_explain_payloads() -> None:
    assert protocol.parse_purge({"paths": ["/a/.env"], "denied": ["/a/.env"]}) == {
        "paths": ["/a/.env"],
        "denied": ["/a/.env"],
    }
    assert protocol.parse_purge({"bufnr": 3, "paths": [], "denied": []})["bufnr"] == 3
    assert protocol.parse_activity({"path": "/a.go", "text": "x"})["kind"] == "edit"
    ex = protocol.parse_explain({"id": 2, "lines": ["a"], "end_col": 1})
    assert ex["end_col"] == 1 and "start_col" not in ex
    with pytest.raises(KeyError):
        protocol.parse_activity({"path": "/a.go"})


class FakeNvim:
    """Records what the host sends to Lua; channel_id for host_init."""

    channel_id = 3

    def __init__(self) -> None:
        self.lua: list[tuple[str, tuple[Any, ...]]] = []

    def exec_lua(self, code: str, *args: Any, async_: bool = False) -> None:
        self.lua.append((code, args))

    def async_call(self, fn: Any) -> None:
        fn()


def test_configure_and_init_replies_hold_no_none(tmp_path: Path) -> None:
    nvim = FakeNvim()
    plugin = LocalLLMPlugin(nvim=nvim)  # type: ignore[arg-type]
    try:
        init = plugin.host_init([{"backend": "none", "log_file": str(tmp_path / "a.log")}])
        assert init["channel"] == 3 and init["warnings"] == [] and "error" not in init
        warned = plugin._configure({"backend": "none", "cache_size": "lots"})
        assert warned["warnings"] and "error" not in warned
        plugin.call_async(1, "status", [])
        plugin.call_async(2, "explain_status", [])
        plugin.call_async(3, "no such call", [])
        for _, (token, answer) in [(c, a) for c, a in nvim.lua if "on_reply" in c]:
            assert protocol.clean(answer) == answer, (token, answer)
        errors = [a[1] for c, a in nvim.lua if "on_reply" in c and "error" in a[1]]
        assert len(errors) == 1 and "KeyError" in errors[0]["error"]
    finally:
        plugin.shutdown()


def test_an_out_of_step_mirror_is_told_in_the_update_not_by_a_call_into_lua(
    tmp_path: Path,
) -> None:
    """The host never calls into Lua while it handles a request: the next update of that
    buffer carries resync = true, and a later request with the whole text is in step again."""
    nvim = FakeNvim()
    plugin = LocalLLMPlugin(nvim=nvim)  # type: ignore[arg-type]
    try:
        plugin.host_init([{"backend": "none", "log_file": str(tmp_path / "a.log")}])
        assert plugin.engine is not None
        calls_before = len(nvim.lua)
        # Edits to a copy the host does not have: out of step.
        plugin.request(request_payload(id=1, sync={"edits": [[0, 1, ["package x"]]]}))
        assert all("on_update" in code for code, _ in nvim.lua[calls_before:])
        updates = wait_updates(nvim, lambda u: u["id"] == 1 and u["final"])
        assert updates[-1].get("resync") is True
        assert all("resync" not in code for code, _ in nvim.lua)
        # Lua sent the whole text next: in step, no resync any more.
        plugin.request(request_payload(id=2, sync={"full": ["package main", "func"]}))
        updates = wait_updates(nvim, lambda u: u["id"] == 2 and u["final"])
        assert "resync" not in updates[-1]
        assert plugin.engine.status()["mirrored"] == {"2": 2}
    finally:
        plugin.shutdown()


def wait_updates(nvim: FakeNvim, done: Any) -> list[dict[str, Any]]:
    from nvim_helpers import wait_for

    def updates() -> list[dict[str, Any]]:
        return [args[0] for code, args in nvim.lua if "on_update" in code]

    wait_for(lambda: any(done(u) for u in updates()))
    return [u for u in updates() if done(u)]


def test_a_bad_payload_still_gives_the_clear_log_line(tmp_path: Path) -> None:
    log_file = tmp_path / "a.log"
    plugin = LocalLLMPlugin(nvim=FakeNvim())  # type: ignore[arg-type]
    try:
        plugin.host_init([{"backend": "none", "log_file": str(log_file)}])
        plugin.request({"lines": ["x"], "row": 0, "col": 0})  # no id
        plugin.activity({"path": "/a.go"})  # no text
        plugin.purge({"paths": "not a list", "denied": []})
        text = log_file.read_text()
        assert "bad request payload (KeyError)" in text
        assert "bad activity payload (KeyError)" in text
        assert "bad purge payload (TypeError)" in text
    finally:
        plugin.shutdown()
