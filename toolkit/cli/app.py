"""The ``zhenggai`` command: parse, call one library function, render, exit.

Exit codes: 0 no errors in the ledger, 1 the ledger has errors, 2 usage error or unreadable input.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

from toolkit import jobs as api
from toolkit.cli.common import EXIT_INVALID, EXIT_OK, parse_day
from toolkit.cli.common import console as _console
from toolkit.cli.common import existing_file as _existing
from toolkit.cli.common import fail as _fail
from toolkit.core.report import Issue
from toolkit.core.status import due_in_text

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="整改台账工具：校验台账、计算整改状态、写回台账、生成通报和县区报送表。",
    context_settings={"help_option_names": ["-h", "--help"]},
)



def _parse_day(text: str | None) -> date | None:
    return parse_day(text, "--today")


TodayOpt = Annotated[str | None, typer.Option("--today", help="统计日期 YYYY-MM-DD（默认：基本信息中的统计截止日期，否则今天）")]
JsonOpt = Annotated[bool, typer.Option("--json", help="输出一个 JSON 对象（供程序读取）")]


def result_json(result: api.CheckResult) -> dict:
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
        return {k: v for k, v in c.__dict__.items()}

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


def _print_json(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=1, default=str) + "\n")


def render_issues(console: Console, issues: list[Issue], *, limit: int = 200) -> None:
    if not issues:
        console.print("[green]✓ 校验通过，未发现问题。[/]")
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


def render_status(console: Console, result: api.CheckResult) -> None:
    st = result.status.stats
    rule = result.ledger.settings.long_term_rule
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
    p = st.problems_overall
    console.print(f"反馈问题 {p.total} 个：已完成整改 {p.done} 个、正在整改 {p.open} 个（其中时限待核 {p.unclear} 个）、"
                  f"长期坚持 {p.long_term} 个；"
                  f"完成率口径：长期坚持{rule}。")
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


@app.command()
def check(
    ledger: Annotated[Path, typer.Argument(help="台账文件（.xlsx/.xlsm）")],
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """校验台账：列出每个问题所在的工作表、行、列和修改方法（不修改文件）。"""
    day = _parse_day(today)
    try:
        result = api.check_file(_existing(ledger), today=day)
    except api.ToolkitError as exc:
        _fail(str(exc))
    if as_json:
        _print_json(result_json(result))
    else:
        console = _console()
        render_issues(console, result.report.sorted())
        console.print(f"错误 {len(result.report.errors)} 条，警告 {len(result.report.warnings)} 条。")
    raise typer.Exit(EXIT_OK if result.valid else EXIT_INVALID)


@app.command()
def status(
    ledger: Annotated[Path, typer.Argument(help="台账文件（.xlsx/.xlsm）")],
    today: TodayOpt = None,
    as_json: JsonOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只显示将要写入的变化，不修改文件")] = False,
) -> None:
    """计算整改状态并写回台账（状态、逾期天数、校验结果、统计），写前自动备份。"""
    day = _parse_day(today)
    try:
        result, written = api.update_status_file(_existing(ledger), today=day, dry_run=dry_run)
    except api.ToolkitError as exc:
        _fail(str(exc))
    if as_json:
        payload = result_json(result)
        payload["write"] = {
            "written": written.written,
            "dry_run": written.dry_run,
            "backup": str(written.backup) if written.backup else None,
            "changes": [{"sheet": c.sheet, "cell": c.cell, "old": c.old, "new": c.new} for c in written.changes],
        }
        _print_json(payload)
    else:
        console = _console()
        render_status(console, result)
        render_issues(console, result.report.sorted(), limit=30)
        console.print(_describe_write(written, dry_run))
    raise typer.Exit(EXIT_OK if result.valid else EXIT_INVALID)


def _describe_write(written, dry_run: bool) -> str:
    changes = getattr(written, "changes", [])
    if dry_run:
        lines = [f"试运行：将修改 {len(changes)} 个单元格（未写入）。"]
        for c in changes[:40]:
            lines.append(f"  {c.describe()}")
        if len(changes) > 40:
            lines.append(f"  ……另有 {len(changes) - 40} 处")
        return "\n".join(lines)
    if not changes:
        return "台账已是最新，无需写入（文件未改动）。"
    backup = getattr(written, "backup", None)
    return f"已写回台账：修改 {len(changes)} 个单元格。" + (f"备份：{backup}" if backup else "")


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="新台账文件路径（.xlsx，或 .xlsm 带按钮）")],
    demo: Annotated[bool, typer.Option("--demo", help="填入示例数据（清远市公路事务中心 2025 年通报）")] = False,
    force: Annotated[bool, typer.Option("--force", help="文件已存在时覆盖")] = False,
) -> None:
    """新建台账工作簿：各工作表、下拉列表、日期校验、条件格式、统计图表。"""
    from toolkit.demo.ledger import build_demo_ledger

    try:
        result = api.new_ledger_workbook(path, build_demo_ledger() if demo else None, overwrite=force)
    except api.ToolkitError as exc:
        _fail(str(exc))
    _console().print(f"已生成台账：{path.resolve()}（{len(result.ledger.tasks)} 项措施）")


@app.command("demo")
def demo_cmd(
    folder: Annotated[Path, typer.Argument(help="输出文件夹（默认 ./zhenggai-demo）")] = Path("zhenggai-demo"),
) -> None:
    """生成示例台账并完整运行一遍：校验、状态写回、通报等，输出到指定文件夹。"""
    from toolkit.jobs.demo import run_demo

    try:
        summary = run_demo(folder, console=_console())
    except api.ToolkitError as exc:
        _fail(str(exc))
    raise typer.Exit(EXIT_OK if summary.get("valid", True) else EXIT_INVALID)


@app.command()
def notice(
    ledger: Annotated[Path | None, typer.Argument(help="台账文件（.xlsx/.xlsm）")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="输出的 .docx（默认：台账旁的 通报_日期.docx）")] = None,
    template: Annotated[Path | None, typer.Option("--template", help="自定义 Word 模板")] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="同时用 LibreOffice 转成 PDF")] = False,
    lint_template: Annotated[Path | None, typer.Option("--lint-template", help="只检查模板中的标签，不生成通报")] = None,
    today: TodayOpt = None,
) -> None:
    """生成整改进展情况的通报（Word，按 GB/T 9704-2012 排版），可选 PDF。"""
    from toolkit import notice as nt

    console = _console()
    if lint_template is not None:
        problems = nt.lint_template(_existing(lint_template))
        if not problems:
            console.print(f"[green]✓ 模板检查通过：{lint_template}[/]")
            raise typer.Exit(EXIT_OK)
        for p in problems:
            console.print(f"[red]第{p.paragraph}段[/]（{p.excerpt}）：{p.message}")
        raise typer.Exit(EXIT_INVALID)
    if ledger is None:
        _fail("请给出台账文件，例如：zhenggai notice 台账.xlsx")
    try:
        result = api.check_file(_existing(ledger), today=_parse_day(today))
        day = result.today
        out_path = out or ledger.with_name(f"通报_{day.isoformat()}.docx")
        made = nt.render_notice(result.ledger, today=day, out_path=out_path,
                                template_path=template, pdf=pdf)
    except api.ToolkitError as exc:
        _fail(str(exc))
    except nt.NoticeError as exc:
        _fail(str(exc), EXIT_INVALID)
    render_issues(console, result.report.errors, limit=20)
    console.print(f"已生成通报：{made.docx}（{made.paragraphs} 段）")
    for w in made.warnings:
        console.print(f"[yellow]提示：[/]{w}")
    if pdf:
        console.print(f"PDF：{made.pdf}" if made.pdf else f"[yellow]未生成 PDF：[/]{made.pdf_skipped}")
    raise typer.Exit(EXIT_OK if result.valid else EXIT_INVALID)


@app.command()
def reminders(
    ledger: Annotated[Path, typer.Argument(help="台账文件（.xlsx/.xlsm）")],
    out: Annotated[Path | None, typer.Option("--out", help="输出文件夹（默认：台账旁的 提醒函_日期）")] = None,
    template: Annotated[Path | None, typer.Option("--template", help="自定义提醒函模板")] = None,
    today: TodayOpt = None,
) -> None:
    """为有逾期或临期任务的责任单位各生成一份提醒函（督办单）。"""
    from toolkit import notice as nt

    try:
        result = api.check_file(_existing(ledger), today=_parse_day(today))
        out_dir = out or ledger.with_name(f"提醒函_{result.today.isoformat()}")
        paths = nt.render_reminders(result.ledger, today=result.today, out_dir=out_dir, template_path=template)
    except api.ToolkitError as exc:
        _fail(str(exc))
    except nt.NoticeError as exc:
        _fail(str(exc), EXIT_INVALID)
    console = _console()
    if not paths:
        console.print("没有逾期或临期任务，无需发提醒函。")
    for p in paths:
        console.print(f"已生成：{p}")


@app.command()
def launchers(
    ledger: Annotated[Path, typer.Argument(help="台账文件（.xlsx/.xlsm）：启动器写在它旁边")],
    python: Annotated[str | None, typer.Option("--python", help="python.exe 的完整路径（默认自动查找）")] = None,
) -> None:
    """为 WPS/不启用宏的用户在台账旁生成双击即可运行的 .cmd 启动器（每个按钮一个）。"""
    from toolkit.jobs.launchers import LauncherError, write_launchers

    path = _existing(ledger)
    try:
        made = write_launchers(path.parent, path.name, python=python)
    except (LauncherError, OSError) as exc:
        _fail(str(exc))
    console = _console()
    for p in made:
        console.print(f"已生成：{p}")


def _register_county_commands() -> None:
    from toolkit.cli.counties import consolidate_cmd, county_templates_cmd

    app.command("county-templates")(county_templates_cmd)
    app.command("consolidate")(consolidate_cmd)


_register_county_commands()


def main() -> None:  # console_scripts entry point
    app()


if __name__ == "__main__":
    main()
