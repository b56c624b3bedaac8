"""Go error checks against the corpus in tests/fixtures/goerr (written for the tests).

Every `if err != nil { ... }` block right after the statement that assigns err is taken out,
the cursor put on the empty line in its place, and the suggestion must be the block the author
wrote, character for character (in `wrap/`, whatever the message). Blocks marked `// nonzero`
do something our rules do not guess (`return -1, err`, logging first) and are left out; so are
the testify lines, which are checked on their own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from localllm import treesitter
from localllm.rules import go_errors
from localllm.rules.go_errors import GoPackages
from localllm.types import IndentStyle

CORPUS = Path(__file__).parent / "fixtures" / "goerr"
TABS = IndentStyle(use_tabs=True, width=8, tabstop=8)
MESSAGE = re.compile(r'fmt\.Errorf\("[^"]*: %w"(, [^()\n]*)?, err\)')

pytestmark = pytest.mark.skipif(
    "go" not in treesitter.available_languages(), reason="needs the Go grammar"
)


def _assigns_err(text: str) -> bool:
    head = text.split("\n", 1)[0]
    return bool(re.search(r"\berr\b[^=]*(:=|=)", head)) or head.lstrip().startswith("var ")


def blocks(path: Path) -> list[tuple[int, int]]:
    """(first row, last row) of each error check right after an assignment of err."""
    data = path.read_bytes()
    parser = treesitter.get_parser("go")
    assert parser is not None
    tree = parser.parse(data)
    assert not tree.root_node.has_error, path
    found = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.named_children)
        if node.type != "if_statement" or node.child_by_field_name("initializer") is not None:
            continue
        condition = node.child_by_field_name("condition")
        previous = node.prev_named_sibling
        if (
            condition is None
            or condition.text != b"err != nil"
            or previous is None
            or previous.end_point.row != node.start_point.row - 1
            or not _assigns_err((previous.text or b"").decode())
        ):
            continue
        found.append((node.start_point.row, node.end_point.row))
    return sorted(found)


def cases() -> list[tuple[Path, int, int]]:
    out = []
    for path in sorted(CORPUS.rglob("*.go")):
        lines = path.read_text().split("\n")
        for first, last in blocks(path):
            if "// nonzero" not in "\n".join(lines[first : last + 1]):
                out.append((path, first, last))
    return out


CASES = cases()
PACKAGES = GoPackages()


def test_the_corpus_is_broad() -> None:
    assert len(CASES) >= 500
    assert len({path.parent for path, _, _ in CASES}) >= 8


@pytest.mark.parametrize(
    ("path", "first", "last"),
    CASES,
    ids=[f"{p.relative_to(CORPUS)}:{first + 1}" for p, first, _ in CASES],
)
def test_the_block_the_author_wrote(path: Path, first: int, last: int) -> None:
    lines = path.read_text().split("\n")
    indentation = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
    edited = "\n".join([*lines[:first], indentation, *lines[last + 1 :]])
    check = go_errors.suggest(
        edited, first, indentation, "", TABS, path=str(path), packages=PACKAGES
    )
    assert check is not None
    expected = "\n".join(lines[first : last + 1])[len(indentation) :]
    if path.parent.name == "wrap":
        expected = MESSAGE.sub("fmt.Errorf(MESSAGE)", expected)
        got = MESSAGE.sub("fmt.Errorf(MESSAGE)", check.text)
    else:
        got = check.text
    assert got == expected


def test_testify_lines() -> None:
    path = CORPUS / "store" / "store_test.go"
    lines = path.read_text().split("\n")
    rows = [i for i, line in enumerate(lines) if line.strip() == "require.NoError(t, err)"]
    assert len(rows) >= 10
    for row in rows:
        if not _assigns_err(lines[row - 1]):
            continue
        indentation = lines[row][: len(lines[row]) - len(lines[row].lstrip())]
        edited = "\n".join([*lines[:row], indentation, *lines[row + 1 :]])
        check = go_errors.suggest(edited, row, indentation, "", TABS, path=str(path))
        assert check is not None and check.kind == "noerror", row + 1
        assert check.text == "require.NoError(t, err)"
