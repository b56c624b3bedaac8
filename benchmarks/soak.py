"""Soak: minutes of scripted typing in a real headless Neovim with the plugin, watching for leaks.

Types at a steady rate (10 keystrokes/s by default) across three buffers (a Go file, a Python
file and a large Go file of about 21,000 lines): opens a line, types a statement key by key,
sometimes accepts the suggestion with <Tab>, leaves insert mode, yanks the line, deletes what was
added (the files keep their size) and moves to the next buffer. Backends: the embedded model
(llama.cpp in the plugin's Python host) and a real llama-server, one after the other.

Measured per backend:
- memory: RSS of nvim, of the Python host and of llama-server, sampled every few seconds;
  start (after a warm-up), end, max and the least-squares slope in MB/min;
- stale suggestions drawn: the session's `stale_drawn` counter (checked at every draw: the
  request id, changedtick and cursor must still match) and an audit after every keystroke (a
  ghost-text extmark anywhere but at the cursor of the current buffer, for the latest request);
- requests left running after their cancellation: the engine's counters (how long each
  cancelled request went on; slow stops > 1 s), samples where the engine ran a request that
  had been cancelled more than 1 s before, llama-server's /slots still processing 3 s after
  the engine went idle (it finishes the batch it is on for a closed connection), and whether
  anything still runs once typing has stopped.

    python benchmarks/soak.py --minutes 30                     # both backends, gemma 3 270M
    python benchmarks/soak.py --minutes 3 --backend embedded
    python benchmarks/soak.py --minutes 1 --model tiny --out soak.json --series

Prints JSON (and writes it to --out). Exits 1 when a check failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from _nvim import go_file, model_files, start_nvim, stop_nvim, workdir

GO_SNIPPETS = [
    "rec, err := s.db.Get(id)",
    "if err != nil {",
    'fmt.Println("loaded", id, limit)',
    "name := strings.ToUpper(rec.Name)",
    "return rec, nil",
    "s.count += len(rec.Name)",
]
PY_SNIPPETS = [
    "result = self.load(key)",
    "if value is None:",
    "items.append(value)",
    'logger.info("loaded %s", key)',
    "return {k: v for k, v in data.items()}",
]
STATUS_EVERY_S = 2.0
SLOW_STOP_MS = 1000.0
SERVER_GRACE_S = 3.0

AUDIT_LUA = """
local ghost = require('localllm.ghost')
local session = require('localllm.session')
local cur = vim.api.nvim_get_current_buf()
local mode = vim.api.nvim_get_mode().mode
local pos = vim.api.nvim_win_get_cursor(0)
local last = session.last_record()
local bad = {}
for _, buf in ipairs(vim.api.nvim_list_bufs()) do
  if vim.api.nvim_buf_is_loaded(buf) then
    for _, m in ipairs(vim.api.nvim_buf_get_extmarks(buf, ghost.ns, 0, -1, {})) do
      local sug = session.suggestion(buf)
      local ok = buf == cur and mode:sub(1, 1) == 'i' and sug ~= nil
        and m[2] == pos[1] - 1 and m[3] == pos[2] and sug.row == m[2] and sug.col == m[3]
        and last ~= nil and sug.id == last.id
      if not ok then
        bad[#bad + 1] = { buf = buf, row = m[2], col = m[3], mode = mode,
          cursor = pos, id = sug and sug.id, last = last and last.id }
      end
    end
  end
end
return bad
"""


def python_file(classes: int = 12) -> str:
    out = ['"""Inventory records."""', "", "import logging", "", "logger = logging.getLogger()", ""]
    for i in range(classes):
        out += [
            "",
            f"class Store{i}:",
            f'    """Keeps the records of shelf {i}."""',
            "",
            "    def __init__(self, db):",
            "        self.db = db",
            "        self.count = 0",
            "",
            "    def load(self, key):",
            "        value = self.db.get(key)",
            "        if value is None:",
            f'            raise KeyError(f"shelf {i}: {{key}}")',
            "        self.count += 1",
            "        return value",
            "",
            "    def load_many(self, keys):",
            "        items = []",
            "        for key in keys:",
            "            items.append(self.load(key))",
            "        return items",
            "",
        ]
    return "\n".join(out) + "\n"


def rss_mb(pid: int | None) -> float | None:
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 2)
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                out += [int(x) for x in f.read().split()]
    return out


def python_host_pid(nvim_pid: int) -> int | None:
    for child in children(nvim_pid):
        with contextlib.suppress(OSError), open(f"/proc/{child}/cmdline", "rb") as f:
            if b"python" in f.read():
                return child
    return None


def slope_per_min(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    if var == 0:
        return None
    cov = sum((t - mx) * (v - my) for t, v in points)
    return round(cov / var * 60, 3)


def memory_summary(series: list[tuple[float, float]], warmup_s: float) -> dict[str, Any]:
    steady = [(t, v) for t, v in series if t >= warmup_s] or series
    if not steady:
        return {}
    values = [v for _, v in steady]
    return {
        "initial_mb": series[0][1],
        "start_mb": steady[0][1],
        "end_mb": steady[-1][1],
        "max_mb": max(values),
        "growth_mb": round(steady[-1][1] - steady[0][1], 2),
        "slope_mb_per_min": slope_per_min(steady),
        "samples": len(series),
    }


def get_json(url: str) -> Any:
    import httpx

    try:
        response = httpx.get(url, timeout=2)
        return response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def slots_processing(url: str | None) -> bool | None:
    if not url:
        return None
    slots = get_json(url + "/slots")
    if not isinstance(slots, list):
        return None
    return any(isinstance(s, dict) and s.get("is_processing") for s in slots)


def key_of(ch: str) -> str:
    return "<lt>" if ch == "<" else ch


class Soak:
    def __init__(self, args: argparse.Namespace, backend: str) -> None:
        self.args = args
        self.backend = backend
        self.rate = args.rate
        self.wd = workdir()
        self.rng = random.Random(7)
        self.server: Any = None
        self.server_url: str | None = None
        self.nvim: Any = None
        self.keys = 0
        self.turns = 0
        self.accepts = 0
        self.audit_stale: list[Any] = []
        self.mem: dict[str, list[tuple[float, float]]] = {"nvim": [], "host": [], "server": []}
        self.lua_kb: list[tuple[float, float]] = []
        self.cancelled_running_samples = 0
        self.max_cancelled_running_ms = 0.0
        self.server_busy_while_idle = 0
        self.status_errors = 0
        self.next_key = 0.0

    # -- set-up ------------------------------------------------------------------------------

    def model(self, fim: bool) -> Path:
        if self.args.model == "tiny":
            return model_files.tiny_path(["s.count", "++", "\n"])
        return model_files.gemma_fim_path() if fim else model_files.gemma_path()

    def start(self) -> None:
        config: dict[str, Any] = {}
        if self.backend == "embedded":
            config = {"backend": "embedded", "model": str(self.model(fim=False))}
        else:
            from llama_server import LlamaServer

            self.server = LlamaServer(
                self.model(fim=True),
                args=self.args.server_args.split(),
                log_path=Path(self.wd) / "llama-server.log",
            ).start()
            self.server_url = self.server.url
            config = {"backend": "llama_server", "llama_server": {"url": self.server.url}}
        self.nvim = start_nvim(self.wd)
        self.nvim.command("set undolevels=200 noswapfile")
        ok = self.nvim.exec_lua("return require('localllm').setup(...)", config)
        if not ok:
            raise RuntimeError(f"setup() rejected {config}")
        self.nvim_pid = int(self.nvim.eval("getpid()"))
        self.buffers = []
        for name, text, snippets in (
            ("store.go", go_file(40), GO_SNIPPETS),
            ("inventory.py", python_file(12), PY_SNIPPETS),
            ("big.go", go_file(1500), GO_SNIPPETS),
        ):
            path = os.path.join(self.wd, name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            self.nvim.command(f"edit {path}")
            buf = int(self.nvim.current.buffer.number)
            self.buffers.append((buf, len(text.split("\n")) - 1, snippets))
        self.host_pid: int | None = None

    # -- typing ------------------------------------------------------------------------------

    def pace(self) -> None:
        now = time.monotonic()
        if self.next_key > now:
            time.sleep(self.next_key - now)
        self.next_key = max(self.next_key + 1.0 / self.rate, time.monotonic() - 1.0)

    def key(self, keys: str) -> None:
        self.pace()
        self.nvim.input(keys)
        self.keys += 1
        self.audit()

    def audit(self) -> None:
        bad = self.nvim.exec_lua(AUDIT_LUA)
        if bad:
            self.audit_stale.append({"key": self.keys, "marks": bad})

    def wait_mode(self, want: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mode = self.nvim.api.get_mode()
            if mode["mode"].startswith(want) and not mode["blocking"]:
                return
            time.sleep(0.01)
        raise RuntimeError(f"nvim did not reach mode {want!r}")

    def turn(self) -> None:
        buf, line_count, snippets = self.buffers[self.turns % len(self.buffers)]
        self.turns += 1
        self.nvim.command(f"buffer {buf}")
        row = self.rng.randrange(12, line_count - 2)
        self.nvim.current.window.cursor = (row, 0)
        before = len(self.nvim.current.buffer)
        self.key("o")
        self.wait_mode("i")
        for ch in self.rng.choice(snippets):
            self.key(key_of(ch))
        if self.turns % 3 == 0 and self.nvim.exec_lua("return require('localllm').is_visible()"):
            self.key("<Tab>")
            self.accepts += 1
        self.key("<Esc>")
        self.wait_mode("n")
        self.key("y")
        self.key("y")
        self.wait_mode("n")
        added = len(self.nvim.current.buffer) - before
        if added > 0:
            self.nvim.command(f"silent {row + 1},{row + added}delete _")
        if self.host_pid is None:
            self.host_pid = python_host_pid(self.nvim_pid)

    # -- sampling ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any] | None:
        st = self.nvim.exec_lua("return (require('localllm.bridge').status())")
        return st if isinstance(st, dict) else None

    def sample_memory(self, t: float) -> None:
        for name, pid in (
            ("nvim", self.nvim_pid),
            ("host", self.host_pid),
            ("server", self.server.process.pid if self.server and self.server.process else None),
        ):
            value = rss_mb(pid)
            if value is not None:
                self.mem[name].append((round(t, 1), value))
        kb = self.nvim.exec_lua("return collectgarbage('count')")
        self.lua_kb.append((round(t, 1), round(float(kb), 1)))

    def sample_requests(self) -> None:
        st = self.status()
        if st is None:
            self.status_errors += 1
            return
        running = st.get("running")
        if isinstance(running, dict) and running.get("cancelled_ms", 0) > SLOW_STOP_MS:
            self.cancelled_running_samples += 1
            self.max_cancelled_running_ms = max(
                self.max_cancelled_running_ms, float(running["cancelled_ms"])
            )
        if self.server_url and not running and slots_processing(self.server_url):
            # The server notices a closed connection when the batch it is on ends (about a
            # second for a 512-token batch on a busy machine): busy for longer, with no new
            # request from the engine, is work for a request nobody waits for.
            last = (st.get("last") or {}).get("id")
            deadline = time.monotonic() + SERVER_GRACE_S
            while time.monotonic() < deadline and slots_processing(self.server_url):
                time.sleep(0.1)
            again = self.status() or {}
            if (
                not again.get("running")
                and (again.get("last") or {}).get("id") == last
                and slots_processing(self.server_url)
            ):
                self.server_busy_while_idle += 1
            self.next_key = time.monotonic()

    # -- run ---------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        duration = self.args.minutes * 60
        # Caches (definitions, parse trees, suggestions) fill during the first minutes.
        warmup = min(300.0, duration * 0.2)
        result: dict[str, Any] = {"backend": self.backend, "model": self.args.model}
        error = None
        try:
            self.start()
            t0 = time.monotonic()
            self.next_key = t0
            next_mem = next_status = 0.0
            while (elapsed := time.monotonic() - t0) < duration:
                if elapsed >= next_mem:
                    self.sample_memory(elapsed)
                    next_mem = elapsed + self.args.sample_s
                if elapsed >= next_status:
                    self.sample_requests()
                    next_status = elapsed + STATUS_EVERY_S
                self.turn()
            typed_s = time.monotonic() - t0
            self.sample_memory(typed_s)
            result.update(self.finish(typed_s, warmup))
        except Exception as exc:  # report what was measured so far
            error = f"{type(exc).__name__}: {exc}"
            result["error"] = error
            result.setdefault("keystrokes", self.keys)
        finally:
            if self.nvim is not None:
                stop_nvim(self.nvim)
            if self.server is not None:
                self.server.stop()
        result["memory"] = {
            name: memory_summary(series, warmup) for name, series in self.mem.items() if series
        }
        result["nvim_lua_heap"] = memory_summary(
            [(t, round(kb / 1024, 3)) for t, kb in self.lua_kb], warmup
        )
        if self.args.series:
            result["series"] = {name: series for name, series in self.mem.items() if series}
        return result

    def finish(self, typed_s: float, warmup: float) -> dict[str, Any]:
        # Typing stopped: wait for the engine (and the server) to go quiet.
        deadline = time.monotonic() + 30
        st = self.status() or {}
        while time.monotonic() < deadline and (
            st.get("running") or slots_processing(self.server_url)
        ):
            time.sleep(0.2)
            st = self.status() or {}
        stats = self.nvim.exec_lua("return require('localllm.session').stats")
        counters = st.get("counters") or {}
        left = bool(st.get("running")) or bool(slots_processing(self.server_url))
        return {
            "seconds": round(typed_s, 1),
            "warmup_s": round(warmup, 1),
            "keystrokes": self.keys,
            "keystrokes_per_s": round(self.keys / typed_s, 2),
            "turns": self.turns,
            "accepts": self.accepts,
            "session": stats,
            "stale": {
                "drawn": stats.get("stale_drawn"),
                "audit": len(self.audit_stale),
                "audit_examples": self.audit_stale[:3],
                "dropped_before_drawing": stats.get("stale"),
            },
            "cancellation": {
                "ran_after_cancel": counters.get("ran_cancelled"),
                "stop_after_cancel_max_ms": counters.get("stop_after_cancel_max_ms"),
                "slow_stops_over_1s": counters.get("slow_stops"),
                "samples_running_1s_after_cancel": self.cancelled_running_samples,
                "max_running_after_cancel_ms": round(self.max_cancelled_running_ms, 1),
                "server_busy_3s_while_engine_idle": self.server_busy_while_idle,
                "left_running_at_end": left,
            },
            "status_errors": self.status_errors,
        }


def verdict(run: dict[str, Any], max_slope: float) -> list[str]:
    problems = []
    if run.get("error"):
        problems.append(f"{run['backend']}: {run['error']}")
        return problems
    stale = run["stale"]
    if stale["drawn"] or stale["audit"]:
        problems.append(f"{run['backend']}: stale suggestions drawn")
    cancel = run["cancellation"]
    if cancel["left_running_at_end"] or cancel["server_busy_3s_while_engine_idle"]:
        problems.append(f"{run['backend']}: a request went on after its cancellation")
    for name in ("nvim", "host"):
        slope = run["memory"].get(name, {}).get("slope_mb_per_min")
        if slope is not None and slope > max_slope:
            problems.append(f"{run['backend']}: {name} RSS grows {slope} MB/min")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="per backend (default 30)")
    parser.add_argument("--backend", choices=("both", "embedded", "llama_server"), default="both")
    parser.add_argument(
        "--model", choices=("gemma", "tiny"), default="gemma", help="gemma 3 270M or a tiny model"
    )
    parser.add_argument("--rate", type=float, default=10.0, help="keystrokes per second")
    parser.add_argument("--sample-s", type=float, default=5.0, help="memory sampling interval")
    parser.add_argument(
        "--max-slope", type=float, default=1.0, help="RSS growth (MB/min) counted as a leak"
    )
    parser.add_argument("--series", action="store_true", help="include every RSS sample")
    parser.add_argument(
        "--server-args", default="", help="more llama-server flags, e.g. '--swa-full'"
    )
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.rate <= 0 or args.sample_s <= 0:
        parser.error("--minutes, --rate and --sample-s must be positive")
    backends = ["embedded", "llama_server"] if args.backend == "both" else [args.backend]
    runs = [Soak(args, backend).run() for backend in backends]
    problems = [p for run in runs for p in verdict(run, args.max_slope)]
    out = {
        "benchmark": "soak",
        "minutes_per_backend": args.minutes,
        "target_keystrokes_per_s": args.rate,
        "runs": runs,
        "problems": problems,
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
