"""The log line rule, over localllm.loglines: at a log call the model sees the logger, the
file's log calls and the names in scope (as comments above the cursor line) and writes one
line; every state shown, and the final suggestion, must pass the call's checks."""

from __future__ import annotations

import dataclasses
import os

from ..definitions import DefinitionIndex
from ..loglines import LANGUAGES, LogSite, find_log_site
from ..prompt import comment_leader
from ..types import FimContext
from .base import Place, Rule


@dataclasses.dataclass(frozen=True, slots=True)
class _Found:
    """The log site of a request, and the text the prompt opened the suggestion with."""

    site: LogSite
    opening: str


class LogLines(Rule):
    name = "log_lines"

    def __init__(self, definitions: DefinitionIndex) -> None:
        self.definitions = definitions

    def shape(self, place: Place, ctx: FimContext) -> FimContext:
        """One line, ending where the call ends; the logger, the file's log calls and the
        names in scope go just above the cursor line (the prompt start stays the same).
        Where a Go format or message goes, the prompt opens its quote (as if typed): the
        model then writes a string, not `err)` or a line break."""
        site = self._site(place, ctx)
        if site is None:
            return ctx
        opening = site.opening(ctx.middle)
        place.notes[self.name] = _Found(site, opening)
        return dataclasses.replace(
            ctx,
            multiline=False,
            prefix=ctx.prefix + _as_comment(site.prompt_chunk, ctx),
            middle=ctx.middle + opening,
        )

    def check(self, place: Place, ctx: FimContext, text: str) -> str:
        """Every state shown must pass the checks: a name not yet known is not shown in the
        hope that it becomes one. `ctx` is the shaped one: the suggestion gets the opening
        the prompt had."""
        found = place.notes.get(self.name)
        if not isinstance(found, _Found) or not text:
            return text
        checked = found.site.check(ctx.middle, text, final=True)
        return found.opening + checked if checked else ""

    correct = check

    def _site(self, place: Place, ctx: FimContext) -> LogSite | None:
        """The log call the cursor line starts, with what the model should know about it."""
        if ctx.language not in LANGUAGES or ctx.line_suffix.strip(" \t)];"):
            return None
        snap, doc = place.snapshot, place.document
        site = find_log_site(
            doc.buffer_text,
            doc.buffer_row,
            snap.col,
            ctx.language,
            tree_of=doc.blanked_tree_of(),
            blanked=doc.blanked_data,
            carry=doc.carried,
        )
        if site is not None and ctx.language == "go" and snap.path:
            # A Go package is its folder: names declared in the other files are in scope.
            others = self.definitions.definitions_in_folder(
                os.path.dirname(snap.path) or ".", "go", exclude=snap.path
            )
            site = dataclasses.replace(site, identifiers=site.identifiers | set(others))
        return site


def _as_comment(chunk: str, ctx: FimContext) -> str:
    """Prompt lines (the logger's declaration, log calls of the file, names in scope) as
    comments at the cursor line's indentation."""
    if not chunk.strip():
        return ""
    marker = comment_leader(ctx.language) or "//"
    indentation = ctx.indentation
    out = []
    for line in chunk.strip("\n").split("\n"):
        line = line.strip()
        if not line.startswith(marker):
            line = f"{marker} {line}"
        out.append(indentation + line + "\n")
    return "".join(out)
