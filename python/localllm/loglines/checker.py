"""Cutting a suggestion back to the longest prefix that is right (`Checker.check`), and what
is wrong with a finished one (`Checker.problems`): the call ends where it ends, brackets and
quotes balance, and the checks of checks.py and names.py pass."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .calls import CLOSER, Arg, Parsed, parse_call
from .checks import Context, inner_problem, rule_problem
from .names import unknown_name

if TYPE_CHECKING:
    from .site import LogSite


class Checker:
    """Checks a suggestion for a log site after the typed text of the cursor line."""

    def __init__(self, site: LogSite, typed: str) -> None:
        self.site = site
        self.lang = site.language
        self.rust = site.family in ("rust_log", "tracing")
        self.typed = typed
        self.start = call_start(typed, site)
        self.ctx = Context(self.lang, self.rust, len(typed), site.identifiers, site.packages)

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

    def opening(self) -> str:
        """`"` when the typed text ends where a Go call's format or message goes, nothing of
        it typed yet: the suggestion starts the string, so that the model writes one."""
        if self.lang != "go" or self.start is None:
            return ""
        parsed = parse_call(self.typed, self.start, self.lang, self.site.family, self.rust)
        if parsed.bad is not None or parsed.open_string or parsed.stack or not parsed.segments:
            return ""
        seg = parsed.segments[-1]
        rule = seg.rule
        if rule is None or seg.open_end < 0 or seg.close_end >= 0:
            return ""
        takes_message = rule.kind == "printf" or (
            rule.kind in ("pairs", "attrs", "fields") and rule.msg
        )
        if not takes_message and (seg.family, seg.method) != ("zerolog_event", "Msg"):
            return ""
        before = [arg for arg in seg.args if arg.complete]
        started = any(arg.tokens for arg in seg.args if not arg.complete)
        return '"' if len(before) == rule.lead and not started else ""

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
                inner = inner_problem(self.ctx, arg, full, settled, final)
                if inner is not None:  # names after it go with it
                    arg = Arg([t for t in arg.tokens if t.end <= inner[0]], arg.start, True)
                name = unknown_name(self.ctx, arg, base, settled, seg, position)
                if name is not None:
                    out.append((arg.start, "unknown:" + name))
                    return out
                if inner is not None:
                    out.append(inner)
                    return out
            problem = rule_problem(self.ctx, seg, parsed, full, final)
            if problem is not None:
                out.append(problem)
                return out
        return out


def call_start(typed: str, site: LogSite) -> int | None:
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
