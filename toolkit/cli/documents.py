"""Document commands: notice, reminders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli.common import EXIT_INVALID, EXIT_OK, TodayOpt, console, fail, parse_day, print_lines, run_job
from toolkit.cli.render import render_issues
from toolkit.jobs.result import JobResult
from toolkit.jobs.sources import FileLedger
from toolkit.jobs.summary import OK_MARK, summary_lines


def notice(
    ledger: Annotated[Path | None, typer.Argument(help="台账文件（.xlsx/.xlsm）")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="输出的 .docx（默认：台账旁的 通报_日期.docx，已存在时另起新名，不覆盖）")] = None,
    template: Annotated[Path | None, typer.Option("--template", help="自定义 Word 模板")] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="同时用 LibreOffice 转成 PDF")] = False,
    force: Annotated[bool, typer.Option("--force", help="--out 指定的文件已存在时覆盖")] = False,
    lint_template: Annotated[Path | None, typer.Option("--lint-template", help="只检查模板中的标签和写死的数字，不生成通报")] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="通报样式：参考样式(reference)、统计先行(stats-first)、简明层级(flat)；默认按基本信息")] = None,
    edition: Annotated[str | None, typer.Option("--edition", help="通报版本：public（公开版，不公开的问题和措施只计数）或 internal（党内版，全部内容）；默认按基本信息")] = None,
    verify: Annotated[Path | None, typer.Option("--verify", help="不生成通报，核对已有通报（.docx）中的每个数字是否与台账一致")] = None,
    today: TodayOpt = None,
) -> None:
    """生成整改进展情况的通报（Word，按 GB/T 9704-2012 排版），可选 PDF。"""
    from toolkit.jobs.documents import run_notice

    con = console()
    if lint_template is not None:
        from toolkit import notice as nt

        if not lint_template.is_file():
            fail(f"找不到模板文件：{lint_template}")
        problems = nt.lint_template(lint_template)
        if not problems:
            con.print(f"[green]{OK_MARK} 模板检查通过：{lint_template}[/]")
            raise typer.Exit(EXIT_OK)
        for p in problems:
            colour = "red" if p.is_error else "yellow"
            con.print(f"[{colour}]第{p.paragraph}段[/]（{p.excerpt}）：{p.message}")
        raise typer.Exit(EXIT_INVALID)
    if ledger is None:
        fail("请给出台账文件，例如：zhenggai notice 台账.xlsx")
    day = parse_day(today)

    def render(job: JobResult) -> None:
        if job.check.report.errors:
            render_issues(con, job.check.report.errors, limit=20)
        print_lines(con, summary_lines(job))

    if verify is not None:
        from toolkit.jobs.documents import run_verify_notice

        run_job("核对通报数字", lambda: run_verify_notice(FileLedger(ledger), verify, today=day, template=template,
                                                      profile=profile, edition=edition), lambda job: print_lines(con, summary_lines(job)))
        return
    run_job("生成通报", lambda: run_notice(FileLedger(ledger), today=day, out=out, template=template, pdf=pdf,
                                       overwrite=force, profile=profile, edition=edition), render)


def reminders(
    ledger: Annotated[Path, typer.Argument(help="台账文件（.xlsx/.xlsm）")],
    out: Annotated[Path | None, typer.Option("--out", help="输出文件夹（默认：台账旁的 提醒函_日期，已存在时另起新名）")] = None,
    template: Annotated[Path | None, typer.Option("--template", help="自定义提醒函模板")] = None,
    today: TodayOpt = None,
) -> None:
    """为有逾期或临期任务的责任单位各生成一份提醒函（督办单）。"""
    from toolkit.jobs.documents import run_reminders

    day = parse_day(today)
    run_job("生成提醒函", lambda: run_reminders(FileLedger(ledger), today=day, out=out, template=template),
            lambda job: print_lines(console(), summary_lines(job)))
