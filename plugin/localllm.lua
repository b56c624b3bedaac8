-- localllm.nvim: commands and <Plug> maps. Everything else loads on first use.
if vim.g.loaded_localllm then
  return
end
vim.g.loaded_localllm = true

if vim.fn.has('nvim-0.10') == 0 then
  vim.notify('localllm.nvim needs Neovim 0.10 or newer', vim.log.levels.ERROR)
  return
end

local subcommands = {
  enable = function()
    require('localllm').enable()
  end,
  disable = function()
    require('localllm').disable()
  end,
  toggle = function()
    require('localllm').toggle()
  end,
  trigger = function()
    require('localllm').trigger()
  end,
  install = function()
    require('localllm').install()
  end,
  status = function()
    vim.api.nvim_echo({ { table.concat(require('localllm').status_lines(), '\n') } }, true, {})
  end,
}

vim.api.nvim_create_user_command('LocalLLM', function(opts)
  local name = opts.fargs[1] or 'status'
  local fn = subcommands[name]
  if not fn then
    vim.notify(
      'localllm: unknown subcommand '
        .. name
        .. ' (enable, disable, toggle, status, trigger, install)',
      vim.log.levels.ERROR
    )
    return
  end
  require('localllm').ensure_setup()
  fn()
end, {
  nargs = '?',
  desc = 'localllm: enable | disable | toggle | status | trigger | install',
  complete = function(arg)
    return vim.tbl_filter(function(c)
      return c:find(arg, 1, true) == 1
    end, vim.tbl_keys(subcommands))
  end,
})

vim.api.nvim_create_user_command('LocalLLMExplain', function(opts)
  require('localllm').ensure_setup()
  require('localllm.explain').run({
    range = opts.range,
    line1 = opts.line1,
    line2 = opts.line2,
    args = opts.args,
  })
end, {
  range = true,
  nargs = '*',
  desc = 'localllm: explain the range, else the function under the cursor, else the line',
})

require('localllm.keymaps').define_plugs()

-- setup() is optional: without it, the defaults apply once Neovim has started.
if vim.v.vim_did_enter == 1 then
  vim.schedule(function()
    require('localllm').ensure_setup()
  end)
else
  vim.api.nvim_create_autocmd('VimEnter', {
    once = true,
    callback = function()
      require('localllm').ensure_setup()
      if vim.fn.argc() > 0 then
        -- The file given was entered before setup made its autocmds.
        require('localllm').start_host_soon()
      end
    end,
  })
end
