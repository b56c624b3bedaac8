-- :LocalLLMExplain: ask the model about code; the answer streams into a floating window.
-- The UI never waits: the question goes out as a notification and the answer arrives piece by
-- piece through on_event(). Keys in the window: q / <Esc> close it (and stop the model),
-- Y yanks the answer, s moves it to a split.
local M = {}

local NS = vim.api.nvim_create_namespace('localllm.explain')
local NS_WAIT = vim.api.nvim_create_namespace('localllm.explain.wait')
local MAX_LINES = 4000 -- a larger buffer is sent as this many lines around the code...
local HEAD_LINES = 200 -- ...plus its first lines (imports)
local KEYS_HINT = ' q close · Y yank · s split '

local state = {
  id = 0,
  buf = nil, ---@type integer|nil
  win = nil, ---@type integer|nil
  origin = nil, ---@type integer|nil window the question was asked from
  text = '', -- the answer so far
  pieces = 0, -- how many pieces it came in
  done = true,
  finish = nil, ---@type string|nil
  error = nil, ---@type string|nil
  model = nil, ---@type string|nil
  title = nil, ---@type string|nil
  notes = {}, ---@type string[]
  stats = nil, ---@type table|nil
  t_command = 0, -- vim.uv.hrtime() when the command ran
  t_first = 0, -- ...when the first piece of the answer arrived
}

function M.set_highlights()
  local set = function(name, link)
    vim.api.nvim_set_hl(0, name, { default = true, link = link })
  end
  set('LocalLLMExplainNormal', 'NormalFloat')
  set('LocalLLMExplainBorder', 'FloatBorder')
  set('LocalLLMExplainTitle', 'FloatTitle')
  set('LocalLLMExplainFooter', 'FloatFooter')
  set('LocalLLMExplainNote', 'Comment')
  set('LocalLLMExplainError', 'DiagnosticError')
end

local function win_valid()
  return state.win ~= nil and vim.api.nvim_win_is_valid(state.win)
end

local function is_float(win)
  return vim.api.nvim_win_get_config(win).relative ~= ''
end

local function size()
  local columns, lines = vim.o.columns, vim.o.lines - vim.o.cmdheight - 1
  local width = math.min(math.max(40, math.floor(columns * 0.6)), columns - 4)
  local height = math.min(math.max(6, math.floor(lines * 0.6)), lines - 4)
  width, height = math.max(10, width), math.max(3, height)
  return {
    width = width,
    height = height,
    row = math.max(0, math.floor((lines - height) / 2) - 1),
    col = math.max(0, math.floor((columns - width) / 2)),
  }
end

local function title_text()
  local parts = { 'localllm' }
  if state.title then
    parts[#parts + 1] = state.title
  end
  parts[#parts + 1] = state.model or 'waiting for the model…'
  return ' ' .. table.concat(parts, ' · ') .. ' '
end

local function footer_text()
  local stats = state.stats
  if stats and (tonumber(stats.tokens) or 0) > 0 then
    return (' %d tokens · %.1f tok/s ·'):format(stats.tokens, tonumber(stats.tokens_per_s) or 0)
      .. KEYS_HINT
  end
  return KEYS_HINT
end

local function refresh_frame()
  if not win_valid() or not is_float(state.win) then
    return
  end
  vim.api.nvim_win_set_config(state.win, {
    title = { { title_text(), 'LocalLLMExplainTitle' } },
    title_pos = 'center',
    footer = { { footer_text(), 'LocalLLMExplainFooter' } },
    footer_pos = 'right',
  })
end

--- Write `lines` at the end of the window's buffer (the first joins the last line).
local function append(text, hl)
  local buf = state.buf
  if not buf or not vim.api.nvim_buf_is_valid(buf) then
    return
  end
  local last = vim.api.nvim_buf_line_count(buf) - 1
  local line = vim.api.nvim_buf_get_lines(buf, last, last + 1, false)[1] or ''
  -- Follow the answer while the cursor is on its last line (the user has not scrolled up).
  local followers = {}
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    if vim.api.nvim_win_get_cursor(win)[1] == last + 1 then
      followers[#followers + 1] = win
    end
  end
  local pieces = vim.split(text, '\n', { plain = true })
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_text(buf, last, #line, last, #line, pieces)
  vim.bo[buf].modifiable = false
  if hl then
    vim.api.nvim_buf_set_extmark(buf, NS, last, #line, {
      end_row = last + #pieces - 1,
      end_col = #pieces[#pieces] + (#pieces == 1 and #line or 0),
      hl_group = hl,
    })
  end
  local count = vim.api.nvim_buf_line_count(buf)
  for _, win in ipairs(followers) do
    pcall(vim.api.nvim_win_set_cursor, win, { count, 0 })
  end
end

local function set_placeholder(text)
  if not state.buf or not vim.api.nvim_buf_is_valid(state.buf) then
    return
  end
  vim.api.nvim_buf_clear_namespace(state.buf, NS_WAIT, 0, -1)
  if text then
    local row = vim.api.nvim_buf_line_count(state.buf) - 1
    vim.api.nvim_buf_set_extmark(state.buf, NS_WAIT, row, 0, {
      virt_text = { { text, 'LocalLLMExplainNote' } },
      virt_text_pos = 'overlay',
    })
  end
end

local function cancel()
  if not state.done then
    state.done = true
    state.finish = 'cancelled'
    require('localllm.bridge').explain_cancel(state.id)
  end
end

--- Close the window (the float, or the split the answer was moved to) and stop the model.
function M.close()
  cancel()
  local win = state.win
  state.win = nil
  if win and vim.api.nvim_win_is_valid(win) then
    if #vim.api.nvim_list_wins() > 1 then
      vim.api.nvim_win_close(win, true)
    elseif state.buf and vim.api.nvim_buf_is_valid(state.buf) then
      vim.api.nvim_buf_delete(state.buf, { force = true }) -- the last window: keep it
    end
  end
  if state.origin and vim.api.nvim_win_is_valid(state.origin) then
    pcall(vim.api.nvim_set_current_win, state.origin)
  end
end

--- Put the answer in the unnamed register (or the one given with "x).
function M.yank()
  local text = state.text
  local reg = vim.v.register ~= '' and vim.v.register or '"'
  vim.fn.setreg(reg, text, 'l')
  if reg ~= '"' then
    vim.fn.setreg('"', text, 'l')
  end
  vim.api.nvim_echo(
    { { ('localllm: answer yanked (%d lines)'):format(#vim.split(text, '\n')) } },
    false,
    {}
  )
end

--- Move the answer from the float to a split below the code window; it keeps streaming.
function M.split()
  local float, buf = state.win, state.buf
  if not float or not vim.api.nvim_win_is_valid(float) or not is_float(float) then
    return
  end
  if state.origin and vim.api.nvim_win_is_valid(state.origin) then
    vim.api.nvim_set_current_win(state.origin)
  end
  vim.cmd('belowright split')
  local win = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_buf(win, buf)
  vim.wo[win].wrap, vim.wo[win].linebreak = true, true
  state.win = win -- before closing the float: closing it must not stop the answer
  vim.api.nvim_win_close(float, true)
  pcall(vim.api.nvim_win_set_cursor, win, { vim.api.nvim_buf_line_count(buf), 0 })
end

local function make_buffer()
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = 'markdown'
  vim.bo[buf].modifiable = false
  local map = function(lhs, fn, desc)
    vim.keymap.set('n', lhs, fn, { buffer = buf, nowait = true, silent = true, desc = desc })
  end
  map('q', M.close, 'localllm: close the explanation and stop the model')
  map('<Esc>', M.close, 'localllm: close the explanation and stop the model')
  map('Y', M.yank, 'localllm: yank the explanation')
  map('s', M.split, 'localllm: open the explanation in a split')
  pcall(vim.api.nvim_buf_set_name, buf, ('localllm://explain/%d'):format(state.id))
  return buf
end

local function open_window(buf)
  local geometry = size()
  local win = vim.api.nvim_open_win(buf, true, {
    relative = 'editor',
    width = geometry.width,
    height = geometry.height,
    row = geometry.row,
    col = geometry.col,
    style = 'minimal',
    border = 'rounded',
    title = { { title_text(), 'LocalLLMExplainTitle' } },
    title_pos = 'center',
    footer = { { footer_text(), 'LocalLLMExplainFooter' } },
    footer_pos = 'right',
    zindex = 60,
  })
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  vim.wo[win].winhighlight = 'NormalFloat:LocalLLMExplainNormal,FloatBorder:LocalLLMExplainBorder'
  vim.api.nvim_create_autocmd('WinClosed', {
    pattern = tostring(win),
    once = true,
    callback = function()
      -- :q or <C-w>c on the float stops the model too (not when it moved to a split).
      if state.win == win then
        state.win = nil
        cancel()
      end
    end,
  })
  vim.api.nvim_create_autocmd('VimResized', {
    buffer = buf,
    callback = function()
      if state.win == win and vim.api.nvim_win_is_valid(win) and is_float(win) then
        local g = size()
        vim.api.nvim_win_set_config(win, {
          relative = 'editor',
          width = g.width,
          height = g.height,
          row = g.row,
          col = g.col,
        })
      end
    end,
  })
  return win
end

--- What the command sends: the lines (all, or a window around the code), the range or the
--- cursor, the question.
---@return localllm.ExplainMsg
local function payload(opts, buf)
  local n = vim.api.nvim_buf_line_count(buf)
  local cursor_row = vim.api.nvim_win_get_cursor(0)[1] - 1
  local ranged = (opts.range or 0) > 0
  local start_row, end_row = cursor_row, cursor_row
  local start_col, end_col
  if ranged then
    start_row, end_row = opts.line1 - 1, opts.line2 - 1
    -- A characterwise selection that this range came from: cut at its columns.
    local vs, ve = vim.fn.getpos("'<"), vim.fn.getpos("'>")
    if vim.fn.visualmode() == 'v' and vs[2] == opts.line1 and ve[2] == opts.line2 then
      local last = vim.api.nvim_buf_get_lines(buf, end_row, end_row + 1, false)[1] or ''
      local col = math.min(ve[3], #last)
      if col > 0 then
        col = col + vim.str_utf_end(last, col)
      end
      start_col, end_col = vs[3] - 1, col
    end
  end
  local first, last = 0, n
  local head
  if n > MAX_LINES then
    first = math.max(0, math.min(start_row, end_row - math.floor(MAX_LINES / 2)))
    last = math.min(n, math.max(end_row + 1, first + MAX_LINES))
    if first > 0 then
      head = vim.api.nvim_buf_get_lines(buf, 0, HEAD_LINES, false)
    end
  end
  return {
    id = state.id,
    bufnr = buf,
    path = vim.api.nvim_buf_get_name(buf),
    filetype = vim.bo[buf].filetype,
    lines = vim.api.nvim_buf_get_lines(buf, first, last, false),
    first_line = first,
    head = head,
    ranged = ranged,
    start_row = start_row,
    end_row = end_row,
    start_col = start_col,
    end_col = end_col,
    cursor_row = cursor_row,
    question = opts.args or '',
    root = vim.fn.getcwd(),
  }
end

local function show_error(message)
  state.done = true
  state.error = message
  set_placeholder(nil)
  local prefix = state.text ~= '' and '\n\n' or ''
  append(prefix .. 'localllm: ' .. message, 'LocalLLMExplainError')
end

--- :LocalLLMExplain [question] with an optional range.
---@param opts {range: integer, line1: integer, line2: integer, args: string}
function M.run(opts)
  M.set_highlights()
  -- Asked again from the answer's window: the question is about the code window.
  if state.win and vim.api.nvim_get_current_win() == state.win then
    if state.origin and vim.api.nvim_win_is_valid(state.origin) then
      vim.api.nvim_set_current_win(state.origin)
    end
  end
  local buf = vim.api.nvim_get_current_buf()
  local privacy = require('localllm.privacy')
  privacy.enforce(buf)
  local denied = privacy.denied(buf)
  if denied then
    require('localllm.notice').info(
      vim.log.levels.WARN,
      'nothing of this buffer is sent to the model: ' .. denied
    )
    return
  end
  -- A second question replaces the first.
  if win_valid() and is_float(state.win) then
    local old = state.win
    cancel()
    state.win = nil
    vim.api.nvim_win_close(old, true)
  else
    cancel()
  end
  state.id = state.id + 1
  state.origin = vim.api.nvim_get_current_win()
  state.text, state.pieces, state.done, state.finish, state.error = '', 0, false, nil, nil
  state.model, state.title, state.notes, state.stats = nil, nil, {}, nil
  state.t_command, state.t_first = vim.uv.hrtime(), 0
  local message = payload(opts, buf)
  state.buf = make_buffer()
  state.win = open_window(state.buf)
  set_placeholder('Asking the model…')
  local ok, why = require('localllm.bridge').explain(message)
  if not ok then
    show_error(why or 'the Python host is not running')
  end
end

--- Called (through the bridge) for every event of the current question.
---@param ev localllm.ExplainUpdate
function M.on_event(ev)
  if ev.id ~= state.id or state.finish == 'cancelled' then
    return -- a replaced or closed question
  end
  local kind = ev.kind
  if kind == 'start' then
    state.model = ev.model
    state.title = ev.title
    for _, key in ipairs({ 'note', 'model_note' }) do
      if ev[key] then
        state.notes[#state.notes + 1] = ev[key]
      end
    end
    refresh_frame()
    if #state.notes > 0 then
      local lines = {}
      for _, note in ipairs(state.notes) do
        lines[#lines + 1] = '> ' .. note
      end
      set_placeholder(nil)
      append(table.concat(lines, '\n') .. '\n\n', 'LocalLLMExplainNote')
    else
      set_placeholder(('Asking %s…'):format(state.model or 'the model'))
    end
  elseif kind == 'text' then
    if state.t_first == 0 then
      state.t_first = vim.uv.hrtime()
      set_placeholder(nil)
    end
    state.text = state.text .. ev.text
    state.pieces = state.pieces + 1
    append(ev.text)
  elseif kind == 'done' then
    state.done = true
    state.finish = ev.finish
    state.stats = ev
    set_placeholder(nil)
    if state.text == '' then
      append('(the model gave no answer)', 'LocalLLMExplainNote')
    end
    refresh_frame()
  elseif kind == 'error' then
    show_error(ev.error or 'unknown error')
  end
end

--- The current question's state (tests, benchmarks, statusline).
---@return table
function M.info()
  local function ms(t)
    return t > 0 and (t - state.t_command) / 1e6 or nil
  end
  return {
    id = state.id,
    open = win_valid(),
    float = win_valid() and is_float(state.win),
    win = state.win,
    buf = state.buf,
    text = state.text,
    pieces = state.pieces,
    done = state.done,
    finish = state.finish,
    error = state.error,
    model = state.model,
    title = state.title,
    notes = state.notes,
    stats = state.stats,
    first_ms = ms(state.t_first),
  }
end

return M
