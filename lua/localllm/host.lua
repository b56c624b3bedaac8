-- Where the Python host comes from: the plugin's own virtual environment (made by
-- :LocalLLM install), started here as a job that speaks msgpack-rpc on stdio, or else Neovim's
-- python3 provider with the remote plugin registered by :UpdateRemotePlugins. Also finds out
-- what a Python lacks, for the messages and :checkhealth.
local M = {}

local is_win = vim.fn.has('win32') == 1

--- The plugin's folder (the one holding lua/, plugin/, python/).
---@return string
function M.root()
  local src = debug.getinfo(1, 'S').source:sub(2)
  return vim.fn.fnamemodify(src, ':p:h:h:h')
end

--- The remote plugin's folder, as pynvim's host and the rplugin manifest name it.
---@return string
function M.rplugin_path()
  return M.root() .. '/rplugin/python3/localllm_rplugin'
end

---@return string
function M.venv_dir()
  return vim.fn.stdpath('data') .. '/localllm/venv'
end

--- The Python of a virtual environment folder.
---@param dir string
---@return string
function M.venv_bin_python(dir)
  return dir .. (is_win and '/Scripts/python.exe' or '/bin/python')
end

--- The Python of the plugin's own environment, or nil when :LocalLLM install has not made it.
---@return string|nil
function M.venv_python()
  local py = M.venv_bin_python(M.venv_dir())
  return vim.fn.executable(py) == 1 and py or nil
end

--- The Python of Neovim's python3 provider (g:python3_host_prog, else python3 on PATH).
---@return string|nil
function M.provider_python()
  local prog = vim.g.python3_host_prog
  if type(prog) == 'string' and prog ~= '' then
    return vim.fn.exepath(vim.fn.expand(prog)) ~= '' and vim.fn.exepath(vim.fn.expand(prog))
      or vim.fn.expand(prog)
  end
  for _, name in ipairs({ 'python3', 'python' }) do
    local path = vim.fn.exepath(name)
    if path ~= '' then
      return path
    end
  end
  return nil
end

-- pynvim's own plugin host, serving the remote plugin named on its command line.
local BOOT = table.concat({
  'import sys',
  'try:',
  '    import pynvim',
  'except ImportError as exc:',
  '    sys.stderr.write("pynvim is not installed in %s (%s)\\n" % (sys.executable, exc))',
  '    sys.exit(3)',
  'pynvim.start_host()',
}, '\n')

--- The rpc method of LocalLLMHostInit as pynvim's host names it.
---@return string
function M.init_method()
  return M.rplugin_path() .. ':function:LocalLLMHostInit'
end

---@class localllm.OwnHost
---@field chan integer
---@field python string
---@field stderr string[] last lines the host wrote to stderr

--- Start a pynvim host from `python` serving our remote plugin; nil and why when it cannot.
---@param python string
---@param on_exit fun(host: localllm.OwnHost, code: integer)
---@return localllm.OwnHost|nil, string|nil
function M.start(python, on_exit)
  local host = { python = python, stderr = {} } ---@type localllm.OwnHost
  local ok, chan = pcall(vim.fn.jobstart, { python, '-c', BOOT, M.rplugin_path() }, {
    rpc = true,
    on_stderr = function(_, data)
      for _, line in ipairs(data or {}) do
        if line ~= '' then
          table.insert(host.stderr, line)
          if #host.stderr > 20 then
            table.remove(host.stderr, 1)
          end
        end
      end
    end,
    on_exit = function(_, code)
      on_exit(host, code)
    end,
  })
  if not ok or type(chan) ~= 'number' or chan <= 0 then
    local why = not ok and tostring(chan)
      or (chan == -1 and 'not executable' or 'invalid arguments')
    return nil, ('cannot run %s: %s'):format(python, why)
  end
  host.chan = chan
  return host, nil
end

--- What `host` wrote to stderr before it died (waits a moment for it to exit).
---@param host localllm.OwnHost
---@return string
function M.last_words(host)
  pcall(vim.fn.jobwait, { host.chan }, 2000)
  return table.concat(host.stderr, ' | ')
end

--- Ask `python` which packages it has (python/localllm/envcheck.py); nil and why on failure.
--- Synchronous (a fraction of a second): only for :checkhealth and after a failed start.
---@param python string
---@return table|nil, string|nil
function M.probe(python)
  local code_fmt = 'import sys; sys.path.insert(0, %q); from localllm.envcheck import main; main()'
  local code = code_fmt:format(M.root() .. '/python')
  local ok, res = pcall(function()
    return vim.system({ python, '-c', code }, { text = true }):wait(10000)
  end)
  if not ok then
    return nil, tostring(res)
  end
  if res.code ~= 0 then
    return nil,
      vim.trim(res.stderr or '') ~= '' and vim.trim(res.stderr) or ('exit code ' .. res.code)
  end
  -- JSON null (a package that is not installed has "version": null) as nil, not vim.NIL.
  local decoded_ok, rep =
    pcall(vim.json.decode, res.stdout or '', { luanil = { object = true, array = true } })
  if not decoded_ok or type(rep) ~= 'table' then
    return nil, 'unexpected output: ' .. tostring(res.stdout)
  end
  return rep, nil
end

--- Names of the packages of `roles` that a probe report lacks.
---@param rep table
---@param roles string[]|nil default: required and embedded
---@return string[]
function M.missing(rep, roles)
  roles = roles or { 'required', 'embedded' }
  local out = {}
  for _, p in ipairs(rep.packages or {}) do
    if vim.tbl_contains(roles, p.role) and p.version == nil then
      out[#out + 1] = p.name
    end
  end
  return out
end

--- The rplugin manifest Neovim reads and whether it registers this checkout.
---@return { path: string, registered: boolean, other: string|nil }
function M.manifest()
  local path = vim.env.NVIM_RPLUGIN_MANIFEST
  if not path or path == '' then
    path = vim.fn.stdpath('data') .. '/rplugin.vim'
  end
  local info = { path = path, registered = false, other = nil }
  local ok, lines = pcall(vim.fn.readfile, path)
  if not ok then
    return info
  end
  local mine = M.rplugin_path()
  for _, line in ipairs(lines) do
    local registered = line:match("RegisterPlugin%('python3', '([^']*localllm_rplugin)'")
    if registered then
      if vim.fn.resolve(registered) == vim.fn.resolve(mine) then
        info.registered = true
      else
        info.other = registered
      end
    end
  end
  return info
end

--- The message for a classic (python3 provider) start that failed: what is missing and the
--- command that fixes it.
---@param err string what Neovim said
---@return string
function M.explain_failure(err)
  local lines = {}
  local m = M.manifest()
  if not m.registered then
    if m.other then
      lines[#lines + 1] = (
        'the remote plugin is registered from another place (%s), not from %s: '
        .. 'the manifest %s is stale.'
      ):format(m.other, M.root(), m.path)
    else
      lines[#lines + 1] = ('the remote plugin is not registered in %s.'):format(m.path)
    end
    lines[#lines + 1] = 'Fix: run :LocalLLM install (the plugin then starts its own Python, no '
      .. ':UpdateRemotePlugins needed), or run :UpdateRemotePlugins and restart Neovim.'
    return table.concat(lines, ' ')
  end
  local python = M.provider_python()
  if not python then
    return 'no Python found for the python3 provider (' .. err .. '). Fix: run :LocalLLM install.'
  end
  local rep, why = M.probe(python)
  if not rep then
    return (
      'the Python host failed to start (%s); %s cannot run the check: %s. '
      .. 'Fix: run :LocalLLM install, or set g:python3_host_prog to a working Python.'
    ):format(err, python, why or '?')
  end
  local missing = M.missing(rep)
  if #missing > 0 then
    local fix = 'Fix: run :LocalLLM install (its own environment), or %s -m pip install %s'
    return ('%s lacks %s. ' .. fix):format(
      python,
      table.concat(missing, ', '),
      python,
      vim.fn.shellescape(M.root() .. '[embedded]')
    )
  end
  return (
    'the Python host failed to start: %s. Python %s has every package; '
    .. 'see :checkhealth provider and :checkhealth localllm.'
  ):format(err, python)
end

return M
