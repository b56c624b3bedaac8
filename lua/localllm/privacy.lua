-- Buffers whose text must never leave the editor: files that hold secrets (privacy.deny and
-- privacy.deny_extra, glob patterns on the file name) and buffers turned off with
-- vim.b.localllm_disable or vim.g.localllm_disable. A denied buffer sends nothing: no request,
-- no mirrored lines, no recent-activity chunk, no question to :LocalLLMExplain. The Python host
-- checks the same patterns again (python/localllm/privacy.py).
local M = {}

local compiled = {} ---@type table<string, string> glob -> Lua pattern

--- A glob (`*`, `?`, `[abc]`, `[!abc]`, as Python's fnmatch) as an anchored Lua pattern.
---@param glob string
---@return string
local function to_pattern(glob)
  local cached = compiled[glob]
  if cached then
    return cached
  end
  local out = { '^' }
  local i = 1
  while i <= #glob do
    local c = glob:sub(i, i)
    if c == '*' then
      out[#out + 1] = '.*'
    elseif c == '?' then
      out[#out + 1] = '.'
    elseif c == '[' and glob:find(']', i + 2, true) then
      local j = glob:find(']', i + 2, true)
      local body = glob:sub(i + 1, j - 1)
      if body:sub(1, 1) == '!' then
        body = '^' .. body:sub(2)
      end
      out[#out + 1] = '[' .. body:gsub('%%', '%%%%') .. ']'
      i = j
    else
      out[#out + 1] = (c:gsub('%W', '%%%0'))
    end
    i = i + 1
  end
  out[#out + 1] = '$'
  local pattern = table.concat(out)
  compiled[glob] = pattern
  return pattern
end

--- The first pattern that `path` matches, or nil. Case-insensitive; a pattern with a `/` is
--- matched against the end of the whole path, the others against the file name.
---@param path string
---@param patterns string[]
---@return string|nil
function M.match(path, patterns)
  if path == '' then
    return nil
  end
  path = path:gsub('\\', '/'):lower()
  local name = path:match('[^/]*$')
  for _, glob in ipairs(patterns) do
    local pattern = to_pattern(glob:lower())
    if glob:find('/', 1, true) then
      if path:match(pattern) or path:match(to_pattern('*/' .. glob:lower())) then
        return glob
      end
    elseif name:match(pattern) then
      return glob
    end
  end
  return nil
end

--- Why nothing of `buf` may be sent, or nil when it may.
---@param buf integer
---@return string|nil
function M.denied(buf)
  if vim.g.localllm_disable then
    return 'vim.g.localllm_disable is set'
  end
  if vim.b[buf].localllm_disable then
    return 'vim.b.localllm_disable is set'
  end
  local privacy = require('localllm').config.privacy or {}
  local name = vim.api.nvim_buf_get_name(buf)
  local glob = M.match(name, privacy.deny or {}) or M.match(name, privacy.deny_extra or {})
  if glob then
    return ("the file name matches '%s' (privacy.deny)"):format(glob)
  end
  return nil
end

--- Like denied(), and a buffer that is denied now (renamed, or turned off) loses the copy the
--- Python host kept of it.
---@param buf integer
---@return string|nil
function M.check(buf)
  local why = M.denied(buf)
  if why then
    local sync = require('localllm.sync')
    if sync.mirrored(buf) then
      sync.forget(buf)
      require('localllm.bridge').forget(buf)
    end
  end
  return why
end

return M
