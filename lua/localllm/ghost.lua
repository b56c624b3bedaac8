-- Draws the suggestion: the first line inline at the cursor, the rest as virtual lines.
local M = {}

M.ns = vim.api.nvim_create_namespace('localllm.ghost')
local MARK_ID = 1
-- The virtual lines hang on a mark of their own at column 0 with left gravity: Neovim draws the
-- virtual lines of a row in mark order (column, then left gravity first), and diagnostics put
-- theirs at column 0, so on the cursor's mark they would come between our first line and the
-- rest of the suggestion.
local LINES_ID = 2
local HL = 'LocalLLMSuggestion'

--- Expand tabs (virtual text shows no tabs) starting at display column `vcol`.
---@param text string
---@param vcol integer
---@param tabstop integer
local function expand_tabs(text, vcol, tabstop)
  if not text:find('\t', 1, true) then
    return text
  end
  local out = {}
  local width = vcol
  for ch in text:gmatch('[%z\1-\127\194-\244][\128-\191]*') do
    if ch == '\t' then
      local n = tabstop - (width % tabstop)
      out[#out + 1] = string.rep(' ', n)
      width = width + n
    else
      out[#out + 1] = ch
      width = width + vim.fn.strdisplaywidth(ch)
    end
  end
  return table.concat(out)
end

---@param buf integer
---@param row integer 0-based
---@param col integer byte column
---@param text string
function M.render(buf, row, col, text)
  if not vim.api.nvim_buf_is_valid(buf) then
    return
  end
  local lines = vim.split(text, '\n', { plain = true })
  local ts = vim.bo[buf].tabstop
  local line = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ''
  local vcol = vim.fn.strdisplaywidth(line:sub(1, col))
  local opts = { id = MARK_ID, hl_mode = 'combine', priority = 65535, right_gravity = true }
  if lines[1] ~= '' then
    opts.virt_text = { { expand_tabs(lines[1], vcol, ts), HL } }
    opts.virt_text_pos = 'inline'
    pcall(vim.api.nvim_buf_set_extmark, buf, M.ns, row, math.min(col, #line), opts)
  else
    pcall(vim.api.nvim_buf_del_extmark, buf, M.ns, MARK_ID)
  end
  if #lines > 1 then
    local virt_lines = {}
    for i = 2, #lines do
      virt_lines[#virt_lines + 1] = { { expand_tabs(lines[i], 0, ts), HL } }
    end
    local lopts =
      { id = LINES_ID, virt_lines = virt_lines, priority = 65535, right_gravity = false }
    pcall(vim.api.nvim_buf_set_extmark, buf, M.ns, row, 0, lopts)
  else
    pcall(vim.api.nvim_buf_del_extmark, buf, M.ns, LINES_ID)
  end
end

---@param buf integer
function M.clear(buf)
  if vim.api.nvim_buf_is_valid(buf) then
    pcall(vim.api.nvim_buf_del_extmark, buf, M.ns, MARK_ID)
    pcall(vim.api.nvim_buf_del_extmark, buf, M.ns, LINES_ID)
  end
end

--- What is drawn in `buf` (tests and :LocalLLM status): the text, or nil.
---@param buf integer
---@return string|nil
function M.drawn_text(buf)
  local first = vim.api.nvim_buf_get_extmark_by_id(buf, M.ns, MARK_ID, { details = true })
  local rest = vim.api.nvim_buf_get_extmark_by_id(buf, M.ns, LINES_ID, { details = true })
  if #first == 0 and #rest == 0 then
    return nil
  end
  local d = first[3] or {}
  local parts = {}
  parts[1] = d.virt_text and d.virt_text[1] and d.virt_text[1][1] or ''
  for _, vl in ipairs(rest[3] and rest[3].virt_lines or {}) do
    parts[#parts + 1] = vl[1] and vl[1][1] or ''
  end
  return table.concat(parts, '\n')
end

function M.set_highlights()
  vim.api.nvim_set_hl(0, HL, { link = 'Comment', default = true })
  vim.api.nvim_set_hl(0, 'LocalLLMInfo', { link = 'DiagnosticInfo', default = true })
end

M._expand_tabs = expand_tabs

return M
