-- :checkhealth localllm — Neovim, the Python host and its packages, the backend, the model and
-- whether the machine can hold it. The facts come from the host (rpc `localllm_health`, see
-- python/localllm/health.py) or, when it cannot start, from asking its Python directly.
local M = {}

local h = vim.health

local function mb(n)
  if type(n) ~= 'number' then
    return '?'
  end
  if n >= 1024 * 1024 * 1024 then
    return ('%.1f GB'):format(n / 1024 / 1024 / 1024)
  end
  return ('%.0f MB'):format(n / 1024 / 1024)
end

--- Whether the host's report has `x` (it leaves out what it does not know: never null).
---@param x any
---@return boolean
local function val(x)
  return x ~= nil
end

local function check_nvim()
  h.start('localllm: Neovim')
  local v = vim.version()
  local text = ('Neovim %d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.10') == 1 then
    h.ok(text)
  else
    h.error(text .. ': localllm needs 0.10 or newer (inline virtual text)')
  end
end

--- The packages of an envcheck report, one line each.
local function check_packages(env, python)
  h.info(('Python %s (%s)'):format(env.python_version or '?', env.python or python or '?'))
  local fix = ('run :LocalLLM install, or %s -m pip install %s'):format(
    python or 'python3',
    vim.fn.shellescape(require('localllm.host').root() .. '[embedded]')
  )
  local grammars, no_grammars = {}, {}
  for _, p in ipairs(env.packages or {}) do
    local have = val(p.version)
    if p.role == 'grammar' then
      table.insert(
        have and grammars or no_grammars,
        have and (p.name .. ' ' .. p.version) or p.name
      )
    elseif have then
      h.ok(('%s %s'):format(p.name, p.version))
    elseif p.role == 'required' then
      h.error(p.name .. ' is not installed', { fix })
    elseif p.role == 'embedded' then
      h.warn(p.name .. ' is not installed: the embedded backend cannot run a model', { fix })
    else
      h.info(p.name .. ' is not installed (optional)')
    end
  end
  if #grammars > 0 then
    h.ok('tree-sitter grammars: ' .. table.concat(grammars, ', '))
  end
  if #no_grammars > 0 then
    h.warn(
      'tree-sitter grammars missing (no syntax context there): ' .. table.concat(no_grammars, ', '),
      { fix }
    )
  end
end

local function check_host()
  h.start('localllm: Python host')
  local host = require('localllm.host')
  local bridge = require('localllm.bridge')
  local venv_python = host.venv_python()
  if venv_python then
    h.ok(
      (
        'own environment %s (made by :LocalLLM install): '
        .. 'no :UpdateRemotePlugins or python3_host_prog needed'
      ):format(host.venv_dir())
    )
  else
    h.info(('no own environment (%s); :LocalLLM install makes one'):format(host.venv_dir()))
    local m = host.manifest()
    if m.registered then
      h.ok('remote plugin registered in ' .. m.path)
    elseif m.other then
      h.error(
        ('the manifest %s registers %s, not this checkout (%s): it is stale'):format(
          m.path,
          m.other,
          host.root()
        ),
        {
          'run :UpdateRemotePlugins and restart Neovim, or :LocalLLM install',
        }
      )
    else
      h.error('remote plugin not registered in ' .. m.path, {
        'run :LocalLLM install (recommended), or :UpdateRemotePlugins and restart Neovim',
      })
    end
  end
  local chan = bridge.channel()
  local info = bridge.host_info()
  if not chan or not info then
    h.error('the Python host does not start; see the message above or :messages')
    local python = venv_python or host.provider_python()
    if python then
      local env, why = host.probe(python)
      if env then
        check_packages(env, python)
      else
        h.error(('%s cannot run the check: %s'):format(python, why or '?'))
      end
    end
    return nil
  end
  h.ok(
    ('host running (%s: %s, channel %d)'):format(
      info.kind == 'venv' and 'own environment' or 'python3 provider',
      info.python or '?',
      info.chan
    )
  )
  local ok, rep = pcall(vim.rpcrequest, chan, 'localllm_health')
  if not ok or type(rep) ~= 'table' then
    h.error('the host does not answer: ' .. tostring(rep))
    return nil
  end
  if type(rep.environment) == 'table' then
    check_packages(rep.environment, rep.environment.python)
  end
  return rep
end

local function check_backend(rep)
  h.start('localllm: backend')
  local cfg = require('localllm').config
  h.info('configured backend: ' .. tostring(cfg.backend))
  if not rep then
    h.warn('unknown: the Python host is not running')
    return
  end
  if rep.state == 'not configured' then
    h.error('the host has no configuration (setup() failed?)')
    return
  end
  local line = ('%s, state %s'):format(tostring(rep.backend), tostring(rep.state))
  if val(rep.detail) and rep.detail ~= '' then
    line = line .. ': ' .. rep.detail
  end
  if rep.state == 'error' then
    h.error(line)
  elseif rep.state == 'ready' then
    h.ok(line)
  else
    h.info(line)
  end
  for _, r in ipairs(rep.reachable or {}) do
    if r:find('answers', 1, true) then
      h.ok(r)
    else
      h.info(r)
    end
  end
  if val(rep.loaded_model) then
    h.info('model in use: ' .. rep.loaded_model)
  end
  for _, s in ipairs(rep.secrets or {}) do
    h.info(('$%s: %s'):format(s.env, s.state))
  end
end

local MODEL_FIX = {
  'set `model` in setup() to the path of a .gguf file, or leave it out to use a model found '
    .. 'on this machine (see :help localllm-model)',
}

-- When the host does not run: whether the configured model file is there and starts as GGUF.
local function model_problem(path)
  if type(path) ~= 'string' or path == '' then
    return nil
  end
  local full = vim.fn.expand(path)
  if vim.fn.isdirectory(full) == 1 then
    return 'the model is a folder, not a GGUF file: ' .. full
  end
  local f = io.open(full, 'rb')
  if not f then
    return (vim.uv or vim.loop).fs_stat(full) and ('the model file cannot be read: ' .. full)
      or ('model file not found: ' .. full)
  end
  local magic = f:read(4)
  f:close()
  if magic ~= 'GGUF' then
    return 'not a GGUF file (bad magic): ' .. full
  end
  return nil
end

local function check_model(rep)
  h.start('localllm: model and memory')
  local mem = rep and rep.memory or {}
  if val(mem.total) then
    h.info(('RAM: %s total, %s available'):format(mb(mem.total), mb(mem.available)))
  end
  local m = rep and rep.model
  if not m then
    local problem = not rep and model_problem(require('localllm').config.model)
    if problem then
      h.error(problem, MODEL_FIX)
    else
      h.info(
        'no local model file to check '
          .. '(a server backend, or no model found: see :help localllm-model)'
      )
    end
    return
  end
  h.info('file: ' .. m.path)
  if val(m.error) then
    h.error(m.error, MODEL_FIX)
    return
  end
  local params = val(m.parameters) and ('%.0fM parameters'):format(m.parameters / 1e6)
    or '? parameters'
  h.info(
    ('%s, %s, %s, %s bits per weight, file %s'):format(
      val(m.name) and m.name or '?',
      params,
      val(m.quantization) and m.quantization or 'unknown quantization',
      val(m.bits_per_weight) and tostring(m.bits_per_weight) or '?',
      mb(m.file_bytes)
    )
  )
  if m.fim then
    h.ok('FIM tokens: yes (fills in the middle)')
  else
    h.warn('FIM tokens: no (continues the text before the cursor only)')
  end
  local need_fmt = 'needs about %s: weights %s (parameters × bits / 8) + KV cache %s for %d tokens'
  local need = need_fmt:format(
    mb(m.needed_bytes),
    mb(m.weights_bytes),
    val(m.kv_cache_bytes) and mb(m.kv_cache_bytes) or '?',
    m.n_ctx or 0
  )
  if m.fits == true then
    h.ok(need .. ': fits in the available RAM')
  elseif m.fits == false then
    h.error(
      need .. ': more than the available RAM',
      { 'take a smaller model or quantization, or lower embedded.n_ctx' }
    )
  else
    h.info(need)
  end
  for _, a in ipairs(m.advice or {}) do
    h.warn(a)
  end
end

function M.check()
  require('localllm').ensure_setup()
  check_nvim()
  local rep = check_host()
  check_backend(rep)
  check_model(rep)
  h.start('localllm: statusline')
  h.info('now: ' .. require('localllm').statusline())
end

return M
