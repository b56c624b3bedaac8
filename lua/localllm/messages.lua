---@meta
-- The messages between the Lua UI and the Python host (python/localllm/nvim_host.py), for
-- LuaLS. Type definitions only: nothing requires this file. The Python twin is
-- python/localllm/protocol.py (TypedDicts of the same names and fields; tests/test_protocol.py
-- fails when they disagree). The host never sends null: a field without a value is left out,
-- so `x == nil` is the only test Lua needs (no vim.NIL).

---@class localllm.RequestMsg localllm_request: the window around the cursor (session.lua)
---@field id integer request id, rising per Neovim
---@field bufnr integer
---@field path string buffer name
---@field filetype string
---@field lines string[] a window of the buffer (long lines cut), cursor line included
---@field first_line integer 0-based row of lines[1]
---@field row integer 0-based cursor row
---@field col integer byte column of the cursor in its (possibly cut) line
---@field line_count integer
---@field head string[]|nil the file's first lines when the window starts below them
---@field sync localllm.SyncMsg|nil the mirror's changes since the last request (sync.lua)
---@field tick integer changedtick
---@field expandtab boolean
---@field shiftwidth integer
---@field tabstop integer
---@field root string working directory
---@field fired_ns integer|nil uv.hrtime() when it was sent

---@class localllm.SyncMsg Python's copy of a buffer brought up to date: one of the two fields
---@field full string[]|nil the whole text
---@field edits table[]|nil {first, last_old, lines} replacements in order

---@class localllm.Update One update of a stream, completion or explain: the shared shape
---@field id integer the request's or question's id
---@field kind 'start'|'text'|'done'|'error'
---@field final boolean the last update of its request (kind 'done' or 'error')
---@field text string completion: the suggestion so far; explain: the next piece ('' if none)
---@field error string|nil kind error: what went wrong and what to do

---@class localllm.CompletionUpdate: localllm.Update The answer to a request, streamed (engine.py)
---@field bufnr integer
---@field source string where it came from (backend, cache, rule)
---@field timings table
---@field resync boolean|nil the host's copy of the buffer is out of step: send the whole text

---@class localllm.ActivityMsg localllm_activity: recent edits, yanks and visits for later prompts
---@field kind string 'edit'|'yank'|'enter'…
---@field path string
---@field text string
---@field root string

---@class localllm.PurgeMsg localllm_purge: a buffer became denied (privacy.lua)
---@field bufnr integer|nil that buffer; nil: only the list of denied paths changed
---@field paths string[] paths of that buffer sent before
---@field denied string[] every path refused until allowed again

---@class localllm.ExplainMsg localllm_explain: a question about code (explain.lua)
---@field id integer
---@field bufnr integer
---@field path string
---@field filetype string
---@field lines string[]
---@field first_line integer
---@field head string[]|nil
---@field ranged boolean
---@field start_row integer
---@field end_row integer
---@field start_col integer|nil
---@field end_col integer|nil
---@field cursor_row integer
---@field question string
---@field root string

---@class localllm.ExplainUpdate: localllm.Update One event of an explanation (explain.py)
---@field model string|nil kind start: the model's label
---@field title string|nil kind start
---@field note string|nil kind start: what was left out of the question
---@field model_note string|nil kind start
---@field start_row integer|nil kind start
---@field end_row integer|nil kind start
---@field context string[]|nil kind start: the files the prompt quotes
---@field finish string|nil kind done: 'stop'|'length'…
---@field tokens integer|nil kind done
---@field prompt_tokens integer|nil kind done
---@field first_ms number|nil kind done
---@field total_ms number|nil kind done
---@field tokens_per_s number|nil kind done

---@class localllm.ConfigureResult The answer to configure
---@field error string|nil why the config was refused
---@field warnings string[]|nil what the user should know although the host runs

---@class localllm.InitResult: localllm.ConfigureResult The answer to init
---@field channel integer|nil the host's channel (python3 provider)
---@field version string|nil the host's version

---@class localllm.Reply What bridge.on_reply gets for a localllm_async call
---@field value any|nil the answer
---@field error string|nil why there is none
