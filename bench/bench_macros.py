"""Buttons (issue E): import time of toolkit.macros, and each button function on the remote engine.

Run: python bench/bench_macros.py [--repeat 5] [--sizes 1000,10000] [--quick]

1. ``import toolkit.macros`` in a fresh interpreter (median of several), from ``-X importtime``,
   next to ``import xlwings``, which RunPython itself pays before any button function runs
   (it imports pandas when installed).
2. Each button function, called with no arguments as Excel calls it, on the demo ledger opened
   with xlwings' ``remote`` engine (``Book.set_mock_caller``): median seconds and the number of
   queued actions (xlwings calls that Excel would execute). ``更新状态`` also on synthetic ledgers
   of ``--sizes`` tasks. Only the Python side is timed: on Windows, COM round trips come on top
   (one per action, fewer on Windows where same-format areas share one multi-area range: the
   "COM calls" column estimates them, excluding the few clears), and Python's start-up plus
   ``import xlwings`` before it.

The remote engine needs ``XLWINGS_LICENSE_KEY=noncommercial`` (PolyForm Noncommercial, set here
for this process only). Figures vary ±30% run to run; no assertions.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))  # the xlwings remote-engine payload helper lives with the tests
TODAY = date(2025, 4, 7)

import xlwings_remote  # noqa: E402


def import_seconds(module: str, repeat: int) -> float:
    """Median cumulative import time of ``module`` in a fresh interpreter (from -X importtime)."""
    times = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        line = next(ln for ln in reversed(out.stderr.splitlines()) if re.search(rf"\|\s*{re.escape(module)}$", ln))
        times.append(int(line.split("|")[1]) / 1e6)
    return statistics.median(times)


def wall_seconds(code: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def time_macro(name: str, payload: dict, repeat: int, prepare=None) -> tuple[float, int]:
    """Median seconds of one button function and the number of actions it queued."""
    from toolkit import macros

    times, actions = [], 0
    for _ in range(repeat):
        if prepare:
            prepare()
        book = xlwings_remote.remote_book(payload)
        book.set_mock_caller()
        t = time.perf_counter()
        getattr(macros, name)()
        times.append(time.perf_counter() - t)
        actions = len(book.json()["actions"])
        alert = book.json()["actions"][-1]
        if alert["func"] != "alert" or alert["args"][3] != "info":
            print(f"   ! {name}: {alert['args'][0][:120]}")
    return statistics.median(times), actions


def windows_calls(plan) -> int:
    """xlwings calls apply_plan makes on Windows Excel, where rectangles of one format share a multi-area range."""
    from toolkit.core.schema import column_index
    from toolkit.excel import live

    calls = 0
    for sp in plan.sheets:
        cells = [(c.row, column_index(c.column) + 1, c.value, c.style) for c in sp.cells]
        calls += len(live.rectangles({(r, c) for r, c, _, _ in cells}))
        for _attr, _value, where in live._formats(cells):
            calls += len(live.union_addresses(live.rectangles(where)))
        calls += len(sp.column_widths) if sp.owned_sheet else 0
    return calls


def county_returns(ledger: Path, inbox: Path) -> None:
    """Issued templates copied into the inbox, one of them reporting a task done."""
    import openpyxl

    from toolkit.counties.template import make_county_templates

    inbox.mkdir(exist_ok=True)
    for path in make_county_templates(ledger, out_dir=ledger.parent / "下发", today=TODAY):
        shutil.copy(path, inbox / path.name)
    first = sorted(inbox.iterdir())[0]
    wb = openpyxl.load_workbook(first)
    ws = wb["整改进展报送"]
    ws["F9"], ws["G9"], ws["J9"], ws["K9"] = "已完成", date(2025, 3, 18), "王五", "0763-1234567"
    wb.save(first)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, only 1000 tasks")
    args = ap.parse_args()
    repeat = 3 if args.quick else args.repeat
    sizes = [1000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"

    print("import (fresh interpreter, median of", max(repeat, 5), "runs)")
    n = max(repeat, 5)
    print(f"  toolkit.macros          {import_seconds('toolkit.macros', n):7.3f} s  (-X importtime, cumulative)")
    print(f"  xlwings                 {import_seconds('xlwings', n):7.3f} s  (paid by RunPython before the button)")
    base = wall_seconds("pass", n)
    print(
        f"  python -c 'import toolkit.macros'  {wall_seconds('import toolkit.macros', n) - base:7.3f} s"
        f"  over a bare interpreter start ({base:.3f} s)"
    )

    from toolkit import jobs as api
    from toolkit.demo import ledger as demo
    from toolkit.excel.vba.project import MACROS
    from toolkit.jobs.settings import DEFAULT_INBOX

    work = Path(tempfile.mkdtemp(prefix="bench-macros-")) / "整改 台账"
    work.mkdir(parents=True)
    try:
        ledger = work / "整改台账 示例.xlsx"
        api.new_ledger_workbook(ledger, demo.build_demo_ledger(), today=TODAY)
        t = time.perf_counter()
        payload = xlwings_remote.workbook_payload(ledger)
        print(
            f"\ndemo ledger (50 tasks); payload from the file {time.perf_counter() - t:.3f} s (openpyxl, not timed below)"
        )
        print(f"  {'button':<14} {'median s':>9} {'actions':>8}")
        inbox = work / DEFAULT_INBOX
        notices = lambda: [p.unlink() for p in work.glob("通报_*.docx")]  # noqa: E731
        jobs = [
            ("check_ledger", None),
            ("update_status", None),
            ("make_county_templates", None),
            ("consolidate_counties", lambda: (shutil.rmtree(inbox, ignore_errors=True), county_returns(ledger, inbox))),
            ("make_notice", notices),
        ]
        for name, prepare in jobs:
            seconds, actions = time_macro(name, payload, repeat, prepare)
            caption = next(b.caption for b in MACROS if b.function == name)
            print(f"  {caption:<14} {seconds:>9.3f} {actions:>8}", flush=True)

        from synthetic import write_synthetic

        print("\n更新状态 on synthetic ledgers (COM calls on Windows: actions with same-format areas joined)")
        print(f"  {'tasks':>7} {'payload s':>10} {'button s':>9} {'actions':>8} {'COM calls':>10} {'cells':>7}")
        for size in sizes:
            path = write_synthetic(work / f"synthetic_{size}.xlsx", size)
            t = time.perf_counter()
            big = xlwings_remote.workbook_payload(path)
            load = time.perf_counter() - t
            seconds, actions = time_macro("update_status", big, max(1, repeat // 2))
            plan = api.check_file(path).plan
            calls = windows_calls(plan)
            print(
                f"  {size:>7} {load:>10.2f} {seconds:>9.3f} {actions:>8} {calls:>10} {plan.cell_count():>7}", flush=True
            )
    finally:
        shutil.rmtree(work.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
