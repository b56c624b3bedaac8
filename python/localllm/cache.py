"""A small LRU of finished suggestions keyed by the context they were made for.

Coming back to a place (undo, moving the cursor back) shows the suggestion at once, and typing
through a suggestion keeps showing its rest ("type-through lookback"). A suggestion is also
stored under the keys of its context with the first 1..3 prefix lines dropped, so it survives a
small scroll of the context window's start.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from localllm.types import FimContext

__all__ = ["SuggestionCache"]

_PREFIX_DROPS = 3
_PERSON = b"localllm-sugg-v1"  # blake2b personalisation (at most 16 bytes)


def _enc(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _feed(h: hashlib.blake2b, data: bytes | memoryview) -> None:
    """Length-prefixed, so no two different field splits give the same byte stream."""
    h.update(len(data).to_bytes(8, "little"))
    h.update(data)


def _states(ctx: FimContext, drops: int) -> list[hashlib.blake2b]:
    """Hash states over everything but `middle`, for the prefix with 0..`drops` lines dropped.

    The fields go in as filename, header, prefix, line_suffix, suffix, then middle (added by
    `_finish`): `middle` last, so the type-through lookback only re-hashes a short string. The
    prefix is encoded once; a variant is a view on it starting after its k-th newline (a
    newline byte never occurs inside a UTF-8 multi-byte sequence).
    """
    head = hashlib.blake2b(digest_size=16, person=_PERSON)
    _feed(head, _enc(ctx.filename))
    _feed(head, _enc(ctx.header))
    prefix = _enc(ctx.prefix)
    line_suffix = _enc(ctx.line_suffix)
    suffix = _enc(ctx.suffix)
    view = memoryview(prefix)
    out: list[hashlib.blake2b] = []
    start = 0
    for k in range(drops + 1):
        if k:
            nl = prefix.find(b"\n", start)
            if nl < 0:
                break
            start = nl + 1
        h = head.copy()
        _feed(h, view[start:])
        _feed(h, line_suffix)
        _feed(h, suffix)
        out.append(h)
    return out


def _finish(state: hashlib.blake2b, middle: str) -> str:
    h = state.copy()
    _feed(h, _enc(middle))
    return h.hexdigest()


class SuggestionCache:
    """Thread-safe LRU: context key -> finished suggestion text (never empty)."""

    def __init__(self, max_entries: int = 250) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self._max = max_entries
        self._data: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, ctx: FimContext) -> str:
        """blake2b-128 hex digest over filename, header, prefix, middle, line_suffix, suffix."""
        return _finish(_states(ctx, 0)[0], ctx.middle)

    def put(self, ctx: FimContext, text: str) -> None:
        """Remember `text` for `ctx` (and for `ctx` with its first 1..3 prefix lines dropped)."""
        if not text:
            return
        keys = [_finish(s, ctx.middle) for s in _states(ctx, _PREFIX_DROPS)]
        with self._lock:
            # The exact key goes in last so that it is the most recently used.
            for k in reversed(keys):
                self._data[k] = text
                self._data.move_to_end(k)
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    def get(self, ctx: FimContext, *, lookback: int = 64) -> str | None:
        """The suggestion for `ctx`, or None.

        Tried in order: the exact context; the context with its first 1..3 prefix lines dropped;
        then type-through: the context as it was k = 1..`lookback` characters ago on this line
        (`middle` without its last k characters), when the suggestion cached there starts with
        exactly those k characters and is longer -- its rest is returned.
        """
        states = _states(ctx, _PREFIX_DROPS)
        middle = ctx.middle
        candidates: list[tuple[str, int]] = [(_finish(s, middle), 0) for s in states]
        for k in range(1, min(max(lookback, 0), len(middle)) + 1):
            candidates.append((_finish(states[0], middle[:-k]), k))
        with self._lock:
            for key, k in candidates:
                text = self._data.get(key)
                if text is None:
                    continue
                if k:
                    typed = middle[-k:]
                    if len(text) <= k or not text.startswith(typed):
                        continue
                self._data.move_to_end(key)
                return text[k:]
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
