"""The language registry: every record complete, its grammar loading, nothing claimed twice."""

from __future__ import annotations

import dataclasses

import pytest
from tree_sitter import Parser

from localllm import languages
from localllm.languages import Language
from localllm.languages.go import package_name

SAMPLES = {
    "go": "package main\n\nfunc main() {}\n",
    "python": "def f(x):\n    return x\n",
    "lua": "local function f(x) return x end\n",
    "javascript": "function f(x) { return x; }\n",
    "typescript": "function f(x: number): number { return x; }\n",
    "tsx": "const f = (x: number) => <div>{x}</div>;\n",
    "rust": "fn f(x: i32) -> i32 { x }\n",
    "c": "int f(int x) { return x; }\n",
    "cpp": "template <typename T> T f(T x) { return x; }\n",
    "java": "class A { int f(int x) { return x; } }\n",
    "bash": 'f() { echo "$1"; }\n',
    "ruby": "def f(x)\n  x + 1\nend\n",
}

# Fields every record sets to something non-empty.
REQUIRED = (
    "name",
    "family",
    "display_name",
    "filetypes",
    "extensions",
    "grammar_module",
    "grammar_function",
    "line_comment",
    "string_quotes",
    "builtins",
    "keywords",
    "function_types",
    "block_tokens",
)
RECORDS = languages.all()


def test_the_registry_holds_every_language_once() -> None:
    names = [lang.name for lang in RECORDS]
    assert len(names) == len(set(names))
    assert set(names) == set(SAMPLES)
    for lang in RECORDS:
        assert languages.get(lang.name) is lang
    assert languages.get("cobol") is None
    assert languages.get(None) is None


@pytest.mark.parametrize("lang", RECORDS, ids=lambda lang: lang.name)
def test_every_record_is_complete(lang: Language) -> None:
    for name in REQUIRED:
        assert getattr(lang, name), f"{lang.name}.{name} is empty"
    assert dataclasses.is_dataclass(lang)
    with pytest.raises(dataclasses.FrozenInstanceError):
        lang.name = "x"  # type: ignore[misc]
    assert all(ext.startswith(".") and ext == ext.lower() for ext in lang.extensions)
    assert not lang.builtins & {""} and not lang.keywords & {""}
    assert not lang.function_types & lang.lambda_types
    if lang.block_comment is not None:
        assert all(lang.block_comment)
    if lang.definitions_query:
        assert lang.scope_types and lang.operand_field
        assert lang.sibling_extensions or lang.header_extensions
    assert lang.siblings in ("", "package", "imports")
    if lang.brace_blocks:
        assert lang.block_tokens == (frozenset("{"), frozenset("}"))


@pytest.mark.parametrize("lang", RECORDS, ids=lambda lang: lang.name)
def test_every_grammar_loads_and_parses_its_sample(lang: Language) -> None:
    tree = Parser(lang.load_grammar()).parse(SAMPLES[lang.name].encode())
    assert not tree.root_node.has_error
    kinds = set()
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        kinds.add(node.type)
        stack.extend(node.children)
    assert kinds & (lang.function_types | lang.lambda_types), lang.name


@pytest.mark.parametrize("lang", RECORDS, ids=lambda lang: lang.name)
def test_every_import_node_type_is_one_of_the_grammar(lang: Language) -> None:
    # A misspelt node type would silently leave the file's imports out of every prompt.
    grammar = lang.load_grammar()
    kinds = (
        lang.import_types
        | lang.require_types
        | lang.bodiless_imports
        | lang.import_containers
        | ({"command"} if lang.import_commands else set())
    )
    assert not {k for k in kinds if grammar.id_for_node_kind(k, True) is None}, lang.name


def test_the_languages_with_imports_say_how_to_find_them() -> None:
    said = {
        r.name
        for r in RECORDS
        if r.import_types or r.require_types or r.import_commands or r.bodiless_imports
    }
    assert said == {r.name for r in RECORDS} - {"ruby"}  # Ruby: not yet (see CONTRIBUTING)


@pytest.mark.parametrize("lang", [r for r in RECORDS if r.definitions_query], ids=str)
def test_every_definitions_query_compiles(lang: Language) -> None:
    from tree_sitter import Query

    Query(lang.load_grammar(), lang.definitions_query)


def test_filetypes_and_extensions_do_not_collide() -> None:
    for field in ("filetypes", "extensions"):
        seen: dict[str, str] = {}
        for lang in RECORDS:
            for value in getattr(lang, field):
                assert value not in seen, f"{value} in {seen.get(value)} and {lang.name}"
                seen[value] = lang.name


def test_a_buffer_is_found_by_filetype_then_extension() -> None:
    assert languages.for_buffer("typescriptreact") is languages.get("tsx")
    assert languages.for_buffer("sh") is languages.get("bash")
    assert languages.for_buffer("", "a/b.HPP") is languages.get("cpp")
    assert languages.for_buffer("zsh", "x.sh") is None
    assert languages.for_buffer("", "") is None
    assert languages.for_buffer("text", "notes.txt") is None


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("fmt", "fmt"),
        ("net/http", "http"),
        ("gopkg.in/yaml.v3", "yaml"),
        ("github.com/x/kit-go", "kit"),
        ("github.com/go-chi/chi/v5", "chi"),
        ("github.com/go-kit/kit/log", "log"),
        ("github.com/mattn/go-sqlite3", "sqlite3"),
        ("k8s.io/client-go", "client"),
        ("example.com/v2", "example"),
        ("v2", "v2"),
        ("github.com/x/mypkg.go", "mypkg"),
    ],
)
def test_the_go_package_name_is_the_one_goimports_assumes(path: str, name: str) -> None:
    assert package_name(path) == name
    go = languages.get("go")
    assert go is not None and go.package_name is package_name
