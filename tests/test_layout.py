"""The package layout's import rules, read from the source (no module is imported):

* no module outside ``autogas/commands/`` imports from it, except ``autogas/cli.py``, which
  registers the commands (the CLI is a thin layer nobody builds on);
* the imports between autogas modules have no cycle, counting imports inside functions too,
  except the lazy edges listed in ``LAZY_EDGES`` (each with its reason).
"""
import ast
from pathlib import Path

import autogas

ROOT = Path(autogas.__file__).parent
# (importer, imported): lazy imports allowed to close a cycle, and why.
LAZY_EDGES = {
    # ProxyGraph implements the network-proxy interface (score a model) with the api module,
    # which is built on the graph; the import runs only when a graph is called on a network.
    ("autogas.proxy.graph", "autogas.proxy.api"),
}


def module_names() -> dict[str, Path]:
    names = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """autogas modules ``name`` imports anywhere in its file: ``from pkg import sub`` counts as
    importing ``pkg.sub`` when that is a module, else ``pkg``."""
    targets = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            targets.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
    out = set()
    for target in targets:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            out.add(target)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imported(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_only_the_cli_imports_commands():
    offenders = sorted(f"{name} imports {target}" for name, targets in import_graph().items()
                       for target in targets
                       if target.startswith("autogas.commands") and not name.startswith("autogas.commands")
                       and name != "autogas.cli")
    assert offenders == []


def test_no_import_cycles():
    graph = import_graph()
    for importer, target in LAZY_EDGES:
        assert target in graph[importer], f"stale LAZY_EDGES entry {importer} -> {target}"
        graph[importer].discard(target)
    assert cycles(graph) == []


def test_the_checker_sees_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    graph = import_graph()
    assert "autogas.proxy.api" in graph["autogas.proxy.graph"]  # a lazy import inside a method is seen
    assert "autogas.spaces.networks" in graph["autogas.train.networks"]
