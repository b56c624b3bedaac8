"""rules/: the enabled rules by settings, each stage guarded, the log rule's prompt shaping."""

from __future__ import annotations

import pytest

from localllm import treesitter
from localllm.config import RulesSettings, Settings
from localllm.context import build_context
from localllm.definitions import DefinitionIndex
from localllm.explain import ExplainService
from localllm.rules import Answer, Place, Rule, Rules, enabled
from localllm.rules.go_errors import GoErrors, GoPackages
from localllm.rules.log_lines import LogLines
from localllm.types import BufferSnapshot, FimContext

GO = (
    'package main\n\nimport "os"\n\nfunc load() ([]byte, error) {\n'
    '\tb, err := os.ReadFile("x")\n\t\n\treturn b, nil\n}\n'
)


def go_snapshot() -> BufferSnapshot:
    return BufferSnapshot.from_text(GO, 6, 1, path="/src/app/main.go", filetype="go")


class Broken(Rule):
    name = "broken"

    def answer(self, place: Place) -> Answer | None:
        raise RuntimeError("boom")

    def shape(self, place: Place, ctx: FimContext) -> FimContext:
        raise RuntimeError("boom")

    def check(self, place: Place, ctx: FimContext, text: str) -> str:
        raise RuntimeError("boom")

    def correct(self, place: Place, ctx: FimContext, text: str) -> str:
        raise RuntimeError("boom")


def test_the_settings_turn_the_rules_on() -> None:
    def names(**flags: bool) -> list[str]:
        rules = enabled(
            RulesSettings(**flags), packages=GoPackages(), definitions=DefinitionIndex()
        )
        return [rule.name for rule in rules.rules]

    assert names(go_errors=True, log_lines=True) == ["go_errors", "log_lines"]
    assert names(go_errors=False, log_lines=True) == ["log_lines"]
    assert names(go_errors=False, log_lines=False) == []


def test_a_failing_rule_costs_nothing_but_itself() -> None:
    place = Place(go_snapshot())
    ctx = build_context(place.snapshot, Settings().context)
    rules = Rules([Broken(), Rule()])
    assert rules.answer(place) is None
    assert rules.shape(place, ctx) is ctx
    assert rules.check(place, ctx, "x") == "x"
    assert rules.correct(place, ctx, "x") == "x"


@pytest.mark.skipif("go" not in treesitter.available_languages(), reason="needs Go")
def test_the_go_rule_answers_before_any_model() -> None:
    answer = GoErrors(GoPackages()).answer(Place(go_snapshot()))
    assert answer == Answer("if err != nil {\n\t\treturn nil, err\n\t}")


@pytest.mark.skipif("go" not in treesitter.available_languages(), reason="needs Go")
def test_the_log_rule_asks_for_one_line_and_checks_what_is_shown() -> None:
    text = 'package main\n\nimport "log"\n\nfunc main() {\n\tname := "x"\n\tlog.Printf(\n}\n'
    snap = BufferSnapshot.from_text(text, 6, 12, path="", filetype="go")
    place = Place(snap)
    ctx = build_context(snap, Settings().context)
    rule = LogLines(DefinitionIndex())
    shaped = rule.shape(place, ctx)
    assert not shaped.multiline and shaped.prefix.startswith(ctx.prefix)
    assert rule.check(place, shaped, "") == ""
    # The format's quote is opened in the prompt: the model writes from inside the string.
    assert shaped.middle == ctx.middle + '"'
    assert rule.check(place, shaped, '%s", name)') == '"%s", name)'
    assert rule.check(place, shaped, '%s", nope)') == '"%s"'


def test_explain_shares_the_index_it_is_given() -> None:
    index = DefinitionIndex()
    service = ExplainService(Settings(), lambda event: None, start_worker=False, index=index)
    assert service.index is index
    service.close()
