-- The one owner of what the plugin tells the user: the current problem (last error), which
-- problems were told already, and where they show. Messages go to vim.notify (so :messages
-- keeps them); in insert mode the mode message (`-- INSERT --`) overwrites the command line at
-- once, so they also show in a small floating window at the top right that takes no focus and
-- closes after a few seconds, on leaving insert mode, or when the problem is over.
-- The "localllm: " prefix lives here only: messages are stored without it and shown with it.
local M = {}

local PREFIX = 'localllm: '

-- How long the float stays (ms); tests may raise them.
M.show_ms = { error = 8000, warn = 8000, info = 4000 }

local state = {
  error = nil, ---@type string|nil the current problem, without the prefix
  told = {}, ---@type table<string, boolean> problems told since the last recovery
  win = nil, ---@type integer|nil
  buf = nil, ---@type integer|nil
  kind = nil, ---@type string|nil what the float shows: 'error'|'warn'|'info'
  timer = nil, ---@type uv.uv_timer_t|nil
  autocmd = false, -- the ModeChanged autocmd that closes the float is set
}

--- `msg` without any leading "localllm: " (Python and Lua both used to add one).
---@param msg string
---@return string
function M.plain(msg)
  msg = tostring(msg)
  while msg:sub(1, #PREFIX) == PREFIX do
    msg = msg:sub(#PREFIX + 1)
  end
  return msg
end

function M.set_highlights()
  vim.api.nvim_set_hl(0, 'LocalLLMNoticeError', { default = true, link = 'ErrorMsg' })
  vim.api.nvim_set_hl(0, 'LocalLLMNoticeWarn', { default = true, link = 'WarningMsg' })
  vim.api.nvim_set_hl(0, 'LocalLLMNoticeInfo', { default = true, link = 'NormalFloat' })
  vim.api.nvim_set_hl(0, 'LocalLLMNoticeBorder', { default = true, link = 'FloatBorder' })
end

local function in_insert_mode()
  local mode = vim.api.nvim_get_mode().mode
  return mode:sub(1, 1) == 'i' or mode:sub(1, 1) == 'R'
end

--- Close the float (when `kind` is given: only if it shows that kind).
---@param kind string|nil
function M.close(kind)
  if kind and state.kind ~= kind then
    return
  end
  if state.timer then
    state.timer:stop()
  end
  if state.win and vim.api.nvim_win_is_valid(state.win) then
    pcall(vim.api.nvim_win_close, state.win, true)
  end
  state.win, state.kind = nil, nil
end

--- `text` broken into lines of at most `width` display cells (at spaces where possible).
local function wrap(text, width)
  local out = {}
  for _, para in ipairs(vim.split(text, '\n', { plain = true })) do
    local line = ''
    for word in para:gmatch('%S+') do
      while vim.fn.strdisplaywidth(word) > width do
        if line ~= '' then
          out[#out + 1] = line
          line = ''
        end
        out[#out + 1] = vim.fn.strcharpart(word, 0, width)
        word = vim.fn.strcharpart(word, width)
      end
      if line == '' then
        line = word
      elseif vim.fn.strdisplaywidth(line .. ' ' .. word) <= width then
        line = line .. ' ' .. word
      else
        out[#out + 1] = line
        line = word
      end
    end
    if line ~= '' or #out == 0 then
      out[#out + 1] = line
    end
  end
  return out
end

--- Show `msg` in the float (insert mode only: elsewhere the command line shows it).
---@param kind 'error'|'warn'|'info'
---@param msg string with the prefix
local function float(kind, msg)
  if not in_insert_mode() then
    return
  end
  local width = math.max(20, math.min(70, vim.o.columns - 6))
  local lines = wrap(msg, width)
  if #lines > 8 then
    lines = vim.list_slice(lines, 1, 8)
    lines[8] = vim.fn.strcharpart(lines[8], 0, width - 1) .. '…'
  end
  local w = 1
  for _, l in ipairs(lines) do
    w = math.max(w, vim.fn.strdisplaywidth(l))
  end
  if not (state.buf and vim.api.nvim_buf_is_valid(state.buf)) then
    state.buf = vim.api.nvim_create_buf(false, true)
    vim.bo[state.buf].bufhidden = 'hide'
  end
  vim.api.nvim_buf_set_lines(state.buf, 0, -1, false, lines)
  local win_config = {
    relative = 'editor',
    anchor = 'NE',
    row = 0,
    col = vim.o.columns,
    width = w,
    height = #lines,
    focusable = false,
    style = 'minimal',
    border = 'rounded',
    zindex = 250,
    noautocmd = true,
  }
  if state.win and vim.api.nvim_win_is_valid(state.win) then
    win_config.noautocmd = nil
    vim.api.nvim_win_set_config(state.win, win_config)
  else
    state.win = vim.api.nvim_open_win(state.buf, false, win_config)
  end
  local hl = ({ error = 'LocalLLMNoticeError', warn = 'LocalLLMNoticeWarn' })[kind]
    or 'LocalLLMNoticeInfo'
  vim.wo[state.win].winhighlight = 'Normal:'
    .. hl
    .. ',NormalFloat:'
    .. hl
    .. ',FloatBorder:LocalLLMNoticeBorder'
  vim.wo[state.win].wrap = false
  state.kind = kind
  state.timer = state.timer or (vim.uv or vim.loop).new_timer()
  state.timer:stop()
  state.timer:start(
    M.show_ms[kind] or 4000,
    0,
    vim.schedule_wrap(function()
      M.close()
    end)
  )
  -- Leaving insert mode (also with <C-c>, which skips InsertLeave): the command line shows
  -- messages again, and :messages has this one.
  if state.autocmd then
    return
  end
  state.autocmd = true
  vim.api.nvim_create_autocmd('ModeChanged', {
    group = vim.api.nvim_create_augroup('localllm', { clear = false }),
    pattern = { 'i*:[^i]*', 'R*:[^R]*' },
    once = true,
    desc = 'localllm: close the notice float',
    callback = function()
      state.autocmd = false
      M.close()
    end,
  })
end

local LEVEL_KIND = { [vim.log.levels.ERROR] = 'error', [vim.log.levels.WARN] = 'warn' }

--- A problem: it becomes the current error (status, :LocalLLM status), and is told once
--- until the problems are over (M.recovered), unless `opts.always` (a host crash is news
--- every time).
---@param level integer vim.log.levels.*
---@param msg string
--- keep_error: tell, but it is no error state.
---@param opts { always: boolean|nil, keep_error: boolean|nil }|nil
function M.problem(level, msg, opts)
  opts = opts or {}
  msg = M.plain(msg)
  if not opts.keep_error then
    state.error = msg
    require('localllm.status').on_error(msg)
  end
  if state.told[msg] and not opts.always then
    return
  end
  state.told[msg] = true
  local text = PREFIX .. msg
  vim.schedule(function()
    vim.notify(text, level, { title = 'localllm' })
    float(LEVEL_KIND[level] or 'warn', text)
  end)
end

--- Progress (a model loading, then ready; a server back): one line in place on the command
--- line, kept out of :messages; in insert mode in the float.
---@param msg string
function M.progress(msg)
  local text = PREFIX .. M.plain(msg)
  vim.schedule(function()
    if in_insert_mode() then
      if state.kind ~= 'error' and state.kind ~= 'warn' then
        float('info', text)
      end
      return
    end
    -- One screen line, leaving room for the mode message: a longer one would wrap and
    -- bring up the hit-enter prompt.
    local width = math.max(10, vim.o.columns - 20)
    local line = text
    if vim.fn.strdisplaywidth(line) > width then
      line = vim.fn.strcharpart(line, 0, width - 1) .. '…'
    end
    vim.cmd('redraw') -- replace the previous progress line instead of adding one
    vim.api.nvim_echo({ { line, 'LocalLLMInfo' } }, false, {})
  end)
end

--- A plain notice (not a problem): vim.notify, and the float in insert mode.
---@param level integer
---@param msg string
function M.info(level, msg)
  local text = PREFIX .. M.plain(msg)
  vim.schedule(function()
    vim.notify(text, level, { title = 'localllm' })
    float(LEVEL_KIND[level] or 'info', text)
  end)
end

--- The problems are over: no current error, the same problem later is news again.
function M.recovered()
  state.error = nil
  state.told = {}
  require('localllm.status').on_error(nil)
  vim.schedule(function()
    M.close('error')
    M.close('warn')
  end)
end

---@return string|nil
function M.last_error()
  return state.error
end

--- Set or clear the current error without telling anyone (tests, setup()).
---@param msg string|nil
function M.set_error(msg)
  state.error = msg and M.plain(msg) or nil
  require('localllm.status').on_error(state.error)
end

--- The float, for tests: {win, kind, lines} or nil.
---@return table|nil
function M.float_info()
  if not (state.win and vim.api.nvim_win_is_valid(state.win)) then
    return nil
  end
  return {
    win = state.win,
    kind = state.kind,
    lines = vim.api.nvim_buf_get_lines(state.buf, 0, -1, false),
  }
end

return M
