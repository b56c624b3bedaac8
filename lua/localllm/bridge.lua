-- The only module that talks to the Python host: start it, send requests, receive updates.
local M = {}

local notice = require('localllm.notice')

-- Kept in a global so that reloading the modules (:Lazy reload) finds the running host
-- instead of starting a second one with its own copy of the model.
---@class localllm.BridgeState
---@field chan integer|nil       the host's channel (set as soon as the job runs)
---@field ready boolean          the host answered its init
---@field failed string|nil      why the host cannot start (cleared by setup() and install)
---@field kind 'venv'|'provider'|nil where the running host comes from
---@field own localllm.OwnHost|nil the host started from the plugin's environment
---@field replies table<integer, fun(value: any, err: string|nil)>
---@field next_token integer
_G._localllm_bridge = _G._localllm_bridge
  or {
    chan = nil,
    ready = false,
    failed = nil,
    kind = nil,
    own = nil,
    replies = {},
    next_token = 0,
  }
local state = _G._localllm_bridge ---@type localllm.BridgeState

-- How long a user command waits for the host's answer before saying it does not answer.
M.answer_ms = 3000
-- How long a user command waits for the host to start.
M.start_ms = 15000

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

--- Send `name` to the host without waiting; `on_answer(value, err)` runs when it answers.
---@param name 'init'|'configure'|'status'|'health'|'explain_status'
---@param args table
---@param on_answer fun(value: any, err: string|nil)|nil
---@return boolean sent
function M.call(name, args, on_answer)
  if not state.chan then
    return false
  end
  state.next_token = state.next_token + 1
  local token = state.next_token
  if on_answer then
    state.replies[token] = on_answer
  end
  local ok, err = pcall(vim.rpcnotify, state.chan, 'localllm_async', token, name, args)
  if not ok then
    state.replies[token] = nil
    if on_answer then
      on_answer(nil, tostring(err))
    end
  end
  return ok
end

--- Called by Python with the answer of M.call().
---@param token integer
---@param answer localllm.Reply
function M.on_reply(token, answer)
  local cb = state.replies[token]
  state.replies[token] = nil
  if cb then
    cb(answer.value, answer.error ~= nil and tostring(answer.error) or nil)
  end
end

--- Ask the host and wait (at most `timeout_ms`, events keep running) for its answer: for
--- user commands only. nil and why on no answer.
---@param name 'configure'|'status'|'health'|'explain_status'
---@param args table|nil
---@param timeout_ms integer|nil default M.answer_ms
---@return any value, string|nil err
function M.call_wait(name, args, timeout_ms)
  local done, value, err = false, nil, nil
  if not M.call(name, args or {}, function(v, e)
    done, value, err = true, v, e
  end) then
    return nil, 'the Python host is not running'
  end
  vim.wait(timeout_ms or M.answer_ms, function()
    return done
  end, 10)
  if not done then
    return nil, 'the Python host does not answer'
  end
  return value, err
end

--- The host cannot start: say why (once); notice.lua keeps the error (status shows it).
---@param why string
local function fail(why)
  state.failed = notice.plain(why)
  notice.problem(vim.log.levels.ERROR, state.failed)
end

--- What the host says the user should know although it runs (its configure result).
---@param warnings string[]|nil
local function warn_all(warnings)
  for _, msg in ipairs(type(warnings) == 'table' and warnings or {}) do
    notice.problem(vim.log.levels.WARN, msg, { keep_error = true })
  end
end

--- The host's answer to its init.
---@param res localllm.InitResult|nil
---@param err string|nil
local function on_init(res, err)
  if err or type(res) ~= 'table' then
    M.reset()
    fail(err or 'the Python host did not start')
    return
  end
  warn_all(res.warnings)
  if res.error ~= nil then
    fail(res.error)
    return
  end
  state.ready = true
  if notice.last_error() and notice.last_error():find('Python host', 1, true) then
    notice.recovered() -- the crash or start failure before is over
  end
end

local function install_running()
  local inst = package.loaded['localllm.install']
  return inst and inst.state.running and inst.state or nil
end

--- Start the Python host if it is not running; never waits for it (the plugin's own
--- environment: a job, its init an rpc notification answered later; the python3 provider: a
--- synchronous call, so callers run this early, in a scheduled callback).
--- Returns the channel: requests may be sent at once, the host handles them in order.
---@return integer|nil chan
function M.start()
  if state.chan then
    return state.chan
  end
  if state.failed then
    return nil
  end
  local inst = install_running()
  if inst then
    state.failed = ':LocalLLM install is running ('
      .. (inst.step or 'starting')
      .. '): completion starts when it is done'
    notice.problem(vim.log.levels.INFO, state.failed, { keep_error = true })
    return nil
  end
  local host = require('localllm.host')
  local venv_python = host.venv_python()
  if venv_python then
    M.start_own(venv_python)
    return state.chan
  end
  -- The manifest defines the function lazily (FuncUndefined), so exists() cannot tell.
  local ok, res = pcall(vim.fn.LocalLLMHostInit, python_config())
  if not ok or type(res) ~= 'table' then
    fail(host.explain_failure(tostring(res)))
    return nil
  end
  state.chan, state.kind = res.channel, 'provider'
  on_init(res, nil)
  if state.chan then
    M.watch_provider()
  end
  return state.chan
end

--- Start the host soon, not now: after Neovim has started, in a scheduled callback.
function M.start_soon()
  if state.chan or state.failed or state.soon then
    return
  end
  state.soon = true
  local function go()
    vim.defer_fn(function()
      state.soon = false
      M.start()
    end, 1)
  end
  if vim.v.vim_did_enter == 1 then
    go()
  else
    vim.api.nvim_create_autocmd('VimEnter', { once = true, callback = go })
  end
end

--- Start the host if needed and wait (bounded) until it is ready: for user commands
--- (:checkhealth, :LocalLLM status, explain) only. Returns its channel or nil (and says why).
---@return integer|nil
function M.channel()
  M.start()
  if state.chan and not state.ready then
    vim.wait(M.start_ms, function()
      return state.ready or not state.chan or state.failed ~= nil
    end, 10)
  end
  return state.ready and state.chan or nil
end

--- The host is gone (crashed, killed): nothing of it stays on screen, the user is told.
---@param why string
local function host_lost(why)
  state.own, state.chan, state.ready, state.kind = nil, nil, false, nil
  for token, cb in pairs(state.replies) do
    state.replies[token] = nil
    pcall(cb, nil, 'the Python host exited')
  end
  -- v:exiting is v:null until Neovim exits: a Neovim value, not one of the host's messages
  -- (those never hold null, see messages.lua).
  if vim.v.exiting ~= vim.NIL then
    return
  end
  vim.schedule(function()
    -- Ghosts and requests in flight of every buffer: they will not be answered.
    require('localllm.session').forget_all()
    notice.problem(vim.log.levels.ERROR, why, { always = true })
  end)
end

--- The python3 provider's host has no exit callback for us: look every few seconds.
function M.watch_provider()
  local uv = vim.uv or vim.loop
  state.watch = state.watch or uv.new_timer()
  state.watch:stop()
  local chan = state.chan
  state.watch:start(
    2000,
    2000,
    vim.schedule_wrap(function()
      if state.chan ~= chan or state.kind ~= 'provider' then
        state.watch:stop()
        return
      end
      local code = vim.fn.jobwait({ chan }, 0)[1]
      if code ~= -1 then
        state.watch:stop()
        local why = 'the Python host (python3 provider) exited with code %d; '
          .. 'it restarts on the next request'
        host_lost(why:format(code))
      end
    end)
  )
end

--- Start a pynvim host from the plugin's own environment and send it its init.
---@param python string
---@return boolean ok
function M.start_own(python)
  local host = require('localllm.host')
  local own, err = host.start(python, function(h, code)
    if state.own ~= h then
      return -- stopped on purpose
    end
    local words = #h.stderr > 0 and (': ' .. h.stderr[#h.stderr]) or ''
    if not state.ready then
      local inst = install_running()
      local why = inst
          and (':LocalLLM install is running (%s): completion starts when it is done'):format(
            inst.step or ''
          )
        or (
          'the Python host of %s did not start (exit code %d%s). '
          .. 'Run :LocalLLM install again; its log says more.'
        ):format(python, code, words)
      host_lost(why)
      state.failed = notice.plain(why)
      return
    end
    host_lost(
      ('the Python host (%s) exited with code %d%s; it restarts on the next request'):format(
        python,
        code,
        words
      )
    )
  end)
  if not own then
    fail(err or 'cannot start the Python host')
    return false
  end
  state.own, state.chan, state.kind, state.ready = own, own.chan, 'venv', false
  M.call('init', { { python_config() } }, function(res, e)
    if state.own == own then
      on_init(res, e)
    end
  end)
  return true
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
  state.chan, state.failed, state.ready, state.kind = nil, nil, false, nil
end

--- An earlier failure to start is over (setup() again, a finished :LocalLLM install): the
--- next request starts the host again, and no stale error stays in status or health.
local function forget_failure()
  if state.failed then
    state.failed = nil
    notice.recovered()
  end
end

--- :LocalLLM install finished well: the host starts from the new environment (a provider
--- host that runs keeps running until Neovim restarts).
function M.on_installed()
  if state.chan and state.kind == 'venv' then
    M.reset() -- an environment made again: start from the new one
  end
  forget_failure()
  if not state.chan then
    M.start_soon()
  end
end

--- Push the current config to a running host; never waits for it.
function M.reconfigure()
  forget_failure()
  if not state.chan then
    return
  end
  M.call('configure', { python_config() }, function(res, call_err)
    if call_err then
      M.reset()
      return
    end
    res = type(res) == 'table' and res or {} ---@type localllm.ConfigureResult
    warn_all(res.warnings)
    if res.error ~= nil then
      fail(res.error)
    else
      state.ready = true
    end
  end)
end

---@param payload localllm.RequestMsg
---@return boolean sent
function M.request(payload)
  local chan = M.start()
  if not chan or (state.ready == false and state.failed) then
    return false
  end
  require('localllm.privacy').sweep(chan)
  local ok = pcall(vim.rpcnotify, chan, 'localllm_request', payload)
  if ok then
    require('localllm.status').on_request(payload.id)
  else
    host_lost('lost the Python host; it restarts on the next request')
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
---@param payload localllm.ActivityMsg
function M.activity(payload)
  notify_host('localllm_activity', payload)
end

--- A buffer became denied: Python drops what it kept of it and refuses the paths in `denied`
--- (privacy.sweep sends this before anything else).
---@param payload localllm.PurgeMsg
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
---@param payload localllm.ExplainMsg
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

--- The last explanations' records (tests and benchmarks); waits a bounded time.
---@return table|nil
function M.explain_status()
  return (M.call_wait('explain_status'))
end

--- Called by Python for every event of an explanation.
---@param event localllm.ExplainUpdate
function M.on_explain(event)
  require('localllm.explain').on_event(event)
end

--- Status for :LocalLLM status (a user command): waits a bounded time for the answer.
---@return table|nil, string|nil
function M.status()
  if not M.channel() then
    return nil, state.failed or (state.chan and 'the Python host does not answer') or nil
  end
  return M.call_wait('status', {})
end

--- Called by Python (via nvim_exec_lua) for every streamed update.
---@param update localllm.CompletionUpdate
function M.on_update(update)
  require('localllm.status').on_update(update)
  require('localllm.session').on_update(update)
end

--- A suggestion came from the backend: earlier problems are over, and the same problem
--- happening again later is news again.
function M.recovered()
  if notice.last_error() ~= nil then
    notice.recovered()
  end
end

--- Called by Python to tell the user something (model loading, problems).
---@param level string
---@param msg string
function M.on_notify(level, msg)
  if level == 'info' then
    require('localllm.status').on_progress(msg)
    if msg:find(' is back', 1, true) then
      notice.recovered() -- a later outage is news again
    end
    notice.progress(msg)
    return
  end
  local levels = { warn = vim.log.levels.WARN, error = vim.log.levels.ERROR }
  notice.problem(levels[level] or vim.log.levels.WARN, msg, { keep_error = true })
end

return M
