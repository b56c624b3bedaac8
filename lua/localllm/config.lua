-- The one config table: every option's type, default and allowed values (M.schema), and the
-- merge and validation built from it. Documented in doc/localllm.txt; the Python host
-- (python/localllm/config.py) accepts exactly what this accepts.
local M = {}

--- One option: its kind, default and limits. Kinds: 'boolean', 'integer', 'number', 'string',
--- 'choice' (one of `choices`), 'url' (http:// or https://), 'key' (a key or false), 'list',
--- 'patterns' (file name patterns), 'table'. `optional`: nil is allowed too.
---@class localllm.Option
---@field kind string
---@field default any
---@field optional boolean|nil
---@field min number|nil
---@field max number|nil
---@field choices string[]|nil

---@param kind string
---@param default any
---@param extra table|nil
---@return localllm.Option
local function opt(kind, default, extra)
  local o = vim.tbl_extend('force', extra or {}, { kind = kind, default = default })
  return setmetatable(o, { __option = true })
end

--- Whether a schema entry is an option (else it is a section of options).
---@param v any
---@return boolean
local function is_option(v)
  local mt = type(v) == 'table' and getmetatable(v)
  return mt and mt.__option == true or false
end
M.is_option = is_option

local function int(default, min, max)
  return opt('integer', default, { min = min, max = max })
end
local function num(default, min, max)
  return opt('number', default, { min = min, max = max })
end
local function choice(default, choices, optional)
  return opt('choice', default, { choices = choices, optional = optional })
end

-- Nested tables are sections; the leaves are options. The limits are the Python host's.
M.schema = {
  enabled = opt('boolean', true),
  -- 'auto': a running llama-server, else Ollama with a FIM model, else 'embedded'.
  -- 'embedded': llama-cpp-python inside the plugin process; 'llama_server', 'ollama',
  -- 'openai' (any OpenAI-compatible server: vLLM, LM Studio...); 'none': no model.
  backend = choice('auto', { 'auto', 'embedded', 'llama_server', 'ollama', 'openai', 'none' }),
  -- Path to a GGUF model; nil: look where models are usually kept (see :h localllm-model).
  model = opt('string', nil, { optional = true }),
  auto_trigger = opt('boolean', true),
  debounce_ms = int(60, 0),
  hide_during_completion = opt('boolean', true),
  -- filetype -> boolean; '*' is the default for the rest.
  filetypes = opt('table', {
    ['*'] = true,
    help = false,
    gitcommit = false,
    gitrebase = false,
    hgcommit = false,
    svn = false,
    cvs = false,
    ['.'] = false,
  }),
  -- false disables a default key; the <Plug> maps always exist.
  keymaps = {
    accept = opt('key', '<Tab>'),
    accept_line = opt('key', '<S-Tab>'),
    accept_word = opt('key', '<M-Right>'),
    dismiss = opt('key', '<C-]>'),
    trigger = opt('key', '<M-\\>'),
  },
  context = {
    prefix_lines = int(256, 1),
    suffix_lines = int(64, 0),
    prefix_tokens = int(1024, 16),
    suffix_tokens = int(256, 0),
    extra_chunks = int(8, 0),
    extra_tokens = int(512, 0),
  },
  generation = {
    n_predict = int(96, 1),
    temperature = num(0.0, 0, 5),
    top_k = int(40, 0),
    top_p = num(0.9, 0, 1),
    min_p = num(0.05, 0, 1),
    repeat_penalty = num(1.0, 0, 10),
    time_limit_ms = int(2000, 1),
    max_lines = int(12, 1),
    stop = opt('list', {}),
  },
  embedded = {
    n_ctx = int(4096, 256),
    n_batch = int(512, 32),
    n_threads = int(0, 0),
  },
  llama_server = {
    url = opt('url', nil, { optional = true }), -- nil: http://127.0.0.1:8012, then :8080
    api_key_env = opt('string', 'LLAMA_API_KEY', { optional = true }),
    endpoint = choice('auto', { 'auto', 'infill', 'completion' }),
    timeout_ms = int(10000, 100),
  },
  ollama = {
    url = opt('url', 'http://127.0.0.1:11434'),
    model = opt('string', nil, { optional = true }), -- nil: the first pulled model that can fill in the middle
    keep_alive = opt('string', '30m'),
    num_ctx = int(4096, 256),
    mode = choice('auto', { 'auto', 'suffix', 'raw' }),
    timeout_ms = int(30000, 100),
  },
  openai = {
    url = opt('url', nil, { optional = true }), -- e.g. 'http://127.0.0.1:8000/v1'
    model = opt('string', nil, { optional = true }),
    api_key_env = opt('string', 'OPENAI_API_KEY', { optional = true }),
    suffix = choice('auto', { 'auto', 'always', 'never' }),
    timeout_ms = int(30000, 100),
  },
  -- :LocalLLMExplain's chat model; nil: the completion backend and model.
  explain = {
    -- nil: as completion | 'embedded' | 'llama_server' | 'ollama' | 'openai'
    backend = choice(nil, { 'embedded', 'llama_server', 'ollama', 'openai' }, true),
    model = opt('string', nil, { optional = true }), -- embedded: path to an instruct GGUF (setting it alone means embedded)
    url = opt('url', nil, { optional = true }), -- llama_server / ollama / openai URL; nil: the completion one
    server_model = opt('string', nil, { optional = true }), -- Ollama / OpenAI model name; nil: the completion one
    max_tokens = int(512, 16),
    temperature = num(0.2, 0, 5),
  },
  -- Suggestions that need no model, and checks of the model's (see :h localllm-rules).
  rules = {
    go_errors = opt('boolean', true), -- Go `if err != nil` blocks with the function's zero values
    log_lines = opt('boolean', true), -- log calls: one line, checked against the names in scope
  },
  -- What is never sent (see :h localllm-privacy).
  privacy = {
    -- File name patterns (a `/` in one matches the end of the path) of files never sent.
    deny = opt('patterns', {
      '.env', '.env.*', '*.env', '.envrc', '*.pem', '*.key', '*.p12', '*.pfx', '*.jks',
      '*.keystore', '*.kdbx', 'id_rsa*', 'id_dsa*', 'id_ecdsa*', 'id_ed25519*', '.ssh/*',
      '.gnupg/*', '.netrc', '_netrc', '.git-credentials', '.npmrc', '.pypirc', '.pgpass',
      '.htpasswd', 'credentials.json', '.aws/credentials', '.docker/config.json',
      '.kube/config', '*.tfvars', '*.tfstate', 'gh/hosts.yml', '.vault-token', '*.p8', '*.ppk',
      '*.keytab', '*.ovpn', '*.gpg', '.terraformrc', 'terraform.rc', '.s3cfg', '.boto',
      '.my.cnf', 'secrets.yaml', 'secrets.yml', '.dockercfg', '.gem/credentials',
      '.cargo/credentials', '.cargo/credentials.toml', '.config/gcloud/*credentials*', '.azure/*',
      -- the same list as DEFAULT_DENY in python/localllm/privacy.py (a test compares them)
    }),
    deny_extra = opt('patterns', {}), -- your own patterns, added to `deny`
    allow_remote_http = opt('boolean', false), -- plain http to another machine (https and loopback: always)
  },
  -- FIM prompt family for servers that take a prompt string; nil: from the model name.
  fim_template = choice(nil, { 'qwen', 'codellama', 'deepseek', 'starcoder', 'codestral', 'codegemma', 'granite' }, true),
  cache_size = int(250, 0),
  -- After a suggestion is shown, prepare the next one as if it were accepted.
  speculative = opt('boolean', true),
  log_level = choice('warn', { 'debug', 'info', 'warn', 'error' }),
}

local function defaults_of(spec)
  local out = {}
  for key, entry in pairs(spec) do
    if is_option(entry) then
      out[key] = vim.deepcopy(entry.default)
    else
      out[key] = defaults_of(entry)
    end
  end
  return out
end

---@class localllm.Config
M.defaults = defaults_of(M.schema)

local function range_text(o)
  if o.min and o.max then
    return ('between %s and %s'):format(o.min, o.max)
  end
  return ('at least %s'):format(o.min)
end

--- Why `value` is not allowed for option `o`, or nil.
---@param o localllm.Option
---@param value any
---@return string|nil
local function problem(o, value)
  local kind = type(value)
  if value == nil and o.optional then
    return nil
  end
  if o.kind == 'choice' then
    if not vim.tbl_contains(o.choices, value) then
      return ('expected one of %s%s, got %s'):format(table.concat(o.choices, ', '), o.optional and ' (or nil)' or '', vim.inspect(value))
    end
  elseif o.kind == 'integer' or o.kind == 'number' then
    if kind ~= 'number' or value ~= value or (o.kind == 'integer' and value ~= math.floor(value)) then
      return ('expected %s, got %s'):format(o.kind == 'integer' and 'an integer' or 'a number', vim.inspect(value))
    end
    if (o.min and value < o.min) or (o.max and value > o.max) then
      return ('must be %s, got %s'):format(range_text(o), vim.inspect(value))
    end
  elseif o.kind == 'url' then
    if kind ~= 'string' or not (value:match('^https?://.') and #value >= 10) then
      return 'expected an http:// or https:// URL, got ' .. vim.inspect(value)
    end
  elseif o.kind == 'key' then
    if value ~= false and kind ~= 'string' then
      return 'expected a key (string) or false, got ' .. vim.inspect(value)
    end
  elseif o.kind == 'patterns' then
    if kind ~= 'table' or not vim.islist(value) then
      return 'expected a list of file name patterns, got ' .. vim.inspect(value)
    end
    for _, p in ipairs(value) do
      if type(p) ~= 'string' or vim.trim(p) == '' then
        return 'expected file name patterns (non-empty strings), got ' .. vim.inspect(p)
      end
    end
  elseif o.kind == 'list' then
    if kind ~= 'table' or not vim.islist(value) then
      return 'expected a list, got ' .. vim.inspect(value)
    end
  elseif kind ~= o.kind then
    return ('expected %s, got %s'):format(o.optional and ('a %s or nil'):format(o.kind) or o.kind, kind)
  end
  return nil
end

-- Walk the user's table against the schema: the good options go into `clean`, every bad one
-- (unknown key, wrong type, out of range) into `errors` and is left out (it keeps its default).
local function sift(prefix, tbl, spec, clean, errors)
  for key, value in pairs(tbl) do
    local path = prefix .. tostring(key)
    local entry = type(key) == 'string' and spec[key] or nil
    if entry == nil then
      errors[#errors + 1] = ('config.%s: unknown option (ignored)'):format(path)
    elseif is_option(entry) then
      local why = problem(entry, value)
      if why then
        errors[#errors + 1] = ('config.%s: %s'):format(path, why)
      else
        clean[key] = value
      end
    elseif type(value) ~= 'table' then
      errors[#errors + 1] = ('config.%s: expected a table, got %s'):format(path, type(value))
    else
      clean[key] = {}
      sift(path .. '.', value, entry, clean[key], errors)
    end
  end
end

-- Rules between options (the host refuses these too). Each names the key to fix, and the
-- option that depends on it goes back to its default.
local function cross_check(clean, errors)
  local function get(section, key)
    return type(clean[section]) == 'table' and clean[section][key] or nil
  end
  if clean.backend == 'openai' then
    for _, key in ipairs({ 'url', 'model' }) do
      if get('openai', key) == nil then
        errors[#errors + 1] = ("config.openai.%s: backend = 'openai' needs it (e.g. url = 'http://127.0.0.1:8000/v1', model = 'name'); backend stays 'auto'"):format(key)
        clean.backend = nil
      end
    end
  end
  -- The embedded model's context must hold the prompt budgets and the answer (as the host).
  local budget = {
    { 'context', 'prefix_tokens' },
    { 'context', 'suffix_tokens' },
    { 'context', 'extra_tokens' },
    { 'generation', 'n_predict' },
  }
  local function value(section, key)
    local v = get(section, key)
    if v == nil then
      return M.schema[section][key].default
    end
    return v
  end
  local needed = 16
  for _, k in ipairs(budget) do
    needed = needed + value(k[1], k[2])
  end
  if needed > value('embedded', 'n_ctx') then
    errors[#errors + 1] = ('config.embedded.n_ctx: %d is too small for context.prefix_tokens + context.suffix_tokens + context.extra_tokens + generation.n_predict (+ 16) = %d; raise it or lower those (they keep their defaults)'):format(
      value('embedded', 'n_ctx'),
      needed
    )
    for _, k in ipairs(budget) do
      if type(clean[k[1]]) == 'table' then
        clean[k[1]][k[2]] = nil
      end
    end
    if type(clean.embedded) == 'table' and clean.embedded.n_ctx and clean.embedded.n_ctx < M.defaults.embedded.n_ctx then
      clean.embedded.n_ctx = nil
    end
  end
  if get('explain', 'backend') == 'openai' then
    if get('explain', 'url') == nil and get('openai', 'url') == nil then
      errors[#errors + 1] = "config.explain.url: explain.backend = 'openai' needs explain.url or openai.url"
      clean.explain.backend = nil
    elseif get('explain', 'server_model') == nil and get('openai', 'model') == nil then
      errors[#errors + 1] = "config.explain.server_model: explain.backend = 'openai' needs explain.server_model or openai.model"
      clean.explain.backend = nil
    end
  end
end

--- Check a user table (before merging) against the schema. Returns the options that are
--- fine (unknown keys and bad values left out, so they keep their defaults) and one message
--- naming every bad key, or nil when all are fine.
---@param opts any
---@return table good
---@return string|nil message
function M.check(opts)
  local clean, errors = M.sift(opts)
  if #errors == 0 then
    return clean, nil
  end
  if #errors == 1 then
    return clean, errors[1] .. ' (it keeps its default; the rest of the config is used)'
  end
  return clean, ('%d bad options (they keep their defaults; the rest of the config is used):\n  %s'):format(#errors, table.concat(errors, '\n  '))
end

--- The good part of a user table and the list of its problems (sorted, each naming its key).
---@param opts any
---@return table good
---@return string[] errors
function M.sift(opts)
  if type(opts) ~= 'table' then
    return {}, { 'config: setup() expects a table, got ' .. type(opts) }
  end
  local clean, errors = {}, {}
  sift('', opts, M.schema, clean, errors)
  cross_check(clean, errors)
  table.sort(errors)
  return clean, errors
end

--- Validate a user table. Returns its problems, one line each naming the key, or nil.
---@param opts any
---@return string|nil
function M.validate(opts)
  local _, errors = M.sift(opts)
  return #errors > 0 and table.concat(errors, '\n') or nil
end

--- Merge user options over the defaults.
---@param opts table|nil
---@return localllm.Config
function M.merge(opts)
  local merged = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  -- Lists replace, they do not merge by index.
  if opts and type(opts.generation) == 'table' and opts.generation.stop then
    merged.generation.stop = vim.deepcopy(opts.generation.stop)
  end
  for _, key in ipairs({ 'deny', 'deny_extra' }) do
    if opts and type(opts.privacy) == 'table' and opts.privacy[key] then
      merged.privacy[key] = vim.deepcopy(opts.privacy[key])
    end
  end
  return merged
end

return M
