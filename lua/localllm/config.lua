-- The one config table: defaults, merge and validation. Documented in doc/localllm.txt.
local M = {}

---@class localllm.Config
M.defaults = {
  enabled = true,
  -- 'auto': a running llama-server, else Ollama with a FIM model, else 'embedded'.
  -- 'embedded': llama-cpp-python inside the plugin process; 'llama_server', 'ollama',
  -- 'openai' (any OpenAI-compatible server: vLLM, LM Studio...); 'none': no model.
  backend = 'auto',
  -- Path to a GGUF model; nil: look where models are usually kept (see :h localllm-model).
  model = nil,
  auto_trigger = true,
  debounce_ms = 60,
  hide_during_completion = true,
  -- filetype -> boolean; '*' is the default for the rest.
  filetypes = {
    ['*'] = true,
    help = false,
    gitcommit = false,
    gitrebase = false,
    hgcommit = false,
    svn = false,
    cvs = false,
    ['.'] = false,
  },
  -- false disables a default key; the <Plug> maps always exist.
  keymaps = {
    accept = '<Tab>',
    accept_line = '<S-Tab>',
    accept_word = '<M-Right>',
    dismiss = '<C-]>',
    trigger = '<M-\\>',
  },
  context = {
    prefix_lines = 256,
    suffix_lines = 64,
    prefix_tokens = 1024,
    suffix_tokens = 256,
    extra_chunks = 8,
    extra_tokens = 512,
  },
  generation = {
    n_predict = 96,
    temperature = 0.0,
    top_k = 40,
    top_p = 0.9,
    min_p = 0.05,
    repeat_penalty = 1.0,
    time_limit_ms = 2000,
    max_lines = 12,
    stop = {},
  },
  embedded = {
    n_ctx = 4096,
    n_batch = 512,
    n_threads = 0,
  },
  llama_server = {
    url = nil, -- nil: http://127.0.0.1:8012, then :8080
    api_key_env = 'LLAMA_API_KEY',
    endpoint = 'auto', -- 'auto' | 'infill' | 'completion'
    timeout_ms = 10000,
  },
  ollama = {
    url = 'http://127.0.0.1:11434',
    model = nil, -- nil: the first pulled model that can fill in the middle
    keep_alive = '30m',
    num_ctx = 4096,
    mode = 'auto', -- 'auto' | 'suffix' | 'raw'
    timeout_ms = 30000,
  },
  openai = {
    url = nil, -- e.g. 'http://127.0.0.1:8000/v1'
    model = nil,
    api_key_env = 'OPENAI_API_KEY',
    suffix = 'auto', -- 'auto' | 'always' | 'never'
    timeout_ms = 30000,
  },
  -- :LocalLLMExplain's chat model; nil: the completion backend and model.
  explain = {
    backend = nil, -- nil: as completion | 'embedded' | 'llama_server' | 'ollama' | 'openai'
    model = nil, -- embedded: path to an instruct GGUF (setting it alone means embedded)
    url = nil, -- llama_server / ollama / openai URL; nil: the completion one
    server_model = nil, -- Ollama / OpenAI model name; nil: the completion one
    max_tokens = 512,
    temperature = 0.2,
  },
  -- Suggestions that need no model, and checks of the model's (see :h localllm-rules).
  rules = {
    go_errors = true, -- Go `if err != nil` blocks with the function's zero values
    log_lines = true, -- log calls: one line, checked against the names in scope
  },
  -- What is never sent (see :h localllm-privacy).
  privacy = {
    -- File name patterns (a `/` in one matches the end of the path) of files never sent.
    deny = {
      '.env', '.env.*', '*.env', '.envrc', '*.pem', '*.key', '*.p12', '*.pfx', '*.jks',
      '*.keystore', '*.kdbx', 'id_rsa*', 'id_dsa*', 'id_ecdsa*', 'id_ed25519*', '.ssh/*',
      '.gnupg/*', '.netrc', '_netrc', '.git-credentials', '.npmrc', '.pypirc', '.pgpass',
      '.htpasswd', 'credentials.json', '.aws/credentials', '.docker/config.json',
      '.kube/config', '*.tfvars', '*.tfstate',
    },
    deny_extra = {}, -- your own patterns, added to `deny`
    allow_remote_http = false, -- plain http to another machine (https and loopback: always)
  },
  -- FIM prompt family for servers that take a prompt string; nil: from the model name.
  fim_template = nil,
  cache_size = 250,
  -- After a suggestion is shown, prepare the next one as if it were accepted.
  speculative = true,
  log_level = 'warn',
}

-- Expected type per dotted key; a table value means "a table with these keys".
local schema = {
  enabled = 'boolean',
  backend = { 'string', { 'auto', 'embedded', 'llama_server', 'ollama', 'openai', 'none' } },
  model = 'string?',
  auto_trigger = 'boolean',
  debounce_ms = 'integer',
  hide_during_completion = 'boolean',
  filetypes = 'table',
  keymaps = {
    accept = 'key',
    accept_line = 'key',
    accept_word = 'key',
    dismiss = 'key',
    trigger = 'key',
  },
  context = {
    prefix_lines = 'integer',
    suffix_lines = 'integer',
    prefix_tokens = 'integer',
    suffix_tokens = 'integer',
    extra_chunks = 'integer',
    extra_tokens = 'integer',
  },
  generation = {
    n_predict = 'integer',
    temperature = 'number',
    top_k = 'integer',
    top_p = 'number',
    min_p = 'number',
    repeat_penalty = 'number',
    time_limit_ms = 'integer',
    max_lines = 'integer',
    stop = 'list',
  },
  embedded = {
    n_ctx = 'integer',
    n_batch = 'integer',
    n_threads = 'integer',
  },
  llama_server = {
    url = 'string?',
    api_key_env = 'string?',
    endpoint = { 'string', { 'auto', 'infill', 'completion' } },
    timeout_ms = 'integer',
  },
  ollama = {
    url = 'string',
    model = 'string?',
    keep_alive = 'string',
    num_ctx = 'integer',
    mode = { 'string', { 'auto', 'suffix', 'raw' } },
    timeout_ms = 'integer',
  },
  openai = {
    url = 'string?',
    model = 'string?',
    api_key_env = 'string?',
    suffix = { 'string', { 'auto', 'always', 'never' } },
    timeout_ms = 'integer',
  },
  explain = {
    backend = { 'string?', { 'embedded', 'llama_server', 'ollama', 'openai' } },
    model = 'string?',
    url = 'string?',
    server_model = 'string?',
    max_tokens = 'integer',
    temperature = 'number',
  },
  rules = {
    go_errors = 'boolean',
    log_lines = 'boolean',
  },
  privacy = {
    deny = 'patterns',
    deny_extra = 'patterns',
    allow_remote_http = 'boolean',
  },
  fim_template = {
    'string?',
    { 'qwen', 'codellama', 'deepseek', 'starcoder', 'codestral', 'codegemma', 'granite' },
  },
  cache_size = 'integer',
  speculative = 'boolean',
  log_level = { 'string', { 'debug', 'info', 'warn', 'error' } },
}

local function check(path, value, expected)
  local kind = type(value)
  if type(expected) == 'table' and expected[1] then
    if expected[1] == 'string?' and value == nil then
      return nil
    end
    if kind ~= 'string' or not vim.tbl_contains(expected[2], value) then
      return ('expected one of %s, got %s'):format(table.concat(expected[2], ', '), vim.inspect(value))
    end
    return nil
  end
  if expected == 'string?' then
    if value ~= nil and kind ~= 'string' then
      return 'expected a string or nil, got ' .. kind
    end
  elseif expected == 'integer' then
    if kind ~= 'number' or value ~= math.floor(value) or value < 0 then
      return 'expected a non-negative integer, got ' .. vim.inspect(value)
    end
  elseif expected == 'key' then
    if value ~= false and kind ~= 'string' then
      return 'expected a key (string) or false, got ' .. vim.inspect(value)
    end
  elseif expected == 'patterns' then
    if kind ~= 'table' or not vim.islist(value) then
      return 'expected a list of file name patterns, got ' .. vim.inspect(value)
    end
    for _, p in ipairs(value) do
      if type(p) ~= 'string' or vim.trim(p) == '' then
        return 'expected file name patterns (non-empty strings), got ' .. vim.inspect(p)
      end
    end
  elseif expected == 'list' then
    if kind ~= 'table' or not vim.islist(value) then
      return 'expected a list, got ' .. vim.inspect(value)
    end
  elseif kind ~= expected then
    return ('expected %s, got %s'):format(expected, kind)
  end
  return nil
end

local function validate_table(prefix, tbl, spec)
  for key, value in pairs(tbl) do
    local path = prefix .. key
    local expected = spec[key]
    if expected == nil then
      return ('config.%s: unknown option'):format(path)
    end
    if type(expected) == 'table' and not expected[1] then
      if type(value) ~= 'table' then
        return ('config.%s: expected a table, got %s'):format(path, type(value))
      end
      local err = validate_table(path .. '.', value, expected)
      if err then
        return err
      end
    else
      local err = check(path, value, expected)
      if err then
        return ('config.%s: %s'):format(path, err)
      end
    end
  end
  return nil
end

--- Validate a user table (before merging). Returns an error message naming the bad key, or nil.
---@param opts table
---@return string|nil
function M.validate(opts)
  if type(opts) ~= 'table' then
    return 'config: setup() expects a table, got ' .. type(opts)
  end
  return validate_table('', opts, schema)
end

--- Merge user options over the defaults.
---@param opts table|nil
---@return localllm.Config
function M.merge(opts)
  local merged = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  -- Lists replace, they do not merge by index.
  if opts and opts.generation and opts.generation.stop then
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
