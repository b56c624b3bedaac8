"""The languages whose log calls this package knows, and what it reads from their records
(localllm.languages): predeclared names, keywords, line comments, function node kinds."""

from __future__ import annotations

from .. import languages

# The languages whose log calls this package knows; their names and syntax come from their
# records (localllm.languages).
LANGUAGES = frozenset({"go", "python", "javascript", "typescript", "tsx", "rust"})
RECORDS = {name: lang for name in LANGUAGES if (lang := languages.get(name)) is not None}
BUILTINS = {name: lang.builtins for name, lang in RECORDS.items()}
KEYWORDS = {name: lang.keywords for name, lang in RECORDS.items()}
JS_LANGUAGES = frozenset(name for name, lang in RECORDS.items() if lang.family == "javascript")
COMMENT = {name: lang.line_comment for name, lang in RECORDS.items()}
FUNCTIONS = {name: lang.function_types | lang.lambda_types for name, lang in RECORDS.items()}
BLOCK_COMMENT = {name: lang.block_comment for name, lang in RECORDS.items()}
LIFETIMES = frozenset(name for name, lang in RECORDS.items() if lang.lifetimes)  # `'a` (Rust)
