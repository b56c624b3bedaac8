"""The ring of recent activity: queued, promoted at quiet moments, deduplicated, bounded."""

from __future__ import annotations

from localllm.ring import ActivityRing, similarity, words_of

A = "func Load(id string) (*Record, error) {\n\treturn s.db.Get(id)\n}"
B = "type Record struct {\n\tID   string\n\tName string\n}"
C = "const MaxRecords = 100 // records kept in memory at most"


def test_chunks_join_the_ring_only_when_promoted() -> None:
    ring = ActivityRing()
    assert ring.add("a.go", A, "edit")
    assert ring.chunks() == ()
    assert ring.pending() == 1
    assert ring.promote() is True
    assert ring.chunks() == (("a.go", A),)
    assert ring.promote() is False  # nothing new: the prompt start stays the same


def test_oldest_first_and_bounded_by_count_and_budget() -> None:
    ring = ActivityRing(max_chunks=2)
    ring.add("a.go", A, "edit")
    ring.add("b.go", B, "yank")
    ring.add("c.go", C, "buffer")
    ring.promote()
    assert [p for p, _ in ring.chunks()] == ["b.go", "c.go"]
    small = ActivityRing(budget_chars=len(B) + len(C))
    for path, text in (("a.go", A), ("b.go", B), ("c.go", C)):
        small.add(path, text, "edit")
    small.promote()
    assert [p for p, _ in small.chunks()] == ["b.go", "c.go"]


def test_a_nearly_identical_chunk_replaces_the_old_one() -> None:
    ring = ActivityRing()
    ring.add("a.go", A, "edit")
    ring.promote()
    ring.add("b.go", B, "edit")
    ring.add("a.go", A + "\n", "save")  # the same words again
    ring.promote()
    assert ring.chunks() == (("b.go", B), ("a.go", A))


def test_chunks_that_repeat_the_text_around_the_cursor_are_dropped() -> None:
    ring = ActivityRing()
    ring.add("a.go", A, "edit")
    ring.add("b.go", B, "edit")
    ring.promote(near_cursor="func Load(id string) (*Record, error) {\n\treturn s.db.Get(id)")
    assert [p for p, _ in ring.chunks()] == ["b.go"]


def test_empty_or_tiny_chunks_and_long_ones() -> None:
    ring = ActivityRing(chunk_lines=3)
    assert not ring.add("a.go", "\n\n  \n", "edit")
    assert not ring.add("a.go", "x = 1", "edit")
    assert not ring.add("", A, "edit")
    long_text = "\n".join(f"line number {i} of the file" for i in range(10))
    assert ring.add("b.go", "\n\n" + long_text, "yank")
    ring.promote()
    assert ring.chunks()[0][1].split("\n") == [f"line number {i} of the file" for i in range(3)]


def test_similarity() -> None:
    assert similarity(words_of(A), words_of(A)) == 1.0
    assert similarity(words_of(A), words_of(C)) < 0.2
    assert similarity(frozenset(), frozenset()) == 1.0
