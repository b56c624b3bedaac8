-- :LocalLLM install: the plugin's own Python environment (stdpath('data')/localllm/venv) with
-- everything it needs, made by jobs that never block the editor, with progress notices and a
-- log. The Python host then starts from it (lua/localllm/host.lua): no python3_host_prog, no
-- :UpdateRemotePlugins.
--
-- $LOCALLLM_INSTALL_OFFLINE=<site-packages folder> installs without the network: the new
-- environment reuses the packages of that folder (a .pth file) and pip installs only the plugin
-- (--no-deps --no-index). The tests use it; so can a machine without internet access.
local M = {}

---@class localllm.InstallState
---@field running boolean
---@field ok boolean|nil       nil until a run ends
---@field step string|nil      what runs now (or failed)
---@field message string|nil   the last notice
---@field log string           the log file
---@field venv string          the environment's folder

---@type localllm.InstallState
M.state = { running = false, ok = nil, step = nil, message = nil, log = '', venv = '' }

local function notify(level, msg)
  M.state.message = msg
  vim.schedule(function()
    vim.notify(msg, level, { title = 'localllm' })
  end)
end

--- The Python that makes the environment: opts.python, g:python3_host_prog, python3, python.
local function base_python(opts)
  if opts.python then
    return opts.python
  end
  return require('localllm.host').provider_python()
end

local function append_log(path, lines)
  local f = io.open(path, 'a')
  if f then
    f:write(table.concat(lines, '\n'), '\n')
    f:close()
  end
end

-- pip's lines that are worth a progress notice (one package at a time, the long build).
local function progress_of(line)
  local name = line:match('^Collecting (%S+)')
  if name then
    return 'collecting ' .. name
  end
  name = line:match('Building wheel for (%S+)')
  if name then
    local slow = name:find('llama', 1, true) and ' (it compiles llama.cpp: several minutes)' or ''
    return 'building ' .. name .. slow
  end
  if line:match('^Installing collected packages') then
    return 'installing the packages'
  end
  return nil
end

--- The steps of an install: {title, cmd|fn}.
local function steps(python, venv, offline)
  local host = require('localllm.host')
  local root = host.root()
  local vpy = host.venv_bin_python(venv)
  local list = {}
  if vim.fn.executable(vpy) ~= 1 then
    local cmd = { python, '-m', 'venv', venv }
    if offline then
      table.insert(cmd, 4, '--without-pip') -- pip comes with the reused packages
    end
    list[#list + 1] = { 'creating the environment ' .. venv, cmd }
  end
  if offline then
    list[#list + 1] = {
      'reusing the packages of ' .. offline,
      function()
        local site = vim.fn.glob(
          venv
            .. (vim.fn.has('win32') == 1 and '/Lib/site-packages' or '/lib/python*/site-packages'),
          true,
          true
        )[1]
        if not site then
          return 'no site-packages folder in ' .. venv
        end
        local ok, err = pcall(vim.fn.writefile, { offline }, site .. '/localllm_offline.pth')
        return (not ok) and tostring(err) or nil
      end,
    }
    list[#list + 1] = {
      'installing localllm (offline)',
      { vpy, '-m', 'pip', 'install', '--no-deps', '--no-index', '--no-build-isolation', root },
    }
  else
    list[#list + 1] = {
      'installing localllm and its packages (llama-cpp-python builds from source: several minutes)',
      { vpy, '-m', 'pip', 'install', '--upgrade', root .. '[embedded]', 'pynvim' },
    }
  end
  list[#list + 1] = {
    'checking the environment',
    function()
      local rep, why = host.probe(vpy)
      if not rep then
        return why
      end
      local missing = host.missing(rep)
      if #missing > 0 then
        return 'still missing: ' .. table.concat(missing, ', ')
      end
      return nil
    end,
  }
  return list
end

-- In a script (`nvim --headless "+LocalLLM install" +qa`: no UI, not embedded) a failed install
-- makes Neovim exit non-zero when it quits, so that the script sees it. Not at once: whatever
-- else the script runs (lazy.nvim's other builds) still finishes.
local function fail_exit_code()
  if #vim.api.nvim_list_uis() > 0 or vim.tbl_contains(vim.v.argv, '--embed') then
    return
  end
  vim.api.nvim_create_autocmd('VimLeavePre', {
    group = vim.api.nvim_create_augroup('localllm_install_failed', { clear = true }),
    desc = 'localllm: exit code 1 after a failed install',
    callback = function()
      vim.cmd('cquit 1')
    end,
  })
end

--- Make (or update) the plugin's environment. Returns false when an install is running already.
--- Without a UI (`nvim --headless "+LocalLLM install" +qa`) it waits until the end unless
--- opts.wait is false; with a UI it never waits.
---@param opts { python: string|nil, wait: boolean|nil, on_done: fun(ok: boolean)|nil }|nil
---@return boolean started
function M.run(opts)
  opts = opts or {}
  if M.state.running then
    notify(
      vim.log.levels.WARN,
      'localllm: an install is running already (' .. (M.state.step or '') .. ')'
    )
    return false
  end
  local host = require('localllm.host')
  local venv = host.venv_dir()
  local log = vim.fn.stdpath('log') .. '/localllm-install.log'
  vim.fn.mkdir(vim.fn.fnamemodify(log, ':h'), 'p')
  vim.fn.mkdir(vim.fn.fnamemodify(venv, ':h'), 'p')
  M.state = { running = true, ok = nil, step = nil, message = nil, log = log, venv = venv }
  local python = base_python(opts)
  local offline = vim.env.LOCALLLM_INSTALL_OFFLINE
  if offline == '' then
    offline = nil
  end
  append_log(
    log,
    { ('==== localllm install %s into %s'):format(os.date('%Y-%m-%d %H:%M:%S'), venv) }
  )

  local function finish(ok, msg)
    M.state.running, M.state.ok = false, ok
    append_log(log, { msg })
    if not ok then
      fail_exit_code()
    end
    if ok then
      local restart = require('localllm.bridge').host_info()
      notify(
        vim.log.levels.INFO,
        ('localllm: installed into %s (log: %s). %s'):format(
          venv,
          log,
          restart and restart.kind ~= 'venv' and 'Restart Neovim to use it.'
            or 'The Python host starts from it.'
        )
      )
      require('localllm.bridge').on_installed() -- an earlier failure to start is over
    else
      notify(vim.log.levels.ERROR, ('localllm: install failed: %s. Log: %s'):format(msg, log))
    end
    if opts.on_done then
      vim.schedule(function()
        opts.on_done(ok)
      end)
    end
  end

  if not python then
    finish(false, 'no Python 3 found (set g:python3_host_prog or put python3 on PATH)')
    return true
  end

  local todo = steps(python, venv, offline)
  local env = {
    PIP_DISABLE_PIP_VERSION_CHECK = '1',
    CMAKE_ARGS = vim.env.CMAKE_ARGS or '-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF',
    CMAKE_BUILD_PARALLEL_LEVEL = vim.env.CMAKE_BUILD_PARALLEL_LEVEL
      or tostring(#(vim.uv or vim.loop).cpu_info()),
  }
  local i = 0
  local next_step
  local last_notice = 0
  next_step = function()
    i = i + 1
    local step = todo[i]
    if not step then
      finish(true, 'done')
      return
    end
    local title, action = step[1], step[2]
    M.state.step = title
    notify(vim.log.levels.INFO, ('localllm install (%d/%d): %s'):format(i, #todo, title))
    append_log(log, { '---- ' .. title })
    if type(action) == 'function' then
      vim.schedule(function()
        local err = action()
        if err then
          finish(false, title .. ': ' .. err)
        else
          next_step()
        end
      end)
      return
    end
    append_log(log, { '$ ' .. table.concat(action, ' ') })
    local function on_output(_, data)
      local lines = vim.tbl_filter(function(l)
        return l ~= ''
      end, data or {})
      if #lines == 0 then
        return
      end
      append_log(log, lines)
      for _, line in ipairs(lines) do
        local p = progress_of(line)
        local now = (vim.uv or vim.loop).now()
        if p and now - last_notice > 1500 then
          last_notice = now
          notify(vim.log.levels.INFO, 'localllm install: ' .. p)
        end
      end
    end
    local ok, job = pcall(vim.fn.jobstart, action, {
      env = env,
      on_stdout = on_output,
      on_stderr = on_output,
      on_exit = function(_, code)
        if code == 0 then
          next_step()
        else
          finish(false, ('%s: exit code %d'):format(title, code))
        end
      end,
    })
    if not ok or job <= 0 then
      finish(false, ('%s: cannot run %s'):format(title, action[1]))
    end
  end
  next_step()
  local wait = opts.wait
  if wait == nil then
    wait = #vim.api.nvim_list_uis() == 0
  end
  if wait then
    vim.wait(60 * 60 * 1000, function()
      return not M.state.running
    end, 200)
  end
  return true
end

return M
