"""What a rule is: the stages of a completion request it may take part in.

Every stage is optional (the base class passes everything through):

- `answer(place)`: a suggestion before any model is asked (an `Answer`), or None. An answer
  may leave a short piece to the model (`Answer.question`).
- `shape(place, ctx)`: the prompt, changed (what the model should know, a single line).
- `check(place, ctx, text)`: a partial suggestion -> the text that may be shown of it.
- `correct(place, ctx, text)`: the final suggestion, corrected.

`Place` is one request's place, with its Document (the buffer's text and trees, parsed once
for every rule); a rule keeps what it found for its later stages in `place.notes[rule.name]`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..document import Document
from ..types import BufferSnapshot, FimContext


class Place:
    """Where a suggestion is asked: the editor's snapshot and this request's Document of the
    buffer (one made from the snapshot alone when none is given)."""

    __slots__ = ("document", "notes", "snapshot")

    def __init__(self, snapshot: BufferSnapshot, document: Document | None = None) -> None:
        self.snapshot = snapshot
        self.document = document if document is not None else Document.of_snapshot(snapshot)
        self.notes: dict[str, object] = {}


@dataclass(frozen=True, slots=True)
class Question:
    """The piece of an answer the model writes: it continues from the answer's text up to
    `prefix` (as if the user had typed it), at most `n_predict` tokens, up to one of `stop`.
    `finish(raw, cut_off)` gives the final text, or None to keep the answer as it is."""

    prefix: str
    n_predict: int
    stop: tuple[str, ...]
    finish: Callable[[str, bool], str | None]


@dataclass(frozen=True, slots=True)
class Answer:
    """A rule's suggestion, shown at once (final unless a question follows)."""

    text: str
    question: Question | None = None


class Rule:
    """A rule takes part in the stages it overrides; the rest pass through."""

    name = "rule"

    def answer(self, place: Place) -> Answer | None:
        return None

    def shape(self, place: Place, ctx: FimContext) -> FimContext:
        return ctx

    def check(self, place: Place, ctx: FimContext, text: str) -> str:
        return text

    def correct(self, place: Place, ctx: FimContext, text: str) -> str:
        return text
