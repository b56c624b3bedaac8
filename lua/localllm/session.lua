-- Per-buffer request state: debounce, request ids, stale-result guard and type-through.
local ghost = require('localllm.ghost')
local bridge = require('localllm.bridge')

local M = {}

local uv = vim.uv or vim.loop

---@class localllm.Request
---@field id integer
---@field row integer 0-based row of the anchor
---@field col integer byte column of the anchor

---@class localllm.Suggestion
---@field id integer
---@field row integer
---@field col integer
---@field text string remaining text to insert at (row, col)
---@field final boolean
---@field origin localllm.Origin where the suggestion was first shown (type-through, backspace)
---@field tail string|nil the suggestion's end, already after the cursor (an autopairs closer)

---@class localllm.Origin
---@field row integer
---@field col integer   byte column the whole `text` starts at
---@field text string   the whole suggestion from (row, col)
---@field after string  the cursor line after the cursor, which typing through leaves alone

---@class localllm.BufState
---@field req localllm.Request|nil   latest request sent for this buffer
---@field sug localllm.Suggestion|nil what is shown
---@field tick integer|nil           changedtick the shown/awaited suggestion is valid for
---@field seen table|nil             last {tick, row, col} handled (dedupes autocmds)

---@type table<integer, localllm.BufState>
local buffers = {}
local next_id = 0

--- Counters for tests and :LocalLLM status.
-- stale_drawn: suggestions drawn that did not fit the request, changedtick or cursor (a bug).
M.stats = {
  requests = 0,
  updates = 0,
  partial = 0,
  drawn = 0,
  stale = 0,
  type_through = 0,
  stale_drawn = 0,
}
local timer = nil ---@type uv.uv_timer_t|nil

--- Timing records of recent requests, for :LocalLLM status and the benchmarks.
M.records = {} ---@type table<integer, table>
local record_order = {} ---@type integer[]
local MAX_RECORDS = 500

local function record(id)
  local r = M.records[id]
  if not r then
    r = { id = id }
    M.records[id] = r
    record_order[#record_order + 1] = id
    if #record_order > MAX_RECORDS then
      M.records[table.remove(record_order, 1)] = nil
    end
  end
  return r
end

--- The timing record of the latest request, or nil before any.
---@return table|nil
function M.last_record()
  local id = record_order[#record_order]
  return id and M.records[id] or nil
end

local function bstate(buf)
  local s = buffers[buf]
  if not s then
    s = {}
    buffers[buf] = s
  end
  return s
end

local function cfg()
  return require('localllm').config
end

local function cursor()
  local pos = vim.api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

local function in_insert_mode()
  local mode = vim.api.nvim_get_mode().mode
  return mode:sub(1, 1) == 'i'
end

--- Whether completion runs in this buffer.
---@param buf integer
---@return boolean
function M.enabled_for(buf)
  local c = cfg()
  if not c.enabled or require('localllm.privacy').denied(buf) then
    return false -- secrets files and b:/g:localllm_disable send nothing
  end
  if vim.bo[buf].buftype ~= '' then
    return false
  end
  local ft = vim.bo[buf].filetype
  local allowed = c.filetypes[ft]
  if allowed == nil then
    allowed = c.filetypes['*']
  end
  return allowed ~= false
end

local function stop_timer()
  if timer then
    timer:stop()
  end
end

--- Hide the suggestion of `buf` and forget it.
---@param buf integer
function M.clear(buf)
  local s = buffers[buf]
  if s then
    s.sug = nil
  end
  ghost.clear(buf)
end

--- Clear, and cancel what is in flight for `buf`.
---@param buf integer
function M.reset(buf)
  local s = buffers[buf]
  stop_timer()
  if s and s.req then
    bridge.cancel(s.req.id)
    s.req = nil
  end
  M.clear(buf)
end

--- Whether a suggestion is shown in `buf` (default: the current buffer).
---@param buf integer|nil
---@return boolean
function M.is_visible(buf)
  local s = buffers[buf or vim.api.nvim_get_current_buf()]
  if s == nil or s.sug == nil or s.sug.text == '' then
    return false
  end
  -- Hidden while a completion menu is open (the keys belong to it) or another ghost is shown.
  return not require('localllm.coexist').hides_ours(cfg().hide_during_completion)
end

---@param buf integer
---@return localllm.Suggestion|nil
function M.suggestion(buf)
  local s = buffers[buf]
  return s and s.sug or nil
end

local function show(buf, s)
  -- Never drawn outside insert mode (<C-c> leaves it without InsertLeave).
  if not in_insert_mode() then
    ghost.clear(buf)
    return
  end
  if require('localllm.coexist').hides_ours(cfg().hide_during_completion) then
    ghost.clear(buf)
    return
  end
  local sug = s.sug
  ghost.render(buf, sug.row, sug.col, sug.text)
  M.stats.drawn = M.stats.drawn + 1
  local row, col = cursor()
  if
    buf ~= vim.api.nvim_get_current_buf()
    or not s.req
    or s.req.id ~= sug.id
    or vim.api.nvim_buf_get_changedtick(buf) ~= s.tick
    or row ~= sug.row
    or col ~= sug.col
  then
    M.stats.stale_drawn = M.stats.stale_drawn + 1
  end
  local r = M.records[sug.id]
  if r then
    local now = uv.hrtime()
    r.first_drawn_ns = r.first_drawn_ns or now
    r.drawn_ns = now
  end
end

--- Build the payload for one request: everything Python needs, in one message.
-- Bounded work for minified files and huge lines: far more than any context budget needs.
local MAX_LINE_BYTES = 1024 -- of a line other than the cursor's
local CURSOR_SIDE_BYTES = 8192 -- of the cursor's line, on each side of the cursor
local BUDGET_BEFORE = 65536 -- bytes of the lines above the cursor line
local BUDGET_AFTER = 16384 -- and below it

--- `s` cut to at most `n` bytes, never inside a UTF-8 character.
local function head_bytes(s, n)
  if #s <= n then
    return s
  end
  while n > 0 do
    local b = s:byte(n + 1)
    if b < 0x80 or b >= 0xC0 then
      break
    end
    n = n - 1
  end
  return s:sub(1, n)
end
M._head_bytes = head_bytes

--- The cursor line cut to a window around the cursor; returns the text and the new column.
local function around_cursor(line, col)
  if #line <= 2 * CURSOR_SIDE_BYTES then
    return line, col
  end
  local start = math.max(0, col - CURSOR_SIDE_BYTES)
  while start < col do
    local b = line:byte(start + 1)
    if b < 0x80 or b >= 0xC0 then
      break
    end
    start = start + 1
  end
  local rest = head_bytes(line:sub(start + 1), col - start + CURSOR_SIDE_BYTES)
  return rest, col - start
end
M._around_cursor = around_cursor

--- Lines of `buf` from `from` (0-based) towards `to`, each cut, until `budget` bytes are used.
local function window(buf, from, to, step, budget)
  local out = {}
  local i = from
  while (step < 0 and i >= to) or (step > 0 and i < to) do
    -- Read in blocks: one API call per 64 lines.
    local a, b = i, i + step * 64
    if step < 0 then
      a, b = math.max(to, b + 1), i + 1
    else
      b = math.min(to, b)
    end
    local block = vim.api.nvim_buf_get_lines(buf, a, b, false)
    local n = #block
    for k = 1, n do
      local line = block[step < 0 and n - k + 1 or k]
      line = head_bytes(line, MAX_LINE_BYTES)
      budget = budget - #line - 1
      if budget < 0 then
        return out, i
      end
      out[#out + 1] = line
      i = i + step
    end
  end
  return out, i
end

---@return localllm.RequestMsg
local function payload(buf, id, row, col)
  local c = cfg()
  local line_count = vim.api.nvim_buf_line_count(buf)
  local before = c.context.prefix_lines * 2
  local after = c.context.suffix_lines + 16
  local above, stop_above = window(buf, row - 1, math.max(0, row - before), -1, BUDGET_BEFORE)
  local below, stop_below =
    window(buf, row + 1, math.min(line_count, row + after + 1), 1, BUDGET_AFTER)
  local first, last = stop_above + 1, stop_below
  local full_line = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ''
  local cursor_line, sent_col = around_cursor(full_line, col)
  local lines = {}
  for k = #above, 1, -1 do
    lines[#lines + 1] = above[k]
  end
  lines[#lines + 1] = cursor_line
  for _, line in ipairs(below) do
    lines[#lines + 1] = line
  end
  local head = nil
  local sync = nil
  if first > 0 or last < line_count then
    if first > 0 then
      head = vim.api.nvim_buf_get_lines(buf, 0, math.min(64, first), false)
      for k, line in ipairs(head) do
        head[k] = head_bytes(line, MAX_LINE_BYTES)
      end
    end
    -- The window does not show the whole file: keep Python's copy of it up to date (not
    -- when the cursor line was cut: the copy would not match it).
    if #cursor_line == #full_line then
      sync = require('localllm.sync').take(buf)
    end
  end
  local bytes = 0
  for _, line in ipairs(lines) do
    bytes = bytes + #line + 1
  end
  for _, line in ipairs(head or {}) do
    bytes = bytes + #line + 1
  end
  M.stats.payload_bytes = bytes
  M.stats.payload_bytes_max = math.max(M.stats.payload_bytes_max or 0, bytes)
  return {
    id = id,
    bufnr = buf,
    path = vim.api.nvim_buf_get_name(buf),
    filetype = vim.bo[buf].filetype,
    lines = lines,
    first_line = first,
    row = row,
    col = sent_col,
    line_count = line_count,
    head = head,
    sync = sync,
    tick = vim.api.nvim_buf_get_changedtick(buf),
    expandtab = vim.bo[buf].expandtab,
    shiftwidth = vim.fn.shiftwidth(),
    tabstop = vim.bo[buf].tabstop,
    root = vim.fn.getcwd(),
  }
end

--- Send a request for the cursor position now.
---@param buf integer
function M.request_now(buf)
  stop_timer()
  require('localllm.privacy').enforce(buf)
  if not in_insert_mode() or buf ~= vim.api.nvim_get_current_buf() or not M.enabled_for(buf) then
    return
  end
  local s = bstate(buf)
  local row, col = cursor()
  next_id = next_id + 1
  local id = next_id
  local fired = uv.hrtime()
  local p = payload(buf, id, row, col)
  p.fired_ns = fired
  s.req = { id = id, row = row, col = col }
  s.tick = vim.api.nvim_buf_get_changedtick(buf)
  record(id).fired_ns = fired
  M.stats.requests = M.stats.requests + 1
  if not bridge.request(p) then
    s.req = nil
  end
end

--- Request after the debounce delay (restarts the delay).
---@param buf integer
function M.schedule(buf)
  timer = timer or uv.new_timer()
  timer:stop()
  timer:start(
    cfg().debounce_ms,
    0,
    vim.schedule_wrap(function()
      if vim.api.nvim_buf_is_valid(buf) then
        M.request_now(buf)
      end
    end)
  )
end

--- The origin of a suggestion drawn at (row, col) whose whole text from `anchor` is `text`.
local function origin_at(buf, row, anchor, col, text)
  local line = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ''
  return { row = row, col = anchor, text = text, after = line:sub(col + 1) }
end

--- What was inserted after the cursor since the suggestion was shown (`after` was `before`
--- then): the closers of nvim-autopairs and the like. Nil when the rest of the line changed.
---@param after string
---@param before string
---@return string|nil
local function inserted_after(after, before)
  if #after < #before or after:sub(#after - #before + 1) ~= before then
    return nil
  end
  return after:sub(1, #after - #before)
end

--- The user typed characters the suggestion starts with, or deleted some of them again: while
--- the text from the suggestion's origin to the cursor starts it (and the rest of the line is
--- as it was, but for closers inserted after the cursor that end the suggestion), the remainder
--- is shown, without a request. Those closers are its `tail`: not drawn, not inserted again.
local function type_through(buf, s, row, col, tick)
  local sug = s.sug
  local o = sug and sug.origin
  if not sug or not o or row ~= o.row or col < o.col or s.tick == nil then
    return false
  end
  local line = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ''
  local tail = col <= #line and inserted_after(line:sub(col + 1), o.after)
  if not tail then
    return false
  end
  local typed = line:sub(o.col + 1, col)
  if #typed >= #o.text or o.text:sub(1, #typed) ~= typed then
    return false
  end
  local rest = o.text:sub(#typed + 1)
  if #tail >= #rest or rest:sub(#rest - #tail + 1) ~= tail then
    return false
  end
  sug.text = rest:sub(1, #rest - #tail)
  sug.tail = tail ~= '' and tail or nil
  M.stats.type_through = M.stats.type_through + 1
  sug.col = col
  s.tick = tick
  show(buf, s)
  return true
end

--- TextChangedI / CursorMovedI.
function M.on_edit()
  local buf = vim.api.nvim_get_current_buf()
  require('localllm.privacy').enforce(buf)
  if not M.enabled_for(buf) then
    return
  end
  local s = bstate(buf)
  local row, col = cursor()
  local tick = vim.api.nvim_buf_get_changedtick(buf)
  local seen = s.seen
  if seen and seen[1] == tick and seen[2] == row and seen[3] == col then
    return
  end
  s.seen = { tick, row, col }
  if type_through(buf, s, row, col, tick) then
    return
  end
  M.reset(buf)
  if cfg().auto_trigger then
    M.schedule(buf)
  end
end

--- An update from Python: draw it if it is still the latest and still fits the buffer.
---@param u localllm.CompletionUpdate
function M.on_update(u)
  local buf = u.bufnr
  if u.resync then
    -- The host's copy of the buffer went out of step: the next request sends the whole text.
    require('localllm.sync').resync(buf)
  end
  local s = buffers[buf]
  local r = M.records[u.id]
  M.stats.updates = M.stats.updates + 1
  if not u.final then
    M.stats.partial = M.stats.partial + 1
  end
  if r and type(u.timings) == 'table' then
    r.timings = u.timings
    if u.final then
      r.final_ns = uv.hrtime()
    end
  end
  if u.error ~= nil then
    require('localllm.notice').problem(vim.log.levels.WARN, u.error)
    if s and s.req and s.req.id == u.id then
      -- The answer broke off: what it had shown is not a suggestion.
      s.req = nil
      M.clear(buf)
    end
    return
  end
  if u.final and u.source == 'model' then
    bridge.recovered()
  end
  local function stale()
    M.stats.stale = M.stats.stale + 1
  end
  if not s or not s.req or s.req.id ~= u.id then
    return stale() -- a newer request exists
  end
  if buf ~= vim.api.nvim_get_current_buf() or not in_insert_mode() then
    return stale()
  end
  if vim.api.nvim_buf_get_changedtick(buf) ~= s.tick then
    return stale() -- the buffer changed in a way we did not see as type-through
  end
  local row, col = cursor()
  local req = s.req
  if row ~= req.row or col < req.col then
    return stale()
  end
  local typed = ''
  if col > req.col then
    typed = vim.api.nvim_buf_get_text(buf, row, req.col, row, col, {})[1] or ''
  end
  local text = u.text or ''
  if text:sub(1, #typed) ~= typed then
    return stale()
  end
  local rest = text:sub(#typed + 1)
  if rest == '' then
    if u.final then
      M.clear(buf)
    end
    return
  end
  s.sug = {
    id = u.id,
    row = row,
    col = col,
    text = rest,
    final = u.final,
    origin = origin_at(buf, row, req.col, col, text),
  }
  show(buf, s)
end

--- After an accept: the remaining text stays shown at the new cursor; nothing is in flight.
---@param buf integer
---@param row integer
---@param col integer
---@param rest string
---@param tail string|nil the suggestion's end already after the cursor
function M.after_accept(buf, row, col, rest, tail)
  local s = bstate(buf)
  local tick = vim.api.nvim_buf_get_changedtick(buf)
  s.seen = { tick, row, col }
  if s.req and s.sug and not s.sug.final then
    bridge.cancel(s.req.id) -- the rest of a partial accept is kept as shown
  end
  if rest ~= '' then
    -- A new id of our own: a late answer of the request (its final, sent before the cancel
    -- arrived) is stale, and cannot replace the rest shown here.
    next_id = next_id + 1
    local id = next_id
    local o = s.sug and s.sug.origin
    if not o or o.row ~= row then -- a line was accepted: the rest starts here
      o = origin_at(buf, row, col, col, rest)
    end
    s.sug = { id = id, row = row, col = col, text = rest, final = true, origin = o, tail = tail }
    s.req = { id = id, row = row, col = col }
    s.tick = tick
    show(buf, s)
  else
    M.clear(buf)
    s.req = nil
    -- Chains of boilerplate: ask for the next suggestion at once.
    M.request_now(buf)
  end
end

--- Re-draw (after a completion menu closed) or hide (when one opened).
function M.refresh()
  local buf = vim.api.nvim_get_current_buf()
  local s = buffers[buf]
  if s and s.sug then
    show(buf, s)
  end
end

---@param buf integer
function M.forget(buf)
  M.reset(buf)
  buffers[buf] = nil
  require('localllm.sync').forget(buf)
  bridge.forget(buf)
end

function M.forget_all()
  for buf in pairs(buffers) do
    if vim.api.nvim_buf_is_valid(buf) then
      M.reset(buf)
    end
  end
  buffers = {}
end

return M
