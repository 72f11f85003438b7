#!/usr/bin/env python3
"""Count the import cycles of the product's packages, as grimp (import-linter's graph) sees
every import: at the top of a module, inside a function, or under ``TYPE_CHECKING``.

Two counts, because a cycle can hide at either level:

- **modules**: strongly connected groups of modules (each module of a group reaches every
  other by imports), the knots that function-level imports hold together;
- **siblings**: for each package, the strongly connected groups among its children with each
  child taken as a whole (``kiosk.config`` and ``kiosk.fleet`` importing each other through
  any of their modules), what import-linter's ``acyclic_siblings`` contract refuses.

    .venv/bin/python tools/import_cycles.py [--list] [PACKAGE ...]

The figures go in docs/architecture.md ("Before and after").
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping

import grimp

PACKAGES = ("kiosk", "drivers", "hw_sim", "office")


def strongly_connected(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's groups of the graph ``edges`` with more than one member, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(start: str) -> None:
        # iterative: a deep chain of imports must not hit the recursion limit
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(edges.get(target, ())))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(groups)


def module_cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    edges = {m: graph.find_modules_directly_imported_by(m) & modules for m in modules}
    return strongly_connected(edges)


def sibling_cycles(graph: grimp.ImportGraph, modules: set[str]) -> dict[str, list[list[str]]]:
    """For each package, its children's cycles (each child with everything under it)."""
    found: dict[str, list[list[str]]] = {}
    packages = sorted({m.rpartition(".")[0] for m in modules if "." in m})
    for package in packages:
        children = graph.find_children(package)
        if len(children) < 2:
            continue
        depth = package.count(".") + 2

        def child(module: str, depth: int = depth) -> str:
            return ".".join(module.split(".")[:depth])

        edges: dict[str, set[str]] = defaultdict(set)
        for module in graph.find_descendants(package):
            for target in graph.find_modules_directly_imported_by(module):
                if target.startswith(package + ".") and child(target) != child(module):
                    edges[child(module)].add(child(target))
        groups = strongly_connected(edges)
        if groups:
            found[package] = groups
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("packages", nargs="*", default=list(PACKAGES), metavar="PACKAGE")
    parser.add_argument("--list", action="store_true", help="name the modules of each cycle")
    args = parser.parse_args(argv)
    graph = grimp.build_graph(*args.packages, include_external_packages=False)
    modules = set(graph.modules)
    by_module = module_cycles(graph, modules)
    by_package = sibling_cycles(graph, modules)
    print(f"module cycles:  {len(by_module)} ({sum(len(g) for g in by_module)} modules)")
    if args.list:
        for group in by_module:
            print("   ", " ".join(group))
    count = sum(len(groups) for groups in by_package.values())
    print(f"sibling cycles: {count} (in {len(by_package)} packages)")
    if args.list:
        for package, groups in sorted(by_package.items()):
            for group in groups:
                print(f"    {package}: " + " ".join(m.rpartition(".")[2] for m in group))
    return 0


if __name__ == "__main__":
    sys.exit(main())
