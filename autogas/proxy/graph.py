"""Proxy graphs: typed expression trees, their canonical text and JSON file forms.

Text grammar (whitespace is ignored)::

    expr := NAME | NAME "(" expr ("," expr)* ")"

``NAME`` is an op of the registry; an overloaded name is resolved from the types of its
arguments. A proxy must produce a ``score``. The canonical text writes ``name(a, b)`` with one
space after each comma and sorts the arguments of commutative ops, so two graphs are equal iff
their canonical texts are equal. Example (the paper's eq. 4 with layer kernels summed)::

    square(slogdet(ksum(gram(above_mean(swish(F))))))

JSON file form: ``{"proxy": "<text>", ...metadata}``.

For a strongly-typed DEAP primitive set, each :class:`~autogas.proxy.registry.OpSpec` is one
primitive named :attr:`OpSpec.key` with ``in_types -> out_type``; :meth:`ProxyGraph.prefix`
and :meth:`ProxyGraph.from_prefix` convert to and from DEAP's prefix order.
"""
from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path
from typing import Any, Iterator, Sequence

from autogas.atomic import write_text_atomic
from autogas.errors import AutogasError
from autogas.proxy import ops as _builtin_ops  # noqa: F401  (registers the built-in ops)
from autogas.proxy.registry import SCORE, OpSpec, lookup, op_names, overloads, spec_by_key

MAX_DEPTH = 64
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(\S))")


class Node:
    """One op applied to its argument nodes; immutable, with its canonical text precomputed."""

    __slots__ = ("spec", "children", "text", "depth", "has_population")

    def __init__(self, spec: OpSpec, children: Sequence["Node"] = ()):
        children = tuple(children)
        got = tuple(c.type for c in children)
        if got != spec.in_types:
            raise AutogasError(f"op '{spec.name}' takes ({', '.join(spec.in_types)}), "
                               f"got ({', '.join(got)})")
        if spec.commutative:
            children = tuple(sorted(children, key=lambda c: c.text))
        self.spec = spec
        self.children = children
        self.text = (f"{spec.name}({', '.join(c.text for c in children)})" if children
                     else spec.name)
        self.depth = 1 + max((c.depth for c in children), default=0)
        self.has_population = spec.population or any(c.has_population for c in children)

    @property
    def type(self) -> str:
        return self.spec.out_type

    def walk(self) -> Iterator["Node"]:
        """This node and all descendants, in prefix order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Node({self.text!r})"


def make_node(name: str, *children: Node) -> Node:
    """Apply op ``name`` to ``children``, resolving overloads from the children's types."""
    in_types = tuple(c.type for c in children)
    spec = lookup(name, in_types)
    if spec is None:
        known = overloads(name)
        if not known:
            close = difflib.get_close_matches(name, op_names(), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise AutogasError(f"unknown op '{name}'{hint}")
        accepted = " or ".join(f"({', '.join(s.in_types)})" for s in known)
        raise AutogasError(f"op '{name}' takes {accepted}, got ({', '.join(in_types)})")
    return Node(spec, children)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = [(m.start(1) if m.group(1) else m.start(2), m.group(1) or m.group(2))
                       for m in _TOKEN.finditer(text) if m.group(1) or m.group(2)]
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def fail(self, message: str) -> AutogasError:
        where = self.tokens[self.pos][0] if self.pos < len(self.tokens) else len(self.text)
        return AutogasError(f"malformed proxy {self.text!r}: {message} at character {where}")

    def expect(self, token: str) -> None:
        if self.peek() != token:
            found = self.peek()
            raise self.fail(f"expected '{token}' but found "
                            + (f"'{found}'" if found is not None else "the end"))
        self.pos += 1

    def expr(self, depth: int = 1) -> Node:
        if depth > MAX_DEPTH:
            raise self.fail(f"nesting deeper than {MAX_DEPTH}")
        name = self.peek()
        if name is None or not (name[0].isalpha() or name[0] == "_"):
            raise self.fail("expected an op name but found "
                            + (f"'{name}'" if name is not None else "the end"))
        self.pos += 1
        children: list[Node] = []
        if self.peek() == "(":
            self.pos += 1
            children.append(self.expr(depth + 1))
            while self.peek() == ",":
                self.pos += 1
                children.append(self.expr(depth + 1))
            self.expect(")")
        return make_node(name, *children)


class ProxyGraph:
    """A complete proxy: a tree whose root produces one score per architecture."""

    __slots__ = ("root",)

    def __init__(self, root: Node):
        if root.type != SCORE:
            raise AutogasError(f"a proxy must produce a score, but '{root.text}' produces "
                               f"{root.type}")
        self.root = root

    # -- text ---------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> "ProxyGraph":
        """Parse proxy text; AutogasError names the problem if it is malformed or ill-typed."""
        if not isinstance(text, str) or not text.strip():
            raise AutogasError("empty proxy text")
        parser = _Parser(text)
        root = parser.expr()
        if parser.peek() is not None:
            raise parser.fail(f"unexpected '{parser.peek()}' after a complete expression")
        return cls(root)

    @property
    def text(self) -> str:
        """Canonical text."""
        return self.root.text

    def __str__(self) -> str:
        return self.text

    # -- the network-proxy interface (shared with baselines: autogas.score.NetworkProxy) -----
    @property
    def name(self) -> str:
        """The canonical text (a graph's identity)."""
        return self.text

    def __call__(self, model, inputs, *, seed: int = 0) -> float:
        """The proxy value of ``model`` on ``inputs``: one hooked forward pass, then this graph
        (:func:`autogas.proxy.score_module`); NaN if the proxy fails on this network."""
        from autogas.proxy.api import score_module

        return score_module(self, model, inputs, seed=seed)

    def __repr__(self) -> str:
        return f"ProxyGraph({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProxyGraph) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    # -- structure ----------------------------------------------------------------------
    def nodes(self) -> Iterator[Node]:
        """All nodes in prefix order."""
        return self.root.walk()

    @property
    def size(self) -> int:
        return sum(1 for _ in self.nodes())

    @property
    def depth(self) -> int:
        return self.root.depth

    @property
    def uses_population(self) -> bool:
        """True if a population-level op (rank/z combination) appears in the graph."""
        return self.root.has_population

    def prefix(self) -> list[str]:
        """Signature keys in prefix order (the node order of a DEAP PrimitiveTree)."""
        return [node.spec.key for node in self.nodes()]

    @classmethod
    def from_prefix(cls, keys: Sequence[str]) -> "ProxyGraph":
        """Inverse of :meth:`prefix`."""
        position = 0

        def build() -> Node:
            nonlocal position
            if position >= len(keys):
                raise AutogasError("prefix sequence ends before the tree is complete")
            try:
                spec = spec_by_key(keys[position])
            except KeyError:
                raise AutogasError(f"unknown op key '{keys[position]}'") from None
            position += 1
            return Node(spec, [build() for _ in spec.in_types])

        root = build()
        if position != len(keys):
            raise AutogasError(f"prefix sequence has {len(keys) - position} extra keys")
        return cls(root)

    # -- JSON ---------------------------------------------------------------------------
    def to_json(self, **metadata: Any) -> dict[str, Any]:
        """``{"proxy": text, **metadata}``."""
        if "proxy" in metadata:
            raise ValueError("metadata may not contain the key 'proxy'")
        return {"proxy": self.text, **metadata}

    @classmethod
    def from_json(cls, obj: Any, source: str = "proxy JSON") -> "ProxyGraph":
        """Build a graph from the JSON form (a dict with a string ``proxy`` entry)."""
        if not isinstance(obj, dict):
            raise AutogasError(f"{source}: expected a JSON object with a 'proxy' key")
        if "proxy" not in obj:
            raise AutogasError(f"{source}: missing the 'proxy' key")
        if not isinstance(obj["proxy"], str):
            raise AutogasError(f"{source}: 'proxy' must be a string of proxy text")
        return cls.parse(obj["proxy"])

    def save(self, path: str | os.PathLike, **metadata: Any) -> None:
        """Write the JSON form atomically."""
        write_text_atomic(path, json.dumps(self.to_json(**metadata), indent=2) + "\n")


def read_proxy_json(path: str | os.PathLike) -> tuple[ProxyGraph, dict[str, Any]]:
    """Load a proxy JSON file; returns the graph and the file's whole object."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text())
    except OSError as err:
        raise AutogasError(f"cannot read proxy file {path}: {err.strerror or err}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise AutogasError(f"proxy file {path} is not valid JSON: {err}") from None
    return ProxyGraph.from_json(obj, source=str(path)), obj


def load_proxy(spec: str | os.PathLike | ProxyGraph) -> ProxyGraph:
    """A graph from a graph, a JSON file path, or proxy text.

    A string naming an existing file or ending in ``.json`` is read as a file; anything else
    is parsed as proxy text.
    """
    if isinstance(spec, ProxyGraph):
        return spec
    text = os.fspath(spec)
    if text.strip().endswith(".json") or os.path.isfile(text):
        return read_proxy_json(text)[0]
    return ProxyGraph.parse(text)
