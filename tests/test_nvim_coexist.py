"""Living with the plugins people run (issue 15): nvim-cmp, blink.cmp, LuaSnip, nvim-autopairs
and diagnostics, each the real, unmodified plugin from ../shared/plugins, in a real headless
Neovim with the tiny deterministic model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import model_files
from conftest import REPO
from nvim_helpers import (
    cursor,
    drawn,
    drawn_display,
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


# -- 3. nvim-autopairs: closers it inserted are the suggestion's own tail -------------------


def autopairs(nvim: Any) -> None:
    plugin(nvim, "nvim-autopairs")
    nvim.exec_lua("require('nvim-autopairs').setup({})")


def test_autopairs_closers_are_not_shown_or_inserted_twice(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, tiny_model)
    autopairs(nvim)
    hello_shown(nvim, tmp_path)
    nvim.input("fmt.Println(")
    wait_for(lambda: lines(nvim)[6] == "\tfmt.Println()")  # autopairs closed the paren
    wait_for(lambda: drawn_display(nvim) == '"hello"')
    nvim.input('"')
    wait_for(lambda: lines(nvim)[6] == '\tfmt.Println("")')
    wait_for(lambda: drawn_display(nvim) == "hello")
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[6] != '\tfmt.Println("")')
    assert lines(nvim)[6] == "\t" + HELLO
    assert cursor(nvim) == (7, len("\t" + HELLO))  # past the closers, as if all were typed


def test_autopairs_brace_of_a_multi_line_suggestion_is_not_doubled(
    nvim_factory: Any, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, model_files.tiny_path(MULTI))
    autopairs(nvim)
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_final(nvim, "".join(MULTI))
    nvim.input("if err != nil {")
    wait_for(lambda: lines(nvim)[6] == "\tif err != nil {}")
    wait_for(lambda: drawn_display(nvim) == "\n\t\treturn err\n\t".expandtabs(8))
    nvim.input("<Tab>")
    wait_for(lambda: lines(nvim)[6] != "\tif err != nil {}")
    assert lines(nvim)[6:9] == ["\tif err != nil {", "\t\treturn err", "\t}"]
    assert lines(nvim)[9] == "\tfmt.Println(x)"  # the line after is untouched
    assert cursor(nvim) == (9, 2)


# -- 4. their ghost text and ours never both -----------------------------------------------


def test_blink_ghost_text_hides_ours(nvim_factory: Any, tiny_model: Path, tmp_path: Path) -> None:
    nvim = start(nvim_factory, tiny_model, "blink.cmp")
    nvim.exec_lua(BLINK_SETUP, {"completion": {"ghost_text": {"enabled": True}}})
    hello_shown(nvim, tmp_path)
    nvim.input("fm")  # typed through ours; blink's buffer source offers `fmt`
    wait_for(lambda: nvim.exec_lua("return require('blink.cmp').is_ghost_text_visible()"))
    wait_for(lambda: drawn(nvim) is None)
    nvim.exec_lua("require('blink.cmp').hide()")
    wait_for(lambda: not nvim.exec_lua("return require('blink.cmp').is_ghost_text_visible()"))
    wait_for(lambda: drawn(nvim) == HELLO[2:])


def test_cmp_ghost_text_hides_ours_also_when_menus_may_cover_it(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, tiny_model, "nvim-cmp", hide_during_completion=False)
    nvim.exec_lua(CMP_SETUP, True)
    hello_shown(nvim, tmp_path)
    nvim.exec_lua("require('cmp').complete()")
    wait_for(lambda: cmp_visible(nvim))
    wait_for(lambda: drawn(nvim) is None)
    nvim.exec_lua("require('cmp').abort()")
    wait_for(lambda: drawn(nvim) == HELLO)


def test_popup_menu_keeps_our_ghost_when_told_to(
    nvim_factory: Any, tiny_model: Path, tmp_path: Path
) -> None:
    """hide_during_completion = false: a menu alone (no other ghost) does not hide ours."""
    nvim = start(nvim_factory, tiny_model, "nvim-cmp", hide_during_completion=False)
    nvim.exec_lua(CMP_SETUP, False)
    hello_shown(nvim, tmp_path)
    nvim.exec_lua("require('cmp').complete()")
    wait_for(lambda: cmp_visible(nvim))
    assert drawn(nvim) == HELLO


# -- 6. diagnostics and the ghost do not interleave -----------------------------------------

SCREEN = """
vim.cmd('redraw!')
local rows = {}
for r = 1, vim.o.lines - 1 do
  local chars = {}
  for c = 1, vim.o.columns do chars[#chars + 1] = vim.fn.screenstring(r, c) end
  rows[#rows + 1] = (table.concat(chars):gsub('%s+$', ''))
end
return rows
"""


def screen(nvim: Any) -> list[str]:
    return nvim.exec_lua(SCREEN)  # type: ignore[no-any-return]


def test_diagnostic_virtual_lines_come_after_a_multi_line_ghost(
    nvim_factory: Any, tmp_path: Path
) -> None:
    nvim = start(nvim_factory, model_files.tiny_path(MULTI))
    open_buffer(nvim, str(tmp_path / "main.go"), GO_FILE)
    nvim.exec_lua(
        "vim.diagnostic.config({ virtual_lines = true, virtual_text = false })"
        " local ns = vim.api.nvim_create_namespace('test.diag')"
        " vim.diagnostic.set(ns, 0, { { lnum = 6, col = 0, message = 'DIAG here', severity = 1 } })"
    )
    insert_at(nvim, 7, 0)
    nvim.input("\t")
    wait_final(nvim, "".join(MULTI))
    rows = screen(nvim)
    at = next(i for i, row in enumerate(rows) if "if err != nil {" in row)
    assert "return err" in rows[at + 1], rows
    assert rows[at + 2].strip() == "}", rows
    assert "DIAG here" in rows[at + 3], rows
