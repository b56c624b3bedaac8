-- Other completion UIs on the same screen: Neovim's popup menu, nvim-cmp and blink.cmp. Whether
-- their menu or their own ghost text is shown (ours is hidden then), and a redraw of ours when
-- they close. Every call into them is pcall-guarded: without them this is only pumvisible().
local M = {}

local cmp_attached = nil ---@type table|nil the cmp module our listeners are on
-- cmp's menu as its events tell: on abort cmp says `menu_closed` but closes the window later
-- (from typeahead), so cmp.visible() is still true when we redraw.
local cmp_open = false

--- `fn(module)` for a plugin module that is loaded already (never loads one), or nil.
---@param name string
---@param fn fun(mod: table): any
---@return any
local function ask(name, fn)
  local mod = package.loaded[name]
  if type(mod) ~= 'table' then
    return nil
  end
  local ok, value = pcall(fn, mod)
  return ok and value or nil
end

--- Whether blink.cmp (when loaded) answers true to its API function `name`.
---@param name string
---@return boolean
local function blink(name)
  return ask('blink.cmp', function(mod)
    return mod[name]()
  end) == true
end

--- Whether cmp.visible() says true (when cmp is loaded).
---@return boolean
local function cmp_visible()
  return ask('cmp', function(cmp)
    return cmp.visible()
  end) == true
end

--- Whether nvim-cmp's menu is open (its ghost text is shown only with it).
---@return boolean
function M.cmp_menu()
  if cmp_attached and package.loaded['cmp'] == cmp_attached then
    return cmp_open
  end
  return cmp_visible()
end

--- Whether a completion menu is open: the popup menu, nvim-cmp's or blink.cmp's.
---@return boolean
function M.menu_open()
  return vim.fn.pumvisible() == 1 or M.cmp_menu() or blink('is_menu_visible')
end

--- Whether nvim-cmp's or blink.cmp's own ghost text is drawn at the cursor.
---@return boolean
function M.their_ghost()
  local cmp_ghost = M.cmp_menu()
    and ask('cmp', function()
      local c = require('cmp.config').get()
      return c.experimental and c.experimental.ghost_text and true
    end)
  return cmp_ghost == true or blink('is_ghost_text_visible')
end

--- Whether our ghost must not be drawn now: two ghosts at the cursor never; under an open menu
--- not when `hide_during_completion` is set (the keys belong to the menu then).
---@param hide_during_completion boolean
---@return boolean
function M.hides_ours(hide_during_completion)
  return (hide_during_completion and M.menu_open()) or M.their_ghost()
end

--- Listen to nvim-cmp's menu events once cmp is loaded (it may load after our setup()).
---@param on_change fun()
function M.attach_cmp(on_change)
  local cmp = package.loaded['cmp']
  if type(cmp) ~= 'table' or cmp_attached == cmp then
    return
  end
  local ok = pcall(function()
    cmp.event:on('menu_opened', function()
      cmp_open = true
      on_change()
    end)
    cmp.event:on('menu_closed', function()
      cmp_open = false
      on_change()
    end)
  end)
  if ok then
    cmp_attached = cmp
    cmp_open = cmp_visible()
  end
end

--- blink.cmp's User events (v1.x) and cmp's menu events call `on_change` (scheduled: the menus
--- have settled by then), which hides or redraws our ghost.
---@param group integer augroup
---@param on_change fun()
function M.attach(group, on_change)
  local later = function()
    vim.schedule(on_change)
  end
  vim.api.nvim_create_autocmd('User', {
    group = group,
    pattern = { 'BlinkCmpMenuOpen', 'BlinkCmpMenuClose', 'BlinkCmpShow', 'BlinkCmpHide' },
    desc = 'localllm: hide or redraw the ghost as blink.cmp opens or closes',
    callback = later,
  })
  vim.api.nvim_create_autocmd('InsertEnter', {
    group = group,
    desc = 'localllm: follow nvim-cmp menu events once cmp is loaded',
    callback = function()
      M.attach_cmp(later)
    end,
  })
  M.attach_cmp(later)
end

return M
