"""Job-level policy: what a job writes, refuses and says, whichever front end runs it."""

from __future__ import annotations

import openpyxl
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.excel.read import read_workbook
from toolkit.jobs.check import run_status
from toolkit.jobs.sources import FileLedger

runner = CliRunner()


def _delete_state_column(path):
    wb = openpyxl.load_workbook(path)  # the test's own fixture file
    ws = wb["任务清单"]
    col = next(c.column for c in ws[2] if c.value == "完成情况")
    ws.delete_cols(col)
    wb.save(path)


def test_status_with_a_required_column_missing_writes_only_check_results(demo_file):
    """Regression: 已销号 became 逾期 and the rate fell from 80% to 10% when 完成情况 was deleted."""
    _delete_state_column(demo_file)
    before = read_workbook(demo_file)
    job = run_status(FileLedger(demo_file))
    assert job.refused and "缺少必需列“完成情况”" in job.refused[0] and "只写入校验结果" in job.refused[0]
    after = read_workbook(demo_file)
    assert after["统计"].rows == before["统计"].rows  # statistics untouched
    header = after["任务清单"].rows[1]
    status_col = header.index("【自动】状态")
    assert [r[status_col] for r in after["任务清单"].rows[2:]] == [r[status_col] for r in before["任务清单"].rows[2:]]
    assert any("完成情况" in str(v) for row in after["校验结果"].rows for v in row)


def test_status_command_says_what_it_did_not_write(demo_file):
    _delete_state_column(demo_file)
    out = runner.invoke(app, ["status", str(demo_file)])
    assert out.exit_code == 1
    assert "未写入：任务清单缺少必需列“完成情况”" in out.output


def test_first_status_on_a_fresh_ledger_does_not_claim_unchanged(tmp_path):
    """Regression: the first run restyled cells and wrote a backup but printed 台账已是最新."""
    from toolkit.demo.ledger import build_demo_ledger
    from toolkit.jobs import new_ledger_workbook

    path = tmp_path / "台账.xlsx"
    new_ledger_workbook(path, build_demo_ledger())
    before = path.read_bytes()
    first = runner.invoke(app, ["status", str(path), "--today", "2025-04-07"])
    changed = path.read_bytes() != before
    assert ("已写回台账" in first.output) == changed and ("无需写入" in first.output) != changed
    again = path.read_bytes()
    second = runner.invoke(app, ["status", str(path), "--today", "2025-04-07"])
    assert path.read_bytes() == again and "台账已是最新，无需写入（文件未改动）" in second.output


def test_a_notice_open_in_word_is_a_chinese_refusal(demo_file, monkeypatch):
    """Regression: writing over a notice Word holds open gave an English traceback."""
    target = demo_file.with_name("通报_已打开.docx")

    def locked(*args, **kwargs):  # what Windows raises when Word holds the file open
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr("toolkit.notice.render_notice", locked)
    out = runner.invoke(app, ["notice", str(demo_file), "--out", str(target)])
    assert out.exit_code == 2
    assert "文件可能正在 Word 或 WPS 中打开，请关闭后重试" in out.output and "Traceback" not in out.output


def test_first_cycle_issues_no_warning_letter(tmp_path):
    """Regression: the snapshot this month's consolidation wrote (period = last month) counted as last month's,
    so the demo's very first 督办 run sent 告诫函 (overdue two months running) to 清新区 and 佛冈县."""
    from toolkit.jobs.demo import run_demo

    job = run_demo(tmp_path / "演示")
    letters = next(step for step in job.details if step.job == "reminders").details
    assert letters and {x.level for x in letters} <= {"提醒函", "督办函"}
    from toolkit.jobs.summary import summary_lines

    summary = "\n".join(summary_lines(next(step for step in job.details if step.job == "reminders")))
    assert "督办记录" in summary and "无需写入" not in summary
