-- What the plugin is doing, for statuslines: idle, loading a model, waiting for the model,
-- streaming a suggestion, or an error, with the last request's latency. Kept up to date by the
-- bridge as requests and updates pass; reading it costs nothing (no rpc). Every change fires
-- `User LocalLLMStatus` (at most once per event-loop turn) so statusline plugins can redraw.
local M = {}

local uv = vim.uv or vim.loop

---@alias localllm.State 'idle'|'loading'|'waiting'|'streaming'|'error'

---@class localllm.StatusInfo
---@field state localllm.State
---@field latency_ms integer|nil   fire-to-final time of the last finished request
---@field error string|nil         the last problem (state 'error')
---@field enabled boolean

-- The error text itself lives in lua/localllm/notice.lua (the one owner of problems).
local cur = { state = 'idle', latency_ms = nil } ---@type table
local current_id = nil ---@type integer|nil
local fired_ns = nil ---@type integer|nil
local loading = false
local pending = false
local last_fired = nil ---@type string|nil

local function key()
  return table.concat(
    { cur.state, tostring(cur.latency_ms), tostring(require('localllm').config.enabled) },
    ':'
  )
end

--- Fire `User LocalLLMStatus` once for the changes of this event-loop turn.
function M.changed()
  if pending then
    return
  end
  pending = true
  vim.schedule(function()
    pending = false
    local k = key()
    if k == last_fired then
      return
    end
    last_fired = k
    vim.api.nvim_exec_autocmds('User', {
      pattern = 'LocalLLMStatus',
      modeline = false,
      data = M.get(),
    })
  end)
end

local function set(state)
  if loading and (state == 'waiting' or state == 'streaming') then
    state = 'loading' -- the model is still loading: that is what the user waits for
  end
  if cur.state ~= state then
    cur.state = state
    M.changed()
  end
end

--- A request was sent.
---@param id integer
function M.on_request(id)
  current_id, fired_ns = id, uv.hrtime()
  set('waiting')
end

--- Requests were cancelled (id nil: all).
---@param id integer|nil
function M.on_cancel(id)
  if id == nil or id == current_id then
    current_id = nil
    if cur.state == 'waiting' or cur.state == 'streaming' then
      set('idle')
    end
  end
end

--- An update from the host (see bridge.on_update).
---@param u localllm.CompletionUpdate
function M.on_update(u)
  if u.error ~= nil then
    if u.id == current_id then
      current_id = nil
    end
    set('error')
    return
  end
  if u.id ~= current_id then
    return
  end
  if u.final then
    current_id = nil
    if fired_ns then
      cur.latency_ms = math.floor((uv.hrtime() - fired_ns) / 1e6 + 0.5)
    end
    set('idle')
    M.changed() -- the latency is news even when the state is not
  else
    set('streaming')
  end
end

--- A progress message from the host: a model loading, then ready.
---@param msg string
function M.on_progress(msg)
  if msg:find('loading model', 1, true) then
    loading = true
    set('loading')
  elseif msg:find('model ready', 1, true) then
    loading = false
    set(current_id and 'waiting' or 'idle')
  end
end

--- The current error changed (lua/localllm/notice.lua, its one owner, calls this): a problem
--- (msg), or the problems are over (nil).
---@param msg string|nil
function M.on_error(msg)
  loading = false
  if msg then
    current_id = nil
    set('error')
  elseif cur.state == 'error' then
    set('idle')
  end
end

---@return localllm.StatusInfo
function M.get()
  return {
    state = cur.state,
    latency_ms = cur.latency_ms,
    error = require('localllm.notice').last_error(),
    enabled = require('localllm').config.enabled,
  }
end

local LABELS = {
  loading = 'LLM loading…',
  waiting = 'LLM …',
  streaming = 'LLM ▸',
  error = 'LLM error',
}

--- A short text for a statusline: `LLM 120ms` (idle, last latency), `LLM …` (waiting),
--- `LLM ▸` (streaming), `LLM loading…`, `LLM error`, `LLM off`.
---@return string
function M.text()
  if not require('localllm').config.enabled then
    return 'LLM off'
  end
  -- Off in a buffer where nothing is sent (denied file, b:/g:localllm_disable, filetype);
  -- denied() is a few table lookups and string matches: cheap enough for every redraw.
  local win = vim.g.statusline_winid -- the window drawn, while a statusline is evaluated
  local buf = (win and vim.api.nvim_win_is_valid(win)) and vim.api.nvim_win_get_buf(win)
    or vim.api.nvim_get_current_buf()
  if
    require('localllm.privacy').denied(buf) or not require('localllm.session').enabled_for(buf)
  then
    return 'LLM off'
  end
  local label = LABELS[cur.state]
  if label then
    return label
  end
  return cur.latency_ms and ('LLM %dms'):format(cur.latency_ms) or 'LLM'
end

return M
