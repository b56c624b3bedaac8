"""The log site: the call on a logger the text before the cursor starts (`find_log_site`),
and what it knows (`LogSite`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

from .. import utf8
from ..treesitter import TreeOf
from .calls import parse_call
from .checker import Checker
from .families import ALL_METHODS, FAMILIES, RUST_MACROS
from .prompt import nearest_log_calls, prompt_chunk
from .records import BUILTINS, JS_LANGUAGES
from .resolve import resolve
from .scope import Carry, Scope, scope_at


@dataclass(frozen=True, slots=True)
class LogSite:
    """A log call the cursor line starts; see the docstring of localllm.loglines."""

    language: str
    logger: str
    family: str
    prompt_chunk: str
    identifiers: frozenset[str]
    semicolon: bool = False  # the file ends statements with `;` (JS/TS style, Rust)
    packages: frozenset[str] = frozenset()  # imported package/module names
    declaration: str = ""  # the line that declares the logger

    def check(self, typed: str, suggestion: str, *, final: bool) -> str:
        """The longest right prefix of `suggestion` (inserted after `typed`); see the
        docstring of localllm.loglines. May close the call when that makes it complete and right."""
        return Checker(self, typed).check(suggestion, final)

    def opening(self, typed: str) -> str:
        """What the suggestion after `typed` must start with: `"` where a Go call's format
        or message goes and nothing of it is typed yet, else ""."""
        return Checker(self, typed).opening()

    def problems(self, typed: str, suggestion: str) -> list[str]:
        """What is wrong with a finished suggestion, for reports: "unknown:NAME", "verbs",
        "pairs", "fields", "arity", "method", "format" (a Go format that is no string
        literal), "wrap" (`%w` outside fmt.Errorf), "unbalanced" (empty when right)."""
        return Checker(self, typed).problems(suggestion)


_LEAD_RE = re.compile(r"\s*(?:(?:defer|go|await|return|void)\s+)?")
_PATH_PART = re.compile(r"[A-Za-z_$][\w$]*(?:\([^()]*\))?")  # `log`, `G(ctx)`, `L()`
_RUST_MACRO = re.compile(r"\s*(?P<path>(?:(?:::)?\w+::)*)(?P<name>\w+)!\s*\(")
_KNOWN_ROOTS = frozenset({"console", "zap", "self", "this"})


def find_log_site(
    source: str,
    row: int,
    col: int,
    language: str | None,
    *,
    tree_of: TreeOf | None = None,
    blanked: bytes | None = None,
    carry: Carry | None = None,
) -> LogSite | None:
    """The log call the text before the cursor starts, or None; see the docstring of
    localllm.loglines. `tree_of`, `blanked`, `carry`: the request's Document's `blanked_tree`,
    `blanked_data` and `carried`, when there is one (see scope_at)."""
    if language not in BUILTINS:
        return None
    lines = source.split("\n")
    if not 0 <= row < len(lines):
        return None
    line = lines[row]
    typed = utf8.split_at_byte(line, col)[0]
    candidates = _candidates(typed, language)
    if not candidates:
        return None
    scope = scope_at(lines, row, language, tree_of=tree_of, blanked=blanked, carry=carry)
    if scope is None:
        return None
    for logger, family, rest_at in candidates:
        fits = partial(_plausible, typed, rest_at, language)
        resolved = resolve(logger, family, scope, language, fits=fits)
        if resolved is None and language == "go":
            resolved = _printf_by_name(logger, typed[rest_at:], scope)
        if resolved is None:
            continue
        family, declaration = resolved
        if not _plausible(typed, rest_at, language, family):
            continue
        identifiers = frozenset(scope.names) | BUILTINS[language] | frozenset(scope.packages)
        semicolon = language == "rust" or (language in JS_LANGUAGES and scope.semicolon)
        examples = nearest_log_calls(lines, row, logger, language)
        chunk = prompt_chunk(language, logger, declaration, examples, scope)
        return LogSite(
            language=language,
            logger=logger,
            family=family,
            prompt_chunk=chunk,
            identifiers=identifiers,
            semicolon=semicolon,
            packages=frozenset(scope.packages),
            declaration=declaration,
        )
    return None


def _candidates(typed: str, lang: str) -> list[tuple[str, str, int]]:
    """(logger expression, family hint, where the call text after it starts), longest first.
    The hint is "" except for Rust macros ("log" / "tracing" / "" for a bare macro)."""
    if lang == "rust":
        match = _RUST_MACRO.match(typed)
        if match is None or match.group("name") not in (*RUST_MACROS, "log", "event"):
            return []
        path = match.group("path").strip(":")
        crate = path.split("::")[-1] if path else ""
        if path and crate not in ("log", "tracing"):
            return []
        return [(crate or match.group("name"), crate, match.end("name"))]
    match = _LEAD_RE.match(typed)
    at = match.end() if match else 0
    parts: list[tuple[str, int]] = []  # (expression so far, where it ends)
    pos = at
    expr = ""
    while True:
        part = _PATH_PART.match(typed, pos)
        if part is None:
            break
        expr = expr + ("." if expr else "") + part.group(0)
        pos = part.end()
        parts.append((expr, pos))
        if pos < len(typed) and typed[pos] == ".":
            pos += 1
            continue
        break
    out = []
    for expr, end in reversed(parts):
        if end >= len(typed) or typed[end] != ".":
            continue
        # Cheap filter before any parsing: a name that says "log", or a method that loggers
        # have, or a method still being typed.
        method = re.match(r"\.(\w*)(\(?)", typed[end:])
        name = method.group(1) if method else ""
        if (
            "log" in expr.lower()
            or expr.split(".", 1)[0] in _KNOWN_ROOTS
            or name in ALL_METHODS
            or not (method and method.group(2))
        ):
            out.append((expr, "", end))
    return out


def _printf_by_name(logger: str, rest: str, scope: Scope) -> tuple[str, str] | None:
    """A Go logger we cannot resolve (`db.opt.Infof(`: a field of a type that embeds one)
    is still one when its method is a level method taking a format: not on a package, whose
    `Errorf` may take other arguments first (`status.Errorf(code, format, ...)`)."""
    if logger.split(".", 1)[0] in scope.packages:
        return None
    # The level methods that take a format by Go's naming convention (go vet's too).
    method = re.match(r"\.(\w+)\(", rest)
    rule = FAMILIES["go_logger"].get(method.group(1)) if method else None
    return ("go_logger", "") if rule is not None and rule.kind == "printf" else None


def _plausible(typed: str, rest_at: int, lang: str, family: str) -> bool:
    """Whether the typed text after the logger is a call this family has (or its start)."""
    rust = family in ("rust_log", "tracing")
    if rust:
        return True
    rest = typed[rest_at:]
    match = re.fullmatch(r"\.([A-Za-z_]\w*)?", rest)
    if match:
        name = match.group(1) or ""
        return any(m.startswith(name) for m in FAMILIES[family])
    parsed = parse_call(typed, rest_at, lang, family, rust)
    if parsed.bad is not None or not parsed.segments or parsed.end is not None:
        return False  # not this family's call, or one already finished
    return all(seg.rule is not None or not seg.method for seg in parsed.segments[:-1]) and (
        parsed.segments[-1].rule is not None
        or any(m.startswith(parsed.segments[-1].method) for m in FAMILIES[family])
    )
