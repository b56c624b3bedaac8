-- Accept all / a line / a word of the suggestion: insert exactly the shown text.
local session = require('localllm.session')

local M = {}

--- The part of `text` that one accept of `kind` inserts.
---@param text string
---@param kind 'all'|'line'|'word'
---@return string
function M.part(text, kind)
  if kind == 'all' then
    return text
  end
  if kind == 'line' then
    if text:sub(1, 1) == '\n' then
      local nl = text:find('\n', 2, true)
      return nl and text:sub(1, nl - 1) or text
    end
    local nl = text:find('\n', 1, true)
    return nl and text:sub(1, nl - 1) or text
  end
  -- word: a newline plus the next line's indent, or non-word characters then word characters.
  -- Bytes >= 0x80 count as word characters, so a UTF-8 character is never split.
  if text:sub(1, 1) == '\n' then
    return '\n' .. (text:match('^\n([ \t]*)') or '')
  end
  local word = text:match('^[^%w_\128-\255\n]*[%w_\128-\255]*') or ''
  if word == '' then
    word = text:match('^[^\n]+') or text
  end
  return word
end

--- The handler nvim_paste calls while we insert: the text exactly, at the cursor. A user's
--- vim.paste (one that scrubs or reformats pastes) must not change an accepted suggestion, and
--- the stock one redraws the screen before the ghost has moved.
---@param lines string[]
---@return boolean
local function put_at_cursor(lines)
  vim.api.nvim_put(lines, 'c', false, true)
  return true
end

--- Insert `part` at the cursor (row, col) through nvim_paste, which records it for `.` as typed
--- text, so `.` repeats the whole insert including the accepted part. Falls back to a plain
--- buffer edit (no repeat) if the paste fails.
---@param buf integer
---@param row integer
---@param col integer
---@param part string
---@param lines string[]
local function insert(buf, row, col, part, lines)
  local paste = vim.paste
  vim.paste = put_at_cursor
  local ok = pcall(vim.api.nvim_paste, part, false, -1)
  vim.paste = paste
  if not ok then
    vim.api.nvim_buf_set_text(buf, row, col, row, col, lines)
  end
end

--- Whether the text is locked (E565): inside an <expr> mapping, which is what blink.cmp's keymap
--- functions and many nvim-cmp recipes are. Making the current window current again changes
--- nothing, and fails exactly then.
---@return boolean
local function text_locked()
  return not pcall(vim.api.nvim_set_current_win, vim.api.nvim_get_current_win())
end

--- Accept `kind` of the visible suggestion. Returns false when nothing is shown. From an <expr>
--- mapping the insert runs right after it (ahead of any typed keys), and true says it will.
---@param kind 'all'|'line'|'word'|nil
---@return boolean
function M.accept(kind)
  kind = kind or 'all'
  local buf = vim.api.nvim_get_current_buf()
  local sug = session.suggestion(buf)
  if not sug or sug.text == '' or not session.is_visible(buf) then
    return false
  end
  local pos = vim.api.nvim_win_get_cursor(0)
  if pos[1] - 1 ~= sug.row or pos[2] ~= sug.col then
    session.reset(buf)
    return false
  end
  if text_locked() then
    local keys = ('<Cmd>lua require("localllm.accept").accept(%q)<CR>'):format(kind)
    vim.api.nvim_feedkeys(vim.keycode(keys), 'ni', false)
    return true
  end
  local part = M.part(sug.text, kind)
  local rest = sug.text:sub(#part + 1)
  local lines = vim.split(part, '\n', { plain = true })
  -- A completion popup would roll back text inserted while it is open.
  if vim.fn.pumvisible() == 1 then
    vim.api.nvim_feedkeys(vim.keycode('<C-e>'), 'n', false)
  end
  -- Undo breaks around the insertion make it exactly one undo step.
  vim.cmd('let &undolevels = &undolevels')
  insert(buf, sug.row, sug.col, part, lines)
  vim.cmd('let &undolevels = &undolevels')
  local row, col
  if #lines == 1 then
    row, col = sug.row, sug.col + #lines[1]
  else
    row, col = sug.row + #lines - 1, #lines[#lines]
  end
  if rest == '' and sug.tail then
    col = col + #sug.tail -- past the closers that end it, as if it were typed
  end
  vim.api.nvim_win_set_cursor(0, { row + 1, col })
  session.after_accept(buf, row, col, rest, sug.tail)
  return true
end

return M
