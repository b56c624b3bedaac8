"""Go error checks without a model (go_errors.py): where they are offered, and what they say."""

from __future__ import annotations

from pathlib import Path

import pytest

from localllm import treesitter
from localllm.rules import go_errors
from localllm.rules.go_errors import GoPackages, correct_returns, expected_returns, suggest
from localllm.types import IndentStyle

pytestmark = pytest.mark.skipif(
    "go" not in treesitter.available_languages(), reason="needs the Go grammar"
)

CURSOR = "‸"
TABS = IndentStyle(use_tabs=True, width=8, tabstop=8)
SPACES = IndentStyle(use_tabs=False, width=4, tabstop=8)


def at_cursor(
    src: str,
    indent: IndentStyle = TABS,
    path: str = "",
    packages: GoPackages | None = None,
) -> go_errors.ErrCheck | None:
    assert src.count(CURSOR) == 1
    before, after = src.split(CURSOR)
    row = before.count("\n")
    line_before = before.rsplit("\n", 1)[-1]
    line_after = after.split("\n", 1)[0]
    return suggest(
        before + after,
        row,
        line_before,
        line_after,
        indent,
        path=path,
        packages=packages,
    )


def returned(src: str, **kwargs: object) -> str | None:
    """The body statement(s) offered on the empty line at the cursor."""
    check = at_cursor(src, **kwargs)  # type: ignore[arg-type]
    return None if check is None else check.returns


def func(results: str, body_above: str = "\tv, err := load()\n", prelude: str = "") -> str:
    return f"package p\n\n{prelude}func f() {results} {{\n{body_above}\t{CURSOR}\n}}\n"


# --------------------------------------------------------------------------------------------
# Zero values


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ("error", "return err"),
        ("(int, error)", "return 0, err"),
        ("(string, error)", 'return "", err'),
        ("(bool, error)", "return false, err"),
        ("(*Config, error)", "return nil, err"),
        ("([]byte, error)", "return nil, err"),
        ("(map[string]int, error)", "return nil, err"),
        ("(chan int, error)", "return nil, err"),
        ("(<-chan int, error)", "return nil, err"),
        ("(func() error, error)", "return nil, err"),
        ("(interface{ M() }, error)", "return nil, err"),
        ("(any, error)", "return nil, err"),
        ("(error, error)", "return nil, err"),
        ("([4]byte, error)", "return [4]byte{}, err"),
        ("(struct{ A int }, error)", "return struct{ A int }{}, err"),
        ("(float64, uint8, rune, byte, complex128, error)", "return 0, 0, 0, 0, 0, err"),
        ("(a, b int, err error)", "return 0, 0, err"),
        ("(n int, err error)", "return 0, err"),
        ("(int, bool)", "return 0, false"),
        ("(int, error, string)", 'return 0, err, ""'),
    ],
)
def test_zero_values_of_builtin_and_literal_types(results: str, expected: str) -> None:
    assert returned(func(results)) == expected


LOCAL_TYPES = """\
type Mode int
type Level uint8
type Name string
type Flag bool
type Flags []string
type Index map[string]int
type Handler func()
type Getter interface{ Get() int }
type Config struct{ A int }
type Grid [3][3]int
type Alias = Config
type Celsius float64
type Ch chan int
type Chain Mode
type Pair[K comparable, V any] struct {
	Key K
	Val V
}

"""


@pytest.mark.parametrize(
    ("result", "zero"),
    [
        ("Mode", "0"),
        ("Level", "0"),
        ("Name", '""'),
        ("Flag", "false"),
        ("Flags", "nil"),
        ("Index", "nil"),
        ("Handler", "nil"),
        ("Getter", "nil"),
        ("Config", "Config{}"),
        ("Grid", "Grid{}"),
        ("Alias", "Alias{}"),
        ("Celsius", "0"),
        ("Ch", "nil"),
        ("Chain", "0"),
        ("Pair[string, int]", "Pair[string, int]{}"),
        ("*Config", "nil"),
    ],
)
def test_named_types_by_their_underlying_type(result: str, zero: str) -> None:
    src = func(f"({result}, error)", prelude=LOCAL_TYPES)
    assert returned(src) == f"return {zero}, err"


STDLIB = """\
import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
	sq "database/sql"
)

"""


@pytest.mark.parametrize(
    ("result", "zero"),
    [
        ("time.Duration", "0"),
        ("time.Time", "time.Time{}"),
        ("time.Month", "0"),
        ("http.Header", "nil"),
        ("http.Request", "http.Request{}"),
        ("url.Values", "nil"),
        ("context.Context", "nil"),
        ("io.ReadCloser", "nil"),
        ("os.FileMode", "0"),
        ("sq.NullString", "sq.NullString{}"),
    ],
)
def test_standard_library_types_by_what_they_are(result: str, zero: str) -> None:
    src = func(f"({result}, error)", prelude=STDLIB)
    assert returned(src) == f"return {zero}, err"


def test_types_nothing_shows_get_nil_unless_their_name_says_struct() -> None:
    # Interfaces (cel.Library, afero.File) are what Go code mostly returns by a bare name
    # from a module not on disk: `ext.Library{}` would not compile.
    src = func(
        "(Widget, ext.Library, ext.Client, ext.Config, ext.Options, error)",
        prelude='import "x/ext"\n\n',
    )
    assert returned(src) == "return nil, nil, nil, ext.Config{}, ext.Options{}, err"


@pytest.mark.parametrize(
    ("other", "zero"),
    [
        ("\nfunc g() (ext.Library, error) {\n\treturn nil, errors.New(\"x\")\n}\n", "nil"),
        ("\nfunc g() (ext.Library, error) {\n\treturn ext.Library{}, io.EOF\n}\n", "ext.Library{}"),
        ("\nvar lib = ext.Library{Name: \"a\"}\n", "ext.Library{}"),
        # a slice literal of the type says nothing about the type itself
        ("\nvar libs = []ext.Library{nil}\n", "nil"),
    ],
)
def test_a_type_not_on_disk_gets_the_zero_value_the_file_writes(other: str, zero: str) -> None:
    src = func("(ext.Library, error)", prelude='import "x/ext"\n\n') + other
    assert returned(src) == f"return {zero}, err"


def test_a_type_not_on_disk_gets_the_zero_value_its_package_writes(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/m\n")
    (tmp_path / "other.go").write_text(
        'package p\n\nimport "github.com/x/cel"\n\n'
        "func lib() (cel.Options, error) {\n\treturn nil, nil\n}\n"
    )
    src = func("(cel.Options, error)", prelude='import "github.com/x/cel"\n\n')
    path = str(tmp_path / "main.go")
    assert returned(src, path=path, packages=GoPackages()) == "return nil, err"
    assert returned(src) == "return cel.Options{}, err"  # nothing shows it: by its name


def test_type_parameters_get_a_zero_variable() -> None:
    src = "package p\n\nfunc First[T any](xs []T) (T, error) {\n\tv, err := load()\n\t‸\n}\n"
    check = at_cursor(src)
    assert check is not None
    assert check.text == "if err != nil {\n\t\tvar zero T\n\t\treturn zero, err\n\t}"


def test_type_parameters_of_a_generic_receiver() -> None:
    src = (
        "package p\n\ntype Cache[K comparable, V any] struct{ m map[K]V }\n\n"
        "func (c *Cache[K, V]) Get(k K) (V, int, error) {\n\tv, err := c.load(k)\n\t‸\n}\n"
    )
    assert returned(src) == "var zero V\nreturn zero, 0, err"


def test_types_from_sibling_files_of_the_package(tmp_path: Path) -> None:
    (tmp_path / "types.go").write_text(
        "package store\n\ntype ID int64\ntype User struct{ Name string }\n"
        "type Users []User\ntype Status string\n"
    )
    (tmp_path / "other_pkg.go").write_text("package other\n\ntype Status struct{}\n")
    (tmp_path / "types_test.go").write_text("package store\n\ntype Fixture struct{}\n")
    src = (
        "package store\n\nfunc get() (ID, User, Users, Status, error) {\n\tu, err := q()\n\t‸\n}\n"
    )
    path = str(tmp_path / "get.go")
    packages = GoPackages()
    assert returned(src, path=path, packages=packages) == 'return 0, User{}, nil, "", err'
    parsed = packages.parsed_files
    assert returned(src, path=path, packages=packages) == 'return 0, User{}, nil, "", err'
    assert packages.parsed_files == parsed  # parsed once, then from the cache
    # A file that changes on disk is read again.
    (tmp_path / "types.go").write_text("package store\n\ntype ID struct{}\ntype User int\n")
    got = returned(src, path=path, packages=packages)
    assert got == "return ID{}, 0, nil, nil, err"  # Users and Status are no longer declared
    assert packages.parsed_files == parsed + 1


def test_types_from_other_packages_of_the_module(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/app\n\ngo 1.22\n")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.go").write_text(
        "package model\n\ntype Role uint8\ntype User struct{}\ntype Repo interface{}\n"
    )
    (tmp_path / "api").mkdir()
    src = (
        'package api\n\nimport "example.com/app/model"\n\n'
        "func get() (model.Role, model.User, model.Repo, error) {\n\tu, err := q()\n\t‸\n}\n"
    )
    path = str(tmp_path / "api" / "get.go")
    got = returned(src, path=path, packages=GoPackages())
    assert got == "return 0, model.User{}, nil, err"


# --------------------------------------------------------------------------------------------
# Where it is offered


def test_block_on_an_empty_line_after_an_assignment_of_err() -> None:
    src = "package p\n\nfunc f() (*T, error) {\n\tv, err := load()\n\t‸\n\treturn v, nil\n}\n"
    check = at_cursor(src)
    assert check is not None and check.kind == "block"
    assert check.text == "if err != nil {\n\t\treturn nil, err\n\t}"


@pytest.mark.parametrize(
    "statement",
    [
        "v, err := load()",
        "err = save()",
        "_, err = w.Write(b)",
        "var v, err = load()",
        "err := run(\n\t\tctx,\n\t\targ,\n\t)",
        "if v, err = load(); v {\n\t}\n\terr = x()",
    ],
)
def test_statements_that_assign_err(statement: str) -> None:
    src = f"package p\n\nfunc f() error {{\n\t{statement}\n\t‸\n}}\n"
    assert returned(src) == "return err"


@pytest.mark.parametrize(
    "src",
    [
        # a statement between
        "package p\n\nfunc f() error {\n\terr := g()\n\tx := 1\n\n\t‸\n}\n",
        # the statement above does not assign err
        "package p\n\nfunc f() error {\n\tx := g()\n\t‸\n}\n",
        # text after the cursor
        "package p\n\nfunc f() error {\n\terr := g()\n\t‸x\n}\n",
        # something else typed
        "package p\n\nfunc f() error {\n\terr := g()\n\tfmt‸\n}\n",
        # outside any function
        "package p\n\nvar err = g()\n‸\n",
        # already handled
        "package p\n\nfunc f() error {\n\terr := g()\n\tif err != nil {\n\t\treturn err\n"
        "\t}\n\t‸\n}\n",
    ],
)
def test_not_offered(src: str) -> None:
    assert at_cursor(src) is None


@pytest.mark.parametrize(
    "typed", ["i", "if", "if ", "if e", "if err", "if err !", "if err != nil {"]
)
def test_the_rest_once_if_err_is_started(typed: str) -> None:
    src = f"package p\n\nfunc f() (int, error) {{\n\tv, err := load()\n\t{typed}‸\n}}\n"
    check = at_cursor(src)
    assert check is not None and check.kind == "rest"
    assert (typed + check.text) == "if err != nil {\n\t\treturn 0, err\n\t}"


def test_if_err_typed_in_full_needs_err_in_sight_only() -> None:
    src = "package p\n\nfunc f() (int, error) {\n\tv, err := load()\n\tuse(v)\n\tif err‸\n}\n"
    check = at_cursor(src)
    assert check is not None and check.text == " != nil {\n\t\treturn 0, err\n\t}"
    # a short start is not enough away from the assignment; no err at all: nothing
    assert at_cursor(src.replace("if err‸", "if e‸")) is None
    assert at_cursor("package p\n\nfunc f() error {\n\tx := 1\n\tif err‸\n}\n") is None


def test_the_body_alone_inside_a_fresh_block() -> None:
    closed = (
        "package p\n\nfunc f() (string, error) {\n\tv, err := g()\n\tif err != nil {\n"
        "\t\t‸\n\t}\n}\n"
    )
    check = at_cursor(closed)
    assert check is not None and check.kind == "body"
    assert check.text == 'return "", err'
    unclosed = (
        "package p\n\nfunc f() (string, error) {\n\tv, err := g()\n\tif err != nil {\n\t\t‸\n}\n"
    )
    check = at_cursor(unclosed)
    assert check is not None
    assert check.text == 'return "", err\n\t}'


def test_indentation_follows_the_buffer() -> None:
    src = "package p\n\nfunc f() error {\n    err := g()\n    ‸\n}\n"
    check = at_cursor(src, indent=SPACES)
    assert check is not None
    assert check.text == "if err != nil {\n        return err\n    }"
    # an empty line without indentation gets the statement's
    src = "package p\n\nfunc f() error {\n\terr := g()\n‸\n}\n"
    check = at_cursor(src)
    assert check is not None
    assert check.text == "\tif err != nil {\n\t\treturn err\n\t}"


def test_func_literals_answer_to_their_own_results() -> None:
    src = (
        "package p\n\nfunc f() (*T, error) {\n\tget := func() (string, error) {\n"
        "\t\tv, err := load()\n\t\t‸\n\t}\n}\n"
    )
    assert returned(src) == 'return "", err'
    src = "package p\n\nfunc f() (*T, error) {\n\tgo func() {\n\t\terr := run()\n\t\t‸\n\t}()\n}\n"
    assert returned(src) == "return"


# --------------------------------------------------------------------------------------------
# Functions without results


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("t *testing.T", "t.Fatal(err)"),
        ("tt *testing.T", "tt.Fatal(err)"),
        ("b *testing.B", "b.Fatal(err)"),
        ("tb testing.TB", "tb.Fatal(err)"),
        ("f *testing.F", "f.Fatal(err)"),
    ],
)
def test_tests_stop_with_their_receiver(params: str, expected: str) -> None:
    src = f'package p\n\nimport "testing"\n\nfunc TestX({params}) {{\n\tv, err := load()\n\t‸\n}}\n'
    assert returned(src) == expected


def test_subtests_use_the_literal_s_receiver() -> None:
    src = (
        'package p\n\nimport "testing"\n\nfunc TestX(t *testing.T) {\n'
        '\tt.Run("a", func(st *testing.T) {\n\t\terr := run()\n\t\t‸\n\t})\n}\n'
    )
    assert returned(src) == "st.Fatal(err)"


def test_testify_require_in_place_of_the_block() -> None:
    src = (
        'package p\n\nimport (\n\t"testing"\n\n\t"github.com/stretchr/testify/require"\n)\n\n'
        "func TestX(t *testing.T) {\n\tv, err := load()\n\t‸\n}\n"
    )
    check = at_cursor(src)
    assert check is not None and check.kind == "noerror"
    assert check.text == "require.NoError(t, err)"


def test_main_follows_the_file() -> None:
    fatal = (
        'package main\n\nimport "log"\n\nfunc main() {\n\tc, err := load()\n\tif err != nil {\n'
        '\t\tlog.Fatalf("load: %v", err)\n\t}\n\terr = c.Run()\n\t‸\n}\n'
    )
    assert returned(fatal) == 'log.Fatalf("load: %v", err)'
    exits = (
        'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n\terr := run()\n\t‸\n}\n'
    )
    assert returned(exits) == "fmt.Fprintln(os.Stderr, err)\nos.Exit(1)"
    logs = 'package main\n\nimport "log"\n\nfunc main() {\n\terr := run()\n\t‸\n}\n'
    assert returned(logs) == "log.Fatal(err)"
    bare = "package main\n\nfunc main() {\n\terr := run()\n\t‸\n}\n"
    assert returned(bare) == "panic(err)"


def test_http_handlers_answer_with_an_error() -> None:
    src = (
        'package p\n\nimport "net/http"\n\n'
        "func (s *S) handle(w http.ResponseWriter, r *http.Request) {\n"
        "\tv, err := s.load(r)\n\t‸\n}\n"
    )
    assert returned(src) == "http.Error(w, err.Error(), http.StatusInternalServerError)\nreturn"


def test_other_functions_without_results_return() -> None:
    src = "package p\n\nfunc (s *S) stop() {\n\terr := s.conn.Close()\n\t‸\n}\n"
    assert returned(src) == "return"


# --------------------------------------------------------------------------------------------
# The file's own wrapping


WRAPS = """\
package p

import "fmt"

func a() (int, error) {
	x, err := g()
	if err != nil {
		return 0, fmt.Errorf("g: %w", err)
	}
	return x, nil
}

func b() (*Config, error) {
	cfg, err := loadConfig(path)
	‸
}
"""


def test_a_file_that_wraps_gets_a_wrapped_block_with_a_guessed_message() -> None:
    check = at_cursor(WRAPS)
    assert check is not None
    assert check.text == 'if err != nil {\n\t\treturn nil, fmt.Errorf("load config: %w", err)\n\t}'
    assert check.message == "load config"
    assert check.message_prefix + check.message + check.message_suffix == check.text
    assert check.message_prefix.endswith('fmt.Errorf("')
    better = check.with_message("read the config file")
    assert better.text == (
        'if err != nil {\n\t\treturn nil, fmt.Errorf("read the config file: %w", err)\n\t}'
    )


def test_pkg_errors_wrap_style() -> None:
    src = WRAPS.replace('fmt.Errorf("g: %w", err)', 'errors.Wrap(err, "g")')
    check = at_cursor(src)
    assert check is not None
    assert 'return nil, errors.Wrap(err, "load config")' in check.text


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('open settings: %w", err)', "open settings"),
        ("Open settings", "open settings"),
        ('HTTP request failed"', "HTTP request failed"),
        ('bad %d value", n)', ""),
        ("", ""),
        ("x" * 100, ""),
    ],
)
def test_model_messages_are_cleaned(raw: str, message: str) -> None:
    assert go_errors.clean_message(raw) == message


# --------------------------------------------------------------------------------------------
# A model's returns get our zero values


def test_model_returns_are_corrected() -> None:
    src = (
        "package p\n\ntype Config struct{}\n\n"
        "func f() (Config, int, error) {\n\tv, err := g()\n\t\n}\n"
    )
    expected = expected_returns(src, 6, 1)
    assert expected == (["Config{}", "0", "err"], 2)
    values, at = expected
    suggestion = 'if err != nil {\n\t\treturn nil, -1, fmt.Errorf("g: %w", err)\n\t}'
    assert correct_returns(suggestion, values, at) == (
        'if err != nil {\n\t\treturn Config{}, 0, fmt.Errorf("g: %w", err)\n\t}'
    )
    wrong_count = "if err != nil {\n\t\treturn nil, err\n\t}"
    assert correct_returns(wrong_count, values, at) == (
        "if err != nil {\n\t\treturn Config{}, 0, err\n\t}"
    )
    # success paths and function literals are left alone
    fine = "return v, 3, nil"
    assert correct_returns(fine, values, at) == fine
    literal = "go func() (int, error) {\n\treturn 1, err\n}()"
    assert correct_returns(literal, values, at) == literal


def test_nothing_inside_a_block_that_already_handles_the_error() -> None:
    src = (
        "package p\n\nfunc f() (int, error) {\n\tv, err := g()\n\tif err != nil {\n"
        "\t\t‸\n\t\treturn 0, err\n\t}\n\treturn v, nil\n}\n"
    )
    assert at_cursor(src) is None
    assert at_cursor(src.replace("\t\treturn 0, err", "\t\tlog.Fatal(err)")) is None
    # the check follows already: no second one above it
    below = (
        "package p\n\nfunc f() (int, error) {\n\tv, err := g()\n\t‸\n\tif err != nil {\n"
        "\t\treturn 0, err\n\t}\n\treturn v, nil\n}\n"
    )
    assert at_cursor(below) is None
    # a fresh block followed by the rest of the function (not inside it) still gets its body
    fresh = (
        "package p\n\nfunc f() (int, error) {\n\tv, err := g()\n\tif err != nil {\n"
        "\t\t‸\n\treturn v, nil\n}\n"
    )
    check = at_cursor(fresh)
    assert check is not None and check.text == "return 0, err\n\t}"


# --------------------------------------------------------------------------------------------
# Go as other projects write it (issue 14)


@pytest.mark.parametrize("blank", ["\n", "\n\n", "\n\t\n"])
def test_offered_after_blank_lines_below_the_assignment(blank: str) -> None:
    # Some projects keep a blank line between `x, err = f()` and the check throughout.
    src = f"package p\n\nfunc f() (int, error) {{\n\tx, err := g(){blank}\n\t‸\n}}\n"
    assert returned(src) == "return 0, err"


def test_offered_after_an_assignment_over_several_lines() -> None:
    src = (
        "package p\n\nfunc (r *Repo) ids(ctx context.Context) (map[ID]int64, error) {\n"
        "\tids := map[ID]int64{}\n"
        "\terr := r.pool.List(ctx, func(id ID, size int64) error {\n"
        "\t\tif _, err := r.check(id); err != nil {\n\t\t\treturn err\n\t\t}\n"
        "\t\tids[id] = size\n\t\treturn nil\n\t})\n\t‸\n\treturn ids, nil\n}\n"
    )
    assert returned(src) == "return nil, err"


_CLOSURE_TEST = """package p

import "testing"

func TestA(t *testing.T) {
	_ = db.Update(func(tx *Tx) error {
		b, err := tx.Create("a")
		if err != nil {
			HABIT
		}
		return b.Put("k", "v")
	})
}

func TestB(t *testing.T) {
	_ = db.View(func(tx *Tx) error {
		c, err := tx.Get("a")
		‸
		return c.Close()
	})
}
"""


@pytest.mark.parametrize(
    ("habit", "expected"),
    [("t.Fatal(err)", "t.Fatal(err)"), ("return err", "return err")],
)
def test_a_function_literal_in_a_test_does_what_the_files_literals_do(
    habit: str, expected: str
) -> None:
    assert returned(_CLOSURE_TEST.replace("HABIT", habit)) == expected


def test_a_function_literal_in_a_test_returns_its_error_when_nothing_shows_a_habit() -> None:
    src = _CLOSURE_TEST.replace("\t\tif err != nil {\n\t\t\tHABIT\n\t\t}\n", "")
    assert returned(src) == "return err"


def test_a_literal_without_an_error_result_in_a_test_stops_the_test() -> None:
    src = (
        'package p\n\nimport "testing"\n\nfunc TestA(t *testing.T) {\n'
        "\tcheck := func() (string, string) {\n\t\tb, err := marshal()\n\t\t‸\n"
        "\t\treturn string(b), \"\"\n\t}\n\t_ = check\n}\n"
    )
    assert returned(src) == "t.Fatal(err)"


def test_a_goroutine_in_a_test_reports_with_error_not_fatal() -> None:
    src = (
        'package p\n\nimport "testing"\n\nfunc TestA(t *testing.T) {\n'
        "\tgo func() {\n\t\t_, err := dial()\n\t\t‸\n\t}()\n}\n"
    )
    assert returned(src) == "t.Error(err)"


def test_a_testing_parameter_named_blank_is_no_receiver() -> None:
    src = (
        'package p\n\nimport "testing"\n\nfunc BenchmarkA(b *testing.B) {\n'
        "\trun(b, func(ctx context.Context, _ testing.TB) {\n"
        "\t\t_, err := q(ctx)\n\t\t‸\n\t})\n}\n"
    )
    assert returned(src) == "b.Fatal(err)"


def test_a_test_checks_the_way_its_nearest_check_does() -> None:
    # A file may use testify in some tests and plain checks in others.
    testify = 'import (\n\t"testing"\n\n\t"github.com/stretchr/testify/require"\n)\n\n'
    uses = "\trequire.NoError(t, q())\n\trequire.NoError(t, q())\n\trequire.NoError(t, q())\n"
    plain = "\t_, err := a()\n\tif err != nil {\n\t\tt.Error(err)\n\t}\n"
    src = (
        f"package p\n\n{testify}func TestA(t *testing.T) {{\n{uses}}}\n\n"
        f"func TestB(t *testing.T) {{\n{plain}\t_, err = b()\n\t‸\n}}\n"
    )
    assert returned(src) == "t.Error(err)"
    src = f"package p\n\n{testify}func TestB(t *testing.T) {{\n{uses}\t_, err := b()\n\t‸\n}}\n"
    assert returned(src) == "require.NoError(t, err)"
