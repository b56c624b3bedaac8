"""The suggestion cache (localllm.cache)."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from localllm.cache import SuggestionCache
from localllm.types import FimContext, IndentStyle

CURSOR = "<C>"


def ctx_at(
    buffer: str, *, filename: str = "main.go", header: str = "", language: str = "go"
) -> FimContext:
    """A FimContext for `buffer`, whose cursor is marked with "<C>"."""
    before, after = buffer.split(CURSOR)
    nl = before.rfind("\n")
    end = after.find("\n")
    line_suffix, suffix = (after, "") if end == -1 else (after[:end], after[end + 1 :])
    following = suffix.split("\n")
    if following and following[-1] == "":
        following.pop()
    return FimContext(
        filename=filename,
        language=language,
        header=header,
        prefix=before[: nl + 1],
        middle=before[nl + 1 :],
        line_suffix=line_suffix,
        suffix=suffix,
        multiline=True,
        indent=IndentStyle(use_tabs=True),
        next_lines=tuple(following),
    )


PREFIX = 'package main\n\nimport "fmt"\n\nfunc main() {\n'
HERE = ctx_at(PREFIX + "\tfmt.<C>\n}\n")


def test_exact_hit_and_miss() -> None:
    cache = SuggestionCache()
    assert cache.get(HERE) is None
    cache.put(HERE, 'Println("hi")')
    assert cache.get(HERE) == 'Println("hi")'
    # an equal context built separately hits as well
    assert cache.get(ctx_at(PREFIX + "\tfmt.<C>\n}\n")) == 'Println("hi")'
    assert cache.get(ctx_at(PREFIX + "\tlog.<C>\n}\n")) is None
    assert cache.get(ctx_at(PREFIX + "\tfmt.<C>\n}\n// end\n")) is None
    assert cache.get(replace(HERE, filename="other.go")) is None
    assert cache.get(replace(HERE, header="// header\n")) is None


def test_put_overwrites() -> None:
    cache = SuggestionCache()
    cache.put(HERE, "Println(1)")
    cache.put(HERE, "Println(2)")
    assert cache.get(HERE) == "Println(2)"


def test_empty_text_never_stored() -> None:
    cache = SuggestionCache()
    cache.put(HERE, "")
    assert len(cache) == 0
    assert cache.get(HERE) is None


def test_key_format_and_stability() -> None:
    cache = SuggestionCache()
    key = cache.key(HERE)
    assert len(key) == 32
    int(key, 16)
    assert key == SuggestionCache().key(ctx_at(PREFIX + "\tfmt.<C>\n}\n"))
    # fields that are not part of the text do not matter
    assert key == cache.key(replace(HERE, multiline=False, language=None))


def _fields(ctx: FimContext) -> tuple[str, ...]:
    return (ctx.filename, ctx.header, ctx.prefix, ctx.middle, ctx.line_suffix, ctx.suffix)


def test_no_collision_between_splits_of_the_same_text() -> None:
    cache = SuggestionCache()
    base = FimContext(
        filename="a.go",
        language="go",
        header="h\n",
        prefix="p1\np2\n",
        middle="mid",
        line_suffix="ls",
        suffix="s1\n",
        multiline=True,
        indent=IndentStyle(),
    )
    variants = [
        base,
        replace(base, filename="a.goh\n", header=""),
        replace(base, filename="a.", header="goh\n"),
        replace(base, header="h\np1\n", prefix="p2\n"),
        replace(base, prefix="p1\np2\nm", middle="id"),
        replace(base, middle="midls", line_suffix=""),
        replace(base, middle="mi", line_suffix="dls"),
        replace(base, line_suffix="lss1\n", suffix=""),
        replace(base, line_suffix="", suffix="lss1\n"),
        replace(base, header="", prefix="h\np1\np2\n"),
    ]
    joined = {"".join(_fields(v)) for v in variants}
    assert len(joined) == 1  # the same text, split differently
    keys = {cache.key(v) for v in variants}
    assert len(keys) == len(variants)
    cache.put(base, "X")
    for v in variants[1:]:
        assert cache.get(v, lookback=0) is None


def test_lru_eviction() -> None:
    cache = SuggestionCache(max_entries=3)
    ctxs = [ctx_at(f"x{i} := <C>") for i in range(5)]  # no prefix lines: one key per put
    for i, c in enumerate(ctxs[:3]):
        cache.put(c, f"v{i}")
    assert len(cache) == 3
    assert cache.get(ctxs[0]) == "v0"  # now the most recently used
    cache.put(ctxs[3], "v3")
    assert len(cache) == 3
    assert cache.get(ctxs[1]) is None  # the least recently used went first
    assert cache.get(ctxs[0]) == "v0"
    assert cache.get(ctxs[2]) == "v2"
    assert cache.get(ctxs[3]) == "v3"
    cache.put(ctxs[4], "v4")
    assert cache.get(ctxs[0]) is None
    assert len(cache) == 3


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SuggestionCache(max_entries=0)


def test_clear() -> None:
    cache = SuggestionCache()
    cache.put(HERE, "Println()")
    assert len(cache) > 0
    cache.clear()
    assert len(cache) == 0
    assert cache.get(HERE) is None


def test_type_through_lookback() -> None:
    cache = SuggestionCache()
    cache.put(HERE, 'Println("hi")')
    assert cache.get(ctx_at(PREFIX + "\tfmt.P<C>\n}\n")) == 'rintln("hi")'
    assert cache.get(ctx_at(PREFIX + '\tfmt.Println("h<C>\n}\n')) == 'i")'
    # typed something else: no hit
    assert cache.get(ctx_at(PREFIX + "\tfmt.S<C>\n}\n")) is None
    # typed the whole suggestion: nothing left to show
    assert cache.get(ctx_at(PREFIX + '\tfmt.Println("hi")<C>\n}\n')) is None
    # the rest of the line must be unchanged
    assert cache.get(ctx_at(PREFIX + "\tfmt.P<C>)\n}\n")) is None


def test_lookback_limit() -> None:
    cache = SuggestionCache()
    cache.put(HERE, 'Println("hello, world")')
    far = ctx_at(PREFIX + '\tfmt.Println("hello<C>\n}\n')  # 14 characters typed
    assert cache.get(far, lookback=13) is None
    assert cache.get(far, lookback=14) == ', world")'
    assert cache.get(far, lookback=0) is None


def test_lookback_never_crosses_the_line_start() -> None:
    cache = SuggestionCache()
    # a suggestion made at the end of a line that starts a new line
    cache.put(ctx_at("x := 1<C>"), "\ny := 2")
    # after typing Enter and "y" the cursor is on the next line: no lookback across the newline
    assert cache.get(ctx_at("x := 1\ny<C>"), lookback=64) is None
    # at the start of a line the lookback finds the suggestion made there
    cache.put(ctx_at("x := 1\n<C>"), "y := 2")
    assert cache.get(ctx_at("x := 1\ny<C>")) == " := 2"
    # a middle shorter than the lookback is fine
    assert cache.get(ctx_at("x := 1\nq<C>"), lookback=1000) is None


def test_prefix_lines_dropped_variants_on_put() -> None:
    cache = SuggestionCache()
    cache.put(HERE, "Println()")
    lines = HERE.prefix.splitlines(keepends=True)
    for k in (1, 2, 3):
        scrolled = replace(HERE, prefix="".join(lines[k:]))
        assert cache.get(scrolled, lookback=0) == "Println()", k
    scrolled4 = replace(HERE, prefix="".join(lines[4:]))
    assert cache.get(scrolled4, lookback=0) is None
    # one put stores the exact key and three variants
    assert len(cache) == 4


def test_prefix_lines_dropped_variants_on_get() -> None:
    cache = SuggestionCache()
    cache.put(HERE, "Println()")
    for extra in ("// a\n", "// a\n// b\n", "// a\n// b\n// c\n"):
        wider = replace(HERE, prefix=extra + HERE.prefix)
        assert cache.get(wider) == "Println()", extra
    assert cache.get(replace(HERE, prefix="1\n2\n3\n4\n" + HERE.prefix)) is None
    # a changed first line of the window is tolerated too
    changed = replace(HERE, prefix="// moved\n" + HERE.prefix.split("\n", 1)[1])
    assert cache.get(changed) == "Println()"


def test_short_prefix_variants() -> None:
    cache = SuggestionCache()
    one = ctx_at("func f() {\n\t<C>\n}\n")
    cache.put(one, "return")
    assert len(cache) == 2  # exact + prefix with its only line dropped
    assert cache.get(replace(one, prefix="")) == "return"


def test_get_refreshes_recency_of_variant_hits() -> None:
    cache = SuggestionCache(max_entries=2)
    a, b, c = (ctx_at(f"v{i} := <C>") for i in range(3))
    cache.put(a, "1")
    cache.put(b, "2")
    assert cache.get(ctx_at("v0 := 1<C>")) is None  # typed everything: no hit, no refresh
    assert cache.get(ctx_at("v0 := <C>")) == "1"
    cache.put(c, "3")
    assert cache.get(b) is None
    assert cache.get(a) == "1"


def test_unicode_and_surrogates() -> None:
    cache = SuggestionCache()
    ctx = ctx_at('s := "héllo wörld 日本"\n// \ud800\nx := <C>')
    cache.put(ctx, '"ü"')
    assert cache.get(ctx) == '"ü"'
    assert cache.get(replace(ctx, middle='x := "')) == 'ü"'


def test_thread_safety_smoke() -> None:
    cache = SuggestionCache(max_entries=50)
    errors: list[BaseException] = []
    contexts = [ctx_at(f"line{i}\nfunc f{i}() {{\n\tx{i} := <C>\n}}\n") for i in range(40)]

    def worker(seed: int) -> None:
        try:
            for n in range(400):
                c = contexts[(seed * 7 + n) % len(contexts)]
                if n % 3 == 0:
                    cache.put(c, f"value{c.middle}")
                else:
                    got = cache.get(c)
                    assert got is None or got == f"value{c.middle}"
                if n % 97 == 0:
                    assert len(cache) <= 50
                if seed == 0 and n == 200:
                    cache.clear()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(cache) <= 50
    cache.put(contexts[0], "final")
    assert cache.get(contexts[0]) == "final"
