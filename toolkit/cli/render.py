"""Rich detail tables for the console; the summary wording itself comes from toolkit.jobs.summary."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

from toolkit.core.check import CheckResult
from toolkit.core.report import Issue
from toolkit.core.status import due_in_text
from toolkit.jobs.summary import OK_MARK


def result_json(result: CheckResult) -> dict:
    """The --json payload: issues, tasks, problems, stats."""
    tasks = []
    for t in result.ledger.tasks:
        st = result.status.of(t)
        tasks.append({
            "id": t.id, "problem": t.problem_id, "unit": t.unit,
            "deadline": st.deadline.isoformat() if st and st.deadline else (
                "长期坚持" if t.deadline and t.deadline.is_long_term else None),
            "status": st.label if st else None, "status_code": st.code if st else None,
            "days_overdue": st.days_overdue if st else 0, "row": t.row,
        })
    problems = [{"id": pid, "status": ps.label, "status_code": ps.code, "done": ps.done_tasks,
                 "total": ps.total_tasks} for pid, ps in result.status.problems.items()]
    stats = result.status.stats

    def counts(c):
        return dict(c.__dict__.items())

    return {
        "today": result.today.isoformat(),
        "valid": result.valid,
        "errors": len(result.report.errors),
        "warnings": len(result.report.warnings),
        "issues": [i.to_dict() for i in result.report.sorted()],
        "tasks": tasks,
        "problems": problems,
        "stats": {
            "overall": counts(stats.overall),
            "problems": counts(stats.problems_overall),
            "by_category": {k: counts(v) for k, v in stats.by_category.items()},
            "by_unit": {k: counts(v) for k, v in stats.by_unit.items()},
            "by_county": {k: counts(v) for k, v in stats.by_county.items()},
            "overdue": stats.overdue,
            "due_soon": stats.due_soon,
            "unclear": stats.unclear,
        },
    }


def print_json(payload: dict) -> None:
    text = json.dumps(payload, ensure_ascii=False, indent=1, default=str) + "\n"
    sys.stdout.write(text)


def render_issues(console: Console, issues: list[Issue], *, limit: int = 200) -> None:
    if not issues:
        console.print(f"[green]{OK_MARK} 校验通过，未发现问题。[/]")
        return
    table = RichTable(title=f"校验结果（{len(issues)} 条）", show_lines=False)
    for h in ("级别", "位置", "问题及修改方法"):
        table.add_column(h, overflow="fold")
    for issue in issues[:limit]:
        level = "[red]错误[/]" if issue.is_error else "[yellow]警告[/]"
        table.add_row(level, issue.location.describe(), issue.message)
    console.print(table)
    if len(issues) > limit:
        console.print(f"……另有 {len(issues) - limit} 条未显示，完整列表见台账的“校验结果”工作表或 --json 输出。")


def render_status(console: Console, result: CheckResult) -> None:
    st = result.status.stats
    table = RichTable(title=f"整改进展（截至 {result.today.isoformat()}）")
    for h in ("分组", "措施", "已完成", "逾期完成", "已销号", "推进中", "临期", "逾期", "时限待核", "长期坚持", "完成率"):
        table.add_column(h, justify="right" if h not in ("分组",) else "left")

    def row(name, c, style=""):
        rate = "—" if c.rate is None else f"{c.rate:.1%}"
        table.add_row(name, *(str(x) for x in (c.total, c.done, c.done_late, c.signed_off, c.open, c.due_soon,
                                                c.overdue, c.unclear, c.long_term)), rate, style=style)

    row("全部措施", st.overall, "bold")
    for name, c in st.by_category.items():
        row(name[:24], c)
    for name, c in st.by_county.items():
        if c.total:
            row(name, c)
    console.print(table)
    tasks = result.status.task_by_key
    for title, ids, colour in (("逾期", st.overdue, "red"), ("临期", st.due_soon, "yellow"),
                               ("时限待核", st.unclear, "magenta")):
        if not ids:
            continue
        t2 = RichTable(title=f"{title}任务（{len(ids)} 项）", title_style=colour)
        for h in ("任务", "责任单位", "责任人", "时限", "情况", "整改措施"):
            t2.add_column(h, overflow="fold")
        for tid in ids[:50]:
            t, s = tasks[tid], result.status.tasks[tid]
            when = due_in_text(s) or s.label
            t2.add_row(tid, t.unit, t.person, s.deadline.isoformat() if s.deadline else "", when, t.measure[:30])
        console.print(t2)


def render_consolidation(console: Console, result: Any) -> None:
    """The detail tables of a consolidation run (the summary lines come from toolkit.jobs.summary)."""
    from toolkit.counties.consolidate import LATE, MISSING, REJECTED_STATE, SUBMITTED
    from toolkit.counties.metadata import period_label

    colour = {SUBMITTED: "green", LATE: "dark_orange", REJECTED_STATE: "red", MISSING: "yellow"}
    table = RichTable(title=f"{period_label(result.period)}县区报送情况（统计日期 {result.today.isoformat()}）")
    for h in ("县区", "报送情况", "导入的文件", "报送时间", "导入修改", "冲突", "说明"):
        table.add_column(h, overflow="fold")
    per_file: dict[str, int] = {}
    for a in result.changes:
        per_file[a.file] = per_file.get(a.file, 0) + 1
    for sub in result.counties:
        f = sub.applied
        rejected = [g for g in sub.files if g.status == "rejected"]
        note = rejected[-1].errors[0].message if rejected and rejected[-1].errors else ""
        c = colour.get(sub.state)
        table.add_row(
            sub.county,
            f"[{c}]{sub.text}[/]" if c else sub.text,
            f.name if f else "",
            f"{f.submitted_at:%m-%d %H:%M}" if f and f.submitted_at else "",
            str(per_file.get(f.name, 0)) if f else "",
            str(len(f.conflicts)) if f and f.conflicts else "",
            note[:80],
        )
    console.print(table)
    unknown = [f for f in result.files if not f.county]
    if unknown:
        t2 = RichTable(title=f"无法识别县区的文件（{len(unknown)} 个，已退回）", title_style="red")
        t2.add_column("文件", overflow="fold")
        t2.add_column("原因", overflow="fold")
        for f in unknown:
            t2.add_row(f.name, f.errors[0].message if f.errors else "")
        console.print(t2)
    issues = [(f, i) for f in result.files if f.county for i in f.issues]
    if issues:
        t3 = RichTable(title=f"报送表中的问题（{len(issues)} 条）")
        for h in ("级别", "文件", "位置", "问题及修改方法"):
            t3.add_column(h, overflow="fold")
        for f, i in issues[:40]:
            level = "[red]错误[/]" if i.is_error else "[yellow]警告[/]"
            t3.add_row(level, f.name, i.location.describe(), i.message)
        console.print(t3)
        if len(issues) > 40:
            console.print(f"……另有 {len(issues) - 40} 条，见汇总报告的“问题明细”。")
    if result.conflicts:
        t4 = RichTable(title=f"冲突待核对（{len(result.conflicts)} 处，该行未导入）", title_style="dark_orange")
        for h in ("县区", "任务", "字段", "台账现值", "县区填报"):
            t4.add_column(h, overflow="fold")
        for f, c in result.conflicts[:40]:
            t4.add_row(f.county, c.task_id, c.label, c.master_now[:40], c.county[:40])
        console.print(t4)
