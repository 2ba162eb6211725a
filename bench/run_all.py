"""Run every benchmark in bench/ one after another (one command): python bench/run_all.py [--quick]

--quick uses smaller sizes where a benchmark supports them. Each benchmark prints its own figures
and its ratio against a baseline measured in the same run.
"""

from __future__ import annotations

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


def main() -> int:
    quick = "--quick" in sys.argv
    failed = 0
    for title, script, full, small in BENCHES:
        path = HERE / script
        if not path.exists():
            print(f"\n== {title}: {script} not present, skipped")
            continue
        print(f"\n== {title}: {script}", flush=True)
        rc = subprocess.call([sys.executable, str(path), *(small if quick else full)])
        failed += rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
