"""The imports of gradcalc form no cycle.

The graph is import-linter's (grimp's): every import in the package, those inside
functions and under TYPE_CHECKING included.  Which way the layers point is
import-linter's check (`lint-imports`, the contracts in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Mapping

import grimp
import pytest

# Import cycles allowed, each written from its first module in alphabetical order: none.
# A new cycle is a mistake to undo, not a line to add here.
KNOWN_CYCLES: set[str] = set()

# More cycles than this in one tangle and the test names the tangle's modules instead.
MAX_LISTED = 200


def cycles(imports: Mapping[str, set[str]]) -> set[str]:
    """Every import cycle that visits each module once, as 'a -> b -> a', from module -> what it imports.

    Each starts at its alphabetically first module.  Cycles lie within a tangle,
    a group of modules that all reach one another; tangles are small, and each
    is searched on its own.
    """
    reach = {module: _reached(imports, module) for module in imports}
    found: set[str] = set()
    seen: set[str] = set()
    for module in sorted(imports):
        if module in seen:
            continue
        tangle = {module} | {other for other in reach[module] if module in reach[other]}
        seen |= tangle
        if len(tangle) == 1 and module not in imports[module]:
            continue
        in_tangle = _cycles_within(imports, tangle)
        if len(in_tangle) > MAX_LISTED:
            found.add(f"more than {MAX_LISTED} cycles among " + ", ".join(sorted(tangle)))
        else:
            found |= in_tangle
    return found


def _reached(imports: Mapping[str, set[str]], module: str) -> set[str]:
    """The modules that module imports, directly or through others."""
    reached: set[str] = set()
    pending = [module]
    while pending:
        for imported in imports.get(pending.pop(), set()):
            if imported not in reached:
                reached.add(imported)
                pending.append(imported)
    return reached


def _cycles_within(imports: Mapping[str, set[str]], tangle: set[str]) -> set[str]:
    within = {module: sorted(imports[module] & tangle) for module in tangle}
    found: set[str] = set()
    for start in sorted(tangle):
        # Paths from start through modules after it alphabetically, so each cycle is found once.
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack and len(found) <= MAX_LISTED:
            module, path = stack.pop()
            for imported in within[module]:
                if imported == start:
                    found.add(" -> ".join([*path, start]))
                elif imported > start and imported not in path:
                    stack.append((imported, [*path, imported]))
    return found


def test_the_imports_form_no_new_cycle() -> None:
    graph = grimp.build_graph("gradcalc", cache_dir=None)
    now = cycles({module: graph.find_modules_directly_imported_by(module) for module in graph.modules})
    new = sorted(now - KNOWN_CYCLES)
    assert not new, "new import cycles (an import inside a function counts too):\n" + "\n".join(new)
    gone = sorted(KNOWN_CYCLES - now)
    assert not gone, "no longer cycles; delete them from KNOWN_CYCLES:\n" + "\n".join(gone)


def graph_of(*imports: str) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for line in imports:
        importer, imported = line.split(" -> ")
        graph.setdefault(importer, set()).add(imported)
        graph.setdefault(imported, set())
    return graph


@pytest.mark.parametrize(
    ("imports", "expected"),
    [
        (["a -> b", "b -> c"], set()),
        (["a -> a"], {"a -> a"}),
        (["b -> a", "a -> b"], {"a -> b -> a"}),
        # A new import that closes a cycle through one already known is a new cycle.
        (["t -> s", "s -> t", "s -> v", "v -> t"], {"s -> t -> s", "s -> v -> t -> s"}),
        (["a -> b", "b -> c", "c -> a", "c -> b"], {"a -> b -> c -> a", "b -> c -> b"}),
    ],
)
def test_cycles_are_found_each_once(imports: list[str], expected: set[str]) -> None:
    assert cycles(graph_of(*imports)) == expected


def test_a_large_tangle_is_named_not_listed() -> None:
    names = [f"m{k:02}" for k in range(12)]
    everyone = [f"{a} -> {b}" for a in names for b in names if a != b]  # every module imports every other
    (found,) = cycles(graph_of(*everyone))
    assert found == f"more than {MAX_LISTED} cycles among " + ", ".join(names)
