"""Notice rendering: the demo ledger and a generated 1,000-measure ledger, against a bare docxtpl render.

Run: python bench/bench_notice.py [--repeat 5] [--measures 1000] [--pdf]
Prints medians and the ratio notice / baseline, where the baseline (measured in the same run) is
docxtpl load + render + save of the same template with an almost empty context. Targets (without
PDF): demo ≤ 0.1 s, 1,000 measures ≤ 0.3 s (issue 15). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

TODAY = date(2025, 4, 7)


def big_ledger(measures: int):
    """The demo ledger's problems and tasks replicated until there are ``measures`` tasks."""
    from toolkit.demo.ledger import build_demo_ledger

    demo = build_demo_ledger()
    ledger = copy.deepcopy(demo)
    ledger.problems, ledger.tasks = [], []
    by_problem = demo.tasks_by_problem()
    round_no = 0
    while len(ledger.tasks) < measures:
        round_no += 1
        for problem in demo.problems:
            pid = f"{round_no}-{problem.id}"
            ledger.problems.append(_clone(problem, id=pid))
            for task in by_problem[problem.id]:
                if len(ledger.tasks) >= measures:
                    break
                ledger.tasks.append(_clone(task, id=f"{pid}-{task.id}", problem_id=pid))
            if len(ledger.tasks) >= measures:
                break
    return ledger


def _clone(obj, **changes):
    return dataclasses.replace(obj, **changes)


def baseline(out: Path) -> None:
    """docxtpl alone: load the notice template, render an almost empty context, save."""
    from docxtpl import DocxTemplate

    from toolkit.notice.render import jinja_env
    from toolkit.notice.template_build import NOTICE_TEMPLATE_NAME, REPO_TEMPLATES

    context = {
        "title": "标题",
        "intro": "",
        "party_group": "",
        "section1": [],
        "stats_sentence": "",
        "body": [],
        "section3": [],
        "public_period": "",
        "contact_sentence": "",
        "signature": "",
        "date_text": "",
    }
    tpl = DocxTemplate(REPO_TEMPLATES / NOTICE_TEMPLATE_NAME)
    tpl.render(context, jinja_env=jinja_env(), autoescape=True)
    tpl.save(str(out))


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--measures", type=int, default=1000)
    ap.add_argument("--pdf", action="store_true", help="also time the LibreOffice PDF conversion (once)")
    args = ap.parse_args()

    from toolkit.demo.ledger import build_demo_ledger
    from toolkit.notice import render_notice

    demo = build_demo_ledger()
    big = big_ledger(args.measures)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        # Warm up imports and caches once, outside the measurements.
        baseline(out / "warm.docx")
        render_notice(demo, today=TODAY, out_path=out / "warm2.docx")

        base = timed(lambda: baseline(out / "base.docx"), args.repeat)
        rows = []
        for label, ledger, target in (
            (f"demo ({len(demo.tasks)} measures)", demo, 0.1),
            (f"{len(big.tasks)} measures ({len(big.problems)} problems)", big, 0.3),
        ):
            result = render_notice(ledger, today=TODAY, out_path=out / "n.docx")
            t = timed(lambda ledger=ledger: render_notice(ledger, today=TODAY, out_path=out / "n.docx"), args.repeat)
            rows.append((label, t, target, result.paragraphs))
        print(f"baseline (bare docxtpl load+render+save, empty context): {base:.3f} s (median of {args.repeat})")
        print(f"{'ledger':<34} {'median s':>9} {'target s':>9} {'ratio':>7} {'paragraphs':>11}")
        for label, t, target, paragraphs in rows:
            print(f"{label:<34} {t:>9.3f} {target:>9.1f} {t / base:>7.1f} {paragraphs:>11}")
        (_, demo_s, _, _), (_, big_s, _, _) = rows
        print(f"SECONDS\tnotice, demo ledger\t{demo_s:.3f}", flush=True)
        print(f"SECONDS\tnotice, {len(big.tasks)} measures\t{big_s:.3f}", flush=True)
        if args.pdf:
            t0 = time.perf_counter()
            result = render_notice(demo, today=TODAY, out_path=out / "p.docx", pdf=True)
            elapsed = time.perf_counter() - t0
            print(
                f"demo with PDF: {elapsed:.2f} s"
                + (f" (PDF skipped: {result.pdf_skipped})" if result.pdf_skipped else "")
            )


if __name__ == "__main__":
    main()
