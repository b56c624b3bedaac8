"""Ruby, added by the recipe in CONTRIBUTING.md (a record, a grammar wheel, a registry line):
the engine's language-neutral code serves it without an edit anywhere else."""

from __future__ import annotations

from localllm import languages
from localllm.config import ContextSettings
from localllm.context import build_context
from localllm.explain_prompt import ExplainRequest, enclosing_function, find_target
from localllm.types import BufferSnapshot

RUBY = """require "json"

class Store
  def initialize(path)
    @path = path
  end

  # The names of all records.
  def names
    records = JSON.parse(File.read(@path))
    records.map { |r| r["name"] }
  end
end
"""


def test_a_ruby_file_is_ruby_by_filetype_and_by_extension() -> None:
    assert languages.for_buffer("ruby", "/src/store.rb") is languages.RUBY
    assert languages.for_buffer("", "/src/tasks.rake") is languages.RUBY


def test_explain_finds_the_ruby_method_around_the_cursor() -> None:
    assert enclosing_function(RUBY, 10, "ruby") == (7, 11, "names")
    lines = tuple(RUBY.split("\n"))
    req = ExplainRequest(id=1, path="/src/store.rb", filetype="ruby", lines=lines, cursor_row=10)
    target = find_target(req, "ruby")
    assert (target.kind, target.name) == ("function", "names")
    assert "def names" in target.text and "initialize" not in target.text


def test_the_context_of_a_ruby_buffer_names_its_language() -> None:
    snap = BufferSnapshot.from_text(RUBY, 10, 4, path="/src/store.rb", filetype="ruby")
    ctx = build_context(snap, ContextSettings())
    assert ctx.language == "ruby"
    assert ctx.prefix.endswith("records = JSON.parse(File.read(@path))\n")
    assert ctx.middle == "    " and ctx.next_lines == ("  end", "end")


def test_a_line_ending_in_do_opens_a_ruby_block() -> None:
    # Ruby's keyword blocks come from its record, as Lua's and the shell's do.
    from localllm.treesitter import analyze

    text = "def names(items)\n  items.each do\n\nend\n"
    info = analyze(text, 1, len("  items.each do"), "ruby")
    assert info is not None and info.block_opener
    plain = analyze(text, 1, len("  items.each"), "ruby")
    assert plain is not None and not plain.block_opener
