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

---@class localllm.BufState
---@field req localllm.Request|nil   latest request sent for this buffer
---@field sug localllm.Suggestion|nil what is shown
---@field tick integer|nil           changedtick the shown/awaited suggestion is valid for
---@field seen table|nil             last {tick, row, col} handled (dedupes autocmds)

---@type table<integer, localllm.BufState>
local buffers = {}
local next_id = 0

--- Counters for tests and :LocalLLM status.
M.stats = { requests = 0, updates = 0, partial = 0, drawn = 0, stale = 0, type_through = 0 }
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
function M.enabled_for(buf)
  local c = cfg()
  if not c.enabled or vim.g.localllm_disable or vim.b[buf].localllm_disable then
    return false
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

function M.is_visible(buf)
  local s = buffers[buf or vim.api.nvim_get_current_buf()]
  return s ~= nil and s.sug ~= nil and s.sug.text ~= ''
end

---@param buf integer
---@return localllm.Suggestion|nil
function M.suggestion(buf)
  local s = buffers[buf]
  return s and s.sug or nil
end

local function show(buf, s)
  if cfg().hide_during_completion and vim.fn.pumvisible() == 1 then
    ghost.clear(buf)
    return
  end
  local sug = s.sug
  ghost.render(buf, sug.row, sug.col, sug.text)
  M.stats.drawn = M.stats.drawn + 1
  local r = M.records[sug.id]
  if r then
    local now = uv.hrtime()
    r.first_drawn_ns = r.first_drawn_ns or now
    r.drawn_ns = now
  end
end

--- Build the payload for one request: everything Python needs, in one message.
local function payload(buf, id, row, col)
  local c = cfg()
  local line_count = vim.api.nvim_buf_line_count(buf)
  local before = c.context.prefix_lines * 2
  local after = c.context.suffix_lines + 16
  local first = math.max(0, row - before)
  local last = math.min(line_count, row + after + 1)
  local head = nil
  local sync = nil
  if first > 0 or last < line_count then
    head = first > 0 and vim.api.nvim_buf_get_lines(buf, 0, math.min(64, first), false) or nil
    -- The window does not show the whole file: keep Python's copy of it up to date.
    sync = require('localllm.sync').take(buf)
  end
  return {
    id = id,
    bufnr = buf,
    path = vim.api.nvim_buf_get_name(buf),
    filetype = vim.bo[buf].filetype,
    lines = vim.api.nvim_buf_get_lines(buf, first, last, false),
    first_line = first,
    row = row,
    col = col,
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

--- The user typed characters that start the visible suggestion: keep the rest, no request.
local function type_through(buf, s, row, col, tick)
  local sug = s.sug
  if not sug or row ~= sug.row or col <= sug.col or s.tick == nil then
    return false
  end
  local ok, text = pcall(vim.api.nvim_buf_get_text, buf, row, sug.col, row, col, {})
  if not ok then
    return false
  end
  local typed = text[1] or ''
  if #typed >= #sug.text or sug.text:sub(1, #typed) ~= typed then
    return false
  end
  sug.text = sug.text:sub(#typed + 1)
  M.stats.type_through = M.stats.type_through + 1
  sug.col = col
  s.tick = tick
  show(buf, s)
  return true
end

--- TextChangedI / CursorMovedI.
function M.on_edit()
  local buf = vim.api.nvim_get_current_buf()
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
---@param u table
function M.on_update(u)
  local buf = u.bufnr
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
  if u.error ~= nil and u.error ~= vim.NIL then
    require('localllm').last_error = u.error
    bridge.notify_once(vim.log.levels.WARN, 'localllm: ' .. u.error)
    return
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
  s.sug = { id = u.id, row = row, col = col, text = rest, final = u.final }
  show(buf, s)
end

--- After an accept: the remaining text stays shown at the new cursor; nothing is in flight.
---@param buf integer
---@param row integer
---@param col integer
---@param rest string
function M.after_accept(buf, row, col, rest)
  local s = bstate(buf)
  local tick = vim.api.nvim_buf_get_changedtick(buf)
  s.seen = { tick, row, col }
  if s.req and s.sug and not s.sug.final then
    bridge.cancel(s.req.id) -- the rest of a partial accept is kept as shown
  end
  if rest ~= '' then
    local id = s.sug and s.sug.id or 0
    s.sug = { id = id, row = row, col = col, text = rest, final = true }
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

--- Re-draw (after the completion popup closed) or hide (when it opened).
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
