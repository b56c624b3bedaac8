"""Screenshot of the plugin for the README: Neovim in a real terminal (tmux) showing ghost text,
captured with its colours (`tmux capture-pane -e`) and drawn into an SVG, plus the output of
`:LocalLLM status` from the same session.

    .venv/bin/python .ci/screenshot.py [doc/screenshot.svg]

The suggestion is the Go error check, which needs no model; the embedded backend loads gemma 3
270M (from PyPI) so that `:LocalLLM status` shows a real model.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

COLS, ROWS = 78, 20
SESSION = "localllm-shot"

GO_FILE = """package config

import "os"

type Config struct{ Raw []byte }

// Load reads the configuration file at path.
func Load(path string) (*Config, Mode, error) {
\tdata, err := os.ReadFile(path)
\treturn &Config{Raw: data}, 0, nil
}
"""

INIT = """
vim.opt.runtimepath:prepend(vim.env.LOCALLLM_REPO)
vim.g.python3_host_prog = vim.env.LOCALLLM_PYTHON
vim.o.swapfile = false
vim.o.number = true
vim.o.termguicolors = true
vim.o.laststatus = 2
function _G.llm_status()
  return require('localllm').statusline()
end
vim.o.statusline = ' %f %= %{v:lua.llm_status()} '
vim.api.nvim_create_autocmd('User', { pattern = 'LocalLLMStatus', command = 'redrawstatus' })
vim.o.shortmess = vim.o.shortmess .. 'I'
require('localllm').setup({ model = vim.env.LOCALLLM_MODEL, debounce_ms = 20 })
"""


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def capture(ansi: bool = True) -> str:
    return tmux("capture-pane", "-p", *(["-e"] if ansi else ["-J"]), "-t", SESSION)


def wait_screen(pred: object, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        screen = capture(ansi=False)
        if pred(screen):  # type: ignore[operator]
            return screen
        if time.monotonic() > deadline:
            raise SystemExit("timed out; screen:\n" + screen)
        time.sleep(0.1)


# -- ANSI capture -> SVG ------------------------------------------------------------------------

BASE16 = [
    "#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
    "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
]  # fmt: skip


def xterm256(n: int) -> str:
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return f"#{steps[n // 36]:02x}{steps[(n // 6) % 6]:02x}{steps[n % 6]:02x}"
    g = 8 + (n - 232) * 10
    return f"#{g:02x}{g:02x}{g:02x}"


SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def parse(text: str, fg0: str, bg0: str) -> list[list[tuple[str, dict[str, object]]]]:
    """Lines of (character, style) cells."""
    style: dict[str, object] = {"fg": fg0, "bg": bg0}
    rows = []
    for line in text.split("\n")[:ROWS]:
        cells: list[tuple[str, dict[str, object]]] = []
        pos = 0
        for m in SGR.finditer(line):
            cells += [(ch, dict(style)) for ch in line[pos : m.start()]]
            pos = m.end()
            codes = [int(c) if c else 0 for c in re.split("[;:]", m.group(1) or "0")]
            i = 0
            while i < len(codes):
                c = codes[i]
                if c == 0:
                    style = {"fg": fg0, "bg": bg0}
                elif c == 1:
                    style["bold"] = True
                elif c == 3:
                    style["italic"] = True
                elif c == 4:
                    style["underline"] = True
                elif c == 7:
                    style["reverse"] = True
                elif c == 22:
                    style.pop("bold", None)
                elif c == 23:
                    style.pop("italic", None)
                elif c == 24:
                    style.pop("underline", None)
                elif c == 27:
                    style.pop("reverse", None)
                elif c in (38, 48) and i + 1 < len(codes):
                    key = "fg" if c == 38 else "bg"
                    if codes[i + 1] == 5 and i + 2 < len(codes):
                        style[key] = xterm256(codes[i + 2])
                        i += 2
                    elif codes[i + 1] == 2 and i + 4 < len(codes):
                        style[key] = "#{:02x}{:02x}{:02x}".format(*codes[i + 2 : i + 5])
                        i += 4
                elif c == 39:
                    style["fg"] = fg0
                elif c == 49:
                    style["bg"] = bg0
                elif 30 <= c <= 37:
                    style["fg"] = BASE16[c - 30]
                elif 40 <= c <= 47:
                    style["bg"] = BASE16[c - 40]
                elif 90 <= c <= 97:
                    style["fg"] = BASE16[c - 90 + 8]
                elif 100 <= c <= 107:
                    style["bg"] = BASE16[c - 100 + 8]
                i += 1
        cells += [(ch, dict(style)) for ch in line[pos:]]
        rows.append(cells)
    return rows


def to_svg(text: str, fg0: str = "#e0e2ea", bg0: str = "#14161b") -> str:
    cw, ch, pad = 8.4, 18.0, 12.0
    width, height = COLS * cw + 2 * pad, ROWS * ch + 2 * pad
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}">',
        f'<rect width="100%" height="100%" rx="6" fill="{bg0}"/>',
        '<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14px" '
        'xml:space="preserve">',
    ]
    for r, cells in enumerate(parse(text, fg0, bg0)):
        y = pad + r * ch
        runs: list[tuple[int, str, dict[str, object]]] = []
        for c, (char, st) in enumerate(cells):
            fg, bg = (st["bg"], st["fg"]) if st.get("reverse") else (st["fg"], st["bg"])
            key = {**st, "fg": fg, "bg": bg, "reverse": False}
            if runs and runs[-1][2] == key:
                runs[-1] = (runs[-1][0], runs[-1][1] + char, key)
            else:
                runs.append((c, char, key))
        for col, chars, st in runs:
            x = pad + col * cw
            if st["bg"] != bg0:
                out.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{len(chars) * cw:.1f}" '
                    f'height="{ch:.1f}" fill="{st["bg"]}"/>'
                )
            if chars.strip():
                attrs = f'fill="{st["fg"]}"'
                if st.get("bold"):
                    attrs += ' font-weight="bold"'
                if st.get("italic"):
                    attrs += ' font-style="italic"'
                if st.get("underline"):
                    attrs += ' text-decoration="underline"'
                out.append(
                    f'<text x="{x:.1f}" y="{y + ch * 0.75:.1f}" {attrs} '
                    f'textLength="{len(chars) * cw:.1f}">{html.escape(chars)}</text>'
                )
    out += ["</g>", "</svg>"]
    return "\n".join(out) + "\n"


def main() -> None:
    import model_files

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "doc" / "screenshot.svg"
    if not shutil.which("tmux"):
        raise SystemExit("tmux is needed")
    nvim = str(Path(sys.executable).parent / "nvim")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = dict(os.environ)
        env.update(
            NVIM_RPLUGIN_MANIFEST=str(tmp / "rplugin.vim"),
            LOCALLLM_REPO=str(REPO),
            LOCALLLM_PYTHON=sys.executable,
            LOCALLLM_MODEL=str(model_files.gemma_path()),
            XDG_DATA_HOME=str(tmp / "data"),
            XDG_STATE_HOME=str(tmp / "state"),
            XDG_CONFIG_HOME=str(tmp / "config"),
            TERM="xterm-256color",
            COLORTERM="truecolor",
        )
        init = tmp / "init.lua"
        init.write_text(INIT)
        subprocess.run(
            [
                nvim,
                "--headless",
                "-u",
                str(init),
                "-i",
                "NONE",
                "-n",
                "+UpdateRemotePlugins",
                "+qa!",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        project = tmp / "config"
        project.mkdir()
        (project / "mode.go").write_text("package config\n\ntype Mode uint8\n")
        (project / "config.go").write_text(GO_FILE)
        env_args = [
            f"{k}={v}" for k, v in env.items() if k.startswith(("LOCALLLM", "XDG", "NVIM_R"))
        ]
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
        tmux(
            "new-session", "-d", "-s", SESSION, "-x", str(COLS), "-y", str(ROWS),
            "-c", str(project), "env", *env_args, "TERM=xterm-256color", "COLORTERM=truecolor",
            nvim, "-u", str(init), "-i", "NONE", "-n", "config.go",
        )  # fmt: skip
        try:
            tmux("set-option", "-t", SESSION, "default-terminal", "tmux-256color")
            wait_screen(lambda s: "func Load" in s)
            tmux(
                "send-keys", "-t", SESSION, ":setlocal noexpandtab tabstop=4 shiftwidth=4", "Enter"
            )
            tmux("send-keys", "-t", SESSION, ":9", "Enter")
            tmux("send-keys", "-t", SESSION, "o")
            wait_screen(lambda s: "return nil, 0, err" in s and "-- INSERT --" in s)
            wait_screen(lambda s: re.search(r"LLM \d+ms", s))
            shot = capture()
            target.write_text(to_svg(shot))
            # Accept it: the next suggestion comes from the model, for :LocalLLM status.
            before = re.findall(r"LLM \d+ms", capture(ansi=False))
            tmux("send-keys", "-t", SESSION, "Tab")
            wait_screen(lambda s: re.findall(r"LLM \d+ms", s) not in ([], before))
            tmux("send-keys", "-t", SESSION, "Escape")
            tmux("send-keys", "-t", SESSION, ":LocalLLM status", "Enter")
            status = wait_screen(lambda s: "last request" in s and "tokens" in s)
            if "(rule" in status:  # the model's answer was not in yet: ask once more
                tmux("send-keys", "-t", SESSION, "Enter")
                time.sleep(1.0)
                tmux("send-keys", "-t", SESSION, ":LocalLLM status", "Enter")
                status = wait_screen(lambda s: "last request" in s and "tokens" in s)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    lines = status.rstrip("\n").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("localllm: "))
    print("\n".join(line.rstrip() for line in lines[start:] if "Press ENTER" not in line))
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
