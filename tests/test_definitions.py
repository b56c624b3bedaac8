"""Tests for localllm.definitions on real source written for them: a Go package with sibling
files (and files that must not count), and a Python folder of modules.

A `‸` in a snippet marks the cursor; `split_cursor()` removes it and turns its place into the
(row, byte column) pair that Neovim would report.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from tree_sitter import Parser

from localllm import treesitter
from localllm.definitions import (
    MAX_LINES,
    Definition,
    DefinitionIndex,
    identifiers_near,
    relevant_definitions,
)
from localllm.definitions import index as defs_index
from localllm.definitions import scope as defs_scope

CURSOR = "‸"

pytestmark = pytest.mark.skipif(
    not {"go", "python"} <= set(treesitter.available_languages()),
    reason="needs the Go and Python grammars",
)


def split_cursor(src: str) -> tuple[str, int, int]:
    assert src.count(CURSOR) == 1, "mark exactly one cursor"
    before, after = src.split(CURSOR)
    row = before.count("\n")
    col = len(before.rsplit("\n", 1)[-1].encode("utf-8"))
    return before + after, row, col


def names(found: list[Definition]) -> list[str]:
    return [d.name for d in found]


def by_name(found: list[Definition], name: str) -> Definition:
    matches = [d for d in found if d.name == name]
    assert len(matches) == 1, (name, names(found))
    return matches[0]


def rewrite(path: Path, text: str) -> None:
    """Write `text` and make sure the file's mtime differs from the one it had."""
    old = path.stat().st_mtime_ns
    path.write_text(text)
    new = path.stat().st_mtime_ns
    if new == old:
        os.utime(path, ns=(old + 1_000_000_000, old + 1_000_000_000))


# --------------------------------------------------------------------------------------------
# A Go package

TYPES_GO = """\
package shop

import "time"

// Config holds the settings of a shop.
type Config struct {
	Name    string
	Timeout time.Duration
}

type Kind int

const (
	KindBook Kind = iota
	KindGame
	KindFood
)

const MaxItems = 100

// count is shadowed by locals in the current file.
var count = 0

// Stack is a generic stack.
type Stack[T any] struct {
	items []T
}

func (s *Stack[T]) Push(v T) {
	s.items = append(s.items, v) // BODY_OF_PUSH
}

type Store interface {
	Get(id string) (*Item, error)
	Put(item *Item) error
}

type Item struct {
	ID   string
	Kind Kind
}
"""

HELPERS_GO = """\
package shop

import "strings"

// normalize cleans a name.
func normalize(name string) string {
	name = strings.TrimSpace(name) // BODY_OF_NORMALIZE
	return strings.ToLower(name)
}

func (c *Config) Validate() error {
	if c.Name == "" { // BODY_OF_VALIDATE
		return nil
	}
	return nil
}
"""

SHOP_TEST_GO = """\
package shop

func helperForTests() int { return 1 }
"""

# A generator next to the package: another package clause, a clashing name.
GEN_GO = """\
//go:build ignore

package main

func normalize(x int) int { return x * 2 }

func Generated() {}
"""

CMD_MAIN_GO = """\
package main

func Secret() {}
"""

CURRENT_GO = """\
package shop

import (
	"fmt"
)

// localHelper lives far above the cursor in the current file.
func localHelper(x int) int {
	return x + 1
}

func build(names []string, limit int) *Stack[Item] {
	cfg := Config{Name: "x", Timeout: 3}
	if err := cfg.Validate(); err != nil {
		fmt.Println(err)
	}
	count := 0
	st := &Stack[Item]{}
	for _, n := range names {
		if len(st.items) >= MaxItems || count > limit {
			break
		}
		count++
		st.Push(Item{ID: normalize(n), Kind: KindGame})
		_ = localHelper(count)‸
	}
	return st
}
"""


@pytest.fixture()
def go_pkg(tmp_path: Path) -> Path:
    pkg = tmp_path / "shop"
    (pkg / "cmd").mkdir(parents=True)
    (pkg / "types.go").write_text(TYPES_GO)
    (pkg / "helpers.go").write_text(HELPERS_GO)
    (pkg / "shop_test.go").write_text(SHOP_TEST_GO)
    (pkg / "gen.go").write_text(GEN_GO)
    (pkg / "cmd" / "main.go").write_text(CMD_MAIN_GO)
    text, _row, _col = split_cursor(CURRENT_GO)
    (pkg / "current.go").write_text(text)
    return pkg


def go_relevant(
    pkg: Path, index: DefinitionIndex | None = None, **kwargs: int
) -> tuple[list[Definition], list[Definition]]:
    text, row, col = split_cursor(CURRENT_GO)
    return relevant_definitions(
        text, row, col, "go", str(pkg / "current.go"), index or DefinitionIndex(), **kwargs
    )


def test_go_identifiers_near_cursor_first_without_builtins_locals_or_packages() -> None:
    text, row, col = split_cursor(CURRENT_GO)
    found = identifiers_near(text, row, col, "go")
    # Nearest the cursor first: the cursor line, then the line above it, ...
    assert found[:4] == ["localHelper", "Push", "Item", "normalize"]
    for expected in ("KindGame", "MaxItems", "Stack", "Validate", "Config", "items"):
        assert expected in found
    assert len(found) == len(set(found))
    # Builtins, parameters, locals, imported packages and what they qualify are not reported.
    for absent in ("len", "string", "int", "nil", "err", "st", "n", "names", "limit", "count"):
        assert absent not in found
    assert "fmt" not in found and "Println" not in found
    # Struct literal keys are field names, not identifiers to look up.
    assert "Name" not in found and "Timeout" not in found and "ID" not in found


def test_go_definitions_from_sibling_files(go_pkg: Path) -> None:
    same, other = go_relevant(go_pkg, budget_chars=10_000, window_start_row=12)
    assert names(same) == ["localHelper"]
    assert same[0].path == str(go_pkg / "current.go")
    assert same[0].text == "func localHelper(x int) int { ... }"

    got = {d.name: d for d in other}
    # A struct used in a composite literal: the whole type.
    config = got["Config"]
    assert config.kind == "type"
    assert config.path == str(go_pkg / "types.go")
    assert config.row == 5
    assert config.text == "type Config struct {\n\tName    string\n\tTimeout time.Duration\n}"
    # A function called: its signature, not its body.
    normalize = got["normalize"]
    assert normalize.kind == "func"
    assert normalize.path == str(go_pkg / "helpers.go")
    assert normalize.text == "func normalize(name string) string { ... }"
    # A method called through a selector on a typed variable, with its receiver.
    push = got["Push"]
    assert (push.kind, push.owner) == ("method", "Stack")
    assert push.text == "func (s *Stack[T]) Push(v T) { ... }"
    validate = got["Validate"]
    assert (validate.kind, validate.owner) == ("method", "Config")
    assert validate.text == "func (c *Config) Validate() error { ... }"
    # Constants: a const block stays whole (iota), a single const too.
    assert got["KindGame"].kind == "const"
    assert got["KindGame"].text == "const (\n\tKindBook Kind = iota\n\tKindGame\n\tKindFood\n)"
    assert got["MaxItems"].text == "const MaxItems = 100"
    # A generic type, with its type parameters.
    assert got["Stack"].text == "type Stack[T any] struct {\n\titems []T\n}"
    assert got["Item"].kind == "type"
    # Bodies never come along.
    for definition in [*same, *other]:
        assert "BODY_OF" not in definition.text
        assert definition.text.count("\n") < MAX_LINES


def test_go_order_follows_the_identifiers(go_pkg: Path) -> None:
    _same, other = go_relevant(go_pkg, budget_chars=10_000)
    # Nearest use first. Stack comes with `st.items` (the type with a field `items`), before
    # MaxItems and the later use of its own name.
    assert names(other) == [
        "Push",
        "Item",
        "normalize",
        "KindGame",
        "Stack",
        "MaxItems",
        "Validate",
        "Config",
    ]


def test_go_siblings_of_the_same_package_only(go_pkg: Path) -> None:
    index = DefinitionIndex()
    folder = index.definitions_in_folder(str(go_pkg), "go", exclude=str(go_pkg / "current.go"))
    assert {"Config", "normalize", "Push", "Validate", "KindGame", "count"} <= set(folder)
    # Not the test file, not the generator of another package, not a subfolder, not itself.
    for absent in ("helperForTests", "Generated", "Secret", "build", "localHelper"):
        assert absent not in folder
    assert [d.path for d in folder["normalize"]] == [str(go_pkg / "helpers.go")]

    # From a test file of the package, the package's test files count too.
    tests = index.definitions_in_folder(str(go_pkg), "go", exclude=str(go_pkg / "x_test.go"))
    assert "helperForTests" in tests and "Config" in tests
    # An explicit package clause picks the files of that package.
    main = index.definitions_in_folder(str(go_pkg), "go", exclude="", package="main")
    assert set(main) == {"normalize", "Generated"}


def test_go_locals_and_params_shadow_package_names(go_pkg: Path) -> None:
    same, other = go_relevant(go_pkg, budget_chars=10_000)
    # `count` is a package-level var in types.go, but a local in the window; `limit` a param.
    assert "count" not in names(same + other)
    assert "limit" not in names(same + other)


def test_go_same_file_definitions_visible_in_the_prompt_are_left_out(go_pkg: Path) -> None:
    text, row, col = split_cursor(CURRENT_GO)
    index = DefinitionIndex()
    path = str(go_pkg / "current.go")
    # The prompt window starts above localHelper: the model sees it already.
    same, _other = relevant_definitions(text, row, col, "go", path, index, window_start_row=0)
    assert same == []
    # The window starts below it: it is reported.
    same, _other = relevant_definitions(text, row, col, "go", path, index, window_start_row=12)
    assert names(same) == ["localHelper"]
    # A definition after the window's end is reported too.
    src = CURRENT_GO.replace("_ = localHelper(count)‸", "_ = localHelper(count) + tail()‸")
    text2, row2, col2 = split_cursor(src + "\nfunc tail() int { return 0 }\n")
    same, _other = relevant_definitions(
        text2, row2, col2, "go", path, index, window_start_row=0, window_end_row=row2 + 3
    )
    assert names(same) == ["tail"]
    same, _other = relevant_definitions(
        text2, row2, col2, "go", path, index, window_start_row=0, window_end_row=row2 + 20
    )
    assert same == []


def test_go_budget_is_respected(go_pkg: Path) -> None:
    _same, everything = go_relevant(go_pkg, budget_chars=10_000)
    total = sum(len(d.text) + 1 for d in everything)
    for budget in (0, 40, 100, 200, total // 2, total - 1):
        same, other = go_relevant(go_pkg, budget_chars=budget)
        assert sum(len(d.text) + 1 for d in [*same, *other]) <= budget
        if budget < total:
            assert len(other) < len(everything) or same == []
    assert go_relevant(go_pkg, budget_chars=0) == ([], [])
    # The most relevant definitions come first: a tight budget keeps the nearest ones.
    _same, small = go_relevant(go_pkg, budget_chars=120)
    assert small and small[0].name == "Push"


def test_go_folder_cache_is_reused_and_refreshed_when_a_file_changes(go_pkg: Path) -> None:
    index = DefinitionIndex()
    exclude = str(go_pkg / "current.go")
    first = index.definitions_in_folder(str(go_pkg), "go", exclude=exclude)
    parsed = index.parsed_files
    # types.go, helpers.go, gen.go (its package is read, then left out), and current.go on disk
    # for its package clause.
    assert parsed == 4
    again = index.definitions_in_folder(str(go_pkg), "go", exclude=exclude)
    assert again is first
    assert index.parsed_files == parsed
    # relevant_definitions reuses the same cached files.
    go_relevant(go_pkg, index)
    assert index.parsed_files == parsed

    rewrite(
        go_pkg / "helpers.go",
        HELPERS_GO.replace("func normalize(name string)", "func normalize(name, sep string)")
        + "\nfunc Added() {}\n",
    )
    refreshed = index.definitions_in_folder(str(go_pkg), "go", exclude=exclude)
    assert refreshed is not first
    assert index.parsed_files == parsed + 1  # only the changed file
    assert "Added" in refreshed
    assert refreshed["normalize"][0].text == "func normalize(name, sep string) string { ... }"
    assert refreshed["Config"] == first["Config"]

    # A new file and a deleted one are noticed too.
    (go_pkg / "extra.go").write_text("package shop\n\nconst Extra = 1\n")
    assert "Extra" in index.definitions_in_folder(str(go_pkg), "go", exclude=exclude)
    (go_pkg / "extra.go").unlink()
    assert "Extra" not in index.definitions_in_folder(str(go_pkg), "go", exclude=exclude)


def test_max_files_bounds_the_files_read(go_pkg: Path) -> None:
    for i in range(6):
        (go_pkg / f"more{i}.go").write_text(f"package shop\n\nconst More{i} = {i}\n")
    index = DefinitionIndex(max_files=3)
    found = index.definitions_in_folder(
        str(go_pkg), "go", exclude=str(go_pkg / "current.go"), package="shop"
    )
    assert index.parsed_files == 3
    assert 1 <= len(found) <= 9


def test_definitions_in_text_parses_once_per_text() -> None:
    index = DefinitionIndex()
    text, _row, _col = split_cursor(CURRENT_GO)
    first = index.definitions_in_text(text, "go", "/x/current.go")
    assert index.definitions_in_text(text, "go", "/x/current.go") is first
    assert set(first) == {"localHelper", "build"}
    assert first["build"][0].text == "func build(names []string, limit int) *Stack[Item] { ... }"
    assert first["build"][0].path == "/x/current.go"
    assert first["build"][0].row == 11
    edited = index.definitions_in_text(text + "\ntype Later struct{}\n", "go", "/x/current.go")
    assert edited is not first and "Later" in edited
    assert index.definitions_in_text("", "go") == {}


def test_go_long_definitions_are_cut() -> None:
    fields = "".join(f"\tField{i} int\n" for i in range(60))
    consts = "".join(f"\tCode{i}\n" for i in range(1, 60))
    src = (
        "package big\n\n"
        f"type Big struct {{\n{fields}}}\n\n"
        f"const (\n\tCode0 = iota\n{consts})\n\n"
        "func Long(\n" + "".join(f"\ta{i} int,\n" for i in range(50)) + ") {\n\treturn\n}\n"
    )
    found = DefinitionIndex().definitions_in_text(src, "go", "big.go")
    big = found["Big"][0].text
    assert big.count("\n") + 1 == MAX_LINES
    assert big.startswith("type Big struct {\n\tField0 int\n")
    assert big.endswith("\t// ...\n}")
    code = found["Code42"][0]
    assert code.text == "const (\n\tCode0 = iota\n\t// ...\n\tCode42\n\t// ...\n)"
    assert code.row == src.split("\n").index("\tCode42")
    assert found["Code0"][0].text == "const (\n\tCode0 = iota\n\t// ...\n)"
    long = found["Long"][0].text
    assert long.count("\n") + 1 <= MAX_LINES and "return" not in long


def test_go_grouped_types_and_vars() -> None:
    src = """\
package p

type (
	ID = string
	Pair[K comparable, V any] struct {
		Key K
		Val V
	}
)

var (
	ErrA = errors.New("a")
	x, y = 1, 2
)

type Shape interface{ Area() float64 }
"""
    found = DefinitionIndex().definitions_in_text(src, "go", "p.go")
    assert found["ID"][0].text == "type ID = string"
    assert found["Pair"][0].text == "type Pair[K comparable, V any] struct {\n\tKey K\n\tVal V\n}"
    assert found["Pair"][0].row == 4
    assert found["ErrA"][0].kind == "var"
    assert found["y"][0].text == found["ErrA"][0].text
    assert found["Shape"][0].kind == "type"


def test_go_field_and_interface_method_selectors_find_their_types(tmp_path: Path) -> None:
    (tmp_path / "types.go").write_text(
        "package p\n\ntype Server struct {\n\tcache Cache\n\tTimeout int\n}\n\n"
        "type Cache interface {\n\tLookup(key string) (string, bool)\n}\n"
    )
    src = "package p\n\nfunc handle(s *Server) {\n\tv, ok := s.cache.Lookup(k)‸\n}\n"
    text, row, col = split_cursor(src)
    _same, other = relevant_definitions(
        text, row, col, "go", str(tmp_path / "main.go"), DefinitionIndex()
    )
    assert names(other) == ["Cache", "Server"]


def test_go_generic_function_and_conversion(tmp_path: Path) -> None:
    (tmp_path / "lib.go").write_text(
        "package p\n\nfunc Map[T, U any](xs []T, f func(T) U) []U {\n\treturn nil\n}\n\n"
        "type Celsius float64\n"
    )
    src = "package p\n\nfunc f(xs []int) {\n\tys := Map[int, Celsius](xs, conv)‸\n}\n"
    text, row, col = split_cursor(src)
    _same, other = relevant_definitions(
        text, row, col, "go", str(tmp_path / "main.go"), DefinitionIndex()
    )
    assert names(other) == ["Celsius", "Map"]  # on the cursor's line: the nearest first
    assert other[1].text == "func Map[T, U any](xs []T, f func(T) U) []U { ... }"


def test_broken_go_code_does_not_crash(go_pkg: Path) -> None:
    src = "package shop\n\nfunc f() {\n\tcfg := Config{Name: \n\tst.Push(normalize(‸\n"
    text, row, col = split_cursor(src)
    _same, other = relevant_definitions(
        text, row, col, "go", str(go_pkg / "current.go"), DefinitionIndex()
    )
    assert {"normalize", "Config"} <= set(names(other))


def go_edits() -> list[str]:
    base, _row, _col = split_cursor(CURRENT_GO)
    return [
        base,
        base.replace("func build(", "func buildAll("),
        base + "\nconst Tail = 1\n",
        base.replace("package shop\n", "package shop\n\ntype Head int\n"),  # rows shift
        base.replace("\treturn x + 1\n", ""),
        base.replace("func localHelper", "func localHelper2"),
        "package shop\n",
        base,
    ]


def python_edits() -> list[str]:
    return [
        MODELS_PY,
        MODELS_PY.replace("def has_role(", "def has_any_role("),
        "import os\n\n" + MODELS_PY,  # rows shift
        MODELS_PY.replace('DEFAULT_ROLE = "user"', 'DEFAULT_ROLE = "admin"\nOTHER = 1'),
        MODELS_PY.replace("class User:", "class User(Base):"),
        MODELS_PY[: len(MODELS_PY) // 2],  # cut mid-class
        MODELS_PY,
    ]


@pytest.mark.parametrize(("lang", "edits"), [("go", go_edits), ("python", python_edits)])
def test_incremental_reparse_matches_a_fresh_parse(
    lang: str, edits: Callable[[], list[str]]
) -> None:
    index = DefinitionIndex()
    language = treesitter.get_parser(lang)
    assert language is not None
    parser = Parser(language.language)
    for text in edits():
        got = index.definitions_in_text(text, lang, "c")
        data = text.encode()
        fresh = defs_index.extract(lang, parser.parse(data), data, "c")[0].defs
        assert got == fresh


# --------------------------------------------------------------------------------------------
# Python

MODELS_PY = '''\
"""Models."""
from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_ROLE = "user"


@dataclass
class User:
    """A person who can log in.

    More text that stays out.
    """

    name: str
    roles: list[str] = field(default_factory=list)

    def has_role(self, role: str) -> bool:
        """Whether the user has `role`."""
        return role in self.roles  # BODY_OF_HAS_ROLE

    @property
    def display(self) -> str:
        return self.name.title()  # BODY_OF_DISPLAY


def load_users(path: str, *, limit: int = 10) -> list[User]:
    """Read users from a file."""
    with open(path) as handle:  # BODY_OF_LOAD
        return [User(line.strip()) for line in handle][:limit]
'''

UTIL_PY = """\
def slugify(text: str) -> str:
    return text.lower().replace(" ", "-")  # BODY_OF_SLUGIFY
"""

# Same names as models.py, never imported by app.py.
OTHER_PY = """\
def load_users():
    pass


class User:
    pass


def slugify():
    pass
"""

APP_PY = """\
from __future__ import annotations

from typing import TYPE_CHECKING

from . import util
from .models import User, load_users as load

if TYPE_CHECKING:
    from .models import DEFAULT_ROLE

LIMIT = 5


def local_helper(value: int) -> int:
    return value * 2


class Registry:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}

    def add(self, user: User) -> None:
        self.users[util.slugify(user.name)] = user


def main(path: str) -> None:
    registry = Registry()
    for user in load(path, limit=LIMIT):
        if user.has_role(DEFAULT_ROLE):
            registry.add(user)
    print(local_helper(len(registry.users)))‸
"""


@pytest.fixture()
def py_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "models.py").write_text(MODELS_PY)
    (folder / "util.py").write_text(UTIL_PY)
    (folder / "other.py").write_text(OTHER_PY)
    (folder / "__init__.py").write_text("")
    text, _row, _col = split_cursor(APP_PY)
    (folder / "app.py").write_text(text)
    return folder


def py_relevant(
    folder: Path, src: str = APP_PY, **kwargs: int
) -> tuple[list[Definition], list[Definition]]:
    text, row, col = split_cursor(src)
    return relevant_definitions(
        text, row, col, "python", str(folder / "app.py"), DefinitionIndex(), **kwargs
    )


def test_python_identifiers_near() -> None:
    text, row, col = split_cursor(APP_PY)
    found = identifiers_near(text, row, col, "python")
    assert found[:3] == ["users", "local_helper", "add"]
    for expected in ("has_role", "DEFAULT_ROLE", "load", "LIMIT", "Registry", "User", "slugify"):
        assert expected in found
    # Builtins, parameters, locals, keyword argument names are not reported.
    for absent in ("print", "len", "self", "path", "registry", "user", "limit", "value"):
        assert absent not in found


def test_python_definitions_from_sibling_modules_and_the_same_file(py_dir: Path) -> None:
    same, other = py_relevant(py_dir, budget_chars=10_000, window_start_row=25)
    # `registry.add` found the method Registry.add first; the class replaced it later.
    assert names(same) == ["local_helper", "LIMIT", "Registry"]
    assert by_name(same, "local_helper").text == "def local_helper(value: int) -> int:\n    ..."
    assert by_name(same, "Registry").text == (
        "class Registry:\n"
        "    def __init__(self) -> None: ...\n"
        "    def add(self, user: User) -> None: ..."
    )
    assert by_name(same, "LIMIT").kind == "const"

    models = str(py_dir / "models.py")
    assert {d.path for d in other} <= {models, str(py_dir / "util.py")}
    user = by_name(other, "User")
    assert user.kind == "class"
    assert user.path == models
    assert user.text == (
        "@dataclass\n"
        "class User:\n"
        '    """A person who can log in."""\n'
        "    name: str\n"
        "    roles: list[str] = field(default_factory=list)\n"
        "    def has_role(self, role: str) -> bool: ...\n"
        "    @property\n"
        "    def display(self) -> str: ..."
    )
    # `load` is `load_users` imported under another name.
    load = by_name(other, "load_users")
    assert load.kind == "func"
    assert load.text == (
        "def load_users(path: str, *, limit: int = 10) -> list[User]:\n"
        '    """Read users from a file."""\n'
        "    ..."
    )
    assert by_name(other, "DEFAULT_ROLE").text == 'DEFAULT_ROLE = "user"'
    assert by_name(other, "slugify").path == str(py_dir / "util.py")
    # The class shows the method: the method is not repeated on its own.
    assert "has_role" not in names(other)
    for definition in [*same, *other]:
        assert "BODY_OF" not in definition.text


def test_python_siblings_need_an_import(py_dir: Path) -> None:
    src = "def f():\n    return load_users(slugify(User()))‸\n"
    same, other = py_relevant(py_dir, src)
    assert same == [] and other == []
    # A star import makes the whole module visible.
    same, other = py_relevant(py_dir, "from .other import *\n\n" + src)
    assert {d.path for d in other} == {str(py_dir / "other.py")}
    assert set(names(other)) == {"load_users", "slugify", "User"}


def test_python_module_attribute_and_method_on_self(py_dir: Path) -> None:
    src = """\
from . import models


class Admin(models.User):
    def promote(self) -> None:
        self.grant(models.DEFAULT_ROLE)‸

    def grant(self, role: str) -> None:
        pass
"""
    same, other = py_relevant(py_dir, src, window_start_row=5, window_end_row=6)
    assert names(same) == ["grant"]
    assert same[0].kind == "method" and same[0].owner == "Admin"
    assert same[0].text == (
        "class Admin(models.User):\n    def grant(self, role: str) -> None:\n        ..."
    )
    assert names(other) == ["DEFAULT_ROLE", "User"]


def test_python_definitions_in_text() -> None:
    found = DefinitionIndex().definitions_in_text(MODELS_PY, "python", "models.py")
    assert set(found) == {"DEFAULT_ROLE", "User", "has_role", "display", "load_users"}
    assert found["User"][0].row == 8  # the decorator's row
    assert found["has_role"][0].owner == "User"
    assert found["has_role"][0].text == (
        "class User:\n"
        "    def has_role(self, role: str) -> bool:\n"
        '        """Whether the user has `role`."""\n'
        "        ..."
    )
    src = (
        "import os\n\n"
        "try:\n    import fast\nexcept ImportError:\n    FAST = False\n\n"
        "type Vector = list[float]\n\n"
        "async def fetch(url: str,\n          timeout: float = 1.0) -> bytes:  # note\n"
        "    return b''\n\n"
        "__all__ = ['fetch']\n"
        + "TABLE = {\n"
        + "".join(f"    {i}: {i},\n" for i in range(80))
        + "}\n"
    )
    found = DefinitionIndex().definitions_in_text(src, "python")
    assert set(found) == {"FAST", "Vector", "fetch", "TABLE"}
    assert found["FAST"][0].text == "FAST = False"
    assert found["Vector"][0].kind == "type"
    assert found["fetch"][0].text == (
        "async def fetch(url: str,\n          timeout: float = 1.0) -> bytes:\n    ..."
    )
    assert found["fetch"][0].path == ""
    assert found["TABLE"][0].text.count("\n") + 1 == MAX_LINES


# --------------------------------------------------------------------------------------------
# Other languages, odd input, threads


@pytest.mark.parametrize("lang", ["bash", "cobol", "markdown", ""])
def test_other_languages_give_nothing(lang: str, tmp_path: Path) -> None:
    (tmp_path / "a.lua").write_text("local function f() end\n")
    text = "local function g()\n  return f()\nend\n"
    index = DefinitionIndex()
    assert identifiers_near(text, 1, 10, lang) == []
    assert index.definitions_in_text(text, lang) == {}
    assert index.definitions_in_folder(str(tmp_path), lang) == {}
    assert relevant_definitions(text, 1, 10, lang, str(tmp_path / "b.lua"), index) == ([], [])


def test_odd_positions_and_paths(tmp_path: Path) -> None:
    index = DefinitionIndex()
    text, _row, _col = split_cursor(CURRENT_GO)
    for row, col in ((-3, 0), (0, 500), (10_000, 7)):
        relevant_definitions(text, row, col, "go", "", index)
        identifiers_near(text, row, col, "go")
    assert relevant_definitions("", 0, 0, "go", "", index) == ([], [])
    missing = str(tmp_path / "nowhere" / "x.go")
    assert index.definitions_in_folder(os.path.dirname(missing), "go", exclude=missing) == {}
    same, other = relevant_definitions(text, 20, 3, "go", missing, index, window_start_row=12)
    assert other == [] and names(same) == ["localHelper"]


def test_threads_share_an_index(go_pkg: Path, py_dir: Path) -> None:
    index = DefinitionIndex()
    expected_go = go_relevant(go_pkg, DefinitionIndex())
    expected_py = py_relevant(py_dir)
    go_text, go_row, go_col = split_cursor(CURRENT_GO)
    py_text, py_row, py_col = split_cursor(APP_PY)
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def work(i: int) -> None:
        barrier.wait()
        for j in range(15):
            if (i + j) % 2:
                got = relevant_definitions(
                    go_text, go_row, go_col, "go", str(go_pkg / "current.go"), index
                )
                results.append(got == expected_go)
            else:
                got = relevant_definitions(
                    py_text, py_row, py_col, "python", str(py_dir / "app.py"), index
                )
                results.append(got == expected_py)
            # Other texts in between keep the incremental parser busy.
            identifiers_near(go_text + f"\n// {i} {j}\n", go_row, go_col, "go")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 90 and all(results)


def test_a_tree_nested_too_deep_around_the_cursor_gives_no_lookup() -> None:
    # An unclosed bracket can make tree-sitter's error recovery nest the rest of a file ever
    # deeper, and each step up a tree walks down from the root: past _MAX_DEPTH levels the
    # lookup gives up (bounded work per keystroke). Deep nesting written out does the same.
    depth = defs_scope.MAX_DEPTH
    nested = "g(" * depth + "F3(x)" + ")" * depth
    text = (
        f"package p\n\nfunc F3(a int) int {{ return a }}\n\nfunc main() {{\n\tx := {nested}\n}}\n"
    )
    row, col = 5, len("\tx := ") + 2 * depth + 1
    tree = treesitter.parse("go", text.encode())
    assert tree is not None
    assert defs_scope.deeper_than(tree.root_node, (row, col), depth)
    assert relevant_definitions(text, row, col, "go", "", DefinitionIndex()) == ([], [])
    shallow = text.replace(nested, "g(F3(x))")
    tree = treesitter.parse("go", shallow.encode())
    assert tree is not None
    assert not defs_scope.deeper_than(tree.root_node, (row, 10), depth)
    same, _other = relevant_definitions(
        shallow, row, 10, "go", "", DefinitionIndex(), window_start_row=4
    )
    assert [d.name for d in same] == ["F3"]


def test_every_language_with_a_definitions_query_has_an_extractor() -> None:
    from localllm import languages
    from localllm.definitions.extractors import EXTRACTORS

    wanted = {lang.name for lang in languages.all() if lang.definitions_query}
    assert wanted == set(EXTRACTORS)
