-- The only module that talks to the Python host: start it, send requests, receive updates.
local M = {}

local state = {
  chan = nil, ---@type integer|nil
  failed = nil, ---@type string|nil
  notified = {}, ---@type table<string, boolean>
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
---@return integer|nil
function M.channel()
  if state.chan then
    return state.chan
  end
  if state.failed then
    return nil
  end
  -- The manifest defines the function lazily (FuncUndefined), so exists() cannot tell.
  local ok, res = pcall(vim.fn.LocalLLMHostInit, python_config())
  if not ok and tostring(res):find('E117', 1, true) then
    state.failed = 'not registered'
    M.notify_once(
      vim.log.levels.ERROR,
      'localllm: the remote plugin is not registered. Run :UpdateRemotePlugins, then restart '
        .. 'Neovim (see :checkhealth provider for the Python host).'
    )
    return nil
  end
  if not ok or type(res) ~= 'table' then
    state.failed = tostring(res)
    M.notify_once(
      vim.log.levels.ERROR,
      'localllm: the Python host failed to start: '
        .. tostring(res)
        .. '. Check that pynvim and localllm are installed in g:python3_host_prog.'
    )
    return nil
  end
  if res.error ~= nil and res.error ~= vim.NIL then
    state.failed = res.error
    M.notify_once(vim.log.levels.ERROR, 'localllm: ' .. res.error)
    return nil
  end
  state.chan = res.channel
  return state.chan
end

--- Forget the host (after a config change or when its channel died).
function M.reset()
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
  local ok = pcall(vim.rpcnotify, chan, 'localllm_request', payload)
  if not ok then
    M.reset()
    M.notify_once(vim.log.levels.WARN, 'localllm: lost the Python host; it restarts on the next request')
  end
  return ok
end

--- Tell a running host something; never starts it (nothing to complete yet).
local function notify_host(method, ...)
  if state.chan then
    pcall(vim.rpcnotify, state.chan, method, ...)
  end
end

--- Recent activity for later prompts.
---@param payload table {kind, path, text, root}
function M.activity(payload)
  notify_host('localllm_activity', payload)
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
  require('localllm.session').on_update(update)
end

--- Called by Python to tell the user something (model loading, problems).
---@param level string
---@param msg string
function M.on_notify(level, msg)
  if level == 'info' then
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
