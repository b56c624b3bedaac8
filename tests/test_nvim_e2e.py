"""End to end in a real headless Neovim: the remote plugin, the engine, llama.cpp in-process.

Most tests use tiny deterministic GGUF models (real llama.cpp, known output); one runs the real
gemma 3 270M model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import model_files
from nvim_helpers import (
    cursor,
    drawn,
    insert_at,
    last_record,
    lines,
    mode,
    open_buffer,
    setup_plugin,
    stats,
    wait_final,
    wait_for,
)

pytestmark = pytest.mark.nvim

GO_FILE = """package main

import "fmt"

func main() {
\tx := 1

\tfmt.Println(x)
}
"""

MULTI = ["if err != nil {", "\n\t\treturn err", "\n\t}"]


def start(nvim_factory: Any, model: Path, **opts: Any) -> Any:
    nvim = nvim_factory()
    config = {"model": str(model), "debounce_ms": 20}
    config.update(opts)
    setup_plugin(nvim, **config)
    return nvim


HELLO = 'fmt.Println("hello")'


def hello_shown(nvim_factory: Any, model: Path, tmp_path: Path, **opts: Any) -> Any:
    """Neovim with GO_FILE, a Tab typed on the empty line 7 and the tiny model's answer shown."""
    nvim = start(nvim_factory, model, **opts)
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_final(nvim, HELLO)
    return nvim


def test_ghost_text_streams_and_accept_inserts_it(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = hello_shown(nvim_factory, tiny_model, tmp_path)
    counters = stats(nvim)
    # The model emits three tokens; the UI saw partial updates before the final one.
    assert counters["partial"] >= 2
    expected = GO_FILE.split("\n")[:-1]
    expected[6] = "\t"
    assert lines(nvim) == expected  # showing inserts nothing
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[6] == '\tfmt.Println("hello")')
    assert cursor(nvim) == (7, len('\tfmt.Println("hello")'))
    assert mode(nvim) == "i"
    # One undo step removes exactly the accepted text.
    nvim.input("<Esc>")
    wait_for(lambda: mode(nvim) == "n")
    nvim.input("u")
    wait_for(lambda: lines(nvim)[6] == "\t")


def test_accept_word_and_line_then_rest(nvim_factory: Any, tmp_path: Path) -> None:
    nvim = start(nvim_factory, model_files.tiny_path(MULTI))
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    full = "".join(MULTI)
    assert wait_for(lambda: drawn(nvim) == full and drawn(nvim))
    nvim.input("<M-Right>")  # accept word: "if"
    wait_for(lambda: lines(nvim)[6] == "\tif")
    assert drawn(nvim) == full[2:]
    nvim.input("<M-Right>")  # " err"
    wait_for(lambda: lines(nvim)[6] == "\tif err")
    nvim.input("<S-Tab>")  # rest of the line
    wait_for(lambda: lines(nvim)[6] == "\tif err != nil {")
    assert drawn(nvim) == "\n\t\treturn err\n\t}"
    nvim.input("<S-Tab>")  # the next line
    wait_for(lambda: lines(nvim)[7] == "\t\treturn err")
    assert cursor(nvim) == (8, len("\t\treturn err"))
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[8] == "\t}")
    assert lines(nvim)[5:10] == [
        "\tx := 1",
        "\tif err != nil {",
        "\t\treturn err",
        "\t}",
        "\tfmt.Println(x)",
    ]


def test_dismiss_and_leaving_insert_clear(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, tiny_model)
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_for(lambda: drawn(nvim))
    nvim.input("<C-]>")
    wait_for(lambda: drawn(nvim) is None)
    assert lines(nvim)[6] == "\t"
    nvim.input("x")
    wait_for(lambda: drawn(nvim))
    nvim.input("<Esc>")
    wait_for(lambda: drawn(nvim) is None)
    assert lines(nvim)[6] == "\tx"


def test_typing_through_keeps_the_suggestion_without_a_request(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = hello_shown(nvim_factory, tiny_model, tmp_path)
    requests = stats(nvim)["requests"]
    nvim.input("fmt.P")
    wait_for(lambda: lines(nvim)[6] == "\tfmt.P")
    assert wait_for(lambda: drawn(nvim) == 'rintln("hello")')
    assert stats(nvim)["requests"] == requests
    # Typing something else drops it and asks again.
    nvim.input("X")
    wait_for(lambda: stats(nvim)["requests"] > requests)


def test_stale_results_are_never_drawn(nvim_factory: Any, tiny_model: Path, tmp_path: Path) -> None:
    nvim = start(nvim_factory, tiny_model, auto_trigger=False)
    buf = open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("<M-\\>")  # trigger by hand
    wait_for(lambda: drawn(nvim) == HELLO)
    nvim.input("<C-]>")
    wait_for(lambda: drawn(nvim) is None)
    last_id = nvim.exec_lua("return require('localllm.session').last_record().id")

    def deliver(update: dict[str, Any]) -> None:
        nvim.exec_lua("require('localllm.bridge').on_update(...)", update)

    # protocol.CompletionUpdate: no "error" key (the host never sends null).
    base = {"bufnr": buf, "kind": "done", "final": True, "source": "model", "timings": {}}
    # An older id, the dismissed id, and another buffer: all dropped.
    deliver({**base, "id": last_id - 1, "text": "OLD"})
    deliver({**base, "id": last_id, "text": "DISMISSED"})
    deliver({**base, "id": last_id + 5, "text": "UNKNOWN", "bufnr": buf + 100})
    # The latest request, but the buffer changed since (changedtick differs): dropped.
    nvim.input("<M-\\>")
    wait_for(lambda: drawn(nvim))
    latest = nvim.exec_lua("return require('localllm.session').last_record().id")
    nvim.input("<C-]>")
    wait_for(lambda: drawn(nvim) is None)
    nvim.exec_lua("require('localllm.session').request_now(0)")  # in flight, same id + 1
    newest = latest + 1
    nvim.input("z")  # edit after sending: changedtick moves on
    wait_for(lambda: lines(nvim)[6] == "z")
    deliver({**base, "id": newest, "text": "AFTER-EDIT"})
    assert drawn(nvim) in (None, "")
    assert lines(nvim)[6] == "z"


def test_tab_passes_through_when_nothing_is_shown(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, tiny_model, auto_trigger=False)
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    nvim.command("setlocal noexpandtab")
    insert_at(nvim, 7, 0)
    nvim.input("<Tab>x")
    wait_for(lambda: lines(nvim)[6] == "\tx")
    assert drawn(nvim) is None


def test_multibyte_and_wide_characters_before_the_cursor(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, tiny_model)
    text = 'package main\n\nfunc main() {\n\ts := "héllo 世界 🎉"; \n}\n'
    open_buffer(nvim, str(tmp_path / "wide.go"), text)
    line = '\ts := "héllo 世界 🎉"; '
    insert_at(nvim, 4, len(line.encode()))
    nvim.input("<C-]>x<BS>")  # a fresh request at this position
    wait_for(lambda: drawn(nvim) == HELLO)
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[3] == line + HELLO)
    assert cursor(nvim) == (4, len((line + HELLO).encode()))


def test_excluded_filetypes_and_buffer_switch_send_nothing(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, tiny_model)
    open_buffer(nvim, str(tmp_path / "COMMIT_EDITMSG"), "\n", filetype="gitcommit")
    insert_at(nvim, 1, 0)
    nvim.input("fix")
    wait_for(lambda: lines(nvim)[0] == "fix")
    nvim.command("sleep 200m")
    assert stats(nvim)["requests"] == 0
    nvim.input("<Esc>")
    nvim.exec_lua("vim.b.localllm_disable = true")
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_for(lambda: drawn(nvim))
    assert stats(nvim)["requests"] >= 1


def test_coming_back_shows_the_cached_suggestion_at_once(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = hello_shown(nvim_factory, tiny_model, tmp_path)
    nvim.input("<Up>")
    wait_for(lambda: cursor(nvim)[0] == 6)
    nvim.input("<Down>")
    wait_for(lambda: cursor(nvim) == (7, 1))
    wait_for(lambda: drawn(nvim) == HELLO)
    source = wait_for(
        lambda: nvim.exec_lua(
            "local r = require('localllm.session').last_record()"
            " return r and r.timings and r.timings.source"
        )
    )
    assert source == "cache"


def test_status_reports_backend_model_and_timings(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = hello_shown(nvim_factory, tiny_model, tmp_path)
    text = "\n".join(nvim.exec_lua("return require('localllm').status_lines()"))
    assert "backend: embedded" in text
    assert str(tiny_model) in text
    assert "FIM:     true" in text
    assert "tokens: prompt" in text


def test_bad_config_is_reported_with_the_key(nvim_factory: Any) -> None:
    nvim = nvim_factory()
    ok = nvim.exec_lua("return require('localllm').setup({ generation = { n_predict = 'many' } })")
    assert ok is False
    messages = nvim.exec_lua("return vim.api.nvim_exec2('messages', {output = true}).output")
    assert "config.generation.n_predict" in messages


def test_missing_model_is_one_clear_message_and_no_ghost_text(
    nvim_factory: Any, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, tmp_path / "nope.gguf")
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\tab")
    error = wait_for(lambda: nvim.exec_lua("return require('localllm').last_error"))
    assert "model file not found" in error and "nope.gguf" in error
    assert drawn(nvim) is None
    assert lines(nvim)[6] == "\tab"


@pytest.mark.model
def test_real_gemma_model_in_process(nvim_factory: Any, gemma_model: Path, tmp_path: Path) -> None:
    nvim = start(nvim_factory, gemma_model, generation={"n_predict": 24})
    fixture = Path(__file__).parent / "fixtures" / "demo.go"
    text = fixture.read_text()
    open_buffer(nvim, str(tmp_path / "demo.go"), text)
    nvim.command("setlocal noexpandtab")
    insert_at(nvim, 33, 2)  # the empty body of the for loop
    nvim.input("<M-\\>")
    record = wait_final(nvim, timeout=120)
    timings = record["timings"]
    assert timings["source"] == "model"
    assert timings["tokens_prompt"] > 100  # the file above the cursor went into the prompt
    assert timings["tokens_generated"] >= 1
    shown = drawn(nvim)
    assert shown, f"gemma suggested nothing here ({timings['finish']})"
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim) != text.split("\n")[:-1])
    new_lines = lines(nvim)
    assert "\n".join(new_lines[32:]).startswith("\t\t" + shown)
    assert new_lines[:32] == text.split("\n")[:32]


def test_hidden_while_the_completion_popup_is_open(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = hello_shown(nvim_factory, tiny_model, tmp_path)
    nvim.input("<C-n>")  # keyword completion opens the popup menu
    wait_for(lambda: nvim.funcs.pumvisible() == 1)
    wait_for(lambda: drawn(nvim) is None)
    nvim.input("<C-e>")  # close it without inserting: the suggestion comes back
    wait_for(lambda: nvim.funcs.pumvisible() == 0)
    wait_for(lambda: drawn(nvim) == HELLO)
    assert lines(nvim)[6] == "\t"


QWEN_FIM_TEMPLATE = (
    "{{- if .Suffix }}<|fim_prefix|>{{ .Prompt }}<|fim_suffix|>{{ .Suffix }}<|fim_middle|>"
    "{{- else }}{{ .Prompt }}{{- end }}"
)


@pytest.fixture(params=["embedded", "llama_server", "ollama", "openai"])
def backend_config(request: Any, tiny_model: Path) -> Any:
    """Plugin config for each backend, all serving the same tiny deterministic model."""
    kind = request.param
    if kind == "embedded":
        yield {"backend": "embedded", "model": str(tiny_model)}
    elif kind == "llama_server":
        server = request.getfixturevalue("llama_server_tiny")
        yield {"backend": "llama_server", "llama_server": {"url": server.url}}
    elif kind == "ollama":
        from fake_ollama import FakeModel, FakeOllama

        model = FakeModel("qwen2.5-coder:1.5b-base", tiny_model, template=QWEN_FIM_TEMPLATE)
        with FakeOllama([model]) as fake:
            yield {"backend": "ollama", "ollama": {"url": fake.url}}
    else:
        from fake_openai import FakeOpenAI

        with FakeOpenAI(
            tiny_model, model_name="Qwen/Qwen2.5-Coder-1.5B", behaviour="reject_suffix"
        ) as fake:
            yield {"backend": "openai", "openai": {"url": fake.url, "model": fake.model_name}}


def test_every_backend_end_to_end(nvim_factory: Any, backend_config: Any, tmp_path: Path) -> None:
    nvim = nvim_factory()
    setup_plugin(nvim, debounce_ms=20, **backend_config)
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    record = wait_final(nvim, HELLO, timeout=60)
    assert record["timings"]["source"] == "model"
    status = "\n".join(nvim.exec_lua("return require('localllm').status_lines()"))
    assert f"backend: {backend_config['backend']}" in status
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[6] == "\t" + HELLO)
    assert cursor(nvim) == (7, len("\t" + HELLO))


def test_a_server_that_goes_away_is_reported_once_and_used_again_when_back(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    from llama_server import LlamaServer

    server = LlamaServer(tiny_model, log_path=tmp_path / "server.log").start()
    try:
        nvim = nvim_factory()
        setup_plugin(nvim, debounce_ms=20, backend="llama_server", llama_server={"url": server.url})
        open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
        insert_at(nvim, 7, 0)
        nvim.input("\t")
        wait_final(nvim, HELLO)
        server.stop()
        nvim.input("a")
        error = wait_for(lambda: nvim.exec_lua("return require('localllm').last_error"))
        assert error == f"cannot reach llama-server at {server.url} — is it running?"
        nvim.input("b")  # still down: no second notification
        wait_for(lambda: lines(nvim)[6] == "\tab")
        messages = nvim.exec_lua("return vim.api.nvim_exec2('messages', {output = true}).output")
        assert messages.count("cannot reach llama-server") <= 1
        server.start()
        nvim.command("sleep 2100m")  # retry pauses grow: 1 s, then 2 s
        nvim.input("<BS><BS>x")  # a new place: not in the cache, the server must answer
        record = wait_final(nvim, HELLO)
        assert record["timings"]["source"] == "model"
        assert nvim.exec_lua("return require('localllm').last_error") is None
        assert lines(nvim)[6] == "\tx"
    finally:
        server.stop()


def test_yanked_text_and_edits_join_the_prompt_when_the_user_pauses(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = hello_shown(nvim_factory, tiny_model, tmp_path)
    other = tmp_path / "util.go"
    other.write_text("package main\n\nfunc helper(name string) string {\n\treturn name + name\n}\n")
    nvim.input("<Esc>")
    nvim.command(f"split {other}")
    nvim.command("normal! 3GyG")  # yank the function
    nvim.command("wincmd p")
    insert_at(nvim, 7, 1)
    nvim.input("<Esc>")  # InsertLeave: a quiet moment
    status = wait_for(
        lambda: (
            "recent:"
            in (t := "\n".join(nvim.exec_lua("return require('localllm').status_lines()")))
            and t
        )
    )
    assert "util.go" in status


def test_a_large_buffer_is_mirrored_in_step_through_every_kind_of_change(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    body = "".join(f'func f{i}() {{\n\tfmt.Println({i}, "x")\n}}\n\n' for i in range(300))
    text = 'package main\n\nimport "fmt"\n\n' + body
    nvim = start(nvim_factory, tiny_model)
    buf = open_buffer(nvim, str(tmp_path / "big.go"), text)

    def mirrored() -> Any:
        status = nvim.exec_lua("return require('localllm.bridge').status()")
        return (status or {}).get("mirrored", {}).get(str(buf))

    def request_and_check() -> None:
        before = (last_record(nvim) or {}).get("id", 0)
        nvim.exec_lua("require('localllm.session').request_now(vim.api.nvim_get_current_buf())")

        def answered() -> bool:
            record = last_record(nvim) or {}
            return record.get("id", 0) > before and bool(record.get("final_ns"))

        wait_for(answered)
        count = len(nvim.current.buffer)
        wait_for(lambda: mirrored() == count)
        assert nvim.exec_lua("return require('localllm').last_error") is None

    insert_at(nvim, 1000, 0)
    nvim.input("\tnew := 1<CR>\tmore := 2")
    wait_for(lambda: lines(nvim)[1000].endswith("more := 2"))
    request_and_check()
    nvim.input("<Esc>")
    for command in ("normal! 3J", "%s/Println/Print/g", "normal! 5dd", "normal! p", "undo"):
        nvim.command(command)
    insert_at(nvim, 900, 0)
    request_and_check()
    assert mirrored() == len(nvim.current.buffer)
    # Unloading the buffer drops the host's copy.
    nvim.input("<Esc>")
    nvim.command("enew")
    nvim.command(f"bwipeout! {buf}")
    wait_for(lambda: mirrored() is None)
