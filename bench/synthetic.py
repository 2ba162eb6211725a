"""Synthetic ledgers of any size, made by replicating the demo ledger's problems and measures."""

from __future__ import annotations

import copy
from pathlib import Path

from toolkit.core.model import Ledger
from toolkit.demo.ledger import build_demo_ledger


def synthetic_ledger(n_tasks: int) -> Ledger:
    """A ledger with ``n_tasks`` tasks: the demo's 50 measures repeated under renumbered problems."""
    demo = build_demo_ledger()
    ledger = copy.deepcopy(demo)
    ledger.problems, ledger.tasks = [], []
    rounds = -(-n_tasks // len(demo.tasks))
    for r in range(rounds):
        for p in demo.problems:
            q = copy.copy(p)
            q.id = f"{r + 1}.{p.id}" if r else p.id
            ledger.problems.append(q)
        for t in demo.tasks:
            if len(ledger.tasks) == n_tasks:
                break
            u = copy.copy(t)
            u.problem_id = f"{r + 1}.{t.problem_id}" if r else t.problem_id
            u.id = f"{r + 1}.{t.id}" if r else t.id
            ledger.tasks.append(u)
    used = {t.problem_id for t in ledger.tasks}
    ledger.problems = [p for p in ledger.problems if p.id in used]
    return ledger


def write_synthetic(path: Path, n_tasks: int) -> Path:
    from toolkit import jobs as api

    if not path.exists():
        api.new_ledger_workbook(path, synthetic_ledger(n_tasks))
    return path
