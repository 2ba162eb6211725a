"""Run every benchmark in bench/ one after another (one command): python bench/run_all.py [--quick]

--quick uses smaller sizes where a benchmark supports them. Each benchmark prints its own figures
and its ratio against a baseline measured in the same run (a bare python-calamine read of every
file the path reads, master included). At the end one table gives each ratio of issue 15 against
its goal, with the machine's core count.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ("check + status (issue A)", "bench_check.py", ["--sizes", "1000,10000,100000"], ["--sizes", "1000,10000"]),
    ("status write-back (issue B)", "bench_writeback.py", [], ["--quick"]),
    ("notice (issue C)", "bench_notice.py", [], []),
    ("county consolidation (issue D)", "bench_consolidate.py", [], ["--quick"]),
    ("buttons (issue E)", "bench_macros.py", [], ["--quick"]),
    ("督办看板 (issue 14)", "bench_board.py", [], ["--repeat", "1"]),
    ("click path (issue 12)", "bench_click.py", [], ["--repeat", "3"]),
]

# Issue 15's goals: (kind, name as printed by the benchmark, goal or None, unit).
GOALS = [
    ("RATIO", "check 10k", 2.0, "×"),
    ("RATIO", "check 100k ratio ÷ 10k ratio (linear)", 1.0, "×"),
    ("RATIO", "status write-back 10k", 5.0, "×"),
    ("PEAK", "status write-back 100k", 500.0, "MB"),
    ("RATIO", "consolidate 200x200", 3.5, "×"),
    ("SECONDS", "notice, 1000 measures", 0.3, " s"),
    ("SECONDS", "notice, demo ledger", 0.1, " s"),
    # The click path has no goal of its own in issue 15: it is reported in the same table.
    ("SECONDS", "button click 校验台账, demo ledger (wall)", None, " s"),
    ("RATIO", "button click ÷ python -c pass", None, "×"),
]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def main() -> int:
    quick = "--quick" in sys.argv
    failed = 0
    measured: dict[tuple[str, str], float] = {}
    spread: dict[str, tuple[float, float]] = {}  # name → (lowest, highest) ratio of single runs
    for title, script, full, small in BENCHES:
        path = HERE / script
        if not path.exists():
            print(f"\n== {title}: {script} not present, skipped")
            continue
        print(f"\n== {title}: {script}", flush=True)
        proc = subprocess.Popen([sys.executable, str(path), *(small if quick else full)], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 4 and parts[0] == "SPREAD":
                try:
                    spread[parts[1]] = (float(parts[2]), float(parts[3]))
                except ValueError:
                    pass
            if len(parts) == 3 and parts[0] in ("RATIO", "PEAK", "SECONDS"):
                try:
                    measured[(parts[0], parts[1])] = float(parts[2])
                except ValueError:
                    pass
        failed += proc.wait() != 0
    print(f"\n== issue 15 goals ({_cores()} cores; ratios to a bare python-calamine read of every file the path reads)")
    print("(now: the ratio of the medians; single runs: each run against the baseline measured next to it)")
    print(f"{'measure':<42} {'now':>8} {'goal':>8}  met  single runs")
    for kind, name, goal, unit in GOALS:
        got = measured.get((kind, name))
        shown = f"{goal:>7g}{unit}" if goal is not None else f"{'—':>8}"
        if got is None:
            print(f"{name:<42} {'—':>8} {shown}  not measured in this run")
            continue
        verdict = "reported" if goal is None else "yes" if got <= goal else "NO"
        runs = f"  {spread[name][0]:.2f}–{spread[name][1]:.2f}{unit}" if kind == "RATIO" and name in spread else ""
        print(f"{name:<42} {got:>7.2f}{unit} {shown}  {verdict:<4}{runs}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
