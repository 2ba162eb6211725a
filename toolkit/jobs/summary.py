"""One renderer for job results: the same Chinese wording in the console, the message boxes and the launchers.

Plain text only (no console library): the CLI prints these lines after its detail tables, a
button shows them in a message box, a launcher prints them before its verdict.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.jobs.result import EXIT_ATTENTION, EXIT_INTERNAL, EXIT_OK, EXIT_UNUSABLE, JobResult

OK_MARK = "√"  # in GBK (code page 936), unlike ✓

VERDICTS: dict[str, dict[int, str]] = {
    "check": {
        EXIT_OK: "校验完成：台账中没有错误。",
        EXIT_ATTENTION: "台账中有错误：请按列出的工作表、行、列逐项修改，保存后再运行。",
    },
    "status": {
        EXIT_OK: "整改状态、校验结果和统计已更新。",
        EXIT_ATTENTION: "整改状态已更新，但台账中有错误：请按提示修改后再运行一次。",
    },
    "county-templates": {
        EXIT_OK: "县区报送表已生成，请分别发给各县区。",
        EXIT_ATTENTION: "县区报送表已生成，但台账中有错误，报送表可能不完整。",
    },
    "consolidate": {
        EXIT_OK: "县区报送已汇总进台账。",
        EXIT_ATTENTION: "已汇总，但有文件被退回、有冲突需要人工核对，或台账中有错误：详见汇总报告。",
    },
    "notice": {
        EXIT_OK: "通报已生成。",
        EXIT_ATTENTION: "通报已生成，但台账中有错误，通报内容可能不准确：请改正后重新生成。",
    },
    "board": {
        EXIT_OK: "督办看板已生成，可用浏览器打开。",
        EXIT_ATTENTION: "督办看板已生成，但台账中有错误，看板数字可能不准确。",
    },
    "reminders": {
        EXIT_OK: "督办函件已生成，并已在台账“督办记录”中登记。",
        EXIT_ATTENTION: "督办函件已生成，但台账中有错误：请改正后核对函件内容。",
    },
}
GENERIC_VERDICTS = {
    EXIT_OK: "完成。",
    EXIT_ATTENTION: "完成，但有需要处理的问题：请查看上面的提示。",
    EXIT_UNUSABLE: "未能完成：请查看上面的错误提示（台账在 Excel 或 WPS 中打开时不能写入，请先保存并关闭）。",
    EXIT_INTERNAL: "程序内部错误，未完成：请把上面的提示和日志文件发给维护人员。",
}


def verdict(job: str, code: int) -> str:
    """The one-line verdict for a job's exit code."""
    return VERDICTS.get(job, {}).get(code) or GENERIC_VERDICTS.get(code, GENERIC_VERDICTS[EXIT_UNUSABLE])


def summary_lines(job: JobResult, *, issues: int = 0, changes: int = 0) -> list[str]:
    """The summary of ``job``: headline, figures, what was written/refused, notes.

    ``issues``: how many ledger issues to list (the CLI shows them in a table and passes 0);
    ``changes``: how many planned cell changes to list in a dry run.
    """
    lines = _HEADLINES.get(job.job, _headline_generic)(job)
    check = job.check
    if issues and check is not None and check.report.issues:
        shown = check.report.sorted()
        for n, issue in enumerate(shown[:issues], start=1):
            level = "错误" if issue.is_error else "警告"
            text = issue.message if len(issue.message) <= 80 else issue.message[:79] + "…"
            lines.append(f"{n}. [{level}] {issue.location.describe()}：{text}")
        if len(shown) > issues:
            lines.append(f"……另有 {len(shown) - issues} 条，见“校验结果”工作表（更新状态或校验后写入）。")
    lines += _written_lines(job, changes)
    lines += [f"未写入：{r}" for r in job.refused]
    lines += [f"提示：{n}" for n in job.notes]
    return lines


def summary_text(job: JobResult, **kw: int) -> str:
    return "\n".join(summary_lines(job, **kw))


def internal_error_lines(caption: str, exc: BaseException, log: Path | None) -> list[str]:
    """What staff see for a defect: one Chinese line, and where the traceback went."""
    lines = [f"{caption}时出现程序内部错误（{type(exc).__name__}：{str(exc)[:200]}），未完成。"]
    lines.append(f"详细信息已记录在：{log}" if log else "详细信息未能写入日志文件。")
    lines.append("台账写入是原子操作：要么完整写入，要么保持原样。请把本提示和日志发给维护人员。")
    return lines


# ----------------------------------------------------------------------------- headlines


def _day(job: JobResult) -> str:
    return job.today.isoformat() if job.today else ""


def _issue_counts(job: JobResult) -> str:
    report = job.check.report if job.check else None
    if report is None:
        return ""
    if not report.issues:
        return "校验：未发现问题。"
    return f"校验：错误 {len(report.errors)} 条，警告 {len(report.warnings)} 条。"


def _headline_check(job: JobResult) -> list[str]:
    report = job.check.report
    if not report.issues:
        return [f"{OK_MARK} 校验完成（统计日期 {_day(job)}）：未发现问题。"]
    return [f"校验完成（统计日期 {_day(job)}）：错误 {len(report.errors)} 条，警告 {len(report.warnings)} 条。"]


def figures_lines(job: JobResult) -> list[str]:
    """The statistics in words, as the 统计 sheet counts them."""
    result = job.check
    st = result.status.stats
    c, p = st.overall, st.problems_overall
    rate = "—" if c.rate is None else f"{c.rate:.1%}"
    rule = result.ledger.settings.long_term_rule
    return [
        f"整改措施 {c.total} 项：已完成 {c.done} 项（其中逾期完成 {c.done_late} 项、已销号 {c.signed_off} 项），"
        f"正在推进 {c.open} 项（其中临期 {c.due_soon} 项、逾期 {c.overdue} 项"
        + (f"、时限待核 {c.unclear} 项" if c.unclear else "")
        + f"），长期坚持 {c.long_term} 项；完成率 {rate}（长期坚持{rule}）。",
        f"反馈问题 {p.total} 个：已完成整改 {p.done} 个，正在整改 {p.open} 个"
        + (f"（其中时限待核 {p.unclear} 个）" if p.unclear else "")
        + f"，长期坚持 {p.long_term} 个。",
    ]


def _headline_status(job: JobResult) -> list[str]:
    head = "试运行（未写入）" if job.dry_run else "整改状态已计算"
    return [f"{head}（统计日期 {_day(job)}）。", *figures_lines(job), _issue_counts(job)]


def _headline_notice(job: JobResult) -> list[str]:
    return [f"已生成通报（统计日期 {_day(job)}）。"]


def _headline_reminders(job: JobResult) -> list[str]:
    letters = job.details or []
    if not letters:
        return []
    levels: dict[str, int] = {}
    for letter in letters:
        level = getattr(letter, "level", "提醒函")
        levels[level] = levels.get(level, 0) + 1
    parts = "、".join(f"{k} {v} 份" for k, v in levels.items())
    return [f"已生成督办函件 {len(letters)} 份（{parts}；统计日期 {_day(job)}）。"]


def _headline_templates(job: JobResult) -> list[str]:
    return [f"已生成 {len(job.details or [])} 份县区报送表。"]


def _headline_consolidate(job: JobResult) -> list[str]:
    from toolkit.counties.metadata import period_label

    outcome = job.details
    lines = [
        f"{period_label(outcome.period)}县区报送：收到 {len(outcome.files)} 份文件，导入 {len(outcome.accepted)} 份，"
        f"退回 {len(outcome.rejected)} 份；导入 {len(outcome.changes)} 处填报内容。",
    ]
    states: dict[str, list[str]] = {}
    for county in outcome.counties:
        states.setdefault(county.state, []).append(county.county)
    for state, names in states.items():
        lines.append(f"{state}：{'、'.join(names)}")
    if outcome.conflicts:
        lines.append(f"有 {len(outcome.conflicts)} 处冲突未导入，需要人工核对（见汇总报告）。")
    if outcome.ignored:
        lines.append(f"文件夹中有 {len(outcome.ignored)} 个文件不是报送表，已跳过。")
    return lines


def _headline_board(job: JobResult) -> list[str]:
    return [f"已生成督办看板（统计日期 {_day(job)}）。"]


def _headline_adopt(job: JobResult) -> list[str]:
    return [f"{'已接入' if job.written else '识别结果（未写入，加 --yes 写入）'}：{job.ledger}"]


def _headline_init(job: JobResult) -> list[str]:
    return [f"已生成台账：{job.ledger}"]


def _headline_generic(job: JobResult) -> list[str]:
    return [f"{job.caption}完成。"]


_HEADLINES = {
    "check": _headline_check,
    "status": _headline_status,
    "notice": _headline_notice,
    "reminders": _headline_reminders,
    "county-templates": _headline_templates,
    "consolidate": _headline_consolidate,
    "init": _headline_init,
    "board": _headline_board,
    "adopt": _headline_adopt,
}

def _written_lines(job: JobResult, changes: int) -> list[str]:
    lines: list[str] = []
    if job.dry_run:
        planned = list(job.changes)
        lines.append(f"试运行：将修改台账 {len(planned)} 个单元格（未写入）。")
        for ch in planned[:changes]:
            text = ch.describe()
            lines.append(f"  {text[:150]}{'……' if len(text) > 150 else ''}")
        if len(planned) > changes > 0:
            lines.append(f"  ……另有 {len(planned) - changes} 处")
        return lines
    ledger_written = False
    others: dict[str, list[Path]] = {}
    for w in job.written:
        if w.what == "台账" and job.job != "init":
            ledger_written = True
            if w.in_memory:
                lines.append(f"已写入打开的台账 {w.cells} 个单元格：请检查后保存台账（Ctrl+S）。")
            else:
                styled = f"（其中 {w.styled} 个只更新了格式）" if w.styled else ""
                lines.append(f"已写回台账：修改 {w.cells} 个单元格{styled}。" + (f"备份：{w.backup}" if w.backup else ""))
        elif w.what == "督办记录":
            ledger_written = True
            lines.append(f"已在台账“督办记录”中登记（修改 {w.cells} 个单元格）" + (f"，备份：{w.backup}" if w.backup else "。"))
        elif w.what != "台账":
            others.setdefault(w.what, []).append(w.path)
    if job.write_attempted and not ledger_written:
        lines.append("台账已是最新，无需写入（文件未改动）。")
    for what, paths in others.items():
        if len(paths) == 1:
            lines.append(f"{what}：{paths[0]}")
        else:
            lines.append(f"{what} {len(paths)} 个，在：{paths[0].parent}")
            lines += [f"  {p.name}" for p in paths[:12]]
            if len(paths) > 12:
                lines.append(f"  ……共 {len(paths)} 个")
    return lines
