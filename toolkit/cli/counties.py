"""CLI commands for county submissions; registered on the ``zhenggai`` app by ``toolkit.cli``.

Each command parses its options, makes one library call and renders the result with rich.
Exit codes: 0 done and nothing needs attention, 1 done but some files were rejected or rows
conflict (see the report), 2 usage error or the ledger could not be read/written.

Nothing here imports ``toolkit.cli`` (it imports us); console helpers come from ``toolkit.cli.common``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from toolkit import jobs as api
from toolkit.cli.common import EXIT_OK
from toolkit.cli.common import console as _console
from toolkit.cli.common import existing_file as _ledger
from toolkit.cli.common import fail as _fail
from toolkit.cli.common import parse_day as _parse_day

EXIT_ATTENTION = 1


LedgerArg = Annotated[Path, typer.Argument(help="台账文件（.xlsx/.xlsm）")]
PeriodOpt = Annotated[str | None, typer.Option("--period", help="报送期 YYYY-MM（默认：统计日期的上一个月）")]
TodayOpt = Annotated[
    str | None, typer.Option("--today", help="统计日期 YYYY-MM-DD（默认：基本信息中的统计截止日期，否则今天）")
]
DeadlineOpt = Annotated[str | None, typer.Option("--deadline", help="报回截止日期 YYYY-MM-DD")]


def county_templates_cmd(
    ledger: LedgerArg,
    period: PeriodOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="输出文件夹（默认：台账旁的“县区报送表-下发”）")] = None,
    today: TodayOpt = None,
    deadline: Annotated[
        str | None, typer.Option("--deadline", help="报回截止日期 YYYY-MM-DD（默认：下发之日起第7天）")
    ] = None,
) -> None:
    """为每个县区生成本期整改进展报送表（只含该县区的任务，灰色列锁定，含隐藏校验信息）。"""
    from toolkit.counties.template import make_county_templates, read_template_meta

    day = _parse_day(today, "--today")
    due = _parse_day(deadline, "--deadline")
    path = _ledger(ledger)
    folder = out or path.parent / "县区报送表-下发"
    try:
        written = make_county_templates(path, period=period, out_dir=folder, today=day, return_deadline=due)
    except api.ToolkitError as exc:
        _fail(str(exc))
    console = _console()
    table = RichTable(title=f"已生成 {len(written)} 个县区报送表")
    table.add_column("县区")
    table.add_column("文件", overflow="fold")
    for p in written:
        parts = p.name.split("_")
        table.add_row(parts[1] if len(parts) > 2 else "", str(p.resolve()))
    console.print(table)
    shown = due or read_template_meta(written[0]).return_deadline  # the as-of date's default, as issued
    console.print(
        f"报回截止日期：{shown.isoformat()}。请把文件分别发给各县区，收回后放入同一个文件夹，运行 zhenggai consolidate 汇总。"
    )
    raise typer.Exit(EXIT_OK)


def consolidate_cmd(
    ledger: LedgerArg,
    inbox: Annotated[Path, typer.Argument(help="存放县区报回文件的文件夹")],
    period: PeriodOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只显示将要导入的修改，不写入台账，也不生成报告")] = False,
    today: TodayOpt = None,
    deadline: DeadlineOpt = None,
    report_dir: Annotated[
        Path | None, typer.Option("--report-dir", help="汇总报告文件夹（默认：台账旁的“县区报送汇总”）")
    ] = None,
) -> None:
    """汇总县区报回的报送表：逐个校验，合格的导入台账（一次写入、自动备份），生成汇总报告。"""
    from toolkit.counties.consolidate import consolidate_folder

    day = _parse_day(today, "--today")
    due = _parse_day(deadline, "--deadline")
    path = _ledger(ledger)
    if not inbox.is_dir():
        _fail(f"找不到报送文件夹：{inbox}")
    console = _console()
    with Progress(
        TextColumn("[bold]校验报送文件"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def step(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name)

        try:
            result = consolidate_folder(
                path,
                inbox,
                period=period,
                dry_run=dry_run,
                today=day,
                deadline=due,
                progress=step,
                report_dir=report_dir,
            )
        except api.ToolkitError as exc:
            bar.stop()
            _fail(str(exc))
    render_consolidation(console, result)
    raise typer.Exit(EXIT_ATTENTION if result.needs_attention else EXIT_OK)


def render_consolidation(console: Console, result) -> None:
    """The Chinese console summary of a consolidation run."""
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
    for note in result.notes:
        console.print(f"[yellow]注意：[/]{note.message}")
    written = result.written
    changes = list(getattr(written, "changes", ()))
    console.print(
        f"共 {len(result.files)} 个文件：导入 {len(result.accepted)} 个、退回 {len(result.rejected)} 个；"
        f"导入 {len(result.changes)} 处填报内容。"
    )
    if result.dry_run:
        console.print(f"试运行：将修改台账 {len(changes)} 个单元格（未写入，也未生成报告）。")
        for ch in [c for c in changes if c.sheet != "统计"][:40]:
            text = ch.describe()
            console.print(f"  {text[:150]}{'……' if len(text) > 150 else ''}")
        return
    if written is None:
        console.print("没有可以导入的报送表，台账未改动。")
    elif getattr(written, "written", False):
        backup = getattr(written, "backup", None)
        console.print(f"已写回台账：修改 {len(changes)} 个单元格。" + (f"备份：{backup}" if backup else ""))
    else:
        console.print("台账已是最新，无需写入（文件未改动）。")
    if result.report_path:
        console.print(f"汇总报告：{result.report_path.resolve()}")


__all__ = ["county_templates_cmd", "consolidate_cmd", "render_consolidation"]
