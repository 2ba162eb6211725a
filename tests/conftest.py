"""Shared fixtures: ledgers built in code, as plain tables or as real workbook files."""

from __future__ import annotations

import copy
from datetime import date, datetime
from pathlib import Path

import pytest

from toolkit.demo.ledger import DEMO_AS_OF, build_demo_ledger

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus" / "calamine-tests"
REFERENCE_NOTICE = SHARED / "reference" / "qingyuan-highway-notice-2025.txt"

_DEMO = build_demo_ledger()


@pytest.fixture
def demo_ledger():
    """A fresh copy of the demo ledger model (as of 2025-04-07)."""
    return copy.deepcopy(_DEMO)


@pytest.fixture
def as_of() -> date:
    return DEMO_AS_OF


@pytest.fixture
def demo_file(tmp_path) -> Path:
    """The demo ledger written as a real .xlsx by the builder."""
    from toolkit import jobs as api

    path = tmp_path / "台账 示例.xlsx"
    api.new_ledger_workbook(path, copy.deepcopy(_DEMO), today=DEMO_AS_OF)
    return path


def tables_from_rows(sheets: dict[str, list[list]]):
    """Plain tables (as any reader would produce) from lists of rows starting at A1."""
    from toolkit.core.model import Table

    return {name: Table(name, [list(r) for r in rows]) for name, rows in sheets.items()}


SETTINGS_ROWS = [
    ["项目", "内容"],
    ["单位名称", "清远市公路事务中心"],
    ["党组名称", "中共清远市公路事务中心党组"],
    ["巡察轮次", "八届市委第四轮巡察"],
    ["巡察组", "市委第二巡察组"],
    ["巡察开始日期", date(2023, 9, 13)],
    ["巡察结束日期", date(2023, 12, 27)],
    ["反馈日期", date(2024, 4, 2)],
    ["临期预警天数", 7],
    ["预警按工作日计算", "是"],
]
PROBLEM_ROWS = [
    ["问题编号", "问题方面", "问题标题", "责任领导", "牵头部门"],
    [1, "关于贯彻落实方面", "学习贯彻不深入", "李国强", "办公室"],
    [2, "关于贯彻落实方面", "履职不到位", "李国强", "办公室"],
]
TASK_HEADER = ["任务编号", "问题编号", "整改措施", "整改进展", "责任领导", "责任单位", "责任人", "完成时限",
               "延期时限", "完成情况", "完成日期", "佐证材料", "销号日期", "销号审核人"]
PEOPLE_ROWS = [["姓名", "职务", "单位"], ["李国强", "主任", "办公室"], ["周丽", "科员", "办公室"]]
COUNTY_ROWS = [["县区名称"], ["清城区"], ["英德市"]]


def task_row(tid="1-1", pid=1, *, measure="加强学习。", unit="办公室", person="周丽", deadline=date(2024, 6, 30),
             extended=None, state="推进中", done=None, evidence="", signed=None, signer="") -> list:
    return [tid, pid, measure, "", "李国强", unit, person, deadline, extended, state, done, evidence, signed, signer]


@pytest.fixture
def small_tables():
    """A minimal valid ledger as tables; tests append/alter rows to provoke one issue each."""

    def make(tasks: list[list] | None = None, **overrides):
        tasks = tasks if tasks is not None else [task_row("1-1", 1), task_row("2-1", 2)]
        sheets = {
            "基本信息": [list(r) for r in SETTINGS_ROWS],
            "问题清单": [list(r) for r in PROBLEM_ROWS],
            "任务清单": [TASK_HEADER, *tasks],
            "责任清单": [list(r) for r in PEOPLE_ROWS],
            "县区": [list(r) for r in COUNTY_ROWS],
        }
        sheets.update(overrides)
        return tables_from_rows(sheets)

    return make


# County cycle: templates issued 2025-04-01 09:00, returns due 2025-04-05, run on 2025-04-07.
COUNTY_TODAY = date(2025, 4, 7)
COUNTY_ISSUED = datetime(2025, 4, 1, 9, 0)
COUNTY_DEADLINE = date(2025, 4, 5)


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    """Demo master + its county templates (issued/due as above), made once per module; treat as read-only."""
    from toolkit import jobs as api
    from toolkit.counties.template import make_county_templates

    root = tmp_path_factory.mktemp("issued")
    master = root / "台账.xlsx"
    api.new_ledger_workbook(master, copy.deepcopy(_DEMO), today=COUNTY_TODAY)
    paths = make_county_templates(master, out_dir=root / "下发", today=COUNTY_TODAY, now=COUNTY_ISSUED,
                                  return_deadline=COUNTY_DEADLINE)
    return master, {p.name.split("_")[1]: p for p in paths}
