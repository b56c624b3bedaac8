"""Go error checks without a model: the `if err != nil { return <zero values>, err }` block.

Offered on an empty line after a statement that assigns `err`, once the user has typed
the start of `if err`, and inside a fresh `if err != nil {` block (the body alone). The return
values are the zero values of the innermost enclosing function's results, with `err` in the
`error` result's place; named types are resolved in the file, in the package's other files and
in the packages of the same Go module (by go.mod), common standard-library types by what they
are. Functions without results return plainly, tests stop with their receiver (`t.Fatal(err)`
or testify's `require.NoError`), `main` does what the file already does, HTTP handlers answer
with `http.Error`. When the file wraps its errors (`fmt.Errorf("...: %w", err)`,
`errors.Wrap(err, "...")`), the block wraps too, with a message guessed from the call that
failed; the engine may ask the model for a better one (`ErrCheck.message_prefix`).

Pure: no editor, no network. Sibling files are parsed once per version (mtime, size).

A type from a module that is not on disk gets the zero value the package's own code writes
for it (`return nil, err` elsewhere), else nil unless its name says struct. Blank lines may
stand between the assignment and the check; a function literal inside a test stops the test
or returns as the file's other literals do.

Modules: syntax (node text, parameter lists, built-in types), evidence (how a file writes
zero values), packages (types of package folders, imports), zero_values, functions (the
function around the cursor), habits (the file's own style), tree (where the cursor is),
suggest (the block), returns (checking a model's returns), rule (the engine's Rule).
"""

from __future__ import annotations

from .packages import GoPackages
from .returns import correct_returns, expected_returns
from .rule import GoErrors
from .suggest import IF_ERR, ErrCheck, clean_message, suggest
from .zero_values import zero_value

__all__ = [
    "IF_ERR",
    "ErrCheck",
    "GoErrors",
    "GoPackages",
    "clean_message",
    "correct_returns",
    "expected_returns",
    "suggest",
    "zero_value",
]
