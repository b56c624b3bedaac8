-- Mirrors buffers into the Python host: the whole text once, then each change as the lines it
-- replaced (nvim_buf_attach on_lines; the lines are read in the callback, which is exact for
-- every kind of change). Python then sees the whole file for far context (imports, definitions)
-- while requests carry only a window around the cursor.
local M = {}

local MAX_LINES = 50000 -- larger buffers are not mirrored (bounded work)
local MAX_PENDING = 200 -- more changes than this between requests: send the whole text again

---@type table<integer, {full: boolean, edits: table[]}>
local buffers = {}

local function attach(buf)
  local s = { full = true, edits = {} }
  buffers[buf] = s
  local ok = pcall(vim.api.nvim_buf_attach, buf, false, {
    on_lines = function(_, b, _, first, last_old, last_new)
      local st = buffers[b]
      if not st then
        return true -- detach
      end
      if st.full then
        return
      end
      if #st.edits >= MAX_PENDING then
        st.full, st.edits = true, {}
        return
      end
      st.edits[#st.edits + 1] =
        { first, last_old, vim.api.nvim_buf_get_lines(b, first, last_new, false) }
    end,
    on_reload = function(_, b)
      local st = buffers[b]
      if st then
        st.full, st.edits = true, {}
      end
    end,
    on_detach = function(_, b)
      buffers[b] = nil
    end,
  })
  if not ok then
    buffers[buf] = nil
  end
  return ok and s or nil
end

--- What Python needs to bring its copy of `buf` up to date, or nil (not mirrored).
---@param buf integer
---@return localllm.SyncMsg|nil
function M.take(buf)
  if vim.api.nvim_buf_line_count(buf) > MAX_LINES then
    M.forget(buf)
    return nil
  end
  local s = buffers[buf] or attach(buf)
  if not s then
    return nil
  end
  local out
  if s.full then
    out = { full = vim.api.nvim_buf_get_lines(buf, 0, -1, false) }
    s.full = false
  else
    out = { edits = s.edits }
  end
  s.edits = {}
  return out
end

--- Python's copy went out of step: send the whole text with the next request.
---@param buf integer
function M.resync(buf)
  local s = buffers[buf]
  if s then
    s.full, s.edits = true, {}
  end
end

--- Whether the Python host keeps a copy of `buf`.
---@param buf integer
---@return boolean
function M.mirrored(buf)
  return buffers[buf] ~= nil
end

---@param buf integer
function M.forget(buf)
  buffers[buf] = nil -- on_lines returns true next time: detached
end

return M
