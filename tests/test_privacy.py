"""Privacy: what is never sent (secrets files, disabled buffers), where text may go (no plain
http to another machine without the opt-in), and what the log file may hold (no buffer text
below debug, never an API key)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from conftest import REPO, nvim_binary
from localllm.backends import Cancellation
from localllm.backends.http import HttpService
from localllm.config import parse_settings, read_settings
from localllm.definitions import DefinitionIndex
from localllm.engine import CompletionRequest, Engine, Update
from localllm.errors import BackendError, ConfigError
from localllm.explain import ExplainService, request_from_payload
from localllm.privacy import (
    DEFAULT_DENY,
    PrivateFormatter,
    denied,
    is_loopback,
    redact,
    register_secret,
    sends_in_clear,
)
from localllm.ring import ActivityRing
from localllm.types import BufferSnapshot

SECRET_FILES = [
    "/home/me/app/.env",
    "/home/me/app/.env.local",
    "/home/me/app/.env.production",
    "/home/me/app/prod.env",
    "/home/me/app/.envrc",
    "/etc/ssl/private/server.pem",
    "/etc/ssl/private/server.KEY",
    "/home/me/.ssh/id_rsa",
    "/home/me/.ssh/id_rsa.pub",
    "/home/me/keys/id_ed25519",
    "/home/me/.ssh/config",
    "/home/me/.ssh/known_hosts",
    "/home/me/.netrc",
    "/home/me/.NETRC",
    "/home/me/.git-credentials",
    "/home/me/certs/client.p12",
    "/home/me/certs/client.pfx",
    "/home/me/app/credentials.json",
    "/home/me/.npmrc",
    "/home/me/.pypirc",
    "/home/me/.aws/credentials",
    "/home/me/.kube/config",
    "/home/me/infra/prod.tfvars",
    "C:\\Users\\me\\app\\.env",
    "/home/me/.config/gh/hosts.yml",
    "/home/me/.vault-token",
    "/home/me/keys/AuthKey_ABC123.p8",
    "/home/me/keys/server.ppk",
    "/home/me/vpn/work.ovpn",
    "/home/me/.s3cfg",
    "/home/me/.boto",
    "/home/me/.terraformrc",
    "/home/me/.my.cnf",
    "/home/me/app/config/secrets.yml",
    "/home/me/.gem/credentials",
    "/home/me/.cargo/credentials.toml",
    "/home/me/.config/gcloud/application_default_credentials.json",
    "/home/me/.azure/msal_token_cache.json",
    "/home/me/backup/passwords.txt.gpg",
]
CODE_FILES = [
    "/home/me/app/main.go",
    "/home/me/app/env.go",
    "/home/me/app/environment.py",
    "/home/me/app/keys.go",
    "/home/me/app/key_test.go",
    "/home/me/app/my_credentials.json.go",
    "/home/me/app/.envoy/main.go",
    "/home/me/app/config",
    "/home/me/app/pem.py",
    "/home/me/app/hosts.yml",
    "/home/me/app/secrets.go",
    "/home/me/.config/gcloud/configurations/config_default",
    "",
]


# --------------------------------------------------------------------------------------------
# The deny list, in Python and in Lua


@pytest.mark.parametrize("path", SECRET_FILES)
def test_the_default_deny_list_covers_secrets_files(path: str) -> None:
    assert denied(path, DEFAULT_DENY) is not None


@pytest.mark.parametrize("path", CODE_FILES)
def test_the_default_deny_list_leaves_code_alone(path: str) -> None:
    assert denied(path, DEFAULT_DENY) is None


def test_user_patterns_extend_the_list() -> None:
    settings = parse_settings({"privacy": {"deny_extra": ["secrets.*", "private/*"]}})
    patterns = settings.privacy.patterns
    assert patterns[: len(DEFAULT_DENY)] == DEFAULT_DENY
    assert denied("/app/secrets.py", patterns) == "secrets.*"
    assert denied("/app/private/notes.md", patterns) == "private/*"
    assert denied("/app/.env", patterns) == ".env"
    assert denied("/app/main.py", patterns) is None
    # Setting `deny` replaces the defaults.
    only = parse_settings({"privacy": {"deny": ["*.secret"]}}).privacy.patterns
    assert denied("/app/.env", only) is None
    assert denied("/app/a.secret", only) == "*.secret"


LUA_MATCH = """
vim.opt.rtp:prepend(_G.arg[1])
local input = vim.json.decode(io.read('*a'))
local privacy = require('localllm.privacy')
local out = {}
for i, path in ipairs(input.paths) do
  out[i] = privacy.match(path, input.patterns) or vim.NIL
end
io.stdout:write(vim.json.encode(out))
"""


def lua_match(tmp_path: Path, paths: list[str], patterns: list[str]) -> list[str | None]:
    script = tmp_path / "match.lua"
    script.write_text(LUA_MATCH)
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path))
    proc = subprocess.run(
        [nvim_binary(), "--clean", "-n", "-i", "NONE", "-l", str(script), str(REPO)],
        input=json.dumps({"paths": paths, "patterns": patterns}),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert isinstance(result, list)
    return result


@pytest.mark.nvim
def test_lua_and_python_deny_the_same_files(tmp_path: Path) -> None:
    patterns = [*DEFAULT_DENY, "secret[0-9].txt", "notes_[!a].md", "a?c.py", "*/private/*"]
    paths = [p.replace("\\", "/") for p in SECRET_FILES + CODE_FILES] + [
        "/x/secret1.txt",
        "/x/secretA.txt",
        "/x/notes_a.md",
        "/x/notes_b.md",
        "/x/abc.py",
        "/x/abbc.py",
        "/x/private/plan.txt",
        "/x/privateer/plan.txt",
        "/x/a+b (1).env",
        "/x/100%.pem",
    ]
    expected = [denied(p, patterns) for p in paths]
    assert lua_match(tmp_path, paths, patterns) == expected
    assert any(expected) and not all(expected)


# --------------------------------------------------------------------------------------------
# Settings


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"privacy": {"deny": ".env"}}, "privacy.deny"),
        ({"privacy": {"deny": [".env", ""]}}, "privacy.deny"),
        ({"privacy": {"deny_extra": [3]}}, "privacy.deny_extra"),
        ({"privacy": {"allow_remote_http": "yes"}}, "privacy.allow_remote_http"),
        ({"privacy": []}, "privacy"),
    ],
)
def test_bad_privacy_settings_name_the_key(raw: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(raw)
    assert info.value.key == key
    assert str(info.value).startswith(f"config.{key}: ")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"backend": "llama_server", "llama_server": {"url": "http://10.0.0.7:8012"}},
         "llama_server.url"),
        ({"ollama": {"url": "http://gpu-box:11434"}}, "ollama.url"),
        ({"backend": "openai", "openai": {"url": "http://192.168.1.5/v1", "model": "m"}},
         "openai.url"),
        ({"explain": {"backend": "ollama", "url": "http://[2001:db8::1]:11434"}}, "explain.url"),
    ],
)  # fmt: skip
def test_plain_http_to_another_machine_is_refused(raw: dict[str, Any], key: str) -> None:
    """Fails closed, also where other bad values only fall back to their defaults."""
    with pytest.raises(ConfigError) as info:
        read_settings({**raw, "cache_size": "bad", "privacy": {"allow_remote_http": "yes"}})
    assert str(info.value).startswith(f"config.{key}: http://")
    with pytest.raises(ConfigError) as info:
        parse_settings(raw)
    message = str(info.value)
    assert message.startswith(f"config.{key}: http://")
    assert "plain http" in message
    assert "https" in message and "privacy.allow_remote_http = true" in message
    # The opt-in lets it through.
    parse_settings({**raw, "privacy": {"allow_remote_http": True}})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8012",
        "http://localhost:11434",
        "http://127.3.4.5:80",
        "http://[::1]:8080",
        "https://gpu-box.example.com:8443",
        "https://10.0.0.7",
    ],
)
def test_https_and_loopback_are_always_fine(url: str) -> None:
    assert not sends_in_clear(url)
    assert parse_settings({"llama_server": {"url": url}}).llama_server.url == url.rstrip("/")


def test_loopback_detection() -> None:
    assert is_loopback("http://localhost:1") and is_loopback("http://[::1]:1")
    assert not is_loopback("http://localhost.evil.com:1")
    assert not is_loopback("http://10.0.0.1:1")
    assert sends_in_clear("HTTP://10.0.0.1:1")


def test_the_http_service_refuses_too_and_sends_nothing() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    service = HttpService(
        "llama-server", "http://10.9.8.7:8012", transport=httpx.MockTransport(handler)
    )
    for call in (
        lambda: service.get_json("/health"),
        lambda: service.post_json("/completion", {"prompt": "secret"}),
        lambda: list(service.stream_lines("/completion", {"prompt": "secret"}, Cancellation())),
    ):
        with pytest.raises(BackendError, match="not sending anything"):
            call()
    assert seen == []
    allowed = HttpService(
        "llama-server",
        "http://10.9.8.7:8012",
        transport=httpx.MockTransport(handler),
        allow_remote_http=True,
    )
    assert allowed.get_json("/health") == {}
    assert len(seen) == 1


# --------------------------------------------------------------------------------------------
# The host's own checks (the editor checks first; these hold whatever the editor sends)


class Updates:
    def __init__(self) -> None:
        self.items: list[Update] = []
        self.cond = threading.Condition()

    def __call__(self, update: Update) -> None:
        with self.cond:
            self.items.append(update)
            self.cond.notify_all()

    def wait_final(self, request_id: int) -> None:
        with self.cond:
            ok = self.cond.wait_for(
                lambda: any(u.id == request_id and u.final for u in self.items), 30
            )
        assert ok, self.items


SECRET = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG"


def test_the_engine_takes_nothing_from_a_denied_file() -> None:
    updates = Updates()
    settings = parse_settings({"backend": "none", "privacy": {"deny_extra": ["*.secret"]}})
    engine = Engine(settings, updates)
    try:
        for path in ("/app/.env", "/app/db.secret"):
            snap = BufferSnapshot.from_text(SECRET + "\n", 0, 10, path=path, filetype="sh")
            assert engine.sync_buffer(7, {"full": [SECRET]}, 3, snap)  # nothing to resend
            assert engine.buffers.get(7) is None
            engine.add_activity(path, SECRET + "\nmore words here", "yank")
            engine.submit(CompletionRequest(id=1, bufnr=7, snapshot=snap))
        # A file that may be sent goes through (the positive control), and is the only one.
        ok = BufferSnapshot.from_text("x := 1\n", 0, 6, path="/app/main.go", filetype="go")
        engine.add_activity("/app/main.go", "func load() error { return nil }", "yank")
        engine.submit(CompletionRequest(id=2, bufnr=8, snapshot=ok))
        updates.wait_final(2)
        assert {u.id for u in updates.items} == {2}
        assert [record["id"] for record in engine.history] == [2]
        assert engine.ring.queued_paths() == ["main.go"]
    finally:
        engine.close()


def test_definitions_skip_denied_sibling_files(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def load():\n    return 1\n")
    (tmp_path / "secrets.py").write_text("API_TOKEN = 'abc'\ndef token():\n    return API_TOKEN\n")
    patterns = (*DEFAULT_DENY, "secrets.py")
    index = DefinitionIndex(exclude=lambda path: denied(path, patterns) is not None)
    names = set(index.definitions_in_folder(str(tmp_path), "python", exclude=""))
    assert "load" in names
    assert "token" not in names and "API_TOKEN" not in names
    assert {"load", "token"} <= set(
        DefinitionIndex().definitions_in_folder(str(tmp_path), "python")
    )


def test_explain_refuses_a_denied_file() -> None:
    events: list[dict[str, Any]] = []
    service = ExplainService(parse_settings({"backend": "none"}), events.append, start_worker=False)
    request = request_from_payload(
        {"id": 4, "path": "/app/.env", "filetype": "sh", "lines": [SECRET], "end_row": 0}
    )
    service.submit(request)
    assert events == [
        {
            "id": 4,
            "kind": "error",
            "final": True,
            "text": "",
            "error": "nothing of this file is sent to the model (privacy.deny)",
        }
    ]
    assert service.idle()


# --------------------------------------------------------------------------------------------
# The log file


def failing() -> None:
    raise ValueError(f"cannot parse {SECRET!r}")


def formatted(debug: bool) -> str:
    formatter = PrivateFormatter("%(levelname)s %(message)s", debug=debug)
    try:
        failing()
    except ValueError:
        record = logging.LogRecord("localllm", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = sys.exc_info()
        return formatter.format(record)
    raise AssertionError("unreachable")


def test_tracebacks_leave_the_message_out_below_debug() -> None:
    text = formatted(debug=False)
    assert "Traceback" in text and "in failing" in text and "ValueError" in text
    assert "wJalrXUtnFEMI" not in text
    assert "wJalrXUtnFEMI" in formatted(debug=True)


def test_registered_secrets_are_masked() -> None:
    register_secret("sk-test-0123456789abcdef")
    assert redact("Bearer sk-test-0123456789abcdef!") == "Bearer [secret]!"
    formatter = PrivateFormatter("%(message)s", debug=True)
    record = logging.LogRecord(
        "localllm", logging.DEBUG, __file__, 1, "key %s", ("sk-test-0123456789abcdef",), None
    )
    assert formatter.format(record) == "key [secret]"


class EchoAuth(BaseHTTPRequestHandler):
    """A server that quotes the Authorization header back in every error (as some proxies do)."""

    def do_GET(self) -> None:
        self.answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.answer()

    def answer(self) -> None:
        auth = self.headers.get("Authorization") or "none"
        body = json.dumps(
            {"error": {"message": f"bad parameter suffix (Authorization: {auth})"}}
        ).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), EchoAuth)
    thread = threading.Thread(
        # shutdown() waits up to one poll: 0.5 s by default
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def host_log(tmp_path: Path) -> Iterator[Any]:
    """The host's own log set-up (nvim_host.setup_logging) writing to a file of the test."""
    from localllm.nvim_host import setup_logging

    def start(settings_raw: dict[str, Any]) -> Path:
        path = tmp_path / "localllm.log"
        setup_logging(parse_settings({**settings_raw, "log_file": str(path)}))
        return path

    yield start
    setup_logging(parse_settings({}))  # no handler, no file


def complete_once(engine: Engine, updates: Updates, text: str, request_id: int = 1) -> Update:
    snap = BufferSnapshot.from_text(text, 6, 1, path="/src/app/main.go", filetype="go")
    engine.submit(CompletionRequest(id=request_id, bufnr=1, snapshot=snap))
    updates.wait_final(request_id)
    return next(u for u in updates.items if u.id == request_id and u.final)


KEY = "sk-never-log-me-7f3a9c21"
GO = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\t\n\tfmt.Println(x)\n}\n'


def backend_config(name: str, url: str) -> dict[str, Any]:
    if name == "llama_server":
        return {"backend": "llama_server", "llama_server": {"url": url, "endpoint": "infill"}}
    if name == "openai":
        return {"backend": "openai", "openai": {"url": url + "/v1", "model": "m"}}
    return {"backend": "ollama", "ollama": {"url": url, "model": "qwen2.5-coder:1.5b-base"}}


@pytest.mark.parametrize("name", ["llama_server", "openai", "ollama"])
def test_api_keys_never_reach_the_log_even_at_debug(
    name: str,
    host_log: Any,
    echo_server: str,
    monkeypatch: pytest.MonkeyPatch,
    tiny_model: Path,
    request: pytest.FixtureRequest,
) -> None:
    """A real request with a key through each HTTP backend, debug logging on; then the same
    against a server that quotes the key back in its errors."""
    servers: list[Any] = []
    if name == "llama_server":
        # Started (once per session) before the key is set: llama-server itself would take
        # $LLAMA_API_KEY as its --api-key.
        url = request.getfixturevalue("llama_server_tiny").url
    elif name == "openai":
        from fake_openai import FakeOpenAI

        servers.append(FakeOpenAI(tiny_model, model_name="m", api_key=KEY).start())
        url = servers[0].root
    else:
        from fake_ollama import FakeModel, FakeOllama

        template = (
            "{{- if .Suffix }}<|fim_prefix|>{{ .Prompt }}<|fim_suffix|>{{ .Suffix }}"
            "<|fim_middle|>{{- else }}{{ .Prompt }}{{- end }}"
        )
        model = FakeModel("qwen2.5-coder:1.5b-base", tiny_model, template, family="qwen2")
        servers.append(FakeOllama([model]).start())
        url = servers[0].url
    monkeypatch.setenv("LLAMA_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    try:
        for target in (url, echo_server):
            log_path = host_log({**backend_config(name, target), "log_level": "debug"})
            updates = Updates()
            engine = Engine(parse_settings(backend_config(name, target)), updates)
            try:
                final = complete_once(engine, updates, GO)
            finally:
                engine.close()
            if target == url:
                assert final.error is None and final.text == 'fmt.Println("hello")'
            else:
                assert final.error is not None
            logging.getLogger("localllm.test").debug("end of %s", target)
            text = log_path.read_text(encoding="utf-8")
            assert f"DEBUG localllm.test: end of {target}" in text  # the handler writes debug
            assert KEY not in text
            if name == "openai" and target == echo_server:
                # It quoted the key back, and the log has it masked.
                assert "Authorization: Bearer [secret]" in text
    finally:
        for server in servers:
            server.stop()


# --------------------------------------------------------------------------------------------
# backend = 'auto': probing sends no buffer text; only the backend chosen gets any


class Recording(BaseHTTPRequestHandler):
    """Not a llama-server: records every request and answers 404."""

    seen: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_GET(self) -> None:
        self.record("GET")

    def do_POST(self) -> None:
        self.record("POST")

    def record(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append((method, self.path, body))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_auto_probes_carry_no_buffer_text(tiny_model: Path) -> None:
    from fake_ollama import FakeModel, FakeOllama

    Recording.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recording)
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    template = (
        "{{- if .Suffix }}<|fim_prefix|>{{ .Prompt }}<|fim_suffix|>{{ .Suffix }}"
        "<|fim_middle|>{{- else }}{{ .Prompt }}{{- end }}"
    )
    ollama = FakeOllama(
        [FakeModel("qwen2.5-coder:1.5b-base", tiny_model, template, family="qwen2")]
    ).start()
    marker = "zqxProbeMarker31"
    settings = parse_settings(
        {
            "backend": "auto",
            "llama_server": {"url": f"http://127.0.0.1:{httpd.server_address[1]}"},
            "ollama": {"url": ollama.url},
        }
    )
    updates = Updates()
    engine = Engine(settings, updates)
    try:
        text = GO.replace("x := 1", f"x := {marker}")
        final = complete_once(engine, updates, text)
        assert final.error is None
        assert engine.status()["backend"] == "ollama"
    finally:
        engine.close()
        ollama.stop()
        httpd.shutdown()
        httpd.server_close()
    # The server that is not a llama-server got one health probe, with no body.
    assert Recording.seen == [("GET", "/health", b"")]
    # Ollama, the one chosen, got the buffer text.
    bodies = [json.dumps(r.body) for r in ollama.requests if r.body is not None]
    assert any(marker in body for body in bodies)


# --------------------------------------------------------------------------------------------
# Symlinks and buffers that become secret


def test_a_symlink_to_a_secrets_file_is_denied(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"TOKEN={SECRET}\n")
    (tmp_path / "config.txt").symlink_to(tmp_path / ".env")
    (tmp_path / "linked").symlink_to(tmp_path, target_is_directory=True)
    assert denied(str(tmp_path / "config.txt"), DEFAULT_DENY) == ".env"
    assert denied(str(tmp_path / "linked" / ".env"), DEFAULT_DENY) == ".env"
    (tmp_path / "main.go").write_text("package main\n")
    (tmp_path / "code.go").symlink_to(tmp_path / "main.go")
    assert denied(str(tmp_path / "code.go"), DEFAULT_DENY) is None


def test_the_ring_drops_the_chunks_of_a_path() -> None:
    ring = ActivityRing()
    assert ring.add("notes.go", f"token := {SECRET} more words", "yank", source="/a/notes.go")
    ring.promote()
    assert ring.add("notes.go", f"queued := {SECRET} other words", "edit", source="/a/notes.go")
    assert ring.add("main.go", "func load() error { return nil }", "yank", source="/a/main.go")
    assert ring.drop({"/a/notes.go"}) == 2
    assert ring.chunks() == () and ring.queued_paths() == ["main.go"]


def test_a_purged_buffer_leaves_nothing_in_the_engine(tmp_path: Path) -> None:
    updates = Updates()
    engine = Engine(parse_settings({"backend": "none"}), updates)
    notes = str(tmp_path / "notes.go")
    Path(notes).write_text(
        f'package main\n\ntype Vault struct{{}}\n\nfunc secret() string {{ return "{SECRET}" }}\n'
    )
    Path(tmp_path / "main.go").write_text("package main\n\nfunc load() error { return nil }\n")
    try:
        snap = BufferSnapshot.from_text(SECRET + "\n", 0, 3, path=notes, filetype="go")
        engine.add_activity(notes, f"token := {SECRET} more words", "yank")
        engine.ring.promote()
        engine.add_activity(notes, f"queued := {SECRET} other words", "edit")
        engine.submit(CompletionRequest(id=1, bufnr=7, snapshot=snap))
        updates.wait_final(1)
        assert engine.ring.chunks() and engine._last is not None
        assert "secret" in engine.definitions.definitions_in_folder(str(tmp_path), "go")
        assert "Vault" in engine.go_packages.folder_types(str(tmp_path), "main")

        engine.purge(7, [notes], [notes])
        assert engine.ring.chunks() == () and engine.ring.queued_paths() == []
        assert engine._last is None and engine._last_window == ""
        assert engine.denied(notes)
        engine.add_activity(notes, f"again := {SECRET} more words", "yank")
        assert engine.ring.queued_paths() == []
        names = engine.definitions.definitions_in_folder(str(tmp_path), "go")
        assert "load" in names and "secret" not in names
        assert "Vault" not in engine.go_packages.folder_types(str(tmp_path), "main")
        # The editor allows the buffer again: its path is no longer refused.
        engine.purge(None, [], [])
        assert not engine.denied(notes)
    finally:
        engine.close()


def test_explain_reads_no_purged_file(tmp_path: Path) -> None:
    engine = Engine(parse_settings({"backend": "none"}), Updates(), start_worker=False)
    events: list[dict[str, Any]] = []
    explainer = ExplainService(
        engine.settings, events.append, start_worker=False, exclude=engine.denied
    )
    notes = tmp_path / "notes.py"
    notes.write_text(f"def secret():\n    return '{SECRET}'\n")
    (tmp_path / "app.py").write_text("def load():\n    return 1\n")
    try:
        assert "secret" in explainer.index.definitions_in_folder(str(tmp_path), "python")
        engine.purge(3, [str(notes)], [str(notes)])
        names = explainer.index.definitions_in_folder(str(tmp_path), "python")
        assert "load" in names and "secret" not in names
        payload = {"id": 5, "path": str(notes), "filetype": "python", "lines": ["x = 1"]}
        explainer.submit(request_from_payload(payload))
        assert events and events[0]["kind"] == "error"
    finally:
        explainer.close()
        engine.close()
