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

--- Whether a b:/g: variable turns the plugin off: Vim users write `let g:localllm_disable = 0`
--- (or v:false) to mean "not disabled", so 0 and false are off, as in Vim script.
---@param value any
---@return boolean
local function set(value)
  -- `let g:localllm_disable = v:null` reads as vim.NIL: a Neovim value, not the host's.
  return value ~= nil and value ~= false and value ~= 0 and value ~= vim.NIL
end

--- The names a file goes by: its buffer name and, when that is a symlink (or sits in a
--- symlinked folder), the real path. A symlink to `.env` is denied like `.env` itself.
---@param name string
---@return string[]
local function names_of(name)
  if name == '' then
    return {}
  end
  local out = { name }
  local real = (vim.uv or vim.loop).fs_realpath(name) or vim.fn.resolve(name)
  if real and real ~= '' and real ~= name then
    out[#out + 1] = real
  end
  return out
end

--- The first deny pattern one of `names` matches, or nil.
---@param names string[]
---@return string|nil
local function deny_pattern(names)
  local privacy = require('localllm').config.privacy or {}
  for _, name in ipairs(names) do
    local glob = M.match(name, privacy.deny or {}) or M.match(name, privacy.deny_extra or {})
    if glob then
      return glob
    end
  end
  return nil
end

-- Buffers whose text went to the host (requests, mirrored lines, activity), with every path it
-- went under; `purged` once the host was told to drop it because the buffer became denied.
---@type table<integer, {paths: table<string, true>, purged: boolean}>
local sent = {}
-- Paths the host refuses because a buffer that sent text under them became denied.
---@type table<string, integer>
local purged_paths = {}
local sweeping = false
local told_chan = nil ---@type integer|nil the host that last got the purged paths

--- Why nothing of `buf` may be sent, or nil when it may. A pure query: it changes nothing,
--- so statuslines and checks may ask as often as they like; the action is M.enforce.
---@param buf integer
---@return string|nil
function M.denied(buf)
  if set(vim.g.localllm_disable) then
    return 'vim.g.localllm_disable is set'
  end
  if set(vim.b[buf].localllm_disable) then
    return 'vim.b.localllm_disable is set'
  end
  local names = names_of(vim.api.nvim_buf_get_name(buf))
  local glob = deny_pattern(names)
  if glob then
    return ("the file name matches '%s' (privacy.deny)"):format(glob)
  end
  for _, name in ipairs(names) do
    local owner = purged_paths[name]
    if owner and owner ~= buf then
      return ('its text was sent from buffer %d, which is not sent any more'):format(owner)
    end
  end
  return nil
end

--- The action that goes with sending (called where text of `buf` may go to the host): a
--- buffer that is denied now (renamed, or turned off) loses the copy the Python host kept of
--- it; one that may be sent is remembered with its paths, so that whatever of it the host
--- keeps is purged when it becomes denied (M.sweep).
---@param buf integer
function M.enforce(buf)
  if M.denied(buf) then
    local sync = require('localllm.sync')
    if sync.mirrored(buf) then
      sync.forget(buf)
      require('localllm.bridge').forget(buf)
    end
    return
  end
  local rec = sent[buf]
  if not rec then
    rec = { paths = {}, purged = false }
    sent[buf] = rec
  end
  for _, name in ipairs(names_of(vim.api.nvim_buf_get_name(buf))) do
    rec.paths[name] = true
  end
end

--- The paths `buf` was remembered under (M.enforce), sorted: for tests and :checkhealth.
---@param buf integer
---@return string[]
function M.remembered(buf)
  local out = vim.tbl_keys(sent[buf] and sent[buf].paths or {})
  table.sort(out)
  return out
end

--- Whether what `buf` sent (under `paths`) must go now: the buffer is denied, or (wiped) one
--- of its paths matches the deny list or everything is turned off.
local function now_denied(buf, paths)
  if vim.api.nvim_buf_is_valid(buf) then
    return M.denied(buf) ~= nil
  end
  return set(vim.g.localllm_disable) or deny_pattern(vim.tbl_keys(paths)) ~= nil
end

--- Before anything goes to the host: every buffer that sent text and is denied now (renamed
--- to a secrets file, b:/g:localllm_disable set, a deny pattern added) has it purged there:
--- its activity chunks, its mirror, the last request's text, and its paths are refused from
--- then on. A buffer allowed again (the variable unset) has its paths accepted again.
---@param chan integer the host's channel
function M.sweep(chan)
  if sweeping then
    return
  end
  sweeping = true
  local changed = told_chan ~= chan
  local purge_bufs = {}
  for buf, rec in pairs(sent) do
    local denied = now_denied(buf, rec.paths)
    if denied and not rec.purged then
      rec.purged = true
      changed = true
      purge_bufs[#purge_bufs + 1] = buf
      for path in pairs(rec.paths) do
        purged_paths[path] = buf
      end
    elseif rec.purged and not denied and vim.api.nvim_buf_is_valid(buf) then
      rec.purged = false -- allowed again
      changed = true
      for path, owner in pairs(purged_paths) do
        if owner == buf then
          purged_paths[path] = nil
        end
      end
    end
  end
  if changed then
    local bridge = require('localllm.bridge')
    local denied = vim.tbl_keys(purged_paths)
    for _, buf in ipairs(purge_bufs) do
      bridge.purge({ bufnr = buf, paths = vim.tbl_keys(sent[buf].paths), denied = denied })
    end
    if #purge_bufs == 0 then -- no buffer to drop: only the list of refused paths changed
      bridge.purge({ paths = {}, denied = denied })
    end
    told_chan = chan
  end
  sweeping = false
end

return M
