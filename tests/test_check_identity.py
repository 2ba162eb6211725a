"""The check path (intake, validation, statuses, plan) gives the same result as before its third round of
speed work (issue 15).

``tests/perf_reference/core/`` holds frozen copies of the pre-change intake, validation, status engine,
plan builder and check pipeline. Both run on the same tables (generated messy ledgers, a one-sheet ledger,
the bench's synthetic ledger) and must agree on every issue (and its order), every status, every tally and
every planned cell.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import COUNTY_ROWS, PEOPLE_ROWS, PROBLEM_ROWS, SETTINGS_ROWS, TASK_HEADER, tables_from_rows
from hypothesis import given, settings
from hypothesis import strategies as st
from test_adopt import SHAPES, _problems, one_sheet_table

from toolkit.core.check import check_tables
from toolkit.core.model import CellError
from toolkit.core.status import TaskStatus, _new_status, problem_status

ref_check = importlib.import_module("perf_reference.core.check")
ref_status = importlib.import_module("perf_reference.core.status")

FAST = settings(derandomize=True, max_examples=80, deadline=None)
TODAY = date(2024, 9, 1)

# Cell values as staff type them, clean and odd, per kind of column.
TEXTS = ("加强学习。", "  整改措施  ", "措施_x000D_\n第二行", "第一行\r\n第二行", "", None, 12.0, "注：以上为说明",
         "合计", "任务编号", "ＡＢＣ", "a" * 30, CellError("#N/A"))
IDS = ("1-1", "1-2", "２-１", 3.0, 4, " 5 ", "", None, "合计：", CellError("#REF!"))
PIDS = (1, 2, 2.0, "1", "２", 9, "", None)
UNITS = ("办公室", "人事科", "清城区", "英德市", "未登记单位", "", None, "办公室 ")
PEOPLE = ("周丽", "李国强", "周丽、李国强", "王五", "", None)
DEADLINES = (date(2024, 6, 30), date(2024, 9, 3), date(2024, 12, 31), date(2020, 1, 1), date(2032, 1, 1),
             datetime(2024, 9, 5, 10, 30), "长期坚持", "长期", "立行立改", "2024年9月前", "6月底", "2024.10.1", "不详",
             45500.0, "", None, date(2024, 4, 2), date(2024, 4, 1))
# With the boundaries of the date rules: the feedback date (2024-04-02, 基本信息) and the day before, TODAY.
DATES = (None, None, date(2024, 8, 1), date(2024, 10, 1), "2024-07-01", "昨天", date(2023, 1, 1), date(2024, 4, 2),
         date(2024, 4, 1), TODAY)
STATES = ("未启动", "推进中", "已完成", "长期坚持", "基本完成", "完成", "进行中", "不知道", "", None)
SIGNERS = ("", None, "审核人")


def _row(draw) -> list:
    return [draw(st.sampled_from(IDS)), draw(st.sampled_from(PIDS)), draw(st.sampled_from(TEXTS)),
            draw(st.sampled_from(TEXTS)), draw(st.sampled_from(PEOPLE)), draw(st.sampled_from(UNITS)),
            draw(st.sampled_from(PEOPLE)), draw(st.sampled_from(DEADLINES)), draw(st.sampled_from(DATES)),
            draw(st.sampled_from(STATES)), draw(st.sampled_from(DATES)), draw(st.sampled_from(TEXTS)),
            draw(st.sampled_from(DATES)), draw(st.sampled_from(SIGNERS))]


SPECIAL_ROWS = (
    [],  # blank
    [None] * 14,
    ["合计", None, None, None, None, None, None, None, None, None, None, None, None, None],
    ["注：本表由办公室填写", None, None],
    ["说明：完成情况只能填四种"],
    [None, None, "上一条注释的续行"],
    list(TASK_HEADER),  # a repeated header row
    [" 任务编号 ", "问题 编号", "整改措施", "整改进展", "责任领导", "责任单位", "责任人", "完成时限"],
    ["制表人：张三", None, None, None, None, None, None, None, None, None, None, None, None, None],
)


@st.composite
def messy_tables(draw):
    rows: list[list] = []
    for _ in range(draw(st.integers(0, 14))):
        if draw(st.integers(0, 5)) == 0:
            rows.append(list(draw(st.sampled_from(SPECIAL_ROWS))))
        else:
            rows.append(_row(draw))
    settings_rows = [list(r) for r in SETTINGS_ROWS]
    if draw(st.booleans()):
        settings_rows.append(["统计截止日期", draw(st.sampled_from((TODAY, "2024-09-01", "不详")))])
    if draw(st.booleans()):
        settings_rows = [r for r in settings_rows if r[0] != "预警按工作日计算"] + [["预警按工作日计算", "否"]]
    problems = [list(r) for r in PROBLEM_ROWS] + draw(st.lists(
        st.sampled_from(([3, "关于作风建设方面", "作风不实", "李国强", "人事科"], [1, "关于贯彻落实方面", "重复的编号", "", ""],
                         [None, None, None, None, None], ["注：问题按方面排列", None, None, None, None])),
        max_size=3))
    header = list(TASK_HEADER)
    if draw(st.booleans()):  # a column missing or renamed by a synonym
        header[draw(st.integers(0, len(header) - 1))] = draw(st.sampled_from(("", "备注", "整改时限", "牵头单位")))
    sheets = {"基本信息": settings_rows, "问题清单": problems, "任务清单": [header, *rows]}
    if draw(st.booleans()):
        sheets["责任清单"] = [list(r) for r in PEOPLE_ROWS]
    if draw(st.booleans()):
        sheets["县区"] = [list(r) for r in COUNTY_ROWS]
    return tables_from_rows(sheets)


def _status_rows(result) -> list[tuple]:
    return [dataclasses.astuple(s) for s in result.status.rows]


def snapshot(result) -> tuple:
    """Everything a check produces, as plain values (the status classes of the two versions differ)."""
    status = result.status
    stats = status.stats
    counts = [(name, {k: dataclasses.astuple(v) for k, v in group.items()})
              for name, group in (("category", stats.by_category), ("unit", stats.by_unit), ("county", stats.by_county))]
    return (
        result.ledger,
        [(i.code, i.message, i.location, i.severity) for i in result.report.issues],
        _status_rows(result),
        {k: dataclasses.astuple(v) for k, v in status.tasks.items()},
        {k: id(v) for k, v in status.task_by_key.items()},
        dict(status._index),
        [dataclasses.astuple(p) for p in status.problem_rows],
        {k: dataclasses.astuple(v) for k, v in status.problems.items()},
        dataclasses.astuple(stats.overall), dataclasses.astuple(stats.problems_overall), counts,
        stats.overdue, stats.due_soon, stats.unclear,
        result.today,
        result.plan,
    )


def _both(tables, today=TODAY):
    new = check_tables(tables, today=today, source="台账.xlsx", clock_today=TODAY)
    old = ref_check.check_tables(tables, today=today, source="台账.xlsx", clock_today=TODAY)
    return new, old


def _same(new, old) -> None:
    a, b = snapshot(new), snapshot(old)
    # Task objects differ between the two runs: compare identities positionally.
    ids_new = {id(t): i for i, t in enumerate(new.ledger.tasks)}
    ids_old = {id(t): i for i, t in enumerate(old.ledger.tasks)}
    a = (*a[:4], {k: ids_new[v] for k, v in a[4].items()}, {ids_new[k]: v for k, v in a[5].items()}, *a[6:])
    b = (*b[:4], {k: ids_old[v] for k, v in b[4].items()}, {ids_old[k]: v for k, v in b[5].items()}, *b[6:])
    names = ("ledger", "issues", "status rows", "status by key", "task by key", "index", "problem rows",
             "problems by id", "overall", "problems overall", "groups", "overdue", "due soon", "unclear", "today",
             "plan")
    for name, x, y in zip(names, a, b, strict=True):
        assert x == y, name


@FAST
@given(messy_tables(), st.sampled_from((TODAY, None, date(2024, 6, 30))))
def test_messy_ledgers_check_as_before(tables, today):
    _same(*_both(tables, today))


@FAST
@given(problems=_problems, shape=st.sampled_from(SHAPES))
def test_one_sheet_ledgers_check_as_before(problems, shape):
    _same(*_both(one_sheet_table(problems, shape)))


def test_synthetic_bench_ledger_checks_as_before(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    try:
        from synthetic import write_synthetic
    finally:
        sys.path.pop(0)
    from toolkit.excel.read import read_workbook

    path = write_synthetic(tmp_path / "ledger.xlsx", 600)
    tables = read_workbook(path)
    new, old = _both(tables, date(2025, 4, 7))
    assert len(new.ledger.tasks) == 600
    _same(new, old)


@FAST
@given(st.lists(st.sampled_from(sorted(ref_status.LABELS)), max_size=6))
def test_problem_roll_up_as_before(codes):
    statuses = [TaskStatus("1", c, "") for c in codes]
    old = ref_status.problem_status("1", [ref_status.TaskStatus("1", c, "") for c in codes])
    assert dataclasses.astuple(problem_status("1", statuses)) == dataclasses.astuple(old)


def test_fast_status_constructor_makes_the_same_frozen_object():
    values = ("1-1", "due_soon", "临期", 0, date(2024, 9, 3), 2, False, 1, "1-1#2")
    fast = _new_status(*values)
    assert type(fast) is TaskStatus and fast == TaskStatus(*values) and hash(fast) == hash(TaskStatus(*values))
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.code = "overdue"  # type: ignore[misc]
    with pytest.raises(TypeError):
        _new_status(*values[:-1])  # every field is required: a missing one is an error, not a default


def test_task_status_day_by_day_as_before():
    from toolkit.core.model import Deadline, Settings, Task
    from toolkit.core.status import task_status

    s = Settings()
    for working in (True, False):
        s.working_days = working
        for state in ("未启动", "推进中", "已完成", "长期坚持", "基本完成", ""):
            for deadline in (Deadline(date(2024, 9, 10)), Deadline(None, "long_term", "长期"), Deadline(None, "invalid"),
                             None):
                for extended in (None, date(2024, 9, 20)):
                    task = Task("1", "1", "措施", deadline=deadline, extended_deadline=extended, state=state,
                                completed_on=date(2024, 9, 15) if state == "已完成" else None)
                    for offset in range(-5, 25, 3):
                        today = date(2024, 9, 1) + timedelta(days=offset)
                        new = task_status(task, today=today, settings=s, key="k")
                        old = ref_status.task_status(task, today=today, settings=s, key="k")
                        assert dataclasses.astuple(new) == dataclasses.astuple(old)


def test_fast_problem_status_constructor_makes_the_same_frozen_object():
    from toolkit.core.status import ProblemStatus, _new_problem_status

    values = ("3", "overdue", "逾期", 1, 4, 2)
    fast = _new_problem_status(*values)
    assert type(fast) is ProblemStatus and fast == ProblemStatus(*values)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.code = "done"  # type: ignore[misc]
