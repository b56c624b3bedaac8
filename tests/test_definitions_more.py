"""Tests for localllm.definitions in the brace languages, on real source written for them:
TypeScript (and tsx) and JavaScript modules that import each other, a Rust crate folder, a Java
package, C and C++ files with their headers; and Lua modules that require each other.

A `‸` in a snippet marks the cursor (see test_definitions.split_cursor).
"""

from __future__ import annotations

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
from test_definitions import by_name, names, rewrite, split_cursor

LANGUAGES = {"javascript", "typescript", "tsx", "rust", "java", "c", "cpp", "lua"}

pytestmark = pytest.mark.skipif(
    not set(treesitter.available_languages()) >= LANGUAGES,
    reason="needs the JavaScript, TypeScript, Rust, Java, C, C++ and Lua grammars",
)


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text.replace("‸", ""))
    return folder


def relevant(
    folder: Path, name: str, src: str, lang: str, index: DefinitionIndex | None = None, **kw: int
) -> tuple[list[Definition], list[Definition]]:
    text, row, col = split_cursor(src)
    kw.setdefault("budget_chars", 10_000)
    return relevant_definitions(
        text, row, col, lang, str(folder / name), index or DefinitionIndex(), **kw
    )


def no_bodies(found: list[Definition]) -> None:
    for definition in found:
        assert "BODY_OF" not in definition.text, definition.text
        assert definition.text.count("\n") < MAX_LINES


# --------------------------------------------------------------------------------------------
# TypeScript

MODELS_TS = """\
export const MAX_ITEMS = 50;

export interface Shape {
  area(): number;
  label: string;
}

export type Id = string | number;

export enum Color {
  Red,
  Green,
}

export class Stack<T> {
  private items: T[] = [];

  push(value: T): void {
    this.items.push(value); // BODY_OF_PUSH
  }

  get size(): number {
    return this.items.length; // BODY_OF_SIZE
  }
}

export function makeStack<T>(first: T): Stack<T> {
  const s = new Stack<T>(); // BODY_OF_MAKE
  s.push(first);
  return s;
}

export const double = (x: number): number => {
  return x * 2; // BODY_OF_DOUBLE
};
"""

UTIL_TS = """\
export function slugify(text: string): string {
  return text.toLowerCase(); // BODY_OF_SLUGIFY
}
"""

# Same names as models.ts and util.ts, never imported by app.ts.
OTHER_TS = """\
export function slugify(): void {}
export class Stack {}
export function makeStack(): void {}
"""

APP_TS = """\
import { Stack, makeStack, MAX_ITEMS, Color, type Id } from './models';
import * as util from "./util";

function localHelper(n: number): number {
  return n + 1;
}

export function run(ids: Id[], limit: number): Stack<Id> {
  const stack = makeStack<Id>(ids[0]);
  for (const id of ids) {
    if (stack.size > MAX_ITEMS || limit < 0) {
      break;
    }
    stack.push(util.slugify(String(id)));
  }
  const c = Color.Red;
  return localHelper(c) && stack;‸
}
"""


@pytest.fixture()
def ts_dir(tmp_path: Path) -> Path:
    return write(
        tmp_path / "src",
        {"models.ts": MODELS_TS, "util.ts": UTIL_TS, "other.ts": OTHER_TS, "app.ts": APP_TS},
    )


def test_ts_identifiers_near() -> None:
    text, row, col = split_cursor(APP_TS)
    found = identifiers_near(text, row, col, "typescript")
    assert found[:3] == ["localHelper", "Color", "Red"]
    for expected in ("push", "slugify", "size", "MAX_ITEMS", "makeStack", "Id", "Stack"):
        assert expected in found
    # Locals, parameters, builtins and keywords are not reported.
    for absent in ("c", "stack", "id", "ids", "limit", "String", "const", "number"):
        assert absent not in found


def test_ts_definitions_from_imported_modules(ts_dir: Path) -> None:
    same, other = relevant(ts_dir, "app.ts", APP_TS, "typescript", window_start_row=7)
    assert names(same) == ["localHelper"]
    assert same[0].text == "function localHelper(n: number): number { ... }"

    models = str(ts_dir / "models.ts")
    assert {d.path for d in other} == {models, str(ts_dir / "util.ts")}
    # A type used: the enum whole, the alias, the class with its methods' bodies elided.
    assert by_name(other, "Color").text == "export enum Color {\n  Red,\n  Green,\n}"
    assert by_name(other, "Id").text == "export type Id = string | number;"
    stack = by_name(other, "Stack")
    assert (stack.kind, stack.path, stack.row) == ("class", models, 14)
    assert stack.text == (
        "export class Stack<T> {\n"
        "  private items: T[] = [];\n"
        "\n"
        "  push(value: T): void { ... }\n"
        "\n"
        "  get size(): number { ... }\n"
        "}"
    )
    # The class shows `push`: the method found through `stack.push` is not repeated.
    assert "push" not in names(other)
    # A function called, a function of a namespace import, a constant.
    assert by_name(other, "makeStack").text == (
        "export function makeStack<T>(first: T): Stack<T> { ... }"
    )
    slugify = by_name(other, "slugify")
    assert slugify.path == str(ts_dir / "util.ts")
    assert slugify.text == "export function slugify(text: string): string { ... }"
    assert by_name(other, "MAX_ITEMS").kind == "const"
    assert by_name(other, "MAX_ITEMS").text == "export const MAX_ITEMS = 50;"
    no_bodies([*same, *other])


def test_ts_method_through_a_member_expression(ts_dir: Path) -> None:
    # The class is imported (so its methods are visible) but not in sight.
    src = "import { Stack } from './models';\n\nexport function f() {\n"
    src += "  const s = build();\n  s.push(1);‸\n}\n"
    _same, other = relevant(ts_dir, "app.ts", src, "typescript")
    push = by_name(other, "push")
    assert (push.kind, push.owner) == ("method", "Stack")
    assert push.text == "export class Stack<T> {\n  push(value: T): void { ... }\n}"
    # An arrow function assigned to a constant is a function, its body elided.
    found = DefinitionIndex().definitions_in_text(MODELS_TS, "typescript", "models.ts")
    assert found["double"][0].kind == "func"
    assert found["double"][0].text == "export const double = (x: number): number => { ... };"
    assert set(found) == {"MAX_ITEMS", "Shape", "Id", "Color", "Stack", "push", "size"} | {
        "makeStack",
        "double",
    }


def test_ts_siblings_need_an_import(ts_dir: Path) -> None:
    src = "export function f() {\n  return makeStack(slugify(MAX_ITEMS));‸\n}\n"
    assert relevant(ts_dir, "app.ts", src, "typescript") == ([], [])
    # Renamed on import: the original name is looked up, in the module it comes from.
    src = "import { slugify as slug } from './other';\n\n" + src.replace("slugify", "slug")
    _same, other = relevant(ts_dir, "app.ts", src, "typescript")
    assert names(other) == ["slugify"]
    assert other[0].path == str(ts_dir / "other.ts")


def test_tsx_buffer_imports_typescript_and_javascript(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "ui",
        {
            "models.ts": MODELS_TS,
            "theme.js": "export const PALETTE = ['red', 'green'];\n",
            "Button.tsx": "export function Button(props: { label: string }) {\n"
            "  return <button>{props.label}</button>; // BODY_OF_BUTTON\n}\n",
        },
    )
    src = """\
import { Color } from './models';
import { PALETTE } from './theme.js';
import { Button } from './Button';

export function App() {
  return <Button label={PALETTE[Color.Red]} />;‸
}
"""
    _same, other = relevant(folder, "App.tsx", src, "tsx")
    assert set(names(other)) == {"Color", "PALETTE", "Button"}
    assert by_name(other, "Button").text == (
        "export function Button(props: { label: string }) { ... }"
    )
    assert by_name(other, "PALETTE").path == str(folder / "theme.js")
    no_bodies(other)


# --------------------------------------------------------------------------------------------
# JavaScript

STORE_JS = """\
const DEFAULT_LIMIT = 10;

class Store {
  constructor(name) {
    this.name = name; // BODY_OF_CTOR
    this.items = [];
  }

  add(item) {
    this.items.push(item); // BODY_OF_ADD
  }
}

function createStore(name) {
  return new Store(name); // BODY_OF_CREATE
}

const formatItem = (item) => {
  return `${item.id}`; // BODY_OF_FORMAT
};

module.exports = { Store, createStore, formatItem, DEFAULT_LIMIT };
"""

APP_JS = """\
const { createStore, DEFAULT_LIMIT } = require('./store');
const store = require("./store");

function main(items) {
  const s = createStore('main');
  for (const item of items.slice(0, DEFAULT_LIMIT)) {
    s.add(item);
    console.log(store.formatItem(item));‸
  }
}
"""


def test_js_require_member_calls_and_constants(tmp_path: Path) -> None:
    folder = write(tmp_path / "js", {"store.js": STORE_JS, "app.js": APP_JS})
    same, other = relevant(folder, "app.js", APP_JS, "javascript")
    assert same == []
    assert names(other) == ["formatItem", "add", "DEFAULT_LIMIT", "createStore"]
    assert by_name(other, "formatItem").text == "const formatItem = (item) => { ... };"
    add = by_name(other, "add")
    assert (add.kind, add.owner) == ("method", "Store")
    assert add.text == "class Store {\n  add(item) { ... }\n}"
    assert by_name(other, "DEFAULT_LIMIT").text == "const DEFAULT_LIMIT = 10;"
    assert by_name(other, "createStore").text == "function createStore(name) { ... }"
    no_bodies(other)
    # A `require` is an import, not a definition of the file.
    found = DefinitionIndex().definitions_in_text(APP_JS, "javascript", "app.js")
    assert set(found) == {"main"}


def test_js_class_used_by_name_is_compacted(tmp_path: Path) -> None:
    folder = write(tmp_path / "js", {"store.js": STORE_JS})
    src = "import { Store } from './store';\n\nconst s = new Store('x');‸\n"
    _same, other = relevant(folder, "app.js", src, "javascript")
    assert names(other) == ["Store"]
    assert other[0].text == ("class Store {\n  constructor(name) { ... }\n\n  add(item) { ... }\n}")


# --------------------------------------------------------------------------------------------
# Rust

SHAPES_RS = """\
use std::fmt;

pub const MAX_SIDES: usize = 12;

/// A point in the plane.
#[derive(Debug, Clone)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

pub enum Kind {
    Square,
    Circle(f64),
}

pub trait Area {
    fn area(&self) -> f64;
    fn describe(&self) -> String {
        format!("{}", self.area()) // BODY_OF_DESCRIBE
    }
}

impl Point {
    pub fn new(x: f64, y: f64) -> Self {
        Point { x, y } // BODY_OF_NEW
    }

    pub fn distance(&self, other: &Point) -> f64 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt() // BODY_OF_DISTANCE
    }
}

pub fn centroid(points: &[Point]) -> Point {
    let n = points.len() as f64; // BODY_OF_CENTROID
    Point::new(0.0 / n, 0.0)
}
"""

MAIN_RS = """\
mod shapes;

use crate::shapes::{centroid, Kind, Point, MAX_SIDES};

fn local_helper(v: f64) -> f64 {
    v * 2.0
}

fn main() {
    let pts: Vec<Point> = vec![Point::new(1.0, 2.0)];
    let c = centroid(&pts);
    if pts.len() > MAX_SIDES {
        return;
    }
    let k = Kind::Square;
    let d = c.distance(&pts[0]);
    println!("{}", local_helper(d));‸
}
"""


def test_rust_definitions_from_the_modules_of_the_folder(tmp_path: Path) -> None:
    folder = write(tmp_path / "src", {"shapes.rs": SHAPES_RS, "main.rs": MAIN_RS})
    (folder / "nested").mkdir()
    (folder / "nested" / "deep.rs").write_text("pub fn centroid() {}\n")
    text, row, col = split_cursor(MAIN_RS)
    found = identifiers_near(text, row, col, "rust")
    assert found[:2] == ["local_helper", "distance"]
    for absent in ("pts", "c", "d", "k", "v", "println", "vec", "Vec", "f64", "unwrap"):
        assert absent not in found

    same, other = relevant(folder, "main.rs", MAIN_RS, "rust", window_start_row=8)
    assert names(same) == ["local_helper"]
    assert same[0].text == "fn local_helper(v: f64) -> f64 { ... }"
    assert names(other) == ["distance", "Kind", "MAX_SIDES", "centroid", "Point"]
    shapes = str(folder / "shapes.rs")
    assert {d.path for d in other} == {shapes}
    distance = by_name(other, "distance")
    assert (distance.kind, distance.owner, distance.row) == ("method", "Point", 28)
    assert distance.text == (
        "impl Point {\n    pub fn distance(&self, other: &Point) -> f64 { ... }\n}"
    )
    assert by_name(other, "Point").text == (
        "pub struct Point {\n    pub x: f64,\n    pub y: f64,\n}"
    )
    assert by_name(other, "Kind").text == "pub enum Kind {\n    Square,\n    Circle(f64),\n}"
    assert by_name(other, "MAX_SIDES").text == "pub const MAX_SIDES: usize = 12;"
    assert by_name(other, "centroid").text == "pub fn centroid(points: &[Point]) -> Point { ... }"
    no_bodies([*same, *other])


def test_rust_traits_and_field_access(tmp_path: Path) -> None:
    found = DefinitionIndex().definitions_in_text(SHAPES_RS, "rust", "shapes.rs")
    assert found["Area"][0].text == (
        "pub trait Area {\n    fn area(&self) -> f64;\n    fn describe(&self) -> String { ... }\n}"
    )
    assert found["new"][0].owner == "Point"
    folder = write(tmp_path / "src", {"shapes.rs": SHAPES_RS})
    # `Point::new`: the associated function of the type in sight.
    src = "use crate::shapes::Point;\n\nfn f() -> Point {\n    Point::new(1.0, 2.0)‸\n}\n"
    _same, other = relevant(folder, "lib.rs", src, "rust")
    assert names(other) == ["new", "Point"]
    assert other[0].text == "impl Point {\n    pub fn new(x: f64, y: f64) -> Self { ... }\n}"
    # `p.x`: the struct with a field `x`.
    src = "use crate::shapes::Point;\n\nfn f(p: &Point) -> f64 {\n    p.x‸\n}\n"
    _same, other = relevant(folder, "lib.rs", src, "rust")
    assert names(other) == ["Point"]


# --------------------------------------------------------------------------------------------
# Java

INVENTORY_JAVA = """\
package com.shop;

import java.util.ArrayList;
import java.util.List;

/** Holds the items of a shop. */
public class Inventory {
    public static final int MAX_ITEMS = 100;
    private final List<Item> items = new ArrayList<>();

    public Inventory() {
        items.clear(); // BODY_OF_CTOR
    }

    public void add(Item item) {
        items.add(item); // BODY_OF_ADD
    }

    public int count() {
        return items.size(); // BODY_OF_COUNT
    }
}
"""

ITEM_JAVA = """\
package com.shop;

public record Item(String name, Category category) {}
"""

CATEGORY_JAVA = """\
package com.shop;

public enum Category {
    BOOK,
    GAME;

    public boolean physical() {
        return this == BOOK; // BODY_OF_PHYSICAL
    }
}
"""

# Another package in the same folder: never used.
OTHER_JAVA = """\
package com.other;

public class Inventory {}

class Helper {
    static int localHelper(int n) { return n; }
}
"""

SHOP_JAVA = """\
package com.shop;

import java.util.List;

public class Shop {
    private final Inventory inventory = new Inventory();

    private static int localHelper(int n) {
        return n + 1;
    }

    public void stock(List<String> names) {
        for (String name : names) {
            Item item = new Item(name, Category.BOOK);
            if (inventory.count() >= Inventory.MAX_ITEMS) {
                return;
            }
            inventory.add(item);
        }
        System.out.println(localHelper(names.size()));‸
    }
}
"""


@pytest.fixture()
def java_dir(tmp_path: Path) -> Path:
    return write(
        tmp_path / "shop",
        {
            "Inventory.java": INVENTORY_JAVA,
            "Item.java": ITEM_JAVA,
            "Category.java": CATEGORY_JAVA,
            "Other.java": OTHER_JAVA,
            "Shop.java": SHOP_JAVA,
        },
    )


def test_java_definitions_of_the_same_package(java_dir: Path) -> None:
    text, row, col = split_cursor(SHOP_JAVA)
    found = identifiers_near(text, row, col, "java")
    assert found[:2] == ["size", "localHelper"]
    for absent in ("name", "names", "item", "System", "println", "String", "List", "n"):
        assert absent not in found

    same, other = relevant(java_dir, "Shop.java", SHOP_JAVA, "java", window_start_row=11)
    assert names(same) == ["localHelper"]
    assert same[0].kind == "method" and same[0].owner == "Shop"
    assert (
        same[0].text == "public class Shop {\n    private static int localHelper(int n) { ... }\n}"
    )
    assert names(other) == ["Inventory", "Item", "Category"]
    inventory = by_name(other, "Inventory")
    assert inventory.path == str(java_dir / "Inventory.java")
    assert inventory.text == (
        "public class Inventory {\n"
        "    public static final int MAX_ITEMS = 100;\n"
        "    private final List<Item> items = new ArrayList<>();\n"
        "\n"
        "    public Inventory() { ... }\n"
        "\n"
        "    public void add(Item item) { ... }\n"
        "\n"
        "    public int count() { ... }\n"
        "}"
    )
    assert by_name(other, "Item").text == "public record Item(String name, Category category) {}"
    assert by_name(other, "Category").text == (
        "public enum Category {\n    BOOK,\n    GAME;\n\n    public boolean physical() { ... }\n}"
    )
    no_bodies([*same, *other])


def test_java_methods_constants_and_packages(java_dir: Path) -> None:
    index = DefinitionIndex()
    folder = index.definitions_in_folder(str(java_dir), "java", exclude=str(java_dir / "Shop.java"))
    assert {"Inventory", "Item", "Category", "add", "count", "MAX_ITEMS", "physical"} <= set(folder)
    # Not the class of the other package, not the file itself.
    assert [d.path for d in folder["Inventory"]] == [str(java_dir / "Inventory.java")]
    assert "Helper" not in folder and "Shop" not in folder
    assert folder["MAX_ITEMS"][0].kind == "const"
    assert folder["MAX_ITEMS"][0].text == (
        "public class Inventory {\n    public static final int MAX_ITEMS = 100;\n}"
    )
    other_package = index.definitions_in_folder(str(java_dir), "java", package="com.other")
    assert set(other_package) == {"Inventory", "Helper", "localHelper"}

    # A method called on a field whose class is not in sight: the method alone.
    src = "package com.shop;\n\nclass Audit {\n    void f() {\n"
    src += "        int n = lookup().count();‸\n    }\n}\n"
    _same, other = relevant(java_dir, "Audit.java", src, "java")
    count = by_name(other, "count")
    assert (count.kind, count.owner) == ("method", "Inventory")
    assert count.text == "public class Inventory {\n    public int count() { ... }\n}"


# --------------------------------------------------------------------------------------------
# C

VEC_H = """\
#ifndef VEC_H
#define VEC_H

#include <stddef.h>

#define VEC_MAX 64
#define VEC_SQ(x) ((x) * (x))

typedef struct {
    double x;
    double y;
} Vec2;

struct Buffer {
    char *data;
    size_t len;
};

enum Mode { MODE_FAST, MODE_SAFE };

extern const int vec_version;

Vec2 vec_add(Vec2 a, Vec2 b);
double vec_len(const Vec2 *v);

static inline double vec_dot(Vec2 a, Vec2 b) {
    return a.x * b.x + a.y * b.y; /* BODY_OF_DOT */
}

#endif
"""

# Not included by main.c.
UNUSED_H = "int vec_secret(void);\nVec2 vec_add(int clash);\n"

MAIN_C = """\
#include <stdio.h>
#include "vec.h"

static int local_helper(int n) {
    return n + 1;
}

int main(void) {
    Vec2 a = {1.0, 2.0};
    struct Buffer buf = {0};
    enum Mode mode = MODE_SAFE;
    if (buf.len > VEC_MAX) {
        return 1;
    }
    Vec2 s = vec_add(a, a);
    printf("%f %d\\n", vec_dot(s, a), local_helper(vec_version));‸
    return vec_secret();
}
"""


def test_c_definitions_from_quoted_includes(tmp_path: Path) -> None:
    folder = write(tmp_path / "c", {"vec.h": VEC_H, "unused.h": UNUSED_H, "main.c": MAIN_C})
    text, row, col = split_cursor(MAIN_C)
    found = identifiers_near(text, row, col, "c")
    assert found[:3] == ["vec_version", "local_helper", "vec_dot"]
    for absent in ("a", "s", "buf", "mode", "n", "printf", "main"):
        assert absent not in found

    same, other = relevant(folder, "main.c", MAIN_C, "c", window_start_row=7)
    assert names(same) == ["local_helper"]
    assert same[0].text == "static int local_helper(int n) { ... }"
    vec = str(folder / "vec.h")
    assert {d.path for d in other} == {vec}
    assert names(other) == [
        "vec_version",
        "vec_dot",
        "Vec2",
        "vec_add",
        "Buffer",
        "VEC_MAX",
        "Mode",
    ]
    assert by_name(other, "vec_dot").text == "static inline double vec_dot(Vec2 a, Vec2 b) { ... }"
    assert by_name(other, "vec_add").text == "Vec2 vec_add(Vec2 a, Vec2 b);"
    assert by_name(other, "vec_version").kind == "const"
    assert by_name(other, "Vec2").text == (
        "typedef struct {\n    double x;\n    double y;\n} Vec2;"
    )
    assert by_name(other, "Buffer").text == "struct Buffer {\n    char *data;\n    size_t len;\n}"
    assert by_name(other, "VEC_MAX").text == "#define VEC_MAX 64"
    assert by_name(other, "Mode").text == "enum Mode { MODE_FAST, MODE_SAFE }"
    no_bodies([*same, *other])
    # Without the include, nothing comes from the headers.
    src = MAIN_C.replace('#include "vec.h"\n', "")
    _same, other = relevant(folder, "main.c", src, "c")
    assert other == []


def test_c_field_access_and_macros() -> None:
    found = DefinitionIndex().definitions_in_text(VEC_H, "c", "vec.h")
    assert set(found) == {
        "VEC_MAX",
        "VEC_SQ",
        "Vec2",
        "Buffer",
        "Mode",
        "vec_version",
        "vec_add",
        "vec_len",
        "vec_dot",
    }
    assert found["VEC_SQ"][0].text == "#define VEC_SQ(x) ((x) * (x))"
    assert found["VEC_SQ"][0].kind == "func"
    # `#define VEC_H` (no value) is an include guard, not a constant.
    assert "VEC_H" not in found
    assert found["vec_len"][0].text == "double vec_len(const Vec2 *v);"


# --------------------------------------------------------------------------------------------
# C++

STACK_HPP = """\
#pragma once
#include <vector>

namespace shop {

constexpr int kMaxDepth = 8;

enum class Color { Red, Green };

using Id = long;

template <typename T>
class Stack {
public:
    void push(const T& value) {
        items_.push_back(value);  // BODY_OF_PUSH
    }
    T pop();
    bool empty() const { return items_.empty(); }

private:
    std::vector<T> items_;
};

struct Counter {
    int hits;
    int misses;
};

int total(const Counter& c);

}  // namespace shop
"""

STACK_CPP = """\
#include "stack.hpp"

namespace shop {

template <typename T>
T Stack<T>::pop() {
    T last = items_.back();  // BODY_OF_POP
    items_.pop_back();
    return last;
}

}  // namespace shop
"""

MAIN_CPP = """\
#include <iostream>
#include "stack.hpp"

using namespace shop;

static int localHelper(int n) { return n + 1; }

int main() {
    Stack<Id> stack;
    Counter counter{0, 0};
    for (int i = 0; i < kMaxDepth; ++i) {
        stack.push(i);
    }
    Color color = Color::Red;
    counter.hits = total(counter);
    std::cout << localHelper(counter.hits) << std::endl;‸
}
"""


def test_cpp_classes_namespaces_and_templates(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "cpp",
        {"stack.hpp": STACK_HPP, "stack.cpp": STACK_CPP, "main.cpp": MAIN_CPP},
    )
    same, other = relevant(folder, "main.cpp", MAIN_CPP, "cpp", window_start_row=7)
    assert names(same) == ["localHelper"]
    assert same[0].text == "static int localHelper(int n) { ... }"
    assert names(other) == ["Counter", "total", "Color", "Stack", "kMaxDepth", "Id"]
    assert {d.path for d in other} == {str(folder / "stack.hpp")}
    stack = by_name(other, "Stack")
    assert stack.kind == "class"
    assert stack.text == (
        "template <typename T>\n"
        "class Stack {\n"
        "public:\n"
        "    void push(const T& value) { ... }\n"
        "    T pop();\n"
        "    bool empty() const { ... }\n"
        "\n"
        "private:\n"
        "    std::vector<T> items_;\n"
        "};"
    )
    assert by_name(other, "Counter").text == "struct Counter {\n    int hits;\n    int misses;\n}"
    assert by_name(other, "total").text == "int total(const Counter& c);"
    assert by_name(other, "Color").text == "enum class Color { Red, Green }"
    assert by_name(other, "kMaxDepth").kind == "const"
    assert by_name(other, "Id").text == "using Id = long;"
    no_bodies([*same, *other])


def test_cpp_methods_defined_outside_their_class() -> None:
    found = DefinitionIndex().definitions_in_text(STACK_CPP, "cpp", "stack.cpp")
    pop = found["pop"][0]
    assert (pop.kind, pop.owner) == ("method", "Stack")
    assert pop.text == "template <typename T>\nT Stack<T>::pop() { ... }"
    header = DefinitionIndex().definitions_in_text(STACK_HPP, "cpp", "stack.hpp")
    push = header["push"][0]
    assert (push.kind, push.owner) == ("method", "Stack")
    assert push.text == (
        "template <typename T>\nclass Stack {\n    void push(const T& value) { ... }\n}"
    )


# --------------------------------------------------------------------------------------------
# Lua

UTIL_LUA = """\
local M = {}

M.MAX_WIDTH = 80

local function secret(x)
  return x -- BODY_OF_SECRET
end

function M.clamp(value, low, high)
  return math.max(low, math.min(value, high)) -- BODY_OF_CLAMP
end

M.trim = function(s)
  return (s:gsub("^%s+", "")) -- BODY_OF_TRIM
end

return M
"""

# A module with the same names, never required by app.lua.
OTHER_LUA = "local M = {}\nfunction M.clamp() end\nfunction M.trim() end\nreturn M\n"

APP_LUA = """\
local util = require("shop.util")

local LIMIT = 5

local function pad(text, width)
  return text .. string.rep(" ", width - #text)
end

local Buffer = {}

function Buffer:render(lines)
  for _, line in ipairs(lines) do
    local width = util.clamp(#line, 0, util.MAX_WIDTH)
    print(pad(util.trim(line), width), LIMIT)‸
  end
end
"""


def test_lua_definitions_from_required_modules(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "shop", {"util.lua": UTIL_LUA, "other.lua": OTHER_LUA, "app.lua": APP_LUA}
    )
    text, row, col = split_cursor(APP_LUA)
    found = identifiers_near(text, row, col, "lua")
    # Nearest first; `util.trim` is a function of the required module.
    assert found[:4] == ["LIMIT", "trim", "util", "pad"]
    for absent in ("width", "line", "lines", "_", "self", "print", "ipairs", "string", "text"):
        assert absent not in found

    same, other = relevant(folder, "app.lua", APP_LUA, "lua", window_start_row=9)
    assert names(same) == ["LIMIT", "pad", "Buffer"]
    assert by_name(same, "pad").text == "local function pad(text, width) ... end"
    assert by_name(same, "LIMIT").kind == "const"
    assert {d.path for d in other} == {str(folder / "util.lua")}
    assert names(other) == ["trim", "clamp", "MAX_WIDTH"]
    clamp = by_name(other, "clamp")
    assert (clamp.kind, clamp.owner) == ("method", "M")
    assert clamp.text == "function M.clamp(value, low, high) ... end"
    assert by_name(other, "trim").text == "M.trim = function(s) ... end"
    assert by_name(other, "MAX_WIDTH").text == "M.MAX_WIDTH = 80"
    no_bodies([*same, *other])
    # Without the require, nothing comes from the folder.
    src = APP_LUA.replace('local util = require("shop.util")', "local util = {}")
    _same, other = relevant(folder, "app.lua", src, "lua")
    assert other == []


def test_lua_definitions_in_text() -> None:
    found = DefinitionIndex().definitions_in_text(UTIL_LUA, "lua", "util.lua")
    assert set(found) == {"M", "MAX_WIDTH", "secret", "clamp", "trim"}
    assert found["secret"][0].text == "local function secret(x) ... end"
    assert found["secret"][0].kind == "func"
    # A `require` is an import, not a variable of the module.
    assert set(DefinitionIndex().definitions_in_text(APP_LUA, "lua")) == {
        "LIMIT",
        "pad",
        "Buffer",
        "render",
    }
    big = "local COLORS = {\n" + "".join(f"  c{i} = {i},\n" for i in range(60)) + "}\n"
    colors = DefinitionIndex().definitions_in_text(big, "lua")["COLORS"][0].text
    assert colors.count("\n") + 1 == MAX_LINES and colors.endswith("  -- ...\n}")


# --------------------------------------------------------------------------------------------
# All of them


def test_long_definitions_are_cut() -> None:
    fields = "".join(f"    field{i}: number;\n" for i in range(60))
    methods = "".join(f"  m{i}() {{\n    return {i};\n  }}\n" for i in range(60))
    src = f"export interface Big {{\n{fields}}}\n\nexport class Many {{\n{methods}}}\n"
    found = DefinitionIndex().definitions_in_text(src, "typescript", "big.ts")
    big = found["Big"][0].text
    assert big.count("\n") + 1 == MAX_LINES
    assert big.startswith("export interface Big {\n    field0: number;\n")
    assert big.endswith("    // ...\n}")
    many = found["Many"][0].text
    assert many.count("\n") + 1 == MAX_LINES
    assert "return" not in many and many.endswith("  // ...\n}")
    rust = "pub enum Code {\n" + "".join(f"    C{i},\n" for i in range(80)) + "}\n"
    code = DefinitionIndex().definitions_in_text(rust, "rust", "code.rs")["Code"][0].text
    assert code.count("\n") + 1 == MAX_LINES and code.endswith("    // ...\n}")


def edits(base: str) -> Callable[[], list[str]]:
    def make() -> list[str]:
        lines = base.split("\n")
        return [
            base,
            "\n\n" + base,  # rows shift
            "\n".join(lines[: len(lines) // 2]),  # cut in the middle
            base.replace("{", "{\n", 1),
            "\n".join(lines[1:]),
            base,
        ]

    return make


@pytest.mark.parametrize(
    ("lang", "make"),
    [
        ("typescript", edits(MODELS_TS)),
        ("javascript", edits(STORE_JS)),
        ("rust", edits(SHAPES_RS)),
        ("java", edits(INVENTORY_JAVA)),
        ("c", edits(VEC_H)),
        ("cpp", edits(STACK_HPP)),
        ("lua", edits(UTIL_LUA)),
    ],
)
def test_incremental_reparse_matches_a_fresh_parse(
    lang: str, make: Callable[[], list[str]]
) -> None:
    index = DefinitionIndex()
    language = treesitter.get_parser(lang)
    assert language is not None
    parser = Parser(language.language)
    for text in make():
        got = index.definitions_in_text(text, lang, "x")
        data = text.encode()
        fresh = defs_index.extract(lang, parser.parse(data), data, "x")[0].defs
        assert got == fresh


def test_folder_cache_reads_only_the_imported_files_once(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "src",
        {"models.ts": MODELS_TS, "util.ts": UTIL_TS, "other.ts": OTHER_TS, "app.ts": APP_TS},
    )
    index = DefinitionIndex()
    relevant(folder, "app.ts", APP_TS, "typescript", index)
    assert index.parsed_files == 2  # models.ts and util.ts, not other.ts
    relevant(folder, "app.ts", APP_TS, "typescript", index)
    assert index.parsed_files == 2
    rewrite(folder / "util.ts", UTIL_TS.replace("slugify(text", "slugify(value"))
    _same, other = relevant(folder, "app.ts", APP_TS, "typescript", index)
    assert index.parsed_files == 3
    assert by_name(other, "slugify").text == (
        "export function slugify(value: string): string { ... }"
    )


@pytest.mark.parametrize(
    ("lang", "name", "src"),
    [
        ("typescript", "app.ts", "import { Stack } from './models';\nclass A extends Stack<‸"),
        (
            "javascript",
            "app.js",
            "const { createStore } = require('./store');\nfunction f(a) {\n  createStore(‸",
        ),
        ("rust", "main.rs", "fn main() {\n    let p = Point { x: ‸"),
        ("java", "Shop.java", "package com.shop;\nclass A {\n  void f() { new Inventory(‸"),
        ("c", "main.c", '#include "vec.h"\nint main(void) {\n  Vec2 v = vec_add(‸'),
        ("cpp", "main.cpp", '#include "stack.hpp"\nclass X : public Stack<‸'),
    ],
)
def test_broken_code_does_not_crash(lang: str, name: str, src: str, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "mixed",
        {
            "models.ts": MODELS_TS,
            "store.js": STORE_JS,
            "shapes.rs": SHAPES_RS,
            "Inventory.java": INVENTORY_JAVA,
            "vec.h": VEC_H,
            "stack.hpp": STACK_HPP,
        },
    )
    _same, other = relevant(folder, name, src, lang)
    assert other  # the definition the broken line uses is still found
    for row, col in ((-1, 0), (0, 999), (500, 3)):
        text, _row, _col = split_cursor(src)
        relevant_definitions(text, row, col, lang, str(folder / name), DefinitionIndex())


def test_threads_share_an_index_across_languages(tmp_path: Path) -> None:
    ts = write(tmp_path / "ts", {"models.ts": MODELS_TS, "util.ts": UTIL_TS})
    rs = write(tmp_path / "rs", {"shapes.rs": SHAPES_RS})
    cc = write(tmp_path / "c", {"vec.h": VEC_H})
    cases = [(ts, "app.ts", APP_TS, "typescript"), (rs, "main.rs", MAIN_RS, "rust")]
    cases.append((cc, "main.c", MAIN_C, "c"))
    expected = [relevant(*case) for case in cases]
    index = DefinitionIndex()
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def work(i: int) -> None:
        barrier.wait()
        for j in range(12):
            k = (i + j) % len(cases)
            results.append(relevant(*cases[k], index) == expected[k])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 72 and all(results)
