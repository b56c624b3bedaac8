-- Public API: setup(), enable/disable, accept/dismiss/trigger, status.
local config = require('localllm.config')

local M = {}

---@type localllm.Config
M.config = config.merge(nil)
-- M.last_error (string|nil): the current problem, read from lua/localllm/notice.lua, its one
-- owner. Read-only: notice.problem/recovered/set_error change it.
setmetatable(M, {
  __index = function(_, key)
    if key == 'last_error' then
      return require('localllm.notice').last_error()
    end
  end,
  __newindex = function(t, key, value)
    if key == 'last_error' then
      error('localllm: last_error is read-only; lua/localllm/notice.lua owns it', 2)
    end
    rawset(t, key, value)
  end,
})
local configured = false
local GROUP = 'localllm'

local function session()
  return require('localllm.session')
end

--- Send the lines around the cursor of `buf` as recent activity of `kind`.
local function send_region(buf, kind)
  require('localllm.privacy').enforce(buf)
  if not session().enabled_for(buf) or vim.api.nvim_buf_get_name(buf) == '' then
    return
  end
  local row = vim.api.nvim_buf_get_mark(buf, '"')[1]
  if buf == vim.api.nvim_get_current_buf() then
    row = vim.api.nvim_win_get_cursor(0)[1]
  end
  local half = 16
  local first = math.max(0, row - 1 - half)
  local lines = vim.api.nvim_buf_get_lines(buf, first, first + 2 * half, false)
  require('localllm.bridge').activity({
    kind = kind,
    path = vim.api.nvim_buf_get_name(buf),
    text = table.concat(lines, '\n'),
    root = vim.fn.getcwd(),
  })
end

local function create_autocmds()
  local group = vim.api.nvim_create_augroup(GROUP, { clear = true })
  local au = function(event, desc, callback)
    vim.api.nvim_create_autocmd(
      event,
      { group = group, desc = 'localllm: ' .. desc, callback = callback }
    )
  end
  au('InsertEnter', 'start a request on entering insert mode', function(args)
    if not session().enabled_for(args.buf) then
      return
    end
    -- Normally started already (BufEnter); never waits for it.
    require('localllm.bridge').start_soon()
    if M.config.auto_trigger then
      session().schedule(args.buf)
    end
  end)
  au('BufEnter', 'start the Python host early, without waiting for it', function(args)
    if session().enabled_for(args.buf) then
      require('localllm.bridge').start_soon()
    end
  end)
  au({ 'TextChangedI', 'CursorMovedI' }, 'follow typing and cursor moves', function()
    session().on_edit()
  end)
  au({ 'InsertLeave', 'BufLeave' }, 'clear the suggestion', function(args)
    session().reset(args.buf)
  end)
  -- <C-c> leaves insert mode without InsertLeave: any change to a mode that is not insert
  -- (normal, visual, cmdline, i_CTRL-O) clears the suggestion and cancels its request.
  vim.api.nvim_create_autocmd('ModeChanged', {
    group = group,
    pattern = 'i*:[^i]*',
    desc = 'localllm: clear the suggestion when insert mode is left by any means',
    callback = function(args)
      session().reset(args.buf)
    end,
  })
  au('InsertLeave', 'the region just edited joins the prompt', function(args)
    send_region(args.buf, 'edit')
    require('localllm.bridge').promote()
  end)
  au('BufLeave', 'the buffer left joins the prompt', function(args)
    send_region(args.buf, 'buffer')
  end)
  au('BufWritePost', 'the region saved joins the prompt', function(args)
    send_region(args.buf, 'save')
  end)
  au('TextYankPost', 'yanked text joins the prompt', function(args)
    require('localllm.privacy').enforce(args.buf)
    if not session().enabled_for(args.buf) then
      return
    end
    require('localllm.bridge').activity({
      kind = 'yank',
      path = vim.api.nvim_buf_get_name(args.buf),
      text = table.concat(vim.v.event.regcontents or {}, '\n'),
      root = vim.fn.getcwd(),
    })
  end)
  au('CursorHold', 'a quiet moment: promote recent activity', function()
    require('localllm.bridge').promote()
  end)
  au({ 'BufUnload', 'BufWipeout' }, 'forget buffer state', function(args)
    session().forget(args.buf)
  end)
  au('CompleteChanged', 'hide while the completion popup is open', function(args)
    if M.config.hide_during_completion then
      require('localllm.ghost').clear(args.buf)
    end
  end)
  au('CompleteDone', 'show again when the popup closes', function()
    vim.schedule(function()
      session().refresh()
    end)
  end)
  require('localllm.coexist').attach(group, function()
    session().refresh()
  end)
  au('ColorScheme', 'restore highlight groups', function()
    require('localllm.ghost').set_highlights()
    require('localllm.explain').set_highlights()
    require('localllm.notice').set_highlights()
  end)
  au('VimLeavePre', 'cancel requests in flight', function()
    session().forget_all()
  end)
end

--- Configure the plugin. Optional: the defaults work. Returns false when an option is bad:
--- every bad one is named in one message and keeps its default; the good ones are applied.
---@param opts table|nil
---@return boolean
function M.setup(opts)
  local good, err = config.check(opts or {})
  if err then
    vim.notify('localllm: ' .. err, vim.log.levels.ERROR, { title = 'localllm' })
  end
  M.config = config.merge(good)
  configured = true
  require('localllm.ghost').set_highlights()
  require('localllm.notice').set_highlights()
  create_autocmds()
  require('localllm.keymaps').apply(M.config.keymaps)
  require('localllm.bridge').reconfigure()
  return err == nil
end

--- Set up with the defaults unless setup() was called already.
function M.ensure_setup()
  if not configured then
    M.setup({})
  end
end

--- Start the Python host soon (never waiting for it) when the current buffer is one to
--- complete: the first insert then finds it ready.
function M.start_host_soon()
  if session().enabled_for(vim.api.nvim_get_current_buf()) then
    require('localllm.bridge').start_soon()
  end
end

function M.enable()
  M.config.enabled = true
  require('localllm.status').changed()
end

function M.disable()
  M.config.enabled = false
  session().forget_all()
  require('localllm.status').changed()
end

function M.toggle()
  if M.config.enabled then
    M.disable()
  else
    M.enable()
  end
end

---@param kind 'all'|'line'|'word'|nil
---@return boolean accepted
function M.accept(kind)
  return require('localllm.accept').accept(kind)
end

function M.dismiss()
  session().reset(vim.api.nvim_get_current_buf())
end

--- Ask for a suggestion now (also when auto_trigger is off).
function M.trigger()
  local buf = vim.api.nvim_get_current_buf()
  session().reset(buf)
  session().request_now(buf)
end

--- Whether a suggestion is shown in the current buffer.
---@return boolean
function M.is_visible()
  return session().is_visible()
end

--- A short text for a statusline (`LLM 120ms`, `LLM …`, `LLM ▸`, `LLM error`, `LLM off`); no
--- rpc, cheap on every redraw. `User LocalLLMStatus` fires when it changes.
---@return string
function M.statusline()
  return require('localllm.status').text()
end

--- Make the plugin's own Python environment (:LocalLLM install); usable as lazy.nvim's build.
---@param opts table|nil see lua/localllm/install.lua
---@return boolean started
function M.install(opts)
  return require('localllm.install').run(opts)
end

--- Lines for :LocalLLM status.
---@return string[]
function M.status_lines()
  local lines = {}
  local add = function(fmt, ...)
    lines[#lines + 1] = fmt:format(...)
  end
  add('localllm: %s', M.config.enabled and 'enabled' or 'disabled')
  local denied = require('localllm.privacy').denied(vim.api.nvim_get_current_buf())
  if denied then
    add('  this buffer: nothing of it is sent (%s)', denied)
  end
  local st, err = require('localllm.bridge').status()
  if not st then
    if err and err:find('does not answer', 1, true) then
      add('  python host: %s', err)
    else
      add('  python host: not running (%s)', err or 'not started yet')
    end
    return lines
  end
  local function v(x)
    return x == nil and '-' or tostring(x)
  end
  add('  backend: %s  state: %s', v(st.backend), v(st.state))
  add('  model:   %s', v(st.model))
  if st.detail and st.detail ~= '' then
    add('  detail:  %s', st.detail)
  end
  add('  FIM:     %s   cache: %s entries', v(st.fim), v(st.cache_entries))
  if type(st.extra_chunks) == 'table' and #st.extra_chunks > 0 then
    add('  recent:  %s', table.concat(st.extra_chunks, ', '))
  end
  local last = st.last
  if last then
    add('  last request #%s (%s, %s):', v(last.id), v(last.source), v(last.finish))
    add(
      '    context %s ms, queue %s ms, first token %s ms, total %s ms',
      v(last.context_ms),
      v(last.queue_ms),
      v(last.ttft_ms),
      v(last.total_ms)
    )
    add(
      '    tokens: prompt %s, reused %s, evaluated %s, generated %s',
      v(last.tokens_prompt),
      v(last.tokens_reused),
      v(last.tokens_evaluated),
      v(last.tokens_generated)
    )
  else
    add('  no request yet')
  end
  if M.last_error then
    add('  last error: %s', M.last_error)
  end
  return lines
end

return M
