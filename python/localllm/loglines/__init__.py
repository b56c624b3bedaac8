"""Log lines: find the logger a line starts to call, and keep the model's suggestion honest.

`find_log_site()` looks at the text before the cursor; when it starts a call on a logger the
file knows (`log.`, `logger.Info(`, `self.log.`, `console.`, `info!(` ...) it returns a
`LogSite`: the logger and its family, a short prompt chunk (the logger's declaration, the
file's nearest log calls as style examples, the names in scope) and `check()`, which cuts a
suggestion back to the longest prefix that is right: the call ends where it ends, brackets and
quotes balance, printf verbs match their arguments (also in a `fmt.Errorf(...)` passed to the
call, and no `%d` after a `)`: format text written as code), slog pairs come in pairs, zap
fields are field constructors, zerolog chains use zerolog's methods, and every name passed
exists.

Pure: no editor, no network. Scope comes from tree-sitter: the buffer is parsed with the cursor
line blanked out, so every keystroke on one line reuses one tree and one scope analysis.
"""

from __future__ import annotations

from .formats import verb_count
from .records import LANGUAGES
from .site import LogSite, find_log_site

__all__ = ["LANGUAGES", "LogSite", "find_log_site", "verb_count"]
