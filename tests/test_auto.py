"""backend = "auto": a running llama-server first, then Ollama, then the embedded model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llama_server import free_port
from localllm.backends import make_backend
from localllm.backends.auto import AutoBackend, looks_like_llama_server, ollama_models
from localllm.config import parse_settings


def settings(**raw: Any) -> Any:
    return parse_settings({"backend": "auto", **raw})


def test_a_model_path_means_the_embedded_backend(tiny_model: Path, llama_server_tiny: Any) -> None:
    auto = AutoBackend(
        settings(model=str(tiny_model), llama_server={"url": llama_server_tiny.url}),
        lambda level, message: None,
    )
    auto.prepare()
    assert auto.info().name == "embedded"
    assert "`model` is set" in auto.info().detail
    auto.close()


def test_nothing_running_falls_back_to_the_embedded_model(
    tmp_path: Path, tiny_model: Path, monkeypatch: Any
) -> None:
    # No model configured: the embedded backend finds one in our models folder.
    models = tmp_path / "models"
    models.mkdir()
    (models / "tiny.gguf").write_bytes(tiny_model.read_bytes())
    monkeypatch.setenv("LOCALLLM_MODELS_DIR", str(models))
    nowhere = f"http://127.0.0.1:{free_port()}"
    auto = make_backend(
        settings(llama_server={"url": nowhere}, ollama={"url": nowhere}),
        lambda level, message: None,
    )
    assert isinstance(auto, AutoBackend)
    assert auto.info().state == "idle"
    auto.prepare()
    info = auto.info()
    assert info.name == "embedded"
    assert f"no llama-server at {nowhere}" in info.detail
    assert f"no Ollama at {nowhere}" in info.detail
    assert "using the embedded model" in info.detail
    auto.close()


def test_a_running_llama_server_is_preferred(llama_server_tiny: Any) -> None:
    url = llama_server_tiny.url
    assert looks_like_llama_server(url)
    assert ollama_models(url) is None  # a llama-server is not mistaken for Ollama
    auto = AutoBackend(settings(llama_server={"url": url}), lambda level, message: None)
    auto.prepare()
    info = auto.info()
    assert info.name == "llama_server"
    assert f"a llama-server answers at {url}" in info.detail
    auto.close()


def test_other_http_services_are_not_mistaken_for_servers() -> None:
    import http.server
    import threading

    class Teapot(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>hello</html>")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Teapot)
    threading.Thread(
        # shutdown() waits up to one poll: 0.5 s by default
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert not looks_like_llama_server(url)
        assert ollama_models(url) is None
    finally:
        server.shutdown()
