"""Behaviour that changed when per-language knowledge moved into `localllm.languages`: the
copies the modules had disagreed, and these pin the answer the registry gives."""

from __future__ import annotations

from localllm import languages, treesitter
from localllm.definitions import identifiers_near
from localllm.explain_prompt import enclosing_function
from localllm.loglines import find_log_site
from localllm.prompt import chunk_blocks, comment_leader
from localllm.rules.go_errors.packages import _imports
from localllm.types import FimContext, IndentStyle


def test_explain_takes_the_named_lua_function_around_an_anonymous_callback() -> None:
    # Lua's anonymous `function() … end` is a function_definition, a node kind that is named in
    # Python, C and Bash: it used to count as named, and the callback hid the function.
    src = "function M.setup(opts)\n  vim.schedule(function()\n    print(opts)\n  end)\nend\n"
    assert enclosing_function(src, 2, "lua") == (0, 4, "M.setup")
    top = "local f = function(x)\n  return x\nend\n"
    assert enclosing_function(top, 1, "lua") == (0, 2, "")


def test_every_language_heads_chunks_with_its_own_comment_marker() -> None:
    assert comment_leader("bash") == "#"
    assert comment_leader("lua") == "--"
    assert comment_leader("tsx") == "//"
    assert comment_leader("cobol") == ""
    ctx = FimContext(
        filename="main.sh",
        language="bash",
        header="",
        prefix="",
        middle="",
        line_suffix="",
        suffix="",
        multiline=False,
        indent=IndentStyle(),
        extra=(("lib.sh", "f() { :; }"),),
    )
    assert chunk_blocks(ctx) == "# lib.sh\nf() { :; }\n\n"


GO_IMPORTS = (
    'package main\n\nimport (\n\t"log"\n\t"gopkg.in/yaml.v3"\n\t"github.com/x/kit-go"\n'
    '\t"github.com/go-chi/chi/v5"\n)\n\nfunc f() {\n\tlog.Printf(\n}\n'
)


def test_goerr_and_loglines_name_go_packages_alike() -> None:
    # goerr said `kit_go`, loglines said `yamlv3`: both now take goimports' assumed name.
    tree = treesitter.parse("go", GO_IMPORTS.encode())
    assert tree is not None
    assert sorted(_imports(tree.root_node, GO_IMPORTS.encode())) == [
        "chi",
        "kit",
        "log",
        "yaml",
    ]
    site = find_log_site(GO_IMPORTS, 10, len("\tlog.Printf("), "go")
    assert site is not None
    assert site.packages == {"chi", "kit", "log", "yaml"}


def test_javascript_globals_are_known_to_definitions_and_log_lines_alike() -> None:
    # definitions lacked structuredClone and URL, loglines lacked Symbol and SyntaxError.
    js = "function f(a) {\n  const b = structuredClone(a, Symbol, SyntaxError);\n  g(b, URL);\n}\n"
    assert identifiers_near(js, 2, 5, "javascript") == ["g"]
    site = find_log_site("function f(a) {\n  console.info(\n}\n", 1, 15, "javascript")
    assert site is not None
    assert {"Symbol", "SyntaxError", "structuredClone", "URL"} <= site.identifiers


def test_rust_names_that_need_a_use_are_not_builtins() -> None:
    # Arc and BTreeMap are not in Rust's prelude: a file uses them after a `use`, which is what
    # puts them in scope. They were builtins for definitions and unknown names for loglines.
    rust = languages.get("rust")
    assert rust is not None
    assert not {"Arc", "Rc", "HashMap", "BTreeMap"} & rust.builtins
    assert {"Vec", "Option", "String", "Box", "println", "vec"} <= rust.builtins
    src = "fn f(x: Config) -> Arc<Config> {\n    let v: Vec<u8> = Vec::new();\n    Arc::new(x)\n}\n"
    assert "Arc" in identifiers_near(src, 2, 5, "rust")
    assert "Vec" not in identifiers_near(src, 2, 5, "rust")
