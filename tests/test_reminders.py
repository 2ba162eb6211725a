"""Reminder letters (提醒函): one per unit with overdue or 临期 tasks, each task listed."""

from __future__ import annotations

from datetime import date

import docx
import pytest

from toolkit.core.model import Deadline, Problem, Task
from toolkit.core.status import evaluate_ledger
from toolkit.notice import render_reminders
from toolkit.notice.reminders import reminder_file_name

TODAY = date(2025, 4, 7)


def read_letter(path):
    document = docx.Document(str(path))
    (table,) = document.tables
    rows = [[c.text for c in row.cells] for row in table.rows]
    return document, rows


def test_one_letter_per_unit_with_overdue_or_due_soon_tasks(demo_ledger, tmp_path):
    paths = render_reminders(demo_ledger, today=TODAY, out_dir=tmp_path)
    # Independently of the letters: which tasks are open and past (or near) their deadline.
    status = evaluate_ledger(demo_ledger, today=TODAY)
    flagged: dict[str, set[str]] = {}
    for task in demo_ledger.tasks:
        if status.tasks[task.id].code in ("overdue", "due_soon"):
            flagged.setdefault(task.unit, set()).add(task.id)
    assert flagged == {"英德市": {"2-2"}, "清新区": {"2-3"}, "阳山县": {"3-1"}, "佛冈县": {"7-1"}, "人事科": {"16-1"}}
    assert sorted(p.name for p in paths) == sorted(f"提醒函_{unit}.docx" for unit in flagged)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    for path in paths:
        unit = path.stem.removeprefix("提醒函_")
        document, rows = read_letter(path)
        assert rows[0] == ["编号", "整改措施", "完成时限", "状态", "逾期天数"]
        assert {r[0] for r in rows[1:]} == flagged[unit]
        texts = [p.text for p in document.paragraphs]
        assert texts[0] == "关于加快推进巡察整改任务的提醒函"
        assert texts[2] == f"{unit}："
        assert texts[-2:] == ["中共清远市公路事务中心党组", "2025年4月7日"]


def test_days_overdue_and_deadlines(demo_ledger, tmp_path):
    paths = {p.stem.removeprefix("提醒函_"): p for p in render_reminders(demo_ledger, today=TODAY, out_dir=tmp_path)}
    tasks = {t.id: t for t in demo_ledger.tasks}
    _, rows = read_letter(paths["佛冈县"])
    (row,) = rows[1:]
    deadline = tasks["7-1"].effective_deadline
    assert row == ["7-1", tasks["7-1"].measure, "2025年3月20日", "逾期", str((TODAY - deadline).days)]
    assert row[4] == "18"
    _, rows = read_letter(paths["清新区"])
    assert rows[1][3:] == ["逾期", "7"]
    # Extended deadline: the one in force, the original in brackets; 临期 shows the days left.
    _, rows = read_letter(paths["英德市"])
    assert rows[1][2] == "2025年4月15日（已延期，原定2024年12月31日）"
    # One days-left text everywhere: calendar days (6 working days here, 8 calendar days).
    assert rows[1][3] == "临期（剩8天）" and rows[1][4] == "—"


def test_opening_counts_overdue_and_due_soon(demo_ledger, tmp_path):
    # Make 清新区 carry one overdue and one 临期 task.
    demo_ledger.tasks.append(
        Task("2-9", "2", "新增措施<测试>&“引号”。", unit="清新区", deadline=Deadline(date(2025, 4, 9)), state="推进中")
    )
    paths = {p.stem.removeprefix("提醒函_"): p for p in render_reminders(demo_ledger, today=TODAY, out_dir=tmp_path)}
    document, rows = read_letter(paths["清新区"])
    assert [r[0] for r in rows[1:]] == ["2-3", "2-9"]  # overdue first, then 临期
    assert rows[2][1] == "新增措施<测试>&“引号”。"
    assert document.paragraphs[3].text == (
        "根据八届市委第四轮巡察整改工作安排，经对照整改台账核查，截至2025年4月7日，"
        "你单位负责的巡察整改任务中有1项已超过完成时限、1项临近完成时限，具体如下："
    )


def test_most_overdue_first_and_excel_debris_cleaned(demo_ledger, tmp_path):
    demo_ledger.tasks.append(
        Task("7-9", "7", "清理_x000D_\r\n积压事项", unit="佛冈县", deadline=Deadline(date(2025, 1, 2)), state="未启动")
    )
    paths = {p.stem.removeprefix("提醒函_"): p for p in render_reminders(demo_ledger, today=TODAY, out_dir=tmp_path)}
    _, rows = read_letter(paths["佛冈县"])
    assert [(r[0], r[1], r[4]) for r in rows[1:]] == [
        ("7-9", "清理积压事项", "95"),
        ("7-1", "主动作为，做好路段整治工作。", "18"),
    ]


def test_no_letters_when_nothing_is_late(demo_ledger, tmp_path):
    assert render_reminders(demo_ledger, today=date(2024, 1, 2), out_dir=tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_tasks_without_unit_are_left_out(demo_ledger, tmp_path):
    demo_ledger.problems.append(Problem("99", "关于测试方面", "测试问题"))
    demo_ledger.tasks.append(Task("99-1", "99", "没有责任单位。", unit=" ", deadline=Deadline(date(2025, 1, 1))))
    paths = render_reminders(demo_ledger, today=TODAY, out_dir=tmp_path)
    for path in paths:
        _, rows = read_letter(path)
        assert "99-1" not in [r[0] for r in rows]


@pytest.mark.parametrize(
    ("unit", "name"),
    [
        ("连山壮族瑶族自治县", "提醒函_连山壮族瑶族自治县.docx"),
        ("财务/审计部", "提醒函_财务_审计部.docx"),
        ("?", "提醒函__.docx"),
    ],
)
def test_reminder_file_names(unit, name):
    assert reminder_file_name(unit) == name
