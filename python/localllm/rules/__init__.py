"""Rules: what the engine knows better than a model, or checks a model's suggestions with.

A rule (base.Rule) takes part in some stages of a request: answer before any model, shape the
prompt, check each state of the stream, correct the final text. `Rules` runs the enabled ones
in order, each stage guarded: a rule that fails costs the user nothing but the rule (the log
has the traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from ..config import RulesSettings
from ..definitions import DefinitionIndex
from ..types import FimContext
from .base import Answer, Place, Question, Rule
from .go_errors import GoErrors, GoPackages
from .log_lines import LogLines

log = logging.getLogger(__name__)

__all__ = ["Answer", "Place", "Question", "Rule", "Rules", "enabled"]

T = TypeVar("T")


class Rules:
    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)

    def answer(self, place: Place) -> Answer | None:
        """The first rule's answer, if any rule has one."""
        for rule in self.rules:
            found = _guarded(rule.name, rule.answer, None, place)
            if found is not None:
                return found
        return None

    def shape(self, place: Place, ctx: FimContext) -> FimContext:
        for rule in self.rules:
            ctx = _guarded(rule.name, rule.shape, ctx, place, ctx)
        return ctx

    def check(self, place: Place, ctx: FimContext, text: str) -> str:
        for rule in self.rules:
            text = _guarded(rule.name, rule.check, text, place, ctx, text)
        return text

    def correct(self, place: Place, ctx: FimContext, text: str) -> str:
        for rule in self.rules:
            text = _guarded(rule.name, rule.correct, text, place, ctx, text)
        return text


def _guarded(name: str, stage: Callable[..., T], default: T, *args: object) -> T:
    """A rule must never cost the user the model's suggestion: a stage that fails passes
    through (the log has the traceback)."""
    try:
        return stage(*args)
    except Exception:
        log.exception("rule %s failed in %s", name, getattr(stage, "__name__", "a stage"))
        return default


def enabled(
    settings: RulesSettings, *, packages: GoPackages, definitions: DefinitionIndex
) -> Rules:
    """The rules `settings` turn on, in the order they run."""
    rules: list[Rule] = []
    if settings.go_errors:
        rules.append(GoErrors(packages))
    if settings.log_lines:
        rules.append(LogLines(definitions))
    return Rules(rules)
