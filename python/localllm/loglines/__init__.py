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

import re
from dataclasses import dataclass

from .. import utf8
from .calls import (
    CLOSER,
    Arg,
    Parsed,
    Segment,
    could_become,
    format_index,
    inner_printf_call,
    is_constructor,
    is_kwarg,
    is_spread,
    literal,
    parse_call,
    rust_named_args,
    string_prefix,
)
from .families import ALL_METHODS, FAMILIES, RUST_MACROS, Rule
from .formats import GO_VERB, named_placeholders, verb_count
from .lexer import Tok, interpolated_names, string_body
from .prompt import nearest_log_calls, prompt_chunk
from .records import BUILTINS, JS_LANGUAGES, KEYWORDS, LANGUAGES
from .resolve import resolve
from .scope import scope_at

__all__ = ["LANGUAGES", "LogSite", "find_log_site", "verb_count"]


# --------------------------------------------------------------------------------------------
# The site


@dataclass(frozen=True, slots=True)
class LogSite:
    """A log call the cursor line starts; see the module docstring."""

    language: str
    logger: str
    family: str
    prompt_chunk: str
    identifiers: frozenset[str]
    semicolon: bool = False  # the file ends statements with `;` (JS/TS style, Rust)
    packages: frozenset[str] = frozenset()  # imported package/module names
    declaration: str = ""  # the line that declares the logger

    def check(self, typed: str, suggestion: str, *, final: bool) -> str:
        """The longest right prefix of `suggestion` (inserted after `typed`); see the docs of
        this module. May close the call when that makes it complete and right."""
        return _Checker(self, typed).check(suggestion, final)

    def problems(self, typed: str, suggestion: str) -> list[str]:
        """What is wrong with a finished suggestion, for reports: "unknown:NAME", "verbs",
        "pairs", "fields", "arity", "method", "unbalanced" (empty when right)."""
        return _Checker(self, typed).problems(suggestion)


class _Checker:
    def __init__(self, site: LogSite, typed: str) -> None:
        self.site = site
        self.lang = site.language
        self.rust = site.family in ("rust_log", "tracing")
        self.typed = typed
        self.start = _call_start(typed, site)

    # -- public ----------------------------------------------------------------------------

    def check(self, suggestion: str, final: bool) -> str:
        suggestion = suggestion.split("\n", 1)[0]
        if self.start is None:
            return suggestion
        base = len(self.typed)
        text = suggestion
        for _ in range(8):
            full = self.typed + text
            parsed = parse_call(full, self.start, self.lang, self.site.family, self.rust)
            errors = self._errors(parsed, full, final)
            cut = errors[0][0] if errors else None
            if parsed.bad is not None and (cut is None or parsed.bad < cut):
                cut = parsed.bad
            if cut is not None:
                if cut <= base:
                    return ""
                prefix = full[base:cut].rstrip()
                return self._close(prefix, final=True)
            if parsed.end is not None:
                end = parsed.end
                rest = full[end:]
                if rest.lstrip().startswith(";") and self.site.semicolon:
                    end = end + rest.index(";") + 1
                    return full[base:end] if end > base else ""
                out = full[base:end] if end > base else ""
                if final and self.site.semicolon and parsed.end >= base:
                    out += ";"
                return out
            if parsed.comment is not None and parsed.comment >= base:
                text = full[base : parsed.comment].rstrip()
                continue
            if not final:
                return text
            # Finished but the call is open: close it if that makes it right, else cut back
            # to the last whole argument.
            if parsed.open_string or parsed.stack:
                boundary = self._last_boundary(parsed, base)
                if boundary is None:
                    return ""
                return self._close(full[base:boundary].rstrip(), final=True)
            return self._close(text.rstrip(), final=True)
        return text

    def problems(self, suggestion: str) -> list[str]:
        if self.start is None:
            return []
        full = self.typed + suggestion.split("\n", 1)[0]
        parsed = parse_call(full, self.start, self.lang, self.site.family, self.rust)
        found = [kind for _pos, kind in self._errors(parsed, full, True)]
        if parsed.bad is not None:
            found.append("method")
        if parsed.end is None and (parsed.open_string or parsed.stack or parsed.segments):
            last = parsed.segments[-1] if parsed.segments else None
            if last is None or last.close_end < 0:
                found.append("unbalanced")
        return found

    # -- helpers ---------------------------------------------------------------------------

    def _close(self, prefix: str, final: bool) -> str:
        """`prefix` closed (brackets, `;`) when that makes a complete, right call; else
        `prefix` itself (without a dangling comma)."""
        prefix = prefix.rstrip()
        while prefix.endswith(","):
            prefix = prefix[:-1].rstrip()
        assert self.start is not None
        full = self.typed + prefix
        parsed = parse_call(full, self.start, self.lang, self.site.family, self.rust)
        if parsed.bad is None and not parsed.open_string and parsed.end is None:
            closers = "".join(CLOSER[b] for b in reversed(parsed.stack))
            segments = parsed.segments
            if segments and segments[-1].open_end >= 0 and segments[-1].close_end < 0:
                closers += ")"
                candidate = full + closers
                again = parse_call(candidate, self.start, self.lang, self.site.family, self.rust)
                if (
                    again.end == len(candidate)
                    and again.bad is None
                    and not self._errors(again, candidate, True)
                    and self._terminal(again)
                ):
                    return prefix + closers + (";" if self.site.semicolon else "")
        return prefix

    def _terminal(self, parsed: Parsed) -> bool:
        last = parsed.segments[-1] if parsed.segments else None
        return last is not None and (
            self.rust or (last.rule is not None and last.rule.then is None)
        )

    def _last_boundary(self, parsed: Parsed, base: int) -> int | None:
        best: int | None = None
        for seg in parsed.segments:
            for arg in seg.args:
                if arg.complete and arg.tokens and arg.tokens[-1].end >= base:
                    best = arg.tokens[-1].end
            if seg.open_end >= base:
                best = max(best or 0, seg.open_end)
        if best is None:
            return None
        return best

    def _errors(self, parsed: Parsed, full: str, final: bool) -> list[tuple[int, str]]:
        """(cut position, kind) of what is wrong, earliest first."""
        base = len(self.typed)
        out: list[tuple[int, str]] = []
        for index, seg in enumerate(parsed.segments):
            if seg.method and seg.rule is None:
                partial = index == len(parsed.segments) - 1 and seg.open_end < 0
                if not (partial and not final and seg.name_end == len(full)):
                    if seg.dot >= base or seg.name_end > base:
                        out.append((max(seg.dot, base), "method"))
                    return out
                return out
            if seg.rule is None and not self.rust:
                return out
            for position, arg in enumerate(seg.args):
                last = position == len(seg.args) - 1 and seg.close_end < 0
                settled = arg.complete or final or not last
                inner = self._inner_problem(arg, full, settled, final)
                if inner is not None:  # names after it go with it
                    arg = Arg([t for t in arg.tokens if t.end <= inner[0]], arg.start, True)
                name = self._unknown_name(arg, base, settled, seg, position)
                if name is not None:
                    out.append((arg.start, "unknown:" + name))
                    return out
                if inner is not None:
                    out.append(inner)
                    return out
            problem = self._rule_problem(seg, parsed, full, final)
            if problem is not None:
                out.append(problem)
                return out
        return out

    # -- printf calls and `%` inside an argument (Go) ---------------------------------------

    def _inner_problem(
        self, arg: Arg, full: str, settled: bool, final: bool
    ) -> tuple[int, str] | None:
        """The earliest of: a printf call in `arg` (`fmt.Errorf(...)`) whose verbs do not match
        its arguments, and a `%verb` right after a `)`: format text the model wrote as code
        (`fmt.Errorf("n: %d") %d` is valid Go, `%` being modulo)."""
        if self.lang != "go":
            return None
        found: list[tuple[int, str]] = []
        tokens = arg.tokens
        for i in range(len(tokens)):
            call = inner_printf_call(tokens, i, self.site.packages)
            if call is not None:
                assert call.rule is not None
                problem = self._format_problem(call, call.rule, call.close_end >= 0, final)
                if problem is not None:
                    # Nothing of the call would be left but its `(`: drop the whole call.
                    cut = call.dot if problem[0] <= call.open_end else problem[0]
                    found.append((max(cut, len(self.typed)), problem[1]))
            elif self._stray_verb(tokens, i, full, settled):
                found.append((tokens[i].start, "verbs"))
        found = [f for f in found if f[0] >= len(self.typed)]
        return min(found) if found else None

    def _stray_verb(self, tokens: list[Tok], i: int, full: str, settled: bool) -> bool:
        """`) %d`: a format verb glued to a `%` after a call. `f(x)%d` stays modulo when `d` is
        a name in scope (gofmt may write it so); with a space before only, it never is."""
        tok = tokens[i]
        if tok.text != "%" or i == 0 or tokens[i - 1].text != ")" or i + 1 >= len(tokens):
            return False
        nxt = tokens[i + 1]
        verb = GO_VERB.match(full, tok.start)
        if nxt.start != tok.end or verb is None or verb.group(0) == "%%":
            return False
        if full[tok.start - 1] in " \t":
            return True
        if i + 2 == len(tokens) and not settled:
            return False  # the name may still be typed
        return nxt.kind != "id" or nxt.text not in self.site.identifiers

    # -- names -----------------------------------------------------------------------------

    def _unknown_name(
        self, arg: Arg, base: int, settled: bool, seg: Segment, position: int
    ) -> str | None:
        known = self.site.identifiers
        skip = KEYWORDS.get(self.lang, frozenset())
        tokens = arg.tokens
        local: set[str] = set()
        if self.lang == "python":
            for i, tok in enumerate(tokens):
                if tok.text == "for" and i + 1 < len(tokens):
                    j = i + 1
                    while j < len(tokens) and tokens[j].text != "in":
                        if tokens[j].kind == "id":
                            local.add(tokens[j].text)
                        j += 1
                if tok.text == "lambda":
                    j = i + 1
                    while j < len(tokens) and tokens[j].text != ":":
                        if tokens[j].kind == "id":
                            local.add(tokens[j].text)
                        j += 1
        if self.lang in JS_LANGUAGES:
            for i, tok in enumerate(tokens):
                if tok.text == "=>":
                    j = i - 1
                    if j >= 0 and tokens[j].kind == "id":
                        local.add(tokens[j].text)
                    elif j >= 0 and tokens[j].text == ")":
                        while j >= 0 and tokens[j].text != "(":
                            if tokens[j].kind == "id":
                                local.add(tokens[j].text)
                            j -= 1
        depth_braces = 0
        kw_key = self.lang in ("python", "rust") and is_kwarg(tokens)
        for i, tok in enumerate(tokens):
            if tok.kind == "open" and tok.text == "{":
                depth_braces += 1
            elif tok.kind == "close" and tok.text == "}":
                depth_braces -= 1
            if tok.end <= base:
                continue
            if tok.kind == "str":
                names = interpolated_names(tok, self.lang)
                if self.rust and self._is_format_arg(seg, position):
                    body = string_body(tok)
                    names += [(n, tok.closed) for n in named_placeholders(body) if n.isidentifier()]
                    names = [(n, c) for n, c in names if n not in rust_named_args(seg)]
                for name, complete in names:
                    if not (complete or settled):
                        continue
                    if name not in known and name not in skip and name not in local:
                        return name
                continue
            if tok.kind != "id":
                continue
            prev = tokens[i - 1].text if i else ""
            nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
            if prev in (".", "?.", "::") or (prev == "->" and self.lang != "rust"):
                continue
            if nxt == "!" and self.rust:
                continue  # a macro
            if kw_key and i == 0:
                continue
            if nxt == ":" and (depth_braces > 0 or self.rust) and self.lang != "python":
                continue  # an object key, a struct field, `target:`
            if nxt == "=" and self.lang in JS_LANGUAGES:
                continue
            if tok.text in known or tok.text in skip or tok.text in local:
                continue
            if i == len(tokens) - 1 and not settled:
                continue  # still being typed
            return tok.text
        return None

    def _is_format_arg(self, seg: Segment, position: int) -> bool:
        rule = seg.rule
        if rule is None:
            return False
        fmt_index = format_index(seg)
        return fmt_index == position

    # -- rules -----------------------------------------------------------------------------

    def _rule_problem(
        self, seg: Segment, parsed: Parsed, full: str, final: bool
    ) -> tuple[int, str] | None:
        rule = seg.rule
        if rule is None:
            return None
        args = seg.args
        closed = seg.close_end >= 0
        base = len(self.typed)
        kind = rule.kind

        # Only what the suggestion wrote can be cut; a problem inside the typed text is the
        # user's business.
        def at(pos: int, what: str) -> tuple[int, str] | None:
            return (pos, what) if pos >= base or what.startswith("unknown") else None

        if kind == "any":
            return None
        if kind == "fixed":
            if len(args) > rule.n:
                return at(args[rule.n].start, "arity")
            if closed and len(args) < rule.n:
                return at(seg.close_end - 1, "arity")
            return None
        if kind in ("printf", "pct", "brace", "event", "console", "pino", "winston", "rustfmt"):
            return self._format_problem(seg, rule, closed, final)
        if kind == "tracing":
            return self._format_problem(seg, rule, closed, final)
        if kind in ("pairs", "attrs", "fields"):
            first = rule.lead + (1 if rule.msg else 0)
            if closed and len(args) < first:
                return at(seg.close_end - 1, "arity")
            position = first
            while position < len(args):
                arg = args[position]
                settled = arg.complete or final
                ctor = is_constructor(arg, "zap" if kind == "fields" else "slog")
                if kind == "fields":
                    if ctor or is_spread(arg):
                        position += 1
                        continue
                    if not settled and could_become(arg, "zap."):
                        return None
                    return at(arg.start, "fields")
                if ctor or is_spread(arg):
                    position += 1
                    continue
                if kind == "attrs":
                    if not settled and could_become(arg, "slog."):
                        return None
                    return at(arg.start, "pairs")
                # a key: a string (or a constant name), then its value
                if arg.tokens and arg.tokens[0].kind == "num":
                    return at(arg.start, "pairs")
                if position + 1 >= len(args):
                    if closed:
                        return at(arg.start, "pairs")
                    return None
                position += 2
            return None
        return None

    def _format_problem(
        self, seg: Segment, rule: Rule, closed: bool, final: bool
    ) -> tuple[int, str] | None:
        base = len(self.typed)
        args = seg.args
        kind = rule.kind

        def at(pos: int, what: str) -> tuple[int, str] | None:
            return (pos, what) if pos >= base else None

        positional = [a for a in args if not (is_kwarg(a.tokens) and self.lang == "python")]
        if self.lang == "python":
            # keyword arguments come last; logging accepts only a few
            for arg in args:
                if is_kwarg(arg.tokens) and rule.kwargs is not None:
                    name = arg.tokens[0].text
                    still_typed = not (arg.complete or final) and any(
                        k.startswith(name) for k in rule.kwargs
                    )
                    if name not in rule.kwargs and not still_typed:
                        return at(arg.start, "arity")
        fmt_index = format_index(seg)
        if fmt_index is None:
            needs_message = kind in ("printf", "pct", "brace", "event", "pino", "winston")
            if closed and needs_message and len(positional) <= rule.lead:
                return at(seg.close_end - 1, "arity")
            return None
        named = args if kind == "tracing" else positional
        if fmt_index >= len(named):
            if closed and kind != "tracing" and kind != "console":
                return at(seg.close_end - 1, "arity")
            return None
        fmt_arg = named[fmt_index]
        fmt = literal(fmt_arg)
        fmt_settled = fmt_arg.complete or final
        if fmt is None:
            return None  # a format we cannot read: no count to check
        style = {
            "printf": "go",
            "pct": "python",
            "event": "python",
            "brace": "brace",
            "console": "js",
            "pino": "js",
            "winston": "js",
            "rustfmt": "rust",
            "tracing": "rust",
        }[kind]
        if self.lang == "python" and "f" in string_prefix(fmt_arg) and style == "brace":
            count: int | None = 0
        else:
            count = verb_count(fmt, style)
        if count is None:
            return None
        extra = named[fmt_index + 1 :]
        if self.rust:
            extra = [a for a in extra if not is_kwarg(a.tokens)]
        if kind == "brace" and self.lang == "python":
            names = named_placeholders(fmt) if "f" not in string_prefix(fmt_arg) else []
            kw = {a.tokens[0].text for a in args if is_kwarg(a.tokens)}
            if closed and names and any(n not in kw for n in names):
                return at(fmt_arg.start, "verbs")
        if not fmt_settled:
            return None
        at_least = kind in ("console", "winston")
        if kind == "pct" or kind == "event":
            # logging formats only with arguments, but a verb without one is still a mistake
            pass
        if not at_least and len(extra) > count:
            return at(extra[count].start, "verbs")
        if closed and len(extra) < count:
            if count and not extra:
                return (
                    at(fmt_arg.start, "verbs")
                    if fmt_arg.start >= base
                    else at(seg.close_end - 1, "verbs")
                )
            return at(seg.close_end - 1, "verbs")
        return None


def _call_start(typed: str, site: LogSite) -> int | None:
    """Where the logger expression starts in the typed line (the call's text follows it)."""
    if site.family in ("rust_log", "tracing"):
        match = re.match(r"\s*(?:(?:::)?\w+::)*\w+!", typed)
        return match.end() if match else None
    match = re.match(r"\s*(?:(?:defer|go|await|return|void)\s+)?", typed)
    at = match.end() if match else 0
    if typed.startswith(site.logger, at):
        return at + len(site.logger)
    found = typed.find(site.logger + ".")
    return None if found < 0 else found + len(site.logger)


# --------------------------------------------------------------------------------------------
# Finding the site

_LEAD_RE = re.compile(r"\s*(?:(?:defer|go|await|return|void)\s+)?")
_PATH_PART = re.compile(r"[A-Za-z_$][\w$]*(?:\(\))?")
_RUST_MACRO = re.compile(r"\s*(?P<path>(?:(?:::)?\w+::)*)(?P<name>\w+)!\s*\(")
_KNOWN_ROOTS = frozenset({"console", "zap", "self", "this"})


def find_log_site(
    source: str, row: int, col: int, language: str | None, path: str = "", key: str = ""
) -> LogSite | None:
    """The log call the text before the cursor starts, or None; see the module docstring."""
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
    scope = scope_at(lines, row, typed, language, key or path)
    if scope is None:
        return None
    for logger, family, rest_at in candidates:
        resolved = resolve(logger, family, scope, language)
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
    if parsed.bad is not None or not parsed.segments:
        return False
    return all(seg.rule is not None or not seg.method for seg in parsed.segments[:-1]) and (
        parsed.segments[-1].rule is not None
        or any(m.startswith(parsed.segments[-1].method) for m in FAMILIES[family])
    )
