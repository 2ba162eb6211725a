"""One test per rule: a minimal valid ledger, one defect, the located issue it must produce."""

from datetime import date

from conftest import SETTINGS_ROWS, TASK_HEADER, task_row

from toolkit.core.check import check_tables
from toolkit.core.model import CellError

TODAY = date(2025, 4, 7)


def check(tables):
    return check_tables(tables, today=TODAY, source="t.xlsx").report


def test_minimal_ledger_is_clean(small_tables):
    report = check(small_tables())
    assert report.issues == []


def test_missing_required_value(small_tables):
    report = check(small_tables([task_row("1-1", 1, unit=""), task_row("2-1", 2)]))
    assert report.flatten() == [["任务清单", 2, "F", "missing-value"]]
    assert report.issues[0].message == "“责任单位”未填写，请填写"


def test_duplicate_task_id(small_tables):
    report = check(small_tables([task_row("1-1", 1), task_row("1-1", 2)]))
    assert report.flatten() == [["任务清单", 3, "A", "duplicate-id"]]
    assert "与第2行重复" in report.issues[0].message


def test_task_pointing_to_unknown_problem_and_problem_without_tasks(small_tables):
    report = check(small_tables([task_row("1-1", 1), task_row("9-1", 9)]))
    assert report.flatten() == [["任务清单", 3, "B", "unknown-problem"], ["问题清单", 3, "A", "problem-without-tasks"]]


def test_unknown_unit_and_person_are_warnings(small_tables):
    report = check(small_tables([task_row("1-1", 1, unit="办公厅", person="王五"), task_row("2-1", 2)]))
    assert report.flatten(["row", "column", "code", "severity"]) == [
        [2, "F", "unknown-unit", "warning"],
        [2, "G", "unknown-person", "warning"],
    ]
    assert "是否应为“办公室”" in report.issues[0].message
    assert report.valid


def test_county_is_a_known_unit(small_tables):
    assert check(small_tables([task_row("1-1", 1, unit="英德市"), task_row("2-1", 2)])).issues == []


def test_unparseable_and_impossible_dates(small_tables):
    report = check(small_tables([task_row("1-1", 1, deadline="下月底前"), task_row("2-1", 2, deadline="2024-02-30")]))
    assert report.flatten() == [["任务清单", 2, "H", "bad-date"], ["任务清单", 3, "H", "bad-date"]]
    assert "请写成 2024-06-30" in report.issues[0].message


def test_deadline_before_feedback(small_tables):
    report = check(small_tables([task_row("1-1", 1, deadline=date(2024, 3, 1)), task_row("2-1", 2)]))
    assert report.flatten() == [["任务清单", 2, "H", "deadline-before-feedback"]]


def test_completion_in_the_future(small_tables):
    report = check(small_tables([task_row("1-1", 1, state="已完成", done=date(2025, 5, 1), evidence="文件"),
                                 task_row("2-1", 2)]))
    assert report.flatten() == [["任务清单", 2, "K", "date-in-future"]]


def test_done_without_date_or_evidence(small_tables):
    report = check(small_tables([task_row("1-1", 1, state="已完成"), task_row("2-1", 2)]))
    assert report.flatten(["column", "code", "severity"]) == [
        ["K", "done-without-date", "error"],
        ["L", "done-without-evidence", "warning"],
    ]


def test_completion_date_with_state_not_done(small_tables):
    report = check(small_tables([task_row("1-1", 1, done=date(2024, 6, 1)), task_row("2-1", 2)]))
    assert report.flatten() == [["任务清单", 2, "K", "date-without-done"]]


def test_signoff_before_completion(small_tables):
    row = task_row("1-1", 1, state="已完成", done=date(2024, 6, 10), evidence="文件", signed=date(2024, 6, 1),
                   signer="李国强")
    report = check(small_tables([row, task_row("2-1", 2)]))
    assert report.flatten() == [["任务清单", 2, "M", "signoff-before-done"]]


def test_signoff_without_done(small_tables):
    row = task_row("1-1", 1, signed=date(2024, 6, 1), signer="李国强")
    assert check(small_tables([row, task_row("2-1", 2)])).codes() == ["signoff-without-done"]


def test_unknown_state_word_suggests_the_nearest(small_tables):
    report = check(small_tables([task_row("1-1", 1, state="已完"), task_row("2-1", 2)]))
    assert report.flatten() == [["任务清单", 2, "J", "unknown-state"]]
    assert "是否应为“已完成”" in report.issues[0].message


def test_state_synonyms_are_accepted(small_tables):
    rows = [task_row("1-1", 1, state="正在推进"), task_row("2-1", 2, state=" 进行中 ")]
    assert check(small_tables(rows)).issues == []


def test_excel_error_values_anywhere(small_tables):
    rows = [task_row("1-1", 1), task_row("2-1", 2)]
    rows[1][3] = CellError("#REF!")
    report = check(small_tables(rows))
    assert report.flatten() == [["任务清单", 3, "D", "excel-error"]]
    assert "#REF!" in report.issues[0].message


def test_settings_missing_and_malformed(small_tables):
    settings = [r for r in SETTINGS_ROWS if r[0] != "反馈日期"]
    settings = [r if r[0] != "临期预警天数" else ["临期预警天数", "七天"] for r in settings]
    report = check(small_tables(**{"基本信息": settings}))
    assert report.flatten(["sheet", "row", "column", "code"]) == [
        ["基本信息", 10, "A", "setting-missing"],  # the first row below the settings: where to add it
        ["基本信息", 8, "B", "setting-bad"],
    ]
    assert "反馈日期" in report.issues[0].message


def test_missing_sheet_and_column(small_tables):
    tables = small_tables()
    del tables["问题清单"]
    tables["任务清单"].rows = [[h for h in TASK_HEADER if h != "完成时限"]]
    report = check(tables)
    assert report.codes() == ["missing-sheet", "missing-column"]


def test_reordered_columns_synonyms_and_title_row(small_tables):
    header = ["整改措施", "序号", "所属问题", "牵头部门", "整改时限", "整改状态", "完成时间", "佐证资料"]
    rows = [["巡察整改任务清单"], [], header,
            ["加强学习。", "1-1", 1, "办公室", "2024年6月底", "推进中", None, None],
            [None] * 8,  # a blank row in the middle is skipped
            ["规范履职。", "2-1", "２", "办公室 ", "长期坚持", "长期坚持", None, None]]
    result = check_tables(small_tables(**{"任务清单": rows}), today=TODAY, source="t.xlsx")
    assert result.report.issues == []
    t1, t2 = result.ledger.tasks
    assert (t1.row, t1.unit, t1.deadline.on) == (4, "办公室", date(2024, 6, 30))
    assert (t2.row, t2.problem_id, t2.unit, t2.deadline.is_long_term) == (6, "2", "办公室", True)
    assert result.ledger.layout.header_rows["任务清单"] == 3


def test_demo_ledger_checks_clean(demo_ledger, as_of):
    from toolkit.core.check import check_ledger
    from toolkit.core.layout import assign_new_layout

    assign_new_layout(demo_ledger)
    report = check_ledger(demo_ledger, today=as_of).report
    assert report.errors == []
