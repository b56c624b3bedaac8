"""Recent activity for the prompt: edited regions, yanked text, the buffers the user left.

New chunks wait in a queue and join the ring only at quiet moments (`promote()`: leaving insert
mode, the cursor resting), so the start of the prompt, where these chunks go, changes rarely and
the model's KV cache stays valid while the user types. A chunk that is nearly the same as one
already kept replaces it; when the ring is full the oldest goes. At promotion, chunks that mostly
repeat the text around the cursor are dropped: the model sees that text anyway, and repeating it
makes small models copy it. Pure and thread-safe.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

__all__ = ["ActivityRing", "Chunk", "similarity"]

_WORD = re.compile(r"\w+")
SAME = 0.9  # a new chunk this similar to a kept one replaces it
REPEATS_CURSOR = 0.5  # a chunk this similar to the text around the cursor is dropped


@dataclass(frozen=True, slots=True)
class Chunk:
    path: str  # as the prompt names it
    text: str
    kind: str  # "edit" | "yank" | "buffer" | "save"
    words: frozenset[str]
    source: str = ""  # the editor's path of the file it came from (for drop())


def words_of(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Dice coefficient of two word sets (1.0: the same words)."""
    if not a and not b:
        return 1.0
    return 2 * len(a & b) / (len(a) + len(b))


class ActivityRing:
    def __init__(self, max_chunks: int = 8, budget_chars: int = 1500, chunk_lines: int = 32):
        self.max_chunks = max_chunks
        self.budget_chars = budget_chars
        self.chunk_lines = chunk_lines
        self._queue: list[Chunk] = []
        self._ring: list[Chunk] = []
        self._lock = threading.Lock()

    def add(self, path: str, text: str, kind: str, source: str = "") -> bool:
        """Queue a chunk (cut to `chunk_lines` lines); False when it carries nothing. `source`
        is the file's own path when `path` is a display name (drop() finds it by either)."""
        lines = [line.rstrip() for line in text.split("\n")]
        while lines and not lines[-1]:
            lines.pop()
        while lines and not lines[0]:
            lines.pop(0)
        lines = lines[: self.chunk_lines]
        body = "\n".join(lines)
        words = words_of(body)
        if len(words) < 3 or not path:
            return False
        chunk = Chunk(path, body[: self.budget_chars], kind, words, source or path)
        with self._lock:
            self._queue = [c for c in self._queue if similarity(c.words, words) <= SAME]
            self._queue.append(chunk)
            del self._queue[: -self.max_chunks]
        return True

    def promote(self, near_cursor: str = "") -> bool:
        """Move queued chunks into the ring; returns whether the ring changed."""
        near = words_of(near_cursor)
        with self._lock:
            before = list(self._ring)
            ring = list(self._ring)
            for chunk in self._queue:
                ring = [c for c in ring if similarity(c.words, chunk.words) <= SAME]
                ring.append(chunk)
            self._queue = []
            if near:
                ring = [c for c in ring if similarity(c.words, near) <= REPEATS_CURSOR]
            ring = ring[-self.max_chunks :]
            # Oldest go first when over the character budget.
            while ring and sum(len(c.text) for c in ring) > self.budget_chars:
                ring.pop(0)
            self._ring = ring
            return ring != before

    def chunks(self) -> tuple[tuple[str, str], ...]:
        """The ring, oldest first: (path, text) for FimContext.extra."""
        with self._lock:
            return tuple((c.path, c.text) for c in self._ring)

    def queued_paths(self) -> list[str]:
        """The paths of the chunks waiting for the next promotion."""
        with self._lock:
            return [c.path for c in self._queue]

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def drop(self, paths: set[str]) -> int:
        """Forget every chunk, queued or in the ring, from one of `paths` (a buffer that must not
        be sent any more); returns how many went."""
        with self._lock:
            before = len(self._queue) + len(self._ring)
            self._queue = [c for c in self._queue if c.source not in paths and c.path not in paths]
            self._ring = [c for c in self._ring if c.source not in paths and c.path not in paths]
            return before - len(self._queue) - len(self._ring)

    def clear(self) -> None:
        with self._lock:
            self._queue, self._ring = [], []
