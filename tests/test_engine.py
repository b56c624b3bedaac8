"""The engine and the embedded backend with real llama.cpp (tiny deterministic models and gemma)."""

from __future__ import annotations

import itertools
import re
import threading
from pathlib import Path
from typing import Any

import pytest

import model_files
from localllm.backends import Cancellation
from localllm.backends.embedded import EmbeddedBackend
from localllm.config import parse_settings
from localllm.context import build_context
from localllm.engine import CompletionRequest, Engine, Update
from localllm.errors import BackendError, ModelError
from localllm.types import BufferSnapshot, IndentStyle, RequestTimings

GO = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\t\n\tfmt.Println(x)\n}\n'


def snapshot(text: str = GO, row: int = 6, col: int = 1, path: str = "/src/app/main.go") -> Any:
    return BufferSnapshot.from_text(text, row, col, path=path, filetype="go")


class Recorder:
    def __init__(self) -> None:
        self.updates: list[Update] = []
        self.finals: dict[int, Update] = {}
        self.event = threading.Condition()

    def __call__(self, update: Update) -> None:
        with self.event:
            self.updates.append(update)
            if update.final:
                self.finals[update.id] = update
            self.event.notify_all()

    def wait(self, predicate: Any, timeout: float = 60) -> None:
        with self.event:
            assert self.event.wait_for(predicate, timeout), self.updates[-3:]


def make_engine(model: Path, **raw: Any) -> tuple[Engine, Recorder]:
    recorder = Recorder()
    settings = parse_settings({"backend": "embedded", "model": str(model), **raw})
    return Engine(settings, recorder), recorder


def test_fim_prompt_layout_puts_the_typed_line_after_the_middle_token(tiny_model: Path) -> None:
    backend = EmbeddedBackend(parse_settings({"model": str(tiny_model)}))
    backend.prepare()
    ctx = build_context(snapshot(row=6, col=1), parse_settings({}).context, root="/src")
    tokens = backend.build_prompt(ctx, 16)
    llm = backend._llm
    specials = {258: "PRE", 259: "SUF", 260: "MID", 263: "SEP"}

    def text(ids: list[int]) -> str:
        return str(llm.detokenize(ids).decode())

    marks = [(i, specials[t]) for i, t in enumerate(tokens) if t in specials]
    assert [name for _, name in marks] == ["SEP", "PRE", "SUF", "MID"]
    (sep, _), (pre, _), (suf, _), (mid, _) = marks
    assert sep == 0  # this model adds no BOS
    assert text(tokens[sep + 1 : pre]) == "app/main.go\n"
    assert text(tokens[pre + 1 : suf]) == ctx.prefix == GO.split("\t\n")[0]
    assert text(tokens[suf + 1 : mid]) == "\n\tfmt.Println(x)\n}\n"
    assert text(tokens[mid + 1 :]) == "\t"


@pytest.mark.model  # a tiny real GGUF through llama-cpp-python
def test_model_without_fim_tokens_completes_from_the_prefix(tmp_path: Path) -> None:
    model = model_files.tiny_path(["Println(x)"], fim=False)
    engine, _rec = make_engine(model)
    try:
        go = GO.replace("\t\n", "\tfmt.\n").replace("fmt.Println(x)\n}", "return\n}")
        text = engine.process(CompletionRequest(1, 0, snapshot(go, row=6, col=5)))
        assert text == "Println(x)"
        assert engine.backend.info().fim is False
        record = engine.history[-1]
        assert record["source"] == "model"
        assert record["tokens_prompt"] == record["tokens_evaluated"] > 10
    finally:
        engine.close()


def test_streams_partial_updates_then_a_final_one(tiny_model: Path) -> None:
    engine, rec = make_engine(tiny_model)
    try:
        engine.submit(CompletionRequest(7, 3, snapshot()))
        rec.wait(lambda: 7 in rec.finals)
        texts = [u.text for u in rec.updates if u.id == 7]
        # The text grows piece by piece (each partial a prefix of the next), then the final.
        assert len(texts) >= 3
        assert all(b.startswith(a) for a, b in itertools.pairwise(texts))
        assert texts[-1] == 'fmt.Println("hello")'
        assert [u.final for u in rec.updates] == [False] * (len(texts) - 1) + [True]
        assert all(u.bufnr == 3 for u in rec.updates)
        final = rec.finals[7].timings
        assert final["tokens_generated"] >= 3 and final["ttft_ms"] >= 0
    finally:
        engine.close()


def test_the_same_context_again_comes_from_the_cache(tiny_model: Path) -> None:
    engine, rec = make_engine(tiny_model)
    try:
        assert engine.process(CompletionRequest(1, 0, snapshot())) == 'fmt.Println("hello")'
        assert engine.process(CompletionRequest(2, 0, snapshot())) == 'fmt.Println("hello")'
        assert rec.finals[2].source == "cache"
        # Typed through the first characters: the cached rest, still without the model.
        typed = GO.replace("\t\n", "\tfmt.\n")
        assert engine.process(CompletionRequest(3, 0, snapshot(typed, col=5))) == 'Println("hello")'
        assert rec.finals[3].source == "cache"
    finally:
        engine.close()


@pytest.mark.model  # a tiny real GGUF through llama-cpp-python
def test_single_line_position_stops_generation_at_the_newline(tmp_path: Path) -> None:
    model = model_files.tiny_path(["Println(x)", "\n\tnext()", "\n\tmore()"])
    engine, _rec = make_engine(model)
    try:
        snap = snapshot("package main\n\nfunc f() {\n\tfmt.  // note\n}\n", row=3, col=5)
        assert engine.process(CompletionRequest(1, 0, snap)) == "Println(x)"
        record = engine.history[-1]
        assert record["finish"] == "single-line"
        assert record["tokens_generated"] <= 2  # stopped at the newline, not after "more()"
    finally:
        engine.close()


def test_missing_or_broken_model_is_a_clear_error(tmp_path: Path) -> None:
    engine, rec = make_engine(tmp_path / "missing.gguf")
    try:
        assert engine.process(CompletionRequest(1, 0, snapshot())) == ""
        assert rec.finals[1].error is not None
        assert "model file not found" in rec.finals[1].error
        assert "missing.gguf" in rec.finals[1].error
    finally:
        engine.close()
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"this is not a model" * 100)
    backend = EmbeddedBackend(parse_settings({"model": str(broken)}))
    with pytest.raises(ModelError, match=r"must point to a \.gguf file"):
        backend.prepare()
    with pytest.raises(ModelError):  # remembered: no second load attempt per keystroke
        backend.prepare()


@pytest.mark.model
def test_typing_on_a_line_evaluates_only_the_new_tokens(gemma_fim_model: Path) -> None:
    backend = EmbeddedBackend(parse_settings({"model": str(gemma_fim_model)}))
    backend.prepare()
    settings = parse_settings({"generation": {"n_predict": 4}})
    start, typed, rest = "\tresult := ", "strings.ToUpper(name", ")"
    evaluated = []
    for n in range(len(typed) + 1):
        # Typing: the text before the cursor grows, the rest of the line stays.
        line = start + typed[:n] + rest
        text = GO.replace("\t\n", line + "\n")
        ctx = build_context(snapshot(text, row=6, col=len(start) + n), settings.context)
        timings = RequestTimings()
        list(backend.complete(ctx, settings.generation, Cancellation(), timings))
        evaluated.append(timings.tokens_evaluated)
    assert evaluated[0] > 20  # the first request evaluates the whole prompt
    assert max(evaluated[1:]) <= 4, evaluated
    backend.close()


STORY = "# Notes\n\nHere is a long story about a dragon who lived in the mountains.\n\n"


def story_snapshot() -> Any:
    # Plain text at the end of a file: the model writes on and on.
    return BufferSnapshot.from_text(STORY + "\n", 4, 0, path="/notes/story.txt")


@pytest.mark.model
def test_cancelling_stops_decoding_at_once(gemma_model: Path) -> None:
    settings = parse_settings({"generation": {"n_predict": 300, "time_limit_ms": 60000}})
    backend = EmbeddedBackend(parse_settings({"model": str(gemma_model)}))
    ctx = build_context(story_snapshot(), settings.context)
    cancel = Cancellation()
    timings = RequestTimings()
    pieces = []
    for piece in backend.complete(ctx, settings.generation, cancel, timings):
        pieces.append(piece)
        if len(pieces) == 10:
            cancel.cancel()
    assert timings.finish == "cancelled"
    assert 10 <= timings.tokens_generated <= 12
    assert len(pieces) <= 11
    backend.close()


@pytest.mark.model
def test_a_newer_request_stops_the_older_generation(gemma_model: Path) -> None:
    engine, rec = make_engine(
        gemma_model,
        generation={"n_predict": 300, "time_limit_ms": 60000, "max_lines": 100},
    )
    try:
        engine.submit(CompletionRequest(1, 0, story_snapshot()))
        rec.wait(lambda: any(u.id == 1 and not u.final for u in rec.updates), timeout=120)
        engine.submit(CompletionRequest(2, 0, snapshot()))
        rec.wait(lambda: 2 in rec.finals, timeout=120)
        first = next(r for r in engine.history if r["id"] == 1)
        assert first["finish"] == "cancelled"
        assert first["tokens_generated"] < 100
        assert 1 not in rec.finals  # a cancelled request is never delivered as final
    finally:
        engine.close()


@pytest.mark.model
def test_time_limit_ends_generation(gemma_model: Path) -> None:
    engine, _rec = make_engine(
        gemma_model, generation={"n_predict": 300, "time_limit_ms": 1, "max_lines": 100}
    )
    try:
        engine.process(CompletionRequest(1, 0, story_snapshot()))
        record = engine.history[-1]
        assert record["finish"] == "time_limit"
        assert record["tokens_generated"] <= 3
    finally:
        engine.close()


@pytest.mark.model  # a tiny real GGUF through llama-cpp-python
def test_the_suggestion_after_an_accept_is_prepared_while_the_user_reads() -> None:
    # Two pieces, neither a single byte: after a prompt ending in ";" the answer comes again
    # (and still parses: `f();f();` is Go, so the syntax check keeps it).
    engine, rec = make_engine(model_files.tiny_path(["fmt.Println(", '"hello");']))
    try:
        snap = snapshot()
        engine.submit(CompletionRequest(1, 0, snap))
        rec.wait(lambda: 1 in rec.finals)
        wait_idle(engine)
        accepted = snap.with_insertion(rec.finals[1].text)
        assert accepted.cursor_line == '\tfmt.Println("hello");'
        engine.submit(CompletionRequest(2, 0, accepted))
        rec.wait(lambda: 2 in rec.finals)
        assert rec.finals[2].source == "cache"
        assert [u.id for u in rec.updates].count(1) >= 2  # the speculation delivered nothing
        assert all(u.id in (1, 2) for u in rec.updates)
    finally:
        engine.close()


def test_speculation_can_be_turned_off(tiny_model: Path) -> None:
    engine, rec = make_engine(tiny_model, speculative=False)
    try:
        snap = snapshot()
        engine.submit(CompletionRequest(1, 0, snap))
        rec.wait(lambda: 1 in rec.finals)
        wait_idle(engine)
        engine.submit(CompletionRequest(2, 0, snap.with_insertion(rec.finals[1].text)))
        rec.wait(lambda: 2 in rec.finals)
        assert rec.finals[2].source == "model"
    finally:
        engine.close()


def wait_idle(engine: Engine, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not engine.idle():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_invalid_utf8_in_the_buffer_does_not_break_completion(tiny_model: Path) -> None:
    engine, rec = make_engine(tiny_model)
    try:
        # pynvim hands invalid UTF-8 bytes over as lone surrogates (surrogateescape).
        latin1 = "caf\udce9"
        text = GO.replace("x := 1", f'x := "{latin1}"')
        assert engine.process(CompletionRequest(1, 0, snapshot(text))) == 'fmt.Println("hello")'
        assert rec.finals[1].error is None
    finally:
        engine.close()


def test_recent_activity_joins_the_prompt_at_a_quiet_moment_and_is_prewarmed(
    tiny_model: Path,
) -> None:
    engine, rec = make_engine(tiny_model)
    try:
        engine.submit(CompletionRequest(1, 0, snapshot(), root="/src"))
        rec.wait(lambda: 1 in rec.finals)
        wait_idle(engine)
        llm = engine.backend._llm  # type: ignore[attr-defined]

        def prompt_text() -> str:
            return str(llm.detokenize(list(llm._input_ids)).decode(errors="replace"))

        yanked = "func helper(name string) string {\n\treturn strings.ToUpper(name)\n}"
        engine.add_activity("/src/app/util.go", yanked, "yank", "/src")
        assert "helper" not in prompt_text()  # queued, not yet in any prompt
        engine.promote()
        wait_idle(engine)
        # The prewarm request evaluated the prompt with the chunk, before the next keystroke.
        assert "app/util.go\nfunc helper(name string) string {" in prompt_text()
        assert [u.id for u in rec.updates if u.final] == [1]  # the prewarm showed nothing
        typed = snapshot(GO.replace("\t\n", "\tx\n"), col=2)
        engine.submit(CompletionRequest(2, 0, typed, root="/src"))
        rec.wait(lambda: 2 in rec.finals)
        record = engine.history[-1]
        # Only the changed end of the prompt was evaluated: the chunk was already in the cache.
        assert record["tokens_evaluated"] < record["tokens_prompt"] // 2
    finally:
        engine.close()


def big_go(functions: int = 60) -> str:
    out = [
        "package main",
        "",
        'import "fmt"',
        "",
        "// Config is far above.",
        "type Config struct {",
    ]
    out += ["\tName string", "}", ""]
    for i in range(functions):
        out += [f"func f{i}() {{", f"\tfmt.Println({i})", "}", ""]
    out += ["func main() {", "\tcfg := Config{}", "\t", "\tfmt.Println(cfg)", "}"]
    return "\n".join(out) + "\n"


def window_of(text: str, row: int, col: int, before: int = 40) -> BufferSnapshot:
    """A window of the buffer, as Lua sends it for a large file."""
    lines = text.split("\n")[:-1]
    first = max(0, row - before)
    return BufferSnapshot(
        path="/src/app/main.go",
        filetype="go",
        lines=tuple(lines[first : row + 10]),
        first_line=first,
        row=row,
        col=col,
        line_count=len(lines),
        head=tuple(lines[:3]),
    )


def test_a_mirrored_buffer_gives_definitions_from_the_whole_file(tiny_model: Path) -> None:
    text = big_go()
    lines = text.split("\n")[:-1]
    row = lines.index("\tcfg := Config{}") + 1
    engine, _rec = make_engine(tiny_model, context={"prefix_lines": 20})
    try:
        snap = window_of(text, row, 1)
        engine.process(CompletionRequest(1, 5, snap, root="/src"))
        llm = engine.backend._llm  # type: ignore[attr-defined]

        def prompt() -> str:
            return str(llm.detokenize(list(llm._input_ids)).decode(errors="replace"))

        assert "type Config struct" not in prompt()  # far above the window: not seen
        assert engine.sync_buffer(5, {"full": lines}, 1, snap)
        engine.process(CompletionRequest(2, 5, snap, root="/src"))
        assert "type Config struct {\n\tName string\n}" in prompt()
        # Changes arrive as the lines they replaced; the copy stays in step.
        edited = [*lines[:row], "\tx := 1", *lines[row:]]
        snap2 = window_of("\n".join(edited) + "\n", row + 1, 1)
        assert engine.sync_buffer(5, {"edits": [[row, row, ["\tx := 1"]]]}, 2, snap2)
        assert engine.status()["mirrored"] == {"5": len(edited)}
        # Out of step (a change we never heard of): the copy is dropped, a resync is due.
        assert not engine.sync_buffer(5, {"edits": []}, 3, window_of(text, row, 1))
        assert engine.status()["mirrored"] == {}
    finally:
        engine.close()


GO_ERR = (
    'package main\n\nimport "fmt"\n\nfunc a() (int, error) {\n\tx, err := g()\n\tif err != nil {\n'
    '\t\treturn 0, fmt.Errorf("g: %w", err)\n\t}\n\treturn x, nil\n}\n\n'
    "func load(p string) (*Config, error) {\n\tcfg, err := readConfig(p)\n\t\n}\n"
)


def test_go_error_check_is_offered_without_a_model() -> None:
    recorder = Recorder()
    engine = Engine(parse_settings({"backend": "none"}), recorder, start_worker=False)
    text = GO_ERR.replace('fmt.Errorf("g: %w", err)', "err")
    engine.process(CompletionRequest(id=1, bufnr=1, snapshot=snapshot(text, row=14, col=1)))
    final = recorder.finals[1]
    assert final.source == "rule"
    assert final.text == "if err != nil {\n\t\treturn nil, err\n\t}"
    assert [u.final for u in recorder.updates] == [True]


@pytest.mark.model  # a tiny real GGUF through llama-cpp-python
def test_a_wrapping_file_gets_the_message_from_the_model(tmp_path: Path) -> None:
    # Real llama.cpp with a model whose continuation is known: the block shows at once with a
    # guessed message, then the model's message replaces it; the return values stay ours.
    model = model_files.tiny_path(["read", " settings", ': %w"', ", err)"])
    engine, recorder = make_engine(model, speculative=False)
    try:
        engine.submit(CompletionRequest(id=1, bufnr=1, snapshot=snapshot(GO_ERR, row=14, col=1)))
        recorder.wait(lambda: 1 in recorder.finals)
    finally:
        engine.close()
    first, final = recorder.updates[0], recorder.finals[1]
    assert first.source == "rule" and not first.final
    assert first.text == 'if err != nil {\n\t\treturn nil, fmt.Errorf("read config: %w", err)\n\t}'
    assert final.source == "rule+model"
    assert (
        final.text == 'if err != nil {\n\t\treturn nil, fmt.Errorf("read settings: %w", err)\n\t}'
    )


@pytest.mark.model  # a tiny real GGUF through llama-cpp-python
def test_a_model_suggestion_returns_our_zero_values() -> None:
    # A statement away from the assignment the rule stays quiet; the model's block keeps its
    # shape, but its return values become the function's zero values.
    pieces = ["if err != nil {", "\n\t\treturn", " nil", ", -1", ", err", "\n\t}", "\n\n"]
    engine, recorder = make_engine(model_files.tiny_path(pieces), speculative=False)
    text = "package p\n\nfunc f() (int, bool, error) {\n\tv, err := g()\n\t_ = v\n\t\n}\n"
    try:
        snap = BufferSnapshot.from_text(
            text, 5, 1, path="/src/p/f.go", filetype="go", indent=IndentStyle(use_tabs=True)
        )
        engine.process(CompletionRequest(id=1, bufnr=1, snapshot=snap))
    finally:
        engine.close()
    assert recorder.finals[1].source == "model"
    assert recorder.finals[1].text == "if err != nil {\n\t\treturn 0, false, err\n\t}"


GO_LOG = """package p

import "go.uber.org/zap"

type Client struct {
	logger *zap.Logger
}

func (c *Client) Fetch(id string) error {
	c.logger.Info("fetching", zap.String("id", id))
	c.logger.Info(
}
"""


@pytest.mark.model  # a tiny real GGUF through llama-cpp-python
def test_a_log_line_stops_before_a_name_that_is_not_in_scope() -> None:
    # The model (real llama.cpp, known continuation) passes `bogus`, which nothing declares:
    # the suggestion stops before that argument and the call is closed.
    # The rule opens the message's quote: the model writes from inside the string.
    pieces = ['fetched"', ", zap.String(", '"id"', ", bogus", "))", "\n\tc.next()"]
    engine, recorder = make_engine(model_files.tiny_path(pieces), speculative=False)
    col = len("\tc.logger.Info(")
    try:
        snap = BufferSnapshot.from_text(
            GO_LOG, 10, col, path="/src/p/c.go", filetype="go", indent=IndentStyle(use_tabs=True)
        )
        engine.process(CompletionRequest(id=1, bufnr=1, snapshot=snap))
    finally:
        engine.close()
    final = recorder.finals[1]
    assert final.source == "model"
    assert final.text == '"fetched")'
    assert all("bogus" not in u.text for u in recorder.updates)


def test_rules_can_be_turned_off() -> None:
    recorder = Recorder()
    settings = parse_settings({"backend": "none", "rules": {"go_errors": False}})
    engine = Engine(settings, recorder, start_worker=False)
    text = GO_ERR.replace('fmt.Errorf("g: %w", err)', "err")
    engine.process(CompletionRequest(id=1, bufnr=1, snapshot=snapshot(text, row=14, col=1)))
    assert recorder.finals[1].source != "rule"
    assert recorder.finals[1].text == ""


@pytest.mark.model  # a tiny real GGUF through llama-cpp-python
def test_a_log_line_may_pass_names_from_the_package_s_other_files(tmp_path: Path) -> None:
    (tmp_path / "version.go").write_text('package p\n\nconst Version = "1.2"\n')
    pieces = ['starting version %s"', ", Version", ")", "\n\tc.next()"]
    engine, recorder = make_engine(model_files.tiny_path(pieces), speculative=False)
    text = 'package p\n\nimport "log"\n\nfunc Start() {\n\tlog.Printf(\n}\n'
    col = len("\tlog.Printf(")
    try:
        snap = BufferSnapshot.from_text(
            text,
            5,
            col,
            path=str(tmp_path / "c.go"),
            filetype="go",
            indent=IndentStyle(use_tabs=True),
        )
        engine.process(CompletionRequest(id=1, bufnr=1, snapshot=snap))
    finally:
        engine.close()
    assert recorder.finals[1].text == '"starting version %s", Version)'


@pytest.mark.model  # a tiny real GGUF through llama-cpp-python
def test_a_format_opened_by_the_rule_is_not_opened_again_once_typed() -> None:
    # The log rule writes the format's `"` into the prompt; the suggestion is cached for the
    # place, so typing that `"` shows the rest, never a second quote.
    pieces = ['starting %s"', ", name", ")", "\n\tc.next()"]
    engine, recorder = make_engine(model_files.tiny_path(pieces), speculative=False)
    text = 'package p\n\nimport "log"\n\nfunc Start(name string) {\n\tlog.Printf(\n}\n'
    typed = "\tlog.Printf("
    try:
        for number, line in enumerate((typed, typed + '"'), start=1):
            snap = BufferSnapshot.from_text(
                text.replace(typed, line), 5, len(line), path="/src/p/c.go", filetype="go"
            )
            engine.process(CompletionRequest(id=number, bufnr=1, snapshot=snap))
    finally:
        engine.close()
    assert recorder.finals[1].text == '"starting %s", name)'
    assert recorder.finals[2].text == 'starting %s", name)'
    assert recorder.finals[2].source == "cache"


@pytest.mark.model  # a tiny real GGUF through llama-cpp-python
def test_invalid_utf8_on_the_cursor_line_never_ends_the_worker() -> None:
    # A Latin-1 file opened with `:e ++bad=keep`: pynvim hands its bytes over as lone
    # surrogates. The answer is followed by a speculative step on the same line, which once
    # encoded strictly outside the worker's guard and ended the worker for good.
    engine, rec = make_engine(model_files.tiny_path(["fmt.Println(", '"hello");']))
    try:
        latin1 = GO.replace("\tx := 1\n\t\n", '\tx := 1\n\ts := "caf\udce9"; \n')
        engine.submit(CompletionRequest(1, 0, snapshot(latin1, row=6, col=14)))
        rec.wait(lambda: 1 in rec.finals)
        wait_idle(engine)
        # The worker still answers, in this buffer and in another.
        engine.submit(CompletionRequest(2, 1, snapshot(path="/src/app/other.go")))
        rec.wait(lambda: 2 in rec.finals)
        assert rec.finals[2].error is None
    finally:
        engine.close()


def test_a_cursor_line_too_long_for_n_ctx_names_the_n_ctx_that_fits(tiny_model: Path) -> None:
    """A minified line: the cursor line is never cut, so only a larger n_ctx helps, and the
    n_ctx the error names is enough."""
    line = "var x = [" + ", ".join(str(i) for i in range(300)) + "];"
    snap = BufferSnapshot.from_text(
        line + "\n", 0, len(line) // 2, path="/src/app/min.js", filetype="javascript"
    )
    budget = {"prefix_tokens": 16, "suffix_tokens": 16, "extra_tokens": 0}

    def build(n_ctx: int) -> list[int]:
        raw = {"model": str(tiny_model), "embedded": {"n_ctx": n_ctx}, "context": budget}
        settings = parse_settings(raw)
        backend = EmbeddedBackend(settings)
        try:
            backend.prepare()
            return backend.build_prompt(build_context(snap, settings.context), 32)
        finally:
            backend.close()

    with pytest.raises(BackendError) as small:
        build(256)
    message = str(small.value)
    assert "suffix_tokens" not in message and "prefix_tokens" not in message
    found = re.search(r"raise embedded\.n_ctx to at least (\d+)", message)
    assert found, message
    enough = int(found[1])
    # Nothing before the cursor line to cut: the prompt fills the window the error named.
    assert len(build(enough)) == enough - 32 - 1


def test_each_text_of_a_buffer_is_parsed_once_per_request_and_incrementally_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A mirrored Go buffer, the cursor in a log call far down: the window, the whole buffer
    # with the cursor line blanked (definitions, the log rule) and the whole buffer (the error
    # rule) are the texts there are. Each is parsed at most once a request (only when asked
    # for: the error rule needs no tree away from an error), and the next
    # keystroke reparses each from the last request's tree.
    from localllm import treesitter

    parsed: list[tuple[bytes, bool]] = []
    real_parse = treesitter.parse

    def counting(lang: str, data: bytes, old: Any = None) -> Any:
        parsed.append((data, old is not None))
        return real_parse(lang, data, old)

    monkeypatch.setattr(treesitter, "parse", counting)
    body = [
        line
        for i in range(40)
        for line in (f"func (c *Client) F{i}(id string) error {{", "\treturn nil", "}", "")
    ]
    lines = GO_LOG.split("\n")[:7] + body + GO_LOG.split("\n")[7:-1]
    row = lines.index("\tc.logger.Info(")
    engine = Engine(parse_settings({"backend": "none"}), Recorder(), start_worker=False)
    try:
        for n, typed in enumerate(("\tc.logger.Info(", '\tc.logger.Info("')):
            edited = [*lines[:row], typed, *lines[row + 1 :]]
            snap = BufferSnapshot(
                path="/src/p/c.go",
                filetype="go",
                lines=tuple(edited[row - 40 : row + 10]),
                first_line=row - 40,
                row=row,
                col=len(typed),
                line_count=len(edited),
                head=tuple(edited[:3]),
            )
            assert engine.sync_buffer(1, {"full": edited}, n + 1, snap)
            parsed.clear()
            engine.process(CompletionRequest(id=n + 1, bufnr=1, snapshot=snap))
            texts = [data for data, _ in parsed]
            assert 1 <= len(texts) <= 3 and len(set(texts)) == len(texts), len(texts)
            assert all(incremental for _, incremental in parsed) == (n > 0)
            assert "\n".join(edited).encode() not in texts  # no error here: its rule parsed none
    finally:
        engine.close()


def test_the_sibling_readers_share_one_cache_that_never_opens_a_denied_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.go").write_text("package p\n\ntype Config struct{ Name string }\n")
    (tmp_path / "b.go").write_text("package p\n\ntype Secret struct{ Key string }\n")
    main = str(tmp_path / "main.go")
    engine = Engine(parse_settings({"backend": "none"}), Recorder(), start_worker=False)
    try:
        assert engine.definitions.files is engine.files is engine.go_packages.files

        def read() -> tuple[set[str], set[str]]:
            defs = engine.definitions.definitions_in_folder(str(tmp_path), "go", exclude=main)
            types = engine.go_packages.folder_types(str(tmp_path), "p", exclude=main)
            return set(defs), set(types)

        assert read() == ({"Config", "Secret"}, {"Config", "Secret"})
        assert engine.files.parsed_files == 4  # two files, once for each reader
        assert read() == ({"Config", "Secret"}, {"Config", "Secret"})
        assert engine.files.parsed_files == 4  # unchanged files: from the cache
        engine.purge(None, [], [str(tmp_path / "b.go")])  # b.go became denied
        assert read() == ({"Config"}, {"Config"})
    finally:
        engine.close()
