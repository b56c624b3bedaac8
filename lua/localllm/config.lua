-- The config table's schema (M.schema, from lua/localllm/schema.lua, which is generated from
-- python/localllm/config_schema.py: the one place options are declared), and the merge and
-- validation built from it. The Python host walks the same schema.
local M = {}

--- One option, from lua/localllm/schema.lua (generated from python/localllm/config_schema.py,
--- where the kinds are described): its kind, default and limits. `optional`: nil is allowed.
---@class localllm.Option
---@field key string
---@field kind string
---@field default any
---@field optional boolean|nil
---@field min number|nil
---@field max number|nil
---@field choices string[]|nil

local generated = require('localllm.schema')

--- Whether a schema entry is an option (else it is a section of options).
---@param v any
---@return boolean
local function is_option(v)
  local mt = type(v) == 'table' and getmetatable(v)
  return mt and mt.__option == true or false
end
M.is_option = is_option

-- Nested tables are sections; the leaves are options (the host's limits: one schema).
M.schema = {}
for _, o in ipairs(generated.options) do
  local spec, key = M.schema, o.key
  local section, leaf = o.key:match('^([^.]+)%.(.+)$')
  if section then
    M.schema[section] = M.schema[section] or {}
    spec, key = M.schema[section], leaf
  end
  spec[key] = setmetatable(vim.deepcopy(o), { __option = true })
end

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
      return ('expected one of %s%s, got %s'):format(
        table.concat(o.choices, ', '),
        o.optional and ' (or nil)' or '',
        vim.inspect(value)
      )
    end
  elseif o.kind == 'integer' or o.kind == 'number' then
    local finite = kind == 'number' and value == value and math.abs(value) ~= math.huge
    if not finite or (o.kind == 'integer' and value ~= math.floor(value)) then
      return ('expected %s, got %s'):format(
        o.kind == 'integer' and 'an integer' or 'a number',
        vim.inspect(value)
      )
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
    for _, s in ipairs(value) do
      if type(s) ~= 'string' or s == '' then
        return 'expected a list of non-empty strings, got ' .. vim.inspect(s)
      end
    end
  else
    local want = o.kind == 'path' and 'string' or o.kind
    if kind ~= want then
      return ('expected %s, got %s'):format(
        o.optional and ('a %s or nil'):format(want) or want,
        kind
      )
    end
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

--- The value at a dotted key of a (clean) table, or nil.
local function get(tbl, dotted)
  for part in dotted:gmatch('[^.]+') do
    if type(tbl) ~= 'table' then
      return nil
    end
    tbl = tbl[part]
  end
  return tbl
end

--- Set the dotted key of `tbl` to nil (back to its default).
local function drop(tbl, dotted)
  local section, leaf = dotted:match('^([^.]+)%.(.+)$')
  if not section then
    tbl[dotted] = nil
  elseif type(tbl[section]) == 'table' then
    tbl[section][leaf] = nil
  end
end

local function default(dotted)
  return get(M.defaults, dotted)
end

-- `key` must hold the sum of `parts` + `margin`; else the parts go back to their defaults,
-- and `key` too when it is below its own.
local function fits(check, clean, errors)
  local function value(dotted)
    local v = get(clean, dotted)
    return v == nil and default(dotted) or v
  end
  local needed = check.margin
  for _, part in ipairs(check.parts) do
    needed = needed + value(part)
  end
  if needed <= value(check.key) then
    return
  end
  local why =
    '%d is too small for %s (+ %d) = %d; raise it or lower those (they keep their defaults)'
  errors[#errors + 1] = ('config.%s: ' .. why):format(
    check.key,
    value(check.key),
    table.concat(check.parts, ' + '),
    check.margin,
    needed
  )
  for _, part in ipairs(check.parts) do
    drop(clean, part)
  end
  if value(check.key) < default(check.key) then
    drop(clean, check.key)
  end
end

--- Whether `url` points at this machine (as privacy.is_loopback in the host: localhost,
--- 127.0.0.0/8, ::1).
---@param url string
---@return boolean
function M.is_loopback(url)
  local authority = url:match('^%a[%w+.-]*://([^/?#]*)') or ''
  local host = authority:gsub('^.*@', ''):lower()
  host = host:match('^%[(.*)%]') or host:gsub(':%d*$', '')
  if host == 'localhost' or host == 'localhost.localdomain' or host:match('%.localhost$') then
    return true
  end
  local octets = { host:match('^127%.(%d+)%.(%d+)%.(%d+)$') }
  if #octets == 3 then
    for _, o in ipairs(octets) do
      if tonumber(o) > 255 or (#o > 1 and o:sub(1, 1) == '0') then
        return false
      end
    end
    return true
  end
  return host:match('^[0:]*:0*1$') ~= nil and host:match(':::') == nil
end

-- Plain http to another machine (the host refuses the whole config then): named, and left out.
local function refuse_plain_http(clean, errors)
  if get(clean, generated.remote_http_opt_in) == true then
    return
  end
  for _, o in ipairs(generated.options) do
    local url = o.kind == 'url' and get(clean, o.key)
    if url and url:lower():match('^http://') and not M.is_loopback(url) then
      local why = '%s is plain http to another machine: your code (and API key) would cross'
        .. ' the network unencrypted. Use https, or an SSH tunnel to a loopback port, or set'
        .. ' %s = true'
      errors[#errors + 1] = ('config.%s: ' .. why):format(o.key, url, generated.remote_http_opt_in)
      drop(clean, o.key)
    end
  end
end

-- The rules between options (lua/localllm/schema.lua: the host refuses these too). Each names
-- the key to fix; the option that depends on it goes back to its default.
local function cross_check(clean, errors)
  local undo = {}
  for _, check in ipairs(generated.checks) do
    if check.kind == 'fits' then
      fits(check, clean, errors)
    elseif get(clean, check.when) == check.equals then
      local set = vim.tbl_filter(function(k)
        return get(clean, k) ~= nil
      end, check.any_of)
      if #set == 0 then
        errors[#errors + 1] = ('config.%s: %s (%s keeps its default)'):format(
          check.key,
          check.message,
          check.when
        )
        undo[#undo + 1] = check.when
      end
    end
  end
  for _, key in ipairs(undo) do
    drop(clean, key)
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
  return clean,
    ('%d bad options (they keep their defaults; the rest of the config is used):\n  %s'):format(
      #errors,
      table.concat(errors, '\n  ')
    )
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
  refuse_plain_http(clean, errors)
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
  for _, o in ipairs(generated.options) do
    local value = (o.kind == 'list' or o.kind == 'patterns') and get(opts, o.key)
    if value then
      local section, leaf = o.key:match('^([^.]+)%.(.+)$')
      if section then
        merged[section][leaf] = vim.deepcopy(value)
      else
        merged[o.key] = vim.deepcopy(value)
      end
    end
  end
  return merged
end

return M
