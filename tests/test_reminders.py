"""督办 letters (提醒函 / 督办函 / 告诫函): one per unit, the level its tasks reach, numbered and registered."""

from __future__ import annotations

from datetime import date

import docx
import openpyxl
import pytest

from toolkit.core.model import County, Deadline, Problem, Table, Task
from toolkit.core.status import evaluate_ledger
from toolkit.notice import render_reminders
from toolkit.notice.ladder import RegisterEntry, add_working_days, next_numbers, read_register
from toolkit.notice.reminders import reminder_file_name, render_letters

TODAY = date(2025, 4, 7)
HEADER = ["编号", "整改措施", "责任人", "完成时限", "状态", "逾期天数"]


def read_letter(path):
    document = docx.Document(str(path))
    (table,) = document.tables
    rows = [[c.text for c in row.cells] for row in table.rows]
    return document, rows


def texts(document) -> list[str]:
    return [p.text for p in document.paragraphs]


def by_unit(letters):
    return {x.unit: x for x in letters}


def flagged_tasks(ledger) -> dict[str, dict[str, str]]:
    """Independently of the letters: unit → {task id: status code} of open tasks past or near their deadline."""
    status = evaluate_ledger(ledger, today=TODAY)
    out: dict[str, dict[str, str]] = {}
    for task in ledger.tasks:
        code = status.tasks[task.id].code
        if code in ("overdue", "due_soon"):
            out.setdefault(task.unit, {})[task.id] = code
    return out


def test_one_letter_per_unit_at_the_level_its_tasks_reach(demo_ledger, tmp_path):
    letters = render_letters(demo_ledger, today=TODAY, out_dir=tmp_path)
    flagged = flagged_tasks(demo_ledger)
    assert flagged == {"英德市": {"2-2": "due_soon"}, "清新区": {"2-3": "overdue"}, "阳山县": {"3-1": "due_soon"},
                       "佛冈县": {"7-1": "overdue"}, "人事科": {"16-1": "due_soon"}}
    levels = {u: ("督办函" if "overdue" in codes.values() else "提醒函") for u, codes in flagged.items()}
    assert {x.unit: x.level for x in letters} == levels
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{lv}_{u}.docx" for u, lv in levels.items())
    titles = {"提醒函": "关于加快推进巡察整改任务的提醒函", "督办函": "关于督促办理逾期巡察整改任务的督办函"}
    for n, letter in enumerate(letters, start=1):
        document, rows = read_letter(letter.path)
        assert rows[0] == HEADER
        assert {r[0] for r in rows[1:]} == set(flagged[letter.unit])
        t = texts(document)
        assert t[0] == f"整改办函〔2025〕{n}号" == letter.number
        assert t[2] == titles[letter.level]
        assert t[4] == f"{letter.unit}："
        assert t[-2:] == ["中共清远市公路事务中心党组", "2025年4月7日"]
        assert not any("报送我们" in x for x in t)


def test_wording_matches_what_the_unit_has(demo_ledger, tmp_path):
    """Regression: the same paragraph demanded action on overdue and near-deadline tasks whatever the unit had."""
    letters = by_unit(render_letters(demo_ledger, today=TODAY, out_dir=tmp_path))
    only_soon = texts(read_letter(letters["英德市"].path)[0])
    only_over = texts(read_letter(letters["佛冈县"].path)[0])
    assert any(x.startswith("对临近完成时限的1项任务") for x in only_soon)
    assert not any("逾期原因" in x or "已超过完成时限" in x for x in only_soon)
    assert any(x.startswith("对已超过完成时限的1项任务，请逐项说明逾期原因") for x in only_over)
    assert not any("临近完成时限" in x for x in only_over)


def test_responsible_person_reply_deadline_and_contact(demo_ledger, tmp_path):
    demo_ledger.settings.letter_contact = "王小明"
    demo_ledger.settings.letter_contact_phone = "0763-3363602"
    demo_ledger.settings.reminder_signature = "巡察整改工作领导小组办公室"
    letters = by_unit(render_letters(demo_ledger, today=TODAY, out_dir=tmp_path))
    tasks = {t.id: t for t in demo_ledger.tasks}
    document, rows = read_letter(letters["佛冈县"].path)
    assert rows[1][:3] == ["7-1", tasks["7-1"].measure, tasks["7-1"].person]
    assert rows[1][3:] == ["2025年3月20日", "逾期", "18"]
    t = texts(document)
    # 5 working days after Monday 2025-04-07: Monday 2025-04-14.
    assert add_working_days(TODAY, 5) == date(2025, 4, 14)
    assert "请于2025年4月14日前（5个工作日内）将整改进展情况和佐证材料书面报送巡察整改工作领导小组办公室。" in t
    assert "联系人：王小明；联系电话：0763-3363602。" in t
    assert t[-2] == "巡察整改工作领导小组办公室"


def test_reply_deadline_skips_the_national_holiday():
    assert add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)  # 国庆、中秋 2025-10-01…08


def test_addressee_is_the_full_name_from_the_county_sheet(demo_ledger, tmp_path):
    """Regression: 主送 was the raw unit string ("英德市：")."""
    demo_ledger.counties = [County("英德市", full_name="英德市公路事务中心")]
    letters = by_unit(render_letters(demo_ledger, today=TODAY, out_dir=tmp_path))
    assert texts(read_letter(letters["英德市"].path)[0])[4] == "英德市公路事务中心："
    assert letters["英德市"].warnings == []
    assert "单位全称" in letters["佛冈县"].warnings[0]


def monthly(*rows) -> Table:
    return Table("月度进展", [["月份", "截止日期", "措施总数"], *[list(r) for r in rows]])


def test_warning_letter_for_a_task_overdue_at_last_months_snapshot(demo_ledger, tmp_path):
    # 7-1 (佛冈县) was due 2025-03-20: overdue at the March snapshot (2025-03-31) and now → 告诫函.
    # 2-3 (清新区) was due 2025-03-31: not yet overdue on 2025-03-31 → 督办函.
    letters = by_unit(render_letters(demo_ledger, today=TODAY, out_dir=tmp_path,
                                     monthly=monthly(["2025-03", date(2025, 3, 31), 50])))
    assert (letters["佛冈县"].level, letters["清新区"].level, letters["英德市"].level) == ("告诫函", "督办函", "提醒函")
    document, rows = read_letter(letters["佛冈县"].path)
    t = texts(document)
    assert t[2] == "关于巡察整改任务连续逾期的告诫函"
    assert rows[1][4] == "逾期（连续两个月）"
    assert any("在连续两个月的整改进展统计中均已超过完成时限" in x and "现予以告诫" in x for x in t)
    # Without last month's snapshot, no 告诫函.
    letters = by_unit(render_letters(demo_ledger, today=TODAY, out_dir=tmp_path / "b",
                                     monthly=monthly(["2025-01", date(2025, 1, 31), 50])))
    assert letters["佛冈县"].level == "督办函"


def test_warning_letter_for_a_task_named_in_last_months_supervision_letter(demo_ledger, tmp_path):
    register = [RegisterEntry("整改办函〔2025〕7号", date(2025, 3, 20), "督办函", "清新区", "清新区", ("2-3",))]
    letters = by_unit(render_letters(demo_ledger, today=TODAY, out_dir=tmp_path, register=register))
    assert letters["清新区"].level == "告诫函"
    t = texts(read_letter(letters["清新区"].path)[0])
    assert any("此前已发整改办函〔2025〕7号督办" in x for x in t)
    # The sequence continues after the register's highest number, in ledger order of the units.
    assert [x.number for x in letters.values()] == [f"整改办函〔2025〕{n}号" for n in range(8, 8 + len(letters))]


def test_numbers_follow_the_pattern_and_restart_each_year():
    register = [RegisterEntry("X〔2024〕30号", date(2024, 12, 1), "提醒函", "a", "a", ())]
    assert next_numbers("X〔{year}〕{n}号", register, date(2025, 1, 5), 2) == ["X〔2025〕1号", "X〔2025〕2号"]
    register.append(RegisterEntry("X〔2025〕4号", date(2025, 1, 2), "提醒函", "a", "a", ()))
    assert next_numbers("X〔{year}〕{n}号", register, date(2025, 1, 5), 1) == ["X〔2025〕5号"]


def test_most_overdue_first_and_excel_debris_cleaned(demo_ledger, tmp_path):
    demo_ledger.tasks.append(
        Task("7-9", "7", "清理_x000D_\r\n积压事项", unit="佛冈县", deadline=Deadline(date(2025, 1, 2)), state="未启动")
    )
    letters = by_unit(render_letters(demo_ledger, today=TODAY, out_dir=tmp_path))
    _, rows = read_letter(letters["佛冈县"].path)
    assert [(r[0], r[1], r[5]) for r in rows[1:]] == [
        ("7-9", "清理积压事项", "95"),
        ("7-1", "主动作为，做好路段整治工作。", "18"),
    ]
    assert rows[1][2] == "未填写"  # no 责任人 given


def test_opening_counts_overdue_and_due_soon(demo_ledger, tmp_path):
    demo_ledger.tasks.append(
        Task("2-9", "2", "新增措施<测试>&“引号”。", unit="清新区", deadline=Deadline(date(2025, 4, 9)), state="推进中")
    )
    letters = by_unit(render_letters(demo_ledger, today=TODAY, out_dir=tmp_path))
    document, rows = read_letter(letters["清新区"].path)
    assert [r[0] for r in rows[1:]] == ["2-3", "2-9"]  # overdue first, then 临期
    assert rows[2][1] == "新增措施<测试>&“引号”。"
    t = texts(document)
    assert t[5] == (
        "根据八届市委第四轮巡察整改工作安排，经对照整改台账核查，截至2025年4月7日，"
        "你单位负责的巡察整改任务中有1项已超过完成时限、1项临近完成时限，具体如下："
    )
    assert any(x.startswith("对已超过完成时限的1项任务") for x in t)
    assert any(x.startswith("对临近完成时限的1项任务") for x in t)


def test_no_letters_when_nothing_is_late(demo_ledger, tmp_path):
    assert render_reminders(demo_ledger, today=date(2024, 1, 2), out_dir=tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_tasks_without_unit_are_left_out(demo_ledger, tmp_path):
    demo_ledger.problems.append(Problem("99", "关于测试方面", "测试问题"))
    demo_ledger.tasks.append(Task("99-1", "99", "没有责任单位。", unit=" ", deadline=Deadline(date(2025, 1, 1))))
    for path in render_reminders(demo_ledger, today=TODAY, out_dir=tmp_path):
        _, rows = read_letter(path)
        assert "99-1" not in [r[0] for r in rows]


@pytest.mark.parametrize(
    ("unit", "level", "name"),
    [
        ("连山壮族瑶族自治县", "提醒函", "提醒函_连山壮族瑶族自治县.docx"),
        ("财务/审计部", "督办函", "督办函_财务_审计部.docx"),
        ("?", "告诫函", "告诫函__.docx"),
    ],
)
def test_reminder_file_names(unit, level, name):
    assert reminder_file_name(unit, level) == name


# --- the job: letters, and the register written into the ledger ----------------------------------


def register_rows(path) -> list[list]:
    wb = openpyxl.load_workbook(path)
    ws = wb["督办记录"]
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_job_records_every_letter_in_the_register_and_numbering_continues(demo_file, tmp_path):
    from toolkit.jobs.documents import run_reminders
    from toolkit.jobs.sources import FileLedger

    job = run_reminders(FileLedger(demo_file), today=TODAY, out=tmp_path / "一")
    letters = job.details
    assert len(letters) == 5
    rows = register_rows(demo_file)
    assert rows[0][:6] == ["文号", "印发日期", "类别", "责任单位", "主送", "任务编号"]
    assert [r[0] for r in rows[1:]] == [f"整改办函〔2025〕{n}号" for n in range(1, 6)]
    assert {(r[2], r[3], r[5]) for r in rows[1:]} == {
        ("提醒函", "英德市", "2-2"), ("督办函", "清新区", "2-3"), ("提醒函", "阳山县", "3-1"), ("督办函", "佛冈县", "7-1"),
        ("提醒函", "人事科", "16-1")}
    assert any(w.what == "督办记录" for w in job.written)
    # A month later: numbering continues from the register, and what was sent a 督办函 last month escalates.
    job = run_reminders(FileLedger(demo_file), today=date(2025, 5, 6), out=tmp_path / "二")
    rows = register_rows(demo_file)
    assert len(rows) == 1 + 5 + len(job.details)
    new = {r[3]: r for r in rows[6:]}
    assert new["佛冈县"][2] == "告诫函" and new["清新区"][2] == "告诫函"
    numbers = [int(r[0].split("〕")[1].removesuffix("号")) for r in rows[1:]]
    assert numbers == list(range(1, len(rows)))
    assert read_register(Table("督办记录", rows))[0].tasks in (("2-2",), ("2-3",), ("3-1",), ("7-1",), ("16-1",))
