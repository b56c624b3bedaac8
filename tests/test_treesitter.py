"""Tests for localllm.treesitter on real source written for them, in every supported language.

A `‸` in a snippet marks the cursor; `at()` removes it and turns its place into the (row, byte
column) pair that Neovim would report.
"""

from __future__ import annotations

import dataclasses
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localllm import languages
from localllm import treesitter as ts
from localllm.document import reparse
from localllm.treesitter import (
    SyntaxInfo,
    analyze,
    available_languages,
    get_parser,
    grammars,
    imports_of,
    language_for,
    parse_errors,
)

CURSOR = "‸"
ALL_LANGUAGES = [
    "go",
    "python",
    "lua",
    "javascript",
    "typescript",
    "tsx",
    "rust",
    "c",
    "cpp",
    "java",
    "bash",
    "ruby",
]


def needs(*langs: str) -> pytest.MarkDecorator:
    missing = [lang for lang in langs if lang not in available_languages()]
    return pytest.mark.skipif(bool(missing), reason=f"no grammar for {missing}")


def split_cursor(src: str) -> tuple[str, int, int]:
    """(text without the marker, 0-based row, 0-based byte column) of the marker in `src`."""
    assert src.count(CURSOR) == 1, "mark exactly one cursor"
    before, after = src.split(CURSOR)
    row = before.count("\n")
    col = len(before.rsplit("\n", 1)[-1].encode("utf-8"))
    return before + after, row, col


def at(lang: str, src: str) -> SyntaxInfo:
    text, row, col = split_cursor(src)
    info = analyze(text, row, col, lang)
    assert info is not None
    assert info.language == lang
    return info


# --------------------------------------------------------------------------------------------
# Languages, grammars and parsers


@pytest.mark.parametrize(
    ("filetype", "path", "expected"),
    [
        ("go", "", "go"),
        ("python", "x.txt", "python"),
        ("lua", "", "lua"),
        ("javascript", "", "javascript"),
        ("javascriptreact", "a.jsx", "javascript"),
        ("typescript", "", "typescript"),
        ("typescriptreact", "", "tsx"),
        ("rust", "", "rust"),
        ("c", "", "c"),
        ("cpp", "", "cpp"),
        ("java", "", "java"),
        ("sh", "", "bash"),
        ("bash", "", "bash"),
        ("zsh", "", None),
        ("zsh", "/home/u/script.sh", None),
        ("", "/src/main.go", "go"),
        ("", "/src/App.TSX", "tsx"),
        ("", "lib/util.mjs", "javascript"),
        ("", "types.d.ts", "typescript"),
        ("", "src/lib.rs", "rust"),
        ("", "inc/a.h", "c"),
        ("", "inc/a.hpp", "cpp"),
        ("", "x.cc", "cpp"),
        ("", "Main.java", "java"),
        ("", "tool.py", "python"),
        ("", "run.sh", "bash"),
        ("", "init.lua", "lua"),
        ("", "notes.md", None),
        ("", "Makefile", None),
        ("", "", None),
        ("markdown", "README.md", None),
        ("text", "weird.go", "go"),
        ("Go", "", "go"),
    ],
)
def test_language_for(filetype: str, path: str, expected: str | None) -> None:
    assert language_for(filetype, path) == expected


def test_available_languages_are_the_installed_grammars() -> None:
    langs = available_languages()
    assert langs == [lang for lang in ALL_LANGUAGES if lang in langs]  # fixed order
    # The project installs every grammar wheel (pyproject.toml).
    assert langs == ALL_LANGUAGES


def test_get_parser_is_cached_and_unknown_is_none() -> None:
    parser = get_parser("go")
    assert parser is not None
    assert get_parser("go") is parser
    assert get_parser("cobol") is None
    tree = parser.parse(b"package main\n")
    assert tree.root_node.type == "source_file"


def test_get_parser_creation_is_thread_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grammars, "_parsers", {})
    monkeypatch.setattr(grammars, "_parse_locks", {})
    barrier = threading.Barrier(8)
    results: list[object] = []

    def make() -> None:
        barrier.wait()
        results.append(get_parser("python"))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert results[0] is not None
    assert all(result is results[0] for result in results)


def test_a_grammar_that_fails_to_import_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    go, lua = languages.get("go"), languages.get("lua")
    assert go is not None and lua is not None
    broken_go = dataclasses.replace(go, grammar_module="tree_sitter_no_such_grammar")
    broken_lua = dataclasses.replace(lua, grammar_module="tree_sitter_python")
    broken_lua = dataclasses.replace(broken_lua, grammar_function="no_such_function")
    monkeypatch.setitem(languages._BY_NAME, "go", broken_go)
    monkeypatch.setitem(languages._BY_NAME, "lua", broken_lua)
    monkeypatch.setattr(grammars, "_languages", {})
    monkeypatch.setattr(grammars, "_parsers", {})
    monkeypatch.setattr(grammars, "_parse_locks", {})
    assert "go" not in available_languages()
    assert "lua" not in available_languages()
    assert "python" in available_languages()
    assert get_parser("go") is None
    assert analyze("package main\n", 0, 0, "go") is None
    assert imports_of("package main\n", "go") == ""
    assert parse_errors("package main\n", "go") == -1
    assert language_for("go") == "go"  # the id is still known, only the grammar is missing


def test_unknown_language_gives_none() -> None:
    assert analyze("x = 1\n", 0, 1, "cobol") is None
    assert analyze("x = 1\n", 0, 1, "") is None
    assert imports_of("import os\n", "cobol") == ""
    assert parse_errors("x = 1\n", "cobol") == -1


# --------------------------------------------------------------------------------------------
# Go

GO_FILE = """\
package server

import (
	"context"
	"fmt"
	"net/http"
)

// Server answers requests.
type Server struct {
	name string
}

func helper(a int) int {
	return a + 1
}

func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

func (s *Server) Handle(
	ctx context.Context,
	w http.ResponseWriter,
	r *http.Request,
) error {
	msg := "hello, world" // greeting
	if err := ctx.Err(); err != nil {
		return err
	}
	http.HandleFunc("/x", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, msg)
	})
	handler := func(code int) {
		w.WriteHeader(code)
	}
	handler(200)
	return nil
}
"""

GO_IMPORTS = 'package server\nimport (\n\t"context"\n\t"fmt"\n\t"net/http"\n)'
HANDLE_SIG = (
    "func (s *Server) Handle(\n"
    "\tctx context.Context,\n"
    "\tw http.ResponseWriter,\n"
    "\tr *http.Request,\n"
    ") error"
)


def go_at(line_no: int, col: int, text: str = GO_FILE) -> SyntaxInfo:
    info = analyze(text, line_no, col, "go")
    assert info is not None
    return info


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.split("\n")):
        if needle in line:
            return number
    raise AssertionError(needle)


@needs("go")
def test_go_imports_far_above_and_method_signature() -> None:
    row = line_of(GO_FILE, "handler(200)")
    info = go_at(row, len("\thandler(200)"))
    assert info.imports == GO_IMPORTS
    assert info.imports_end_row == 7
    assert info.enclosing_signature == HANDLE_SIG
    assert info.enclosing_signature_row == line_of(GO_FILE, "func (s *Server) Handle(")
    assert not info.in_string
    assert not info.in_comment
    assert not info.block_opener
    assert not info.mid_expression  # a complete call ending in ")"


@needs("go")
def test_go_mid_expression_in_unfinished_call() -> None:
    info = at(
        "go",
        'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\tfmt.Println(x, ‸\n}\n',
    )
    assert info.mid_expression
    assert not info.block_opener
    assert not info.in_string
    assert info.enclosing_signature == "func main()"
    assert info.enclosing_signature_row == 4
    assert info.imports == 'package main\nimport "fmt"'
    assert info.imports_end_row == 3


@needs("go")
def test_go_mid_expression_cases() -> None:
    body = "package main\n\nfunc main() {\n%s\n}\n"
    assert at("go", body % "\tfoo(a, ‸b)").mid_expression  # inside an argument list
    assert at("go", body % "\tfoo(‸)").mid_expression  # auto-paired parentheses
    assert at("go", body % "\tx := ‸").mid_expression  # right side still to come
    assert at("go", body % "\treturn ‸").mid_expression
    assert at("go", body % "\tx := strings.Spl‸").mid_expression  # a name being typed
    assert not at("go", body % "\tx := foo()‸").mid_expression  # complete
    assert not at("go", body % '\ts := "done"‸').mid_expression
    assert not at("go", body % "\t‸").mid_expression  # empty line in a block
    assert not at("go", body % "\t\t‸").mid_expression
    assert not at("go", body % "\t// note: call foo(‸").mid_expression  # in a comment


@needs("go")
def test_go_empty_line_in_block() -> None:
    row = line_of(GO_FILE, "out = append(out, f(x))")
    text = GO_FILE.replace("\t\tout = append(out, f(x))\n", "\t\tout = append(out, f(x))\n\t\t\n")
    info = go_at(row + 1, 2, text)
    assert not info.mid_expression
    assert not info.block_opener
    assert not info.in_string
    assert info.enclosing_signature == "func Map[T, U any](xs []T, f func(T) U) []U"
    assert info.enclosing_signature_row == line_of(GO_FILE, "func Map[")


@needs("go")
def test_go_block_opener() -> None:
    info = at("go", "package main\n\nfunc f() error {\n\tif err != nil {‸\n\treturn nil\n}\n")
    assert info.block_opener
    assert not info.mid_expression
    assert info.enclosing_signature == "func f() error"
    closed = at("go", "package main\n\nfunc f() error {\n\tif err != nil {‸\n\t}\n}\n")
    assert closed.block_opener
    spaces = at("go", "package main\n\nfunc f() {\n\tfor i := 0; i < 3; i++ {  ‸\n\t}\n}\n")
    assert spaces.block_opener
    assert not at("go", "package main\n\nfunc f() {\n\tx := []int{1, 2}‸\n}\n").block_opener
    assert not at("go", 'package main\n\nfunc f() {\n\ts := "{‸"\n}\n').block_opener
    assert not at("go", "package main\n\nfunc f() {\n\t// {‸\n}\n").block_opener


@needs("go")
def test_go_strings_and_comments() -> None:
    row = line_of(GO_FILE, 'msg := "hello, world"')
    line = GO_FILE.split("\n")[row]
    quote = line.index('"')
    inside = go_at(row, quote + 3)
    assert inside.in_string
    assert inside.mid_expression
    assert not inside.in_comment
    assert not go_at(row, quote).in_string  # before the opening quote
    assert go_at(row, quote + 1).in_string  # just after it
    closing = line.index('"', quote + 1)
    assert go_at(row, closing).in_string  # before the closing quote
    assert not go_at(row, closing + 1).in_string  # after it
    comment = line.index("//")
    assert not go_at(row, comment).in_comment
    assert go_at(row, comment + 5).in_comment
    end_of_comment = go_at(row, len(line))
    assert end_of_comment.in_comment  # the end of a line comment is still in it
    assert not end_of_comment.mid_expression
    assert not go_at(row + 1, 0).in_comment  # the next line is not


@needs("go")
def test_go_unterminated_and_raw_strings() -> None:
    assert at("go", 'package main\n\nfunc f() {\n\ts := "héllo‸\n}\n').in_string
    assert at("go", 'package main\n\nfunc f() {\n\ts := "‸\n}\n').in_string
    assert at("go", "package main\n\nfunc f() {\n\ts := `a\nb‸c`\n}\n").in_string
    assert at("go", "package main\n\nfunc f() {\n\tr := 'x‸'\n}\n").in_string
    block = at("go", "package main\n\nfunc f() {\n\tx := 1 /* a‸ */\n}\n")
    assert block.in_comment
    assert not at("go", "package main\n\nfunc f() {\n\tx := 1 /* a */‸\n}\n").in_comment


@needs("go")
def test_go_multibyte_before_cursor() -> None:
    src = 'package main\n\nfunc f() {\n\ts := "héllo 世界"; x‸\n}\n'
    text, row, col = split_cursor(src)
    line = text.split("\n")[row]
    assert col == len(line.encode("utf-8")) > len(line)  # a byte column, not characters
    info = analyze(text, row, col, "go")
    assert info is not None
    assert not info.in_string
    assert info.mid_expression
    assert info.enclosing_signature == "func f()"
    # Inside the string, after the multibyte characters.
    inside = at("go", 'package main\n\nfunc f() {\n\ts := "héllo 世‸界"; x\n}\n')
    assert inside.in_string
    # The same column counted in characters would land elsewhere: bytes are what count.
    after_x = analyze(text, row, len(line), "go")
    assert after_x is not None
    assert after_x.in_string  # character count 20 is byte 20: inside "héllo 世界"


@needs("go")
def test_go_func_literals() -> None:
    row = line_of(GO_FILE, "fmt.Fprintln(w, msg)")
    info = go_at(row, 2)
    assert info.enclosing_signature == "func(w http.ResponseWriter, r *http.Request)"
    assert info.enclosing_signature_row == row - 1
    row = line_of(GO_FILE, "w.WriteHeader(code)")
    info = go_at(row, len("\t\tw.WriteHeader("))
    assert info.enclosing_signature == "handler := func(code int)"
    assert info.enclosing_signature_row == row - 1
    assert info.mid_expression


@needs("go")
def test_go_top_level_has_no_signature() -> None:
    row = line_of(GO_FILE, "// Server answers requests.")
    info = go_at(row - 1, 0)
    assert info.enclosing_signature is None
    assert info.enclosing_signature_row is None
    assert info.imports == GO_IMPORTS
    after = go_at(line_of(GO_FILE, "func helper") + 2, 1)  # just after helper's "}"
    assert after.enclosing_signature is None
    struct = go_at(line_of(GO_FILE, "\tname string"), len("\tname string"))
    assert struct.enclosing_signature is None


@needs("go")
def test_go_broken_code_keeps_the_enclosing_signature() -> None:
    # The user is typing inside an `if` whose closing brace is not there yet.
    src = (
        'package main\n\nimport "strings"\n\n'
        "func first() {}\n\n"
        "func split(s string) []string {\n"
        '\tif s != "" {\n'
        "\t\tfor i := range s {\n"
        "\t\t\tparts := strings.Split(s, ‸\n"
        "\treturn nil\n"
        "}\n\n"
        "func last() {\n\tprintln()\n}\n"
    )
    info = at("go", src)
    assert info.enclosing_signature == "func split(s string) []string"
    assert info.enclosing_signature_row == 6
    assert info.mid_expression
    assert info.imports == 'package main\nimport "strings"'
    blank = at("go", src.replace("parts := strings.Split(s, ‸", "‸"))
    assert blank.enclosing_signature == "func split(s string) []string"
    assert not blank.mid_expression


# --------------------------------------------------------------------------------------------
# Python

PY_FILE = '''\
from __future__ import annotations

import os
from typing import (
    TYPE_CHECKING,
    Any,
)

if TYPE_CHECKING:
    import json

LIMIT = 10


@app.route("/items")
@login_required
async def handler(request,
                  *, limit: int = LIMIT) -> Response:
    """List the items."""
    items = await load(request)
    return items


class Store:
    @property
    def name(self) -> str:
        import re
        return self._name

    def put(self, key: str, value: Any) -> None:
        if key in self._data:
            raise KeyError(key)
        self._data[key] = value
'''

PY_IMPORTS = (
    "from __future__ import annotations\n"
    "import os\n"
    "from typing import (\n"
    "    TYPE_CHECKING,\n"
    "    Any,\n"
    ")"
)


def py_at(row: int, col: int, text: str = PY_FILE) -> SyntaxInfo:
    info = analyze(text, row, col, "python")
    assert info is not None
    return info


@needs("python")
def test_python_imports_top_level_only() -> None:
    info = py_at(0, 0)
    assert info.imports == PY_IMPORTS
    assert info.imports_end_row == 7
    assert imports_of(PY_FILE, "python") == PY_IMPORTS
    assert "json" not in info.imports  # under `if TYPE_CHECKING:`
    assert "import re" not in info.imports  # inside a function


@needs("python")
def test_python_decorated_async_def() -> None:
    row = line_of(PY_FILE, "items = await load(request)")
    info = py_at(row, len("    items = await load("))
    assert info.enclosing_signature == (
        "async def handler(request,\n                  *, limit: int = LIMIT) -> Response:"
    )
    assert info.enclosing_signature_row == line_of(PY_FILE, "async def handler")
    assert info.mid_expression


@needs("python")
def test_python_methods_and_decorators() -> None:
    row = line_of(PY_FILE, "return self._name")
    info = py_at(row, len("        return self._na"))
    assert info.enclosing_signature == "def name(self) -> str:"  # starts at `def`, not `@`
    assert info.enclosing_signature_row == row - 2
    assert info.mid_expression
    row = line_of(PY_FILE, "raise KeyError(key)")
    info = py_at(row, 12)
    assert info.enclosing_signature == "def put(self, key: str, value: Any) -> None:"


@needs("python")
def test_python_blank_line_after_the_last_statement() -> None:
    text = PY_FILE + "        \n"
    last = text.count("\n") - 1
    inside = py_at(last, 8, text)
    assert inside.enclosing_signature == "def put(self, key: str, value: Any) -> None:"
    assert not inside.mid_expression
    class_level = py_at(last, 4, PY_FILE + "    \n")
    assert class_level.enclosing_signature is None
    top = py_at(last, 0, PY_FILE + "\n")
    assert top.enclosing_signature is None


@needs("python")
def test_python_block_opener() -> None:
    info = at("python", "def f(x):\n    if x:‸\n")
    assert info.block_opener
    assert not info.mid_expression
    assert info.enclosing_signature == "def f(x):"
    assert at("python", "def f(x):‸\n").block_opener
    assert at("python", "for i in range(3):‸\n    pass\n").block_opener
    assert at("python", "try:\n    pass\nexcept ValueError as e:‸\n").block_opener
    assert at("python", "class A(B):‸\n").block_opener
    assert not at("python", "d = {1:‸\n").block_opener
    assert not at("python", "f = lambda x:‸\n").block_opener
    assert not at("python", "x = y[1:‸]\n").block_opener
    assert not at("python", "# if x:‸\n").block_opener


@needs("python")
def test_python_strings_and_comments() -> None:
    fstring = 'def f(x):\n    s = f"a {x + ‸} b"\n'
    assert not at("python", fstring).in_string  # code inside the interpolation
    assert at("python", 'def f(x):\n    s = f"a {x} b‸"\n').in_string
    assert at("python", 'def f(x):\n    """Doc‸\n    more"""\n').in_string
    assert at("python", 'def f(x):\n    s = "hello‸\n    return 1\n').in_string
    comment = at("python", "def f(x):\n    y = x  # note‸\n")
    assert comment.in_comment
    assert not comment.mid_expression
    assert not at("python", "x = 1  # c\n‸y = 2\n").in_comment


@needs("python")
def test_python_unfinished_and_broken() -> None:
    info = at("python", "def f(x):\n    print(x, ‸\n")
    assert info.mid_expression
    assert info.enclosing_signature == "def f(x):"
    info = at("python", 'def f(x):\n    d = {"a":‸\n')
    assert info.enclosing_signature == "def f(x):"
    nested = "class A:\n    def a(self, x):\n        if x:\n            return [\n"
    info = at("python", nested + "                1,\n                ‸\n")
    assert info.enclosing_signature == "def a(self, x):"
    assert info.enclosing_signature_row == 1


# --------------------------------------------------------------------------------------------
# JavaScript, TypeScript, TSX

JS_FILE = """\
import React from "react";
import { join } from "path";
const fs = require("fs");
const { promisify } = require("util");
const answer = 42;

export function add(a, b) {
  return a + b;
}

const load = async (name) => {
  const text = await fs.readFile(join("/data", name));
  return `loaded ${name}`;
};

class Store {
  get(key) {
    return this.items[key];
  }
}

app.get("/", (req, res) => {
  res.send("ok");
});
"""

JS_IMPORTS = (
    'import React from "react";\n'
    'import { join } from "path";\n'
    'const fs = require("fs");\n'
    'const { promisify } = require("util");'
)


def js_at(needle: str, offset: int, text: str = JS_FILE, lang: str = "javascript") -> SyntaxInfo:
    row = line_of(text, needle)
    col = text.split("\n")[row].index(needle) + offset
    info = analyze(text, row, col, lang)
    assert info is not None
    return info


@needs("javascript")
def test_javascript_functions_and_imports() -> None:
    info = js_at("return a + b;", len("return a + "))
    assert info.enclosing_signature == "export function add(a, b)"
    assert info.enclosing_signature_row == 6
    assert info.imports == JS_IMPORTS
    assert info.imports_end_row == 4
    assert info.mid_expression
    arrow = js_at("const text", len("const text = await fs.readFile("))
    assert arrow.enclosing_signature == "const load = async (name) =>"
    assert arrow.enclosing_signature_row == 10
    assert arrow.mid_expression
    method = js_at("return this.items[key];", 0)
    assert method.enclosing_signature == "get(key)"
    callback = js_at('res.send("ok");', len('res.send("o'))
    assert callback.enclosing_signature == "(req, res) =>"
    assert callback.in_string
    top = js_at("const answer = 42;", len("const answer = 42;"))
    assert top.enclosing_signature is None
    assert not top.mid_expression


@needs("javascript")
def test_javascript_template_strings_and_broken_code() -> None:
    in_text = js_at("return `loaded ${name}`;", len("return `load"))
    assert in_text.in_string
    in_code = js_at("return `loaded ${name}`;", len("return `loaded ${na"))
    assert not in_code.in_string
    assert in_code.mid_expression
    broken = at(
        "javascript",
        "function a(x) {\n  if (x) {\n    for (const y of x) {\n      this.f(y, ‸\n  }\n}\n"
        "function b() {}\n",
    )
    assert broken.enclosing_signature == "function a(x)"
    assert broken.mid_expression
    opener = at("javascript", "const f = async (a) => {\n  if (a) {‸\n")
    assert opener.block_opener
    assert opener.enclosing_signature == "const f = async (a) =>"


@needs("typescript")
def test_typescript() -> None:
    src = (
        'import type { Item } from "./item";\n'
        'import fs = require("fs");\n\n'
        "export class Repo {\n"
        "  private async find(id: number): Promise<Item | undefined> {\n"
        "    const key: string = `item-${id}`;\n"
        "    return this.cache.get(‸);\n"
        "  }\n"
        "}\n"
    )
    info = at("typescript", src)
    assert info.enclosing_signature == "private async find(id: number): Promise<Item | undefined>"
    assert info.enclosing_signature_row == 4
    assert info.mid_expression
    assert info.imports == 'import type { Item } from "./item";\nimport fs = require("fs");'
    assert info.imports_end_row == 2


@needs("tsx")
def test_tsx_component() -> None:
    src = (
        'import React from "react";\n\n'
        "export const App = (props: Props) => {\n"
        '  return <div className="app">{props.‸}</div>;\n'
        "};\n"
    )
    info = at("tsx", src)
    assert info.enclosing_signature == "export const App = (props: Props) =>"
    assert info.enclosing_signature_row == 2
    assert info.mid_expression
    assert info.imports == 'import React from "react";'


# --------------------------------------------------------------------------------------------
# Lua

LUA_FILE = """\
local json = require("json")
local util = require "util"
local M = {}

local function helper(a, b)
  return a + b
end

function M.run(opts)
  if opts.verbose then
    print("running")
  end
  for i = 1, 3 do
    helper(i, 1)
  end
end

function M:stop()
  -- stop the thing
  self.running = false
end

return M
"""


@needs("lua")
def test_lua_functions_and_requires() -> None:
    row = line_of(LUA_FILE, "return a + b")
    info = analyze(LUA_FILE, row, len("  return a + "), "lua")
    assert info is not None
    assert info.enclosing_signature == "local function helper(a, b)"
    assert info.enclosing_signature_row == 4
    assert info.mid_expression
    assert info.imports == 'local json = require("json")\nlocal util = require "util"'
    assert info.imports_end_row == 2
    row = line_of(LUA_FILE, 'print("running")')
    info = analyze(LUA_FILE, row, len('    print("run'), "lua")
    assert info is not None
    assert info.in_string
    assert info.enclosing_signature == "function M.run(opts)"
    row = line_of(LUA_FILE, "-- stop the thing")
    info = analyze(LUA_FILE, row, len("  -- stop the thing"), "lua")
    assert info is not None
    assert info.in_comment
    assert info.enclosing_signature == "function M:stop()"
    info = analyze(LUA_FILE, line_of(LUA_FILE, "return M"), 8, "lua")
    assert info is not None
    assert info.enclosing_signature is None


@needs("lua")
def test_lua_block_openers_and_missing_end() -> None:
    info = at("lua", "local M = {}\nfunction M.run(x)\n  if x then‸\n  end\nend\n")
    assert info.block_opener
    assert info.enclosing_signature == "function M.run(x)"
    assert at("lua", "for i = 1, 3 do‸\nend\n").block_opener
    assert at("lua", "local function f(a)‸\n  return a\nend\n").block_opener
    assert at("lua", "local f = function(a)‸\n").block_opener
    assert not at("lua", "local x = f(a)‸\n").block_opener
    # `if` typed without its `end` yet: the whole rest becomes an ERROR.
    broken = at("lua", "local M = {}\nfunction M.run(x)\n  if x then\n    ‸\nend\n")
    assert broken.enclosing_signature == "function M.run(x)"
    assert broken.enclosing_signature_row == 1
    call = at("lua", "function M.run(x)\n  print(x, ‸\nend\n")
    assert call.enclosing_signature == "function M.run(x)"
    assert call.mid_expression


# --------------------------------------------------------------------------------------------
# Rust

RUST_FILE = """\
use std::collections::HashMap;
use std::io::{self, Read};
mod config;
mod inline { pub fn x() {} }

/// Counts words.
#[inline]
pub fn count<'a, T: AsRef<str>>(words: &'a [T]) -> HashMap<&'a str, usize>
where
    T: std::fmt::Debug,
{
    let mut map = HashMap::new();
    for w in words {
        *map.entry(w.as_ref()).or_insert(0) += 1;
    }
    map
}

impl Counter {
    pub async fn run(&mut self, input: &str) -> io::Result<()> {
        let text = "hello";
        Ok(())
    }
}
"""


@needs("rust")
def test_rust() -> None:
    row = line_of(RUST_FILE, "let mut map")
    info = analyze(RUST_FILE, row, len("    let mut map = "), "rust")
    assert info is not None
    assert info.enclosing_signature == (
        "pub fn count<'a, T: AsRef<str>>(words: &'a [T]) -> HashMap<&'a str, usize>\n"
        "where\n    T: std::fmt::Debug,"
    )
    assert info.enclosing_signature_row == 7
    assert info.mid_expression
    assert info.imports == (
        "use std::collections::HashMap;\nuse std::io::{self, Read};\nmod config;"
    )
    assert info.imports_end_row == 3
    row = line_of(RUST_FILE, "for w in words {")
    opener = analyze(RUST_FILE, row, len("    for w in words {"), "rust")
    assert opener is not None
    assert opener.block_opener
    row = line_of(RUST_FILE, 'let text = "hello";')
    method = analyze(RUST_FILE, row, len('        let text = "he'), "rust")
    assert method is not None
    assert method.in_string
    assert method.enclosing_signature == (
        "pub async fn run(&mut self, input: &str) -> io::Result<()>"
    )
    doc = analyze(RUST_FILE, 5, len("/// Counts words."), "rust")
    assert doc is not None
    assert doc.in_comment
    assert doc.enclosing_signature is None


# --------------------------------------------------------------------------------------------
# C and C++


@needs("c")
def test_c() -> None:
    src = (
        "#ifndef UTIL_H\n#define UTIL_H\n"
        "#include <stdio.h>\n"
        '#include "util.h"\n\n'
        "static int\n"
        "add(int a, int b)\n"
        "{\n"
        '    printf("%d\\n", ‸\n'
        "}\n"
        "#endif\n"
    )
    info = at("c", src)
    assert info.enclosing_signature == "static int\nadd(int a, int b)"
    assert info.enclosing_signature_row == 5
    assert info.mid_expression
    assert info.imports == '#include <stdio.h>\n#include "util.h"'
    assert info.imports_end_row == 4
    assert at("c", 'int main(void) {\n    char *s = "a‸b";\n}\n').in_string
    assert at("c", "int main(void) {\n    /* todo‸ */\n}\n").in_comment
    assert at("c", "int main(void) {\n    if (x) {‸\n}\n").block_opener
    assert at("c", "int x = 1;‸\n").enclosing_signature is None


@needs("cpp")
def test_cpp() -> None:
    src = (
        "#include <string>\n#include <vector>\n\n"
        "namespace store {\n"
        "template <typename T>\n"
        "std::vector<T> Repo<T>::find(const std::string& key) const {\n"
        "    for (const auto& item : items_) {‸\n"
        "    }\n"
        "}\n"
        "}  // namespace store\n"
    )
    info = at("cpp", src)
    assert info.block_opener
    assert not info.mid_expression
    assert info.enclosing_signature == (
        "std::vector<T> Repo<T>::find(const std::string& key) const"
    )
    assert info.enclosing_signature_row == 5
    assert info.imports == "#include <string>\n#include <vector>"
    assert info.imports_end_row == 2


# --------------------------------------------------------------------------------------------
# Java

JAVA_FILE = """\
package com.example.store;

import java.util.List;
import java.util.Map;

public class Store {
    private final Map<String, Item> items;

    public Store(Map<String, Item> items) {
        this.items = items;
    }

    @Override
    @Deprecated
    public List<Item> find(String prefix, int limit) throws StoreException {
        String label = "items";
        return items.values().stream().limit(limit).toList();
    }
}
"""


@needs("java")
def test_java() -> None:
    row = line_of(JAVA_FILE, 'String label = "items";')
    info = analyze(JAVA_FILE, row, len('        String label = "it'), "java")
    assert info is not None
    assert info.in_string
    assert info.enclosing_signature == (
        "public List<Item> find(String prefix, int limit) throws StoreException"
    )
    assert info.enclosing_signature_row == row - 1
    assert info.imports == (
        "package com.example.store;\nimport java.util.List;\nimport java.util.Map;"
    )
    assert info.imports_end_row == 4
    row = line_of(JAVA_FILE, "this.items = items;")
    ctor = analyze(JAVA_FILE, row, len("        this.items = "), "java")
    assert ctor is not None
    assert ctor.enclosing_signature == "public Store(Map<String, Item> items)"
    assert ctor.mid_expression
    field = analyze(JAVA_FILE, line_of(JAVA_FILE, "private final"), 4, "java")
    assert field is not None
    assert field.enclosing_signature is None


# --------------------------------------------------------------------------------------------
# Bash

BASH_FILE = """\
#!/usr/bin/env bash
set -euo pipefail
source ./lib/common.sh
. "$HOME/.config/tool.sh"

greet() {
  local name="$1"
  if [ -n "$name" ]; then
    echo "hello $name" # greet
  fi
}

function cleanup {
  for f in "$@"; do
    rm -f "$f"
  done
}
"""


@needs("bash")
def test_bash() -> None:
    row = line_of(BASH_FILE, 'echo "hello $name"')
    info = analyze(BASH_FILE, row, len('    echo "hel'), "bash")
    assert info is not None
    assert info.in_string
    assert info.enclosing_signature == "greet()"
    assert info.enclosing_signature_row == 5
    assert info.imports == 'source ./lib/common.sh\n. "$HOME/.config/tool.sh"'
    assert info.imports_end_row == 4
    comment = analyze(BASH_FILE, row, len('    echo "hello $name" # gre'), "bash")
    assert comment is not None
    assert comment.in_comment
    row = line_of(BASH_FILE, 'if [ -n "$name" ]; then')
    opener = analyze(BASH_FILE, row, len('  if [ -n "$name" ]; then'), "bash")
    assert opener is not None
    assert opener.block_opener
    row = line_of(BASH_FILE, 'for f in "$@"; do')
    loop = analyze(BASH_FILE, row, len('  for f in "$@"; do'), "bash")
    assert loop is not None
    assert loop.block_opener
    assert loop.enclosing_signature == "function cleanup"
    top = analyze(BASH_FILE, 1, len("set -euo pipefail"), "bash")
    assert top is not None
    assert top.enclosing_signature is None
    broken = at("bash", "g() {\n  for i in 1 2; do\n    echo $i ‸\n}\n")
    assert broken.enclosing_signature == "g()"


# --------------------------------------------------------------------------------------------
# imports_of, parse_errors, edge cases


@needs("go", "python", "rust")
def test_imports_of_a_file_head() -> None:
    head = "\n".join(GO_FILE.split("\n")[:20])  # cut in the middle of a function
    assert imports_of(head, "go") == GO_IMPORTS
    assert imports_of("package main\n", "go") == "package main"
    assert imports_of("", "go") == ""
    assert imports_of("x = 1\n", "python") == ""
    assert imports_of("import os\nimport sys as system\n", "python") == (
        "import os\nimport sys as system"
    )
    assert imports_of("use a::b;\nfn main() {", "rust") == "use a::b;"


@needs("go", "python")
def test_parse_errors() -> None:
    assert parse_errors(GO_FILE, "go") == 0
    assert parse_errors(PY_FILE, "python") == 0
    assert parse_errors("package main\n\nfunc f() {\n\tfoo(1, \n}\n", "go") >= 1
    assert parse_errors("def f(:\n", "python") >= 1
    assert parse_errors("", "go") == 0


@needs("go")
def test_positions_out_of_range_are_clamped() -> None:
    info = analyze(GO_FILE, 10_000, 10_000, "go")
    assert info is not None
    assert info.enclosing_signature is None
    inside = analyze("package main\n\nfunc f() {\n\tx := 1\n}\n", 3, 99, "go")
    assert inside is not None
    assert inside.enclosing_signature == "func f()"
    empty = analyze("", 0, 0, "go")
    assert empty == SyntaxInfo(
        language="go",
        in_string=False,
        in_comment=False,
        mid_expression=False,
        block_opener=False,
        enclosing_signature=None,
        enclosing_signature_row=None,
        imports="",
        imports_end_row=0,
    )
    negative = analyze("package main\n", -3, -1, "go")
    assert negative is not None
    assert negative.imports == "package main"


BROKEN = {
    "go": 'package main\nfunc f( {\n\tif x {\n\t\ts := "a\n\tfoo(1,\n}\n}}\n',
    "python": "def f(:\n    if x\n        s = 'a\n    return [1,\nclass\n",
    "lua": "local function f(\n  if x then\n  s = 'a\nend end end\n",
    "javascript": "function f( {\n  const s = `a ${\n  if (x {\n}}\n",
    "typescript": "function f<T>(x: {\n  let y: = \n}\n",
    "tsx": "const A = () => <div>{x\n",
    "rust": 'fn f(x: {\n    let s = "a\n    match x {\n}\n',
    "c": 'int f(int {\n  char *s = "a\n  if (x {\n}\n',
    "cpp": "template <class T\nint A::f( {\n  auto l = [&](int x {\n}\n",
    "java": 'class A {\n  void f( {\n    String s = "a\n  }\n',
    "bash": 'f() {\n  if [ -z "$x ]; then\n    echo $(\n}\n',
}


@pytest.mark.parametrize("lang", sorted(BROKEN))
def test_broken_code_never_raises(lang: str) -> None:
    if lang not in available_languages():
        pytest.skip(f"no grammar for {lang}")
    text = BROKEN[lang]
    lines = text.split("\n")
    for row, line in enumerate(lines):
        for col in range(len(line.encode("utf-8")) + 2):
            info = analyze(text, row, col, lang)
            assert info is not None
            assert info.language == lang
    assert parse_errors(text, lang) > 0


@needs("go", "python")
@settings(max_examples=150, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("func(){}[]\"'`:=,.\n\t xé世#/*\\")), max_size=80),
    row=st.integers(min_value=-2, max_value=8),
    col=st.integers(min_value=-2, max_value=40),
    lang=st.sampled_from(["go", "python", "javascript", "lua", "bash"]),
)
def test_random_text_never_raises(text: str, row: int, col: int, lang: str) -> None:
    info = analyze(text, row, col, lang)
    assert info is not None
    assert isinstance(info.imports, str)
    assert parse_errors(text, lang) >= 0


@needs("go")
def test_analyze_from_many_threads() -> None:
    text = GO_FILE
    row = line_of(text, "fmt.Fprintln(w, msg)")
    expected = go_at(row, 2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(30):
                assert analyze(text, row, 2, "go") == expected
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# --------------------------------------------------------------------------------------------
# Performance


def go_source(functions: int) -> str:
    parts = ['package main\n\nimport (\n\t"fmt"\n\t"strings"\n)\n']
    for i in range(functions):
        parts.append(
            f'\n// F{i} joins the parts of "héllo 世界".\n'
            f"func (s *Server) F{i}(name string, n int) (string, error) {{\n"
            "\tif n < 0 {\n"
            '\t\treturn "", fmt.Errorf("bad n %d", n)\n'
            "\t}\n"
            '\tparts := strings.Split(name, ",")\n'
            "\tfor i, p := range parts {\n"
            '\t\tif p == "" {\n'
            "\t\t\tcontinue\n"
            "\t\t}\n"
            "\t\tfmt.Println(i, p)\n"
            "\t}\n"
            '\treturn strings.Join(parts, "-"), nil\n'
            "}\n"
        )
    return "".join(parts)


@needs("go")
@pytest.mark.parametrize("functions", [20, 134])
def test_analyze_large_files(functions: int) -> None:
    # Speed is measured by benchmarks/, not asserted here.
    text = go_source(functions)
    lines = text.split("\n")
    calls = [number for number, line in enumerate(lines) if "fmt.Println(i, p)" in line]
    row = calls[functions // 2]
    info = analyze(text, row, len("\t\tfmt.Println(i, "), "go")
    assert info is not None
    assert info.mid_expression
    assert info.enclosing_signature == (
        f"func (s *Server) F{functions // 2}(name string, n int) (string, error)"
    )


_EDIT_BASE = "package p\n\nfunc a() {\n\tx := 1\n}\n\nfunc b() int {\n\treturn 2\n}\n" * 3


def _edited(text: str, at: float, cut: int, insert: str) -> str:
    pos = int(at * len(text))
    return text[:pos] + insert + text[pos + cut :]


@needs("go")
@settings(max_examples=80, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1),
            st.integers(min_value=0, max_value=6),
            st.text(alphabet=st.sampled_from(list("{}()\n\tx:=1 ")), max_size=6),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_a_reparse_through_intermediate_texts_matches_a_full_parse(
    steps: list[tuple[float, int, str]],
) -> None:
    # reparse(via=...) describes the change as one edit per step, the tree must still be
    # the one a full parse of the final text gives.
    texts = [_EDIT_BASE]
    for at, cut, insert in steps:
        texts.append(_edited(texts[-1], at, cut, insert))
    first = texts[0].encode()
    old = ts.parse("go", first)
    tree = reparse("go", old, first, texts[-1].encode(), [t.encode() for t in texts[1:-1]])
    parser = ts.get_parser("go")
    assert tree is not None and parser is not None
    assert str(tree.root_node) == str(parser.parse(texts[-1].encode()).root_node)


@needs("go")
def test_the_tree_taking_functions_agree_with_the_text_taking_ones() -> None:
    # A Document hands its tree to these: the same answers as parsing the text.
    data = GO_FILE.encode()
    tree = ts.parse("go", data)
    assert tree is not None
    for row in range(GO_FILE.count("\n") + 1):
        assert ts.analyze_tree(tree, GO_FILE, data, row, 1, "go") == analyze(GO_FILE, row, 1, "go")
        assert ts.window_in_tree(tree, 0, row, row + 1) == ts.statement_window(
            GO_FILE, "go", 0, row, row + 1
        )
    assert ts.imports_in_tree(tree, data, "go") == imports_of(GO_FILE, "go")
    assert ts.imports_in_tree(tree, data, "go", rows=1) == "package server"
    without = ts.analyze_tree(tree, GO_FILE, data, 3, 0, "go", imports=False)
    assert (without.imports, without.imports_end_row) == ("", 0)
    assert ts.parse("cobol", data) is None


@pytest.mark.parametrize(
    ("line", "lang", "inside"),
    [
        (b"x := `C:\\dir\\", "go", True),  # a raw string: the backslash escapes nothing
        (b"x := `C:\\dir\\` + y", "go", False),
        (b'x := "a\\"', "go", True),  # an interpreted string: it escapes the quote
        (b"echo 'a\\' b", "bash", False),
        (b'echo "a\\" b', "bash", True),
    ],
)
def test_a_raw_quote_is_closed_by_its_quote_after_a_backslash(
    line: bytes, lang: str, inside: bool
) -> None:
    from localllm.treesitter.syntax import _lexical_in_string

    assert _lexical_in_string(line, lang) is inside
