-- luacheck (the Lua linter run by `make lint` and .ci/run).
std = 'luajit'
-- Neovim's API table; the plugin writes vim.g/vim.b/vim.wo fields, hence a settable global.
globals = { 'vim' }
-- As Python's (ruff line-length) and StyLua's column_width.
max_line_length = 100
exclude_files = {
  '.ci/tools/node_modules',
  '.venv',
}
