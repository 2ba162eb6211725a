"""Shared fixtures: ledgers built in code, as plain tables or as real workbook files."""

from __future__ import annotations

import copy
import functools
import importlib
import os
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest

from toolkit.demo.ledger import DEMO_AS_OF, build_demo_ledger

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus" / "calamine-tests"
REFERENCE_NOTICE = SHARED / "reference" / "qingyuan-highway-notice-2025.txt"

# --- external tools: skipped locally, a failure under CI -------------------------------------

IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
POPPLER_TOOLS = ("pdfinfo", "pdffonts", "pdftotext")
# The faces toolkit/notice/pdf.py maps the official font names to (FONT_MAP's values).
CJK_FAMILIES = ("Noto Serif CJK SC", "Noto Sans CJK SC", "AR PL UKai CN")


@functools.cache
def _font_families() -> str:
    if shutil.which("fc-list") is None:
        return ""
    return subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, check=False).stdout


@functools.cache
def _missing(name: str) -> str | None:
    """Why requirement ``name`` is not met on this machine (None when it is)."""
    if name == "soffice":
        return None if shutil.which("soffice") else "LibreOffice (soffice) is not on PATH"
    if name == "poppler":
        absent = [t for t in POPPLER_TOOLS if shutil.which(t) is None]
        return f"poppler-utils missing: {', '.join(absent)}" if absent else None
    if name == "fontconfig":
        absent = [t for t in ("fc-list", "fc-match") if shutil.which(t) is None]
        return f"fontconfig tools missing: {', '.join(absent)}" if absent else None
    if name == "cjk-fonts":
        families = _font_families()
        absent = [f for f in CJK_FAMILIES if f not in families]
        return f"CJK fonts missing (fc-list): {', '.join(absent)}" if absent else None
    if name == "chromium":
        return None if chromium_path() else "Chromium is not on PATH (apt: chromium)"
    if name == "shared":
        absent = [str(p) for p in (CORPUS, REFERENCE_NOTICE) if not p.exists()]
        return f"shared corpus/reference missing: {', '.join(absent)}" if absent else None
    raise ValueError(f"unknown requirement {name!r}")


REQUIREMENTS = ("soffice", "poppler", "fontconfig", "cjk-fonts", "shared", "chromium")


def chromium_path() -> str | None:
    """Debian's Chromium (the board tests open the generated page in it)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")
HOW_TO_GET = (
    "scripts/test.sh installs LibreOffice, poppler-utils, Chromium and the fonts with apt when run as root; "
    "the corpus is ../shared beside the repository"
)


def _not_met(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true and {reason}: this test must run in CI ({HOW_TO_GET})", pytrace=False)
    pytest.skip(reason)


def require(*names: str) -> None:
    """Skip the calling test when a tool/font/corpus it needs is missing here; fail it under ``CI=true``.

    ``names`` are from :data:`REQUIREMENTS`. Use it inside a test or fixture, or as the marker
    ``@pytest.mark.requires("soffice", "poppler")`` (module-wide: ``pytestmark = pytest.mark.requires(...)``).
    """
    for name in names:
        reason = _missing(name)
        if reason is not None:
            _not_met(reason)


def require_module(name: str):
    """``pytest.importorskip`` for test dependencies listed in pyproject's ``test`` extra: fails under CI."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        _not_met(f"Python module {name} is not installed ({exc}); pip install -e '.[test]'")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "requires(*names): needs external tools/fonts/corpus "
        + ", ".join(REQUIREMENTS)
        + " — skipped when missing, failed under CI=true",
    )


def pytest_runtest_setup(item):
    for marker in item.iter_markers("requires"):
        require(*marker.args)


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
TASK_HEADER = [
    "任务编号",
    "问题编号",
    "整改措施",
    "整改进展",
    "责任领导",
    "责任单位",
    "责任人",
    "完成时限",
    "延期时限",
    "完成情况",
    "完成日期",
    "佐证材料",
    "销号日期",
    "销号审核人",
]
PEOPLE_ROWS = [["姓名", "职务", "单位"], ["李国强", "主任", "办公室"], ["周丽", "科员", "办公室"]]
COUNTY_ROWS = [["县区名称"], ["清城区"], ["英德市"]]


def task_row(
    tid="1-1",
    pid=1,
    *,
    measure="加强学习。",
    unit="办公室",
    person="周丽",
    deadline=date(2024, 6, 30),
    extended=None,
    state="推进中",
    done=None,
    evidence="",
    signed=None,
    signer="",
) -> list:
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
    paths = make_county_templates(
        master, out_dir=root / "下发", today=COUNTY_TODAY, now=COUNTY_ISSUED, return_deadline=COUNTY_DEADLINE
    )
    return master, {p.name.split("_")[1]: p for p in paths}


@pytest.fixture
def remote(monkeypatch):
    """Enable xlwings' remote engine (licence key for tests only) and forget any mock caller afterwards."""
    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    import xlwings as xw

    yield xw
    if hasattr(xw.Book, "_mock_caller"):
        del xw.Book._mock_caller
