"""The layout shows the architecture, and CI enforces it: layering contracts and no import cycles.

Contracts live in pyproject.toml ([tool.importlinter]); every import counts, including the
ones inside functions (lazy imports are still dependencies).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative): the components with more than one module are import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        comp.append(m)
                        if m == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def module_graph() -> dict[str, set[str]]:
    g = grimp.build_graph("toolkit")
    graph = {}
    for m in g.modules:
        # a package's __init__ re-exporting its own modules is not a cycle between modules
        graph[m] = {d for d in g.find_modules_directly_imported_by(m) if not m.startswith(d + ".")}
    return graph


def test_no_import_cycles():
    assert strongly_connected(module_graph()) == []


def test_cycle_finder_finds_a_cycle():
    """The finder itself can fail: a two-module and a three-module cycle are found, a chain is not."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"g"}, "g": set()}
    assert sorted(strongly_connected(graph)) == [["a", "b"], ["c", "d", "e"]]


def test_core_imports_only_the_core_and_the_standard_library():
    g = grimp.build_graph("toolkit", include_external_packages=True)
    allowed_external = {"chinese_calendar"}
    for m in g.modules:
        if not m.startswith("toolkit.core"):
            continue
        for d in g.find_modules_directly_imported_by(m):
            if d.startswith("toolkit."):
                assert d.startswith("toolkit.core"), f"{m} imports {d}"
            elif "." not in d and d not in sys.stdlib_module_names:
                assert d in allowed_external, f"{m} imports {d}"


def test_the_core_never_reads_the_clock():
    """Results depend only on their inputs: the as-of date comes in as ``today`` / ``clock_today``."""
    import re

    for path in sorted((ROOT / "toolkit" / "core").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\b(date|datetime)\.(today|now|utcnow)\(", text), path.name


def test_as_of_date_without_a_clock_is_a_programming_error():
    import pytest

    from toolkit.core.check import resolve_today
    from toolkit.core.model import Ledger

    ledger = Ledger(source="t")
    with pytest.raises(ValueError, match="does not read the clock"):
        resolve_today(ledger, None)
    from datetime import date

    assert resolve_today(ledger, None, clock_today=date(2025, 4, 7)) == date(2025, 4, 7)
