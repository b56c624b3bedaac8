"""TEMPORARY: the tree of a buffer's text cached by a string key, for callers that do not take
a `localllm.document.Document` yet (definitions, goerr, loglines, and build_context() when the
engine passes no document). Delete it once they take `doc.tree`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from tree_sitter import Tree

from .grammars import _parse_locks, describe_edit, get_parser

_lock = threading.Lock()

_last_trees: OrderedDict[tuple[str, str], tuple[bytes, Tree]] = OrderedDict()
_MAX_TREES = 16


def parse_text(lang: str, data: bytes, key: str = "", via: Sequence[bytes] = ()) -> Tree | None:
    """The tree of a buffer's text, reparsed incrementally from the last text of that buffer.

    `key` names the buffer (its path). Successive requests differ by a keystroke, so this
    costs a fraction of a full parse, and every user of the same text (analyze(), the
    definitions) shares one tree. Callers must not edit the returned tree.

    `via` are texts the last one became on its way to `data`, when the caller knows them: the
    change then is several small edits rather than one span from the first to the last (a
    line blanked at one place and restored at another, far away).
    """
    parser = get_parser(lang)
    if parser is None:
        return None
    with _parse_locks[lang]:
        slot = (lang, key)
        with _lock:
            last = _last_trees.get(slot)
        if last is not None and last[0] == data:
            return last[1]
        if last is None:
            tree = parser.parse(data)
        else:
            old = last[1].copy()  # the cached tree stays as it is: readers may hold it
            before = last[0]
            for after in (*via, data):
                if after != before:
                    describe_edit(old, before, after)
                    before = after
            tree = parser.parse(data, old)
        with _lock:
            _last_trees[slot] = (data, tree)
            _last_trees.move_to_end(slot)
            while len(_last_trees) > _MAX_TREES:
                _last_trees.popitem(last=False)
        return tree
