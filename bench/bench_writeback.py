"""Status write-back (read, check, plan, patch, verify, atomic replace) on 10k / 100k-task ledgers,
against a bare python-calamine read and an openpyxl load+save of the same file, in one run.

Run: python bench/bench_writeback.py [--sizes 10000,100000] [--repeat 3] [--repeat-small 9] [--quick] [--baseline DIR]
Each measurement runs in a fresh subprocess on a fresh copy of the ledger; the status date is moved
forward (2025-06-30) so that statuses, days overdue and statistics really change and are written.
Imports are timed apart from the work (column "import s"), as in bench_check.py.
``--baseline DIR`` also runs the status write-back with the ``toolkit`` package of another checkout
(e.g. an unpacked ``git archive`` of an older commit), interleaved with the others, and prints its
figures on a second line: before/after from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The package under test: this checkout, or the one named by --baseline (passed to the child).
_ROOT = os.environ.get("BENCH_TOOLKIT_ROOT") or str(HERE.parent)
sys.path.insert(0, _ROOT)
sys.path.insert(0, str(HERE))
OUT = HERE / "out"


def _child(mode: str, path: str) -> None:
    import resource

    # Imports are timed apart (as in bench_check.py): the work is compared, the import cost is
    # printed in its own column.
    t_import = time.perf_counter()
    if mode == "bare":
        from python_calamine import CalamineWorkbook
    elif mode == "openpyxl":
        import openpyxl
    else:
        from datetime import date

        import chinese_calendar  # noqa: F401  (the holiday calendar, imported lazily by the status rules)
        import python_calamine  # noqa: F401  (the read-back's reader, imported lazily by the write)

        # What the job imports lazily (read, pre-check, write), imported here: the timer holds the work only.
        import toolkit.excel.ledger_file  # noqa: F401
        import toolkit.excel.read  # noqa: F401
        import toolkit.excel.untrusted  # noqa: F401
        from toolkit.excel import safe_write  # noqa: F401
        from toolkit.jobs import update_status_file
    t0 = time.perf_counter()
    imported = t0 - t_import
    extra: dict = {}
    if mode == "bare":
        wb = CalamineWorkbook.from_path(path)
        for name in wb.sheet_names:
            wb.get_sheet_by_name(name).to_python()
    elif mode == "openpyxl":
        wb = openpyxl.load_workbook(path)
        wb.save(path)  # a throwaway copy made by this benchmark, never a staff file
    else:
        result, written = update_status_file(path, today=date(2025, 6, 30))
        extra = {"changed_cells": len(written.changes)}
    elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "import": imported, **extra}))


def run(mode: str, source: Path, root: str | None = None) -> dict:
    work = OUT / f"work_{mode}{source.suffix}"
    shutil.copyfile(source, work)
    shutil.rmtree(OUT / "台账备份", ignore_errors=True)
    env = dict(os.environ, BENCH_TOOLKIT_ROOT=root) if root else None
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(work)], capture_output=True, text=True, env=env
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--repeat-small", type=int, default=9,
                    help="runs for sizes up to 10k (cheap, and the noisiest on a shared machine)")
    ap.add_argument("--quick", action="store_true", help="10k only, openpyxl once")
    ap.add_argument("--child", nargs=2)
    ap.add_argument("--baseline", help="a checkout whose toolkit package is timed too (before/after in one run)")
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    from synthetic import write_synthetic

    sizes = [10000] if args.quick else [int(s) for s in args.sizes.split(",")]
    OUT.mkdir(exist_ok=True)
    print(f"{'tasks':>7} {'bare read s':>11} {'status e2e s':>13} {'ratio':>6} {'openpyxl l+s s':>15} "
          f"{'e2e/openpyxl':>12} {'cells':>7} {'peak MB':>8} {'import s':>9}")
    for n in sizes:
        path = write_synthetic(OUT / f"ledger_{n}.xlsx", n)
        bare, e2e, opx, base, base_peak = [], [], [], [], 0.0
        cells, peak, imp = 0, 0.0, 0.0
        repeat = max(args.repeat, args.repeat_small) if n <= 10000 else args.repeat
        for i in range(repeat):
            bare.append(run("bare", path)["seconds"])
            if args.baseline:
                rb = run("status", path, args.baseline)
                base.append(rb["seconds"])
                base_peak = max(base_peak, rb["peak_mb"])
            r = run("status", path)
            e2e.append(r["seconds"])
            cells, peak, imp = r["changed_cells"], max(peak, r["peak_mb"]), r["import"]
            if i == 0 or not args.quick and n <= 10000 and i < 3:  # openpyxl is slow and only a reference
                opx.append(run("openpyxl", path)["seconds"])
        b, e, o = statistics.median(bare), statistics.median(e2e), statistics.median(opx)
        print(f"{n:>7} {b:>11.3f} {e:>13.3f} {e / b:>6.2f} {o:>15.2f} {e / o:>12.3f} {cells:>7} {peak:>8.0f} "
              f"{imp:>9.3f}", flush=True)
        if base:
            m = statistics.median(base)
            print(f"{'baseline':>7} {'':>11} {m:>13.3f} {m / b:>6.2f} {'':>15} {'':>12} {'':>7} {base_peak:>8.0f}"
                  f"   ({args.baseline})", flush=True)
        print(f"RATIO\tstatus write-back {n // 1000}k\t{e / b:.2f}", flush=True)
        pairs = [x / y for x, y in zip(e2e, bare, strict=True)]  # each run against the bare read next to it
        print(f"SPREAD\tstatus write-back {n // 1000}k\t{min(pairs):.2f}\t{max(pairs):.2f}", flush=True)
        print(f"PEAK\tstatus write-back {n // 1000}k\t{peak:.0f}", flush=True)


if __name__ == "__main__":
    main()
