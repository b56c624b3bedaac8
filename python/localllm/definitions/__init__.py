"""Definitions used near the cursor: the types, functions and constants the code refers to.

A small model completes better when the prompt shows what the code around the cursor refers to:
the struct it fills in, the function it calls, the constant it compares with. This package finds
the identifiers used in the lines around the cursor (`identifiers_near`), looks them up among the
top-level definitions of the current buffer and of its package folder (`DefinitionIndex`), and
hands back compact copies of those definitions within a character budget
(`relevant_definitions`).

Languages: Go (types, functions, methods, const/var blocks, type parameters; the sibling files of
the same package) and Python (classes, functions, module-level assignments; the modules of the
same folder that the buffer imports from). The brace languages too, with functions as their
signature and `{ ... }`, and types whole but for their methods' bodies: JavaScript, TypeScript
and tsx (classes, interfaces, enums, type aliases, functions, top-level const/let/var; the files
of the same folder that the buffer imports with `./name` or `require('./name')`), Rust (structs,
enums, traits, type aliases, functions, impl methods, const/static items; the .rs files of the
same folder), Java (classes, interfaces, enums, records, their methods and static final fields;
the .java files of the same folder and package) and C/C++ (functions and prototypes, structs,
unions, enums, classes, typedefs and `using` aliases, macros, global variables, inside
namespaces, `extern "C"` and #if blocks too; the headers of the same folder that the buffer
includes with quotes); and Lua (functions as `function m.f(a) ... end`, the functions and
values of module tables, top-level variables; the modules of the same folder that the buffer
binds with `local m = require("pkg.m")`). Other languages give empty results.

The modules, in the order a request goes through them:

    pick.py        relevant_definitions: look the uses up, choose, fit the budget
    near.py        identifiers_near, near(): the uses around the cursor, via the query
    scope.py       what the functions around the cursor bind, the type it is in
    index.py       DefinitionIndex: buffers, files and folders, cached; extract()
    siblings.py    which files of the folder count, in which language each reads
    parsing.py     compiled queries; the buffer's tree (its Document's, or parsed)
    extractors.py  language id -> the Extractor of its family (model.Extractor)
    lang_*.py      one per language family: its top-level definitions, imports, scopes
    brace.py       what the brace languages share: `{ ... }` bodies, members in their class
    text.py        node text, dedenting, capping at MAX_LINES
    model.py       Definition, Found, Imports, Extractor

What a language's grammar calls things (node kinds, fields) lives in its `lang_*.py` module;
its query, builtins, scopes and which siblings count come from its record in
`localllm.languages`. Adding a language: write `lang_<family>.py` with an `EXTRACTOR`, add it
to `extractors._BY_FAMILY`, and give the record a `definitions_query`. Imports go one way:
lang_* -> brace, text, model; the rest -> extractors -> lang_*; no module here imports from
this `__init__`.

Speed: the current buffer's tree comes from the request's Document (an incremental reparse of
the last request's), so the per-keystroke work is one range query over the lines around the
cursor and dict lookups. Files on disk are read through `localllm.source_files.SourceFiles`:
parsed once per version, keyed by (path, mtime_ns, size), with parsers of its own.

Thread safety: a tree-sitter parser is not thread-safe; the Document and SourceFiles serialise
their parsers' use. `DefinitionIndex` may be used from several threads; the dicts it returns
are shared with its cache and must not be modified.

Positions follow tree-sitter and Neovim: rows are 0-based, columns are 0-based byte offsets in the
UTF-8 encoding of the line.
"""

from __future__ import annotations

from .index import DefinitionIndex
from .model import MAX_LINES, Definition
from .near import identifiers_near
from .pick import relevant_definitions

__all__ = ["MAX_LINES", "Definition", "DefinitionIndex", "identifiers_near", "relevant_definitions"]
