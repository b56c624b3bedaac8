"""Living with the plugins people run (issue 15): nvim-cmp, blink.cmp, LuaSnip, nvim-autopairs
and diagnostics, each the real, unmodified plugin from ../shared/plugins, in a real headless
Neovim with the tiny deterministic model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import REPO
from nvim_helpers import (
    cursor,
    drawn,
    insert_at,
    lines,
    mode,
    open_buffer,
    setup_plugin,
    wait_final,
    wait_for,
)

pytestmark = pytest.mark.nvim

PLUGINS = REPO.parent / "shared" / "plugins"
GO_FILE = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\n\tfmt.Println(x)\n}\n'
HELLO = 'fmt.Println("hello")'
MULTI = ["if err != nil {", "\n\t\treturn err", "\n\t}"]


def plugin(nvim: Any, name: str) -> None:
    """Put the real plugin `name` on the runtimepath (skip when it is not there)."""
    path = PLUGINS / name
    if not path.is_dir():
        pytest.skip(f"{name} is not in {PLUGINS} (the coexistence tests need the real plugin)")
    nvim.exec_lua("vim.opt.rtp:prepend(...)", str(path))


def start(nvim_factory: Any, model: Path, *names: str, **opts: Any) -> Any:
    nvim = nvim_factory()
    for name in names:
        plugin(nvim, name)
    config: dict[str, Any] = {"model": str(model), "debounce_ms": 20}
    config.update(opts)
    setup_plugin(nvim, **config)
    return nvim


def hello_shown(nvim: Any, tmp_path: Path) -> None:
    """GO_FILE, a Tab typed on the empty line 7 and the tiny model's answer shown."""
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_final(nvim, HELLO)


# A source of two fixed items, registered through cmp's own API.
CMP_SETUP = """
local cmp = require('cmp')
local source = {}
function source:complete(_, callback)
  callback({ { label = 'alpha_item' }, { label = 'alpha_other' } })
end
cmp.register_source('fixed', source)
cmp.setup({
  sources = { { name = 'fixed' } },
  completion = { autocomplete = false },
  mapping = cmp.mapping.preset.insert({}),
  experimental = { ghost_text = ... },
})
"""

BLINK_SETUP = """
local opts = ...
require('blink.cmp').setup(vim.tbl_deep_extend('force', {
  fuzzy = { implementation = 'lua' },
  sources = { default = { 'buffer' } },
  completion = { menu = { auto_show = false } },
}, opts or {}))
"""


def cmp_visible(nvim: Any) -> bool:
    return bool(nvim.exec_lua("return require('cmp').visible()"))


def blink_menu(nvim: Any) -> bool:
    return bool(nvim.exec_lua("return require('blink.cmp').is_menu_visible()"))


# -- 1. the menus of cmp and blink hide the ghost ------------------------------------------


def test_cmp_menu_hides_the_ghost_and_closing_it_shows_it_again(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, tiny_model, "nvim-cmp")
    nvim.exec_lua(CMP_SETUP, False)
    hello_shown(nvim, tmp_path)
    nvim.exec_lua("require('cmp').complete()")
    wait_for(lambda: cmp_visible(nvim))
    wait_for(lambda: drawn(nvim) is None)
    assert not nvim.exec_lua("return require('localllm').is_visible()")  # Tab is the menu's
    nvim.exec_lua("require('cmp').abort()")
    wait_for(lambda: not cmp_visible(nvim))
    wait_for(lambda: drawn(nvim) == HELLO)
    assert lines(nvim)[6] == "\t"


def test_blink_menu_hides_the_ghost_and_closing_it_shows_it_again(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, tiny_model, "blink.cmp")
    nvim.exec_lua(BLINK_SETUP, {})
    hello_shown(nvim, tmp_path)
    nvim.exec_lua("require('blink.cmp').show()")
    wait_for(lambda: blink_menu(nvim))
    wait_for(lambda: drawn(nvim) is None)
    assert not nvim.exec_lua("return require('localllm').is_visible()")
    nvim.exec_lua("require('blink.cmp').hide()")
    wait_for(lambda: not blink_menu(nvim))
    wait_for(lambda: drawn(nvim) == HELLO)
    assert lines(nvim)[6] == "\t"


# -- 2. accept() from an <expr> mapping ----------------------------------------------------


def test_accept_from_an_expr_mapping_inserts_and_says_so(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, tiny_model, keymaps={"accept": False})
    nvim.exec_lua(
        "vim.keymap.set('i', '<C-l>', function()"
        "  _G.accepted = require('localllm').accept() return '' end, { expr = true })"
    )
    hello_shown(nvim, tmp_path)
    nvim.input("<C-l>")
    wait_for(lambda: lines(nvim)[6] == "\t" + HELLO)
    assert nvim.exec_lua("return _G.accepted") is True
    assert cursor(nvim) == (7, len("\t" + HELLO))
    assert mode(nvim) == "i"
    assert nvim.exec_lua("return vim.v.errmsg") == ""


def test_blink_keymap_function_accepts_and_blink_does_not_fall_back(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    """blink runs keymap functions inside its <expr> mapping; `true` means handled."""
    nvim = start(nvim_factory, tiny_model, "blink.cmp", keymaps={"accept": False})
    nvim.exec_lua(
        "require('blink.cmp').setup({ fuzzy = { implementation = 'lua' },"
        " keymap = { preset = 'default', ['<C-l>'] = {"
        "   function() _G.accepted = require('localllm').accept() return _G.accepted end,"
        "   'fallback' } } })"
    )
    hello_shown(nvim, tmp_path)
    nvim.input("<C-l>")
    wait_for(lambda: lines(nvim)[6] != "\t")
    assert lines(nvim)[6] == "\t" + HELLO  # and no ^L from a fallback
    assert nvim.exec_lua("return _G.accepted") is True
    assert nvim.exec_lua("return vim.v.errmsg") == ""
