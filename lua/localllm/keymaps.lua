-- Default keys for the <Plug> maps, with passthrough: when no suggestion is shown, a key does
-- what it did before we mapped it (another plugin's mapping, or its plain meaning).
local M = {}

local ACTIONS = {
  accept = { plug = '<Plug>(localllm-accept)', needs_suggestion = true },
  accept_line = { plug = '<Plug>(localllm-accept-line)', needs_suggestion = true },
  accept_word = { plug = '<Plug>(localllm-accept-word)', needs_suggestion = true },
  dismiss = { plug = '<Plug>(localllm-dismiss)', needs_suggestion = true },
  trigger = { plug = '<Plug>(localllm-trigger)', needs_suggestion = false },
}

local function act(name)
  local localllm = require('localllm')
  if name == 'accept' then
    localllm.accept('all')
  elseif name == 'accept_line' then
    localllm.accept('line')
  elseif name == 'accept_word' then
    localllm.accept('word')
  elseif name == 'dismiss' then
    localllm.dismiss()
  else
    localllm.trigger()
  end
end
M._act = act

local installed = {} ---@type table<string, table> lhs -> previous mapping (or {})
local fallbacks = {} ---@type table<integer, function>
local next_fallback = 0

--- Return keys from the expr mapping (not remapped), or feed them remappably.
local function emit(keys, noremap)
  if noremap then
    return keys
  end
  vim.api.nvim_feedkeys(keys, 'm', false)
  return ''
end

local function termcodes(keys)
  return vim.api.nvim_replace_termcodes(keys, true, true, true)
end

--- Keys that reproduce the mapping `prev` had for `lhs`, as an expr-mapping result.
local function passthrough(lhs, prev)
  if not prev or vim.tbl_isempty(prev) then
    return termcodes(lhs)
  end
  if prev.expr == 1 then
    local keys = prev.callback and prev.callback() or vim.api.nvim_eval(prev.rhs)
    keys = prev.replace_keycodes == 1 and termcodes(keys or '') or (keys or '')
    return emit(keys, prev.noremap == 1)
  end
  if prev.callback then
    next_fallback = next_fallback + 1
    fallbacks[next_fallback] = prev.callback
    return termcodes(('<Cmd>lua require("localllm.keymaps")._run(%d)<CR>'):format(next_fallback))
  end
  return emit(termcodes(prev.rhs or lhs), prev.noremap == 1)
end

--- Run the fallback Lua callback saved under `id` (from the <Cmd> mapping above).
---@param id integer
function M._run(id)
  local fn = fallbacks[id]
  fallbacks[id] = nil
  if fn then
    fn()
  end
end

--- Define the <Plug> maps (always available, also without setup()).
function M.define_plugs()
  local function map(plug, fn, desc)
    vim.keymap.set('i', plug, fn, { silent = true, desc = desc })
  end
  local descs = {
    accept = 'accept the suggestion',
    accept_line = 'accept one line of the suggestion',
    accept_word = 'accept one word of the suggestion',
    dismiss = 'dismiss the suggestion',
    trigger = 'ask for a suggestion now',
  }
  for name, action in pairs(ACTIONS) do
    map(action.plug, function()
      act(name)
    end, 'localllm: ' .. descs[name])
  end
end

--- Remove the default keys we installed.
function M.remove()
  for lhs, prev in pairs(installed) do
    pcall(vim.keymap.del, 'i', lhs)
    if prev.lhs then
      pcall(vim.fn.mapset, 'i', false, prev)
    end
  end
  installed = {}
end

--- Install the configured default keys.
---@param keys table<string, string|false>
function M.apply(keys)
  M.remove()
  for name, action in pairs(ACTIONS) do
    local lhs = keys[name]
    if lhs then
      local prev = vim.fn.maparg(lhs, 'i', false, true)
      installed[lhs] = prev
      local run = termcodes(('<Cmd>lua require("localllm.keymaps")._act(%q)<CR>'):format(name))
      vim.keymap.set('i', lhs, function()
        if action.needs_suggestion and not require('localllm.session').is_visible() then
          return passthrough(lhs, installed[lhs])
        end
        return run
      end, { expr = true, replace_keycodes = false, desc = 'localllm: ' .. name })
    end
  end
end

return M
