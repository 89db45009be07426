"""code_tags: definitions (with signatures, ranges, parents) and references for each language."""

from __future__ import annotations

import pytest

from asyncfc_tools.code_tags import Tag, UnsupportedLanguage, extract_tags, language_for

PYTHON = b'''import os

class Base:
    pass

@dataclass(frozen=True)
class Greeter(Base, abc.ABC):
    def greet(self, name: str,
              loud: bool = False) -> Greeting:
        return helper(name).upper()

async def main(argv: list[str] | None = None) -> int:
    return Greeter().greet("x")
'''

TYPESCRIPT = b'''export interface Shape { area(): number }
type Id = string;
export abstract class Animal<T> extends Base implements Shape {
  area(): number { return compute(this.name); }
}
export function makeAnimal(kind: string): Animal<string> { return new Dog(kind); }
const arrow = async (x: number): Promise<number> => x * 2;
'''

JAVASCRIPT = b'''class Dog extends Animal {
  bark(times) { return this.say("woof", times); }
}
const handler = function (req, res) { res.send(render(req)); };
'''

GO = b'''package main

type Server struct {
	addr string
}

type Handler interface {
	Serve(r *Request) error
}

func (s *Server) Start(port int) error {
	return listen(s.addr, port)
}
'''

RUST = b'''pub struct Point<T> { x: T, y: T }
pub trait Area { fn area(&self) -> f64; }
impl<T> Point<T> {
    pub fn new(x: T, y: T) -> Self { Point { x, y } }
}
fn main() { let p = Point::new(1, 2); helper(p); }
'''


def definitions(path: str, source: bytes) -> list[tuple[str, str, int, int, str, str]]:
    return [(t.kind, t.name, t.line, t.end_line, t.signature, t.parent)
            for t in extract_tags(path, source) if t.is_definition]


def references(path: str, source: bytes) -> set[tuple[str, str]]:
    return {(t.kind, t.name) for t in extract_tags(path, source) if not t.is_definition}


def test_python_definitions_and_references():
    assert definitions("m.py", PYTHON) == [
        ("class", "Base", 3, 4, "class Base", ""),
        ("class", "Greeter", 7, 10, "class Greeter(Base, abc.ABC)", ""),
        ("method", "greet", 8, 10, "def greet(self, name: str, loud: bool = False) -> Greeting", "Greeter"),
        ("function", "main", 12, 13, "async def main(argv: list[str] | None = None) -> int", ""),
    ]
    refs = references("m.py", PYTHON)
    assert {("call", "helper"), ("call", "dataclass"), ("class", "Base"), ("call", "Greeter"),
            ("call", "greet"), ("type", "Greeting")} <= refs


def test_typescript_and_tsx():
    expected = [
        ("interface", "Shape", 1, 1, "interface Shape", ""),
        ("type", "Id", 2, 2, "type Id = string", ""),
        ("class", "Animal", 3, 5, "abstract class Animal<T> extends Base implements Shape", ""),
        ("method", "area", 4, 4, "area(): number", "Animal"),
        ("function", "makeAnimal", 6, 6, "function makeAnimal(kind: string): Animal<string>", ""),
        ("function", "arrow", 7, 7, "arrow = async (x: number): Promise<number>", ""),
    ]
    assert definitions("m.ts", TYPESCRIPT) == expected
    assert definitions("m.tsx", TYPESCRIPT) == expected
    assert {("call", "compute"), ("class", "Dog"), ("type", "Shape")} <= references("m.ts", TYPESCRIPT)


def test_javascript():
    assert definitions("m.js", JAVASCRIPT) == [
        ("class", "Dog", 1, 3, "class Dog extends Animal", ""),
        ("method", "bark", 2, 2, "bark(times)", "Dog"),
        ("function", "handler", 4, 4, "handler = function (req, res)", ""),
    ]
    assert {("class", "Animal"), ("call", "say"), ("call", "render")} <= references("m.js", JAVASCRIPT)


def test_go_structs_interfaces_and_methods_with_receiver():
    assert definitions("m.go", GO) == [
        ("struct", "Server", 3, 5, "type Server struct", ""),
        ("interface", "Handler", 7, 9, "type Handler interface", ""),
        ("method", "Start", 11, 13, "func (s *Server) Start(port int) error", "Server"),
    ]
    tags = extract_tags("m.go", GO)
    # The name in its own declaration is a definition, not a reference.
    assert not [t for t in tags if t.name == "Server" and t.line == 3 and not t.is_definition]
    assert ("call", "listen") in references("m.go", GO)


def test_rust_impl_methods_and_traits():
    assert definitions("m.rs", RUST) == [
        ("struct", "Point", 1, 1, "pub struct Point<T>", ""),
        ("trait", "Area", 2, 2, "pub trait Area", ""),
        ("method", "area", 2, 2, "fn area(&self) -> f64", "Area"),
        ("method", "new", 4, 4, "pub fn new(x: T, y: T) -> Self", "Point"),
        ("function", "main", 6, 6, "fn main()", ""),
    ]
    assert {("call", "new"), ("call", "helper"), ("type", "Point")} <= references("m.rs", RUST)


def test_text_source_and_broken_code_do_not_crash():
    tags = extract_tags("m.py", "def ok():\n    pass\n\ndef broken(:\n")
    assert tags[0] == Tag("ok", "function", 1, True, "def ok()", 2, "")


def test_language_for_and_unsupported():
    assert [language_for(p) for p in ("a.py", "b.JSX", "c.tsx", "d.go", "e.rs", "f.c", "Makefile")] == [
        "python", "javascript", "tsx", "go", "rust", None, None]
    with pytest.raises(UnsupportedLanguage, match=r"main.c: language not supported.*Python \(.py\)"):
        extract_tags("main.c", b"int main() {}")
