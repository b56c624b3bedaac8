-- Minimal init for the end-to-end tests: this checkout on 'runtimepath', the test's Python as
-- the python3 host. Remote plugins load from $NVIM_RPLUGIN_MANIFEST (set by the tests).
local repo = vim.env.LOCALLLM_REPO
vim.opt.runtimepath:prepend(repo)
vim.g.python3_host_prog = vim.env.LOCALLLM_PYTHON
vim.o.swapfile = false
vim.o.more = false
vim.o.shortmess = vim.o.shortmess .. 'I'
