-- The only module that talks to the Python host: start it, send requests, receive updates.
local M = {}

local state = {
  chan = nil, ---@type integer|nil
  failed = nil, ---@type string|nil
  notified = {}, ---@type table<string, boolean>
  kind = nil, ---@type 'venv'|'provider'|nil where the running host comes from
  own = nil, ---@type localllm.OwnHost|nil the host started from the plugin's environment
}

--- Notify once per distinct message (one notification per problem, not per keystroke).
---@param level integer
---@param msg string
function M.notify_once(level, msg)
  if state.notified[msg] then
    return
  end
  state.notified[msg] = true
  vim.schedule(function()
    vim.notify(msg, level, { title = 'localllm' })
  end)
end

local function python_config()
  local cfg = vim.deepcopy(require('localllm').config)
  cfg.log_file = vim.fn.stdpath('log') .. '/localllm.log'
  -- UI-only keys stay in Lua.
  cfg.keymaps, cfg.filetypes = nil, nil
  if cfg.generation and #cfg.generation.stop == 0 then
    cfg.generation.stop = nil
  end
  return cfg
end

--- Start the Python host if needed; returns its channel or nil (and says why, once).
--- The plugin's own environment (:LocalLLM install) when it exists, else the python3 provider.
---@return integer|nil
function M.channel()
  if state.chan then
    return state.chan
  end
  if state.failed then
    return nil
  end
  local host = require('localllm.host')
  local venv_python = host.venv_python()
  local ok, res
  if venv_python then
    ok, res = M.start_own(venv_python)
  else
    -- The manifest defines the function lazily (FuncUndefined), so exists() cannot tell.
    ok, res = pcall(vim.fn.LocalLLMHostInit, python_config())
  end
  if not ok or type(res) ~= 'table' then
    state.failed = tostring(res)
    local why = venv_python and res or host.explain_failure(tostring(res))
    require('localllm.status').on_error(why)
    M.notify_once(vim.log.levels.ERROR, 'localllm: ' .. why)
    return nil
  end
  if res.error ~= nil and res.error ~= vim.NIL then
    state.failed = res.error
    M.notify_once(vim.log.levels.ERROR, 'localllm: ' .. res.error)
    return nil
  end
  state.chan = res.channel
  state.kind = venv_python and 'venv' or 'provider'
  return state.chan
end

--- Start a pynvim host from the plugin's own environment and initialise it.
---@param python string
---@return boolean ok, table|string result of LocalLLMHostInit or why it failed
function M.start_own(python)
  local host = require('localllm.host')
  local own, err = host.start(python, function(h, code)
    if state.own ~= h then
      return -- stopped on purpose
    end
    state.own, state.chan = nil, nil
    if vim.v.exiting == vim.NIL then
      M.notify_once(
        vim.log.levels.WARN,
        ('localllm: the Python host (%s) exited with code %d%s; it restarts on the next request'):format(
          h.python,
          code,
          #h.stderr > 0 and (': ' .. h.stderr[#h.stderr]) or ''
        )
      )
    end
  end)
  if not own then
    return false, err or 'cannot start the Python host'
  end
  state.own = own
  local ok, res = pcall(vim.rpcrequest, own.chan, host.init_method(), { python_config() })
  if not ok then
    state.own = nil
    pcall(vim.fn.jobstop, own.chan)
    local words = host.last_words(own)
    return false,
      ('the Python host of %s did not start: %s. Run :LocalLLM install again; its log says more.'):format(
        python,
        words ~= '' and words or tostring(res)
      )
  end
  return true, res
end

--- Which host runs: {kind = 'venv'|'provider', chan, python}, or nil.
---@return table|nil
function M.host_info()
  if not state.chan then
    return nil
  end
  return {
    kind = state.kind,
    chan = state.chan,
    python = state.own and state.own.python or require('localllm.host').provider_python(),
  }
end

--- Forget the host (after a config change or when its channel died).
function M.reset()
  if state.own then
    local own = state.own
    state.own = nil
    pcall(vim.fn.jobstop, own.chan)
  end
  state.chan, state.failed = nil, nil
end

--- Push the current config to a running host.
function M.reconfigure()
  if not state.chan then
    state.failed = nil
    return
  end
  local ok, err = pcall(vim.rpcrequest, state.chan, 'localllm_configure', python_config())
  if not ok then
    M.reset()
  elseif err ~= nil and err ~= vim.NIL then
    M.notify_once(vim.log.levels.ERROR, 'localllm: ' .. err)
  end
end

---@param payload table
---@return boolean sent
function M.request(payload)
  local chan = M.channel()
  if not chan then
    return false
  end
  require('localllm.privacy').sweep(chan)
  local ok = pcall(vim.rpcnotify, chan, 'localllm_request', payload)
  if ok then
    require('localllm.status').on_request(payload.id)
  else
    M.reset()
    M.notify_once(vim.log.levels.WARN, 'localllm: lost the Python host; it restarts on the next request')
  end
  return ok
end

--- Tell a running host something; never starts it (nothing to complete yet).
local function notify_host(method, ...)
  if state.chan then
    require('localllm.privacy').sweep(state.chan) -- what became secret goes first
    pcall(vim.rpcnotify, state.chan, method, ...)
  end
end

--- Recent activity for later prompts.
---@param payload table {kind, path, text, root}
function M.activity(payload)
  notify_host('localllm_activity', payload)
end

--- A buffer became denied: Python drops what it kept of it and refuses the paths in `denied`
--- (privacy.sweep sends this before anything else).
---@param payload table {bufnr: integer|nil, paths: string[], denied: string[]}
function M.purge(payload)
  notify_host('localllm_purge', payload)
end

--- The buffer is gone: Python drops its copy.
---@param buf integer
function M.forget(buf)
  notify_host('localllm_forget', buf)
end

--- A quiet moment: queued activity may join the prompt now.
function M.promote()
  notify_host('localllm_promote')
end

---@param id integer|nil
function M.cancel(id)
  require('localllm.status').on_cancel(id)
  notify_host('localllm_cancel', id)
end

--- Ask the host to explain code (:LocalLLMExplain); the answer arrives via on_explain().
---@param payload table
---@return boolean sent, string|nil why not
function M.explain(payload)
  local chan = M.channel()
  if not chan then
    return false, state.failed or 'the Python host is not running'
  end
  require('localllm.privacy').sweep(chan)
  local ok = pcall(vim.rpcnotify, chan, 'localllm_explain', payload)
  if not ok then
    M.reset()
    return false, 'lost the Python host; try again'
  end
  return true, nil
end

---@param id integer|nil
function M.explain_cancel(id)
  notify_host('localllm_explain_cancel', id)
end

--- Synchronous: the last explanations' records (tests and benchmarks).
---@return table|nil
function M.explain_status()
  if not state.chan then
    return nil
  end
  local ok, res = pcall(vim.rpcrequest, state.chan, 'localllm_explain_status')
  return ok and res or nil
end

--- Called by Python for every event of an explanation.
---@param event table
function M.on_explain(event)
  require('localllm.explain').on_event(event)
end

--- Synchronous status for :LocalLLM status (a user command, never the hot path).
---@return table|nil, string|nil
function M.status()
  local chan = M.channel()
  if not chan then
    return nil, state.failed
  end
  local ok, res = pcall(vim.rpcrequest, chan, 'localllm_status')
  if not ok then
    return nil, tostring(res)
  end
  return res, nil
end

--- Called by Python (via nvim_exec_lua) for every streamed update.
---@param update table
function M.on_update(update)
  require('localllm.status').on_update(update)
  require('localllm.session').on_update(update)
end

--- A suggestion came from the backend: earlier problems are over, and the same problem
--- happening again later is news again.
function M.recovered()
  if require('localllm').last_error ~= nil then
    state.notified = {}
    require('localllm').last_error = nil
  end
end

--- Called by Python to tell the user something (model loading, problems).
---@param level string
---@param msg string
function M.on_notify(level, msg)
  if level == 'info' then
    require('localllm.status').on_progress(msg)
    -- Progress (model loading, a server back): shown in place on the command line, kept out
    -- of :messages and never a hit-enter prompt.
    require('localllm').progress = msg
    if msg:find(' is back', 1, true) then
      state.notified = {} -- a later outage is news again
      require('localllm').last_error = nil
    end
    vim.schedule(function()
      -- One screen line, leaving room for the mode message: a longer one would wrap and
      -- bring up the hit-enter prompt.
      local width = math.max(10, vim.o.columns - 20)
      local text = msg
      if vim.fn.strdisplaywidth(text) > width then
        text = vim.fn.strcharpart(text, 0, width - 1) .. '…'
      end
      vim.cmd('redraw') -- replace the previous progress line instead of adding one
      vim.api.nvim_echo({ { text, 'LocalLLMInfo' } }, false, {})
    end)
    return
  end
  local levels = { warn = vim.log.levels.WARN, error = vim.log.levels.ERROR }
  M.notify_once(levels[level] or vim.log.levels.WARN, msg)
end

return M
