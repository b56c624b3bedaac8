"""The Go error rule: the `if err != nil` block before any model, and our zero values in the
error returns of a model's suggestion."""

from __future__ import annotations

from functools import partial

from ... import treesitter, utf8
from ...types import FimContext
from ..base import Answer, Place, Question, Rule
from .packages import GoPackages
from .returns import correct_returns, expected_returns
from .suggest import ErrCheck, clean_message, suggest


class GoErrors(Rule):
    name = "go_errors"

    def __init__(self, packages: GoPackages) -> None:
        self.packages = packages

    def answer(self, place: Place) -> Answer | None:
        """The `if err != nil` block at the cursor, when one belongs there. In a file that
        wraps its errors the model is asked for the message alone; the returns stay ours."""
        snap = place.snapshot
        if treesitter.language_for(snap.filetype, snap.path) != "go":
            return None
        before, after = utf8.split_at_byte(snap.cursor_line, snap.col)
        if after.strip():
            return None
        doc = place.document
        if doc.whole is None and (snap.first_line != 0 or len(snap.lines) != snap.line_count):
            return None  # the function around the cursor may be out of sight
        check = suggest(
            doc.buffer_text,
            doc.buffer_row,
            before,
            after,
            snap.indent,
            path=snap.path,
            packages=self.packages,
            tree_of=doc.buffer_tree_of(),
        )
        if check is None:
            return None
        if not check.message_prefix:
            return Answer(check.text)
        return Answer(
            check.text, Question(check.message_prefix, 24, ('"', "\n"), partial(_finish, check))
        )

    def correct(self, place: Place, ctx: FimContext, text: str) -> str:
        """A suggestion's error returns give the zero values we know to be right."""
        if ctx.language != "go" or "return" not in text:
            return text
        snap, doc = place.snapshot, place.document
        expected = expected_returns(
            doc.buffer_text,
            doc.buffer_row,
            snap.col,
            path=snap.path,
            packages=self.packages,
            tree_of=doc.buffer_tree_of(),
        )
        return text if expected is None else correct_returns(text, *expected)


def _finish(check: ErrCheck, raw: str, cut_off: bool) -> str | None:
    """The block with the model's message, or None (keep the guessed one)."""
    if cut_off and '"' not in raw:
        return None  # cut off before the message ended
    message = clean_message(raw, check.message_suffix)
    return check.with_message(message).text if message else None
