"""toolkit.excel.live through xlwings' real ``remote`` engine (no Excel on Linux).

A saved workbook becomes the JSON an xlwings Office.js client sends (``xlwings_remote.workbook_payload``),
``xw.Book`` opens it on the ``remote`` engine, and what the adapter writes comes back as the
engine's queued actions (``book.json()["actions"]``). :func:`replay` plays those actions onto a
dict of cells the way Excel applies them (a leading apostrophe marks text, a leading ``=`` a
formula), so a test can compare "what the workbook would hold" with the write plan.
The remote engine needs ``XLWINGS_LICENSE_KEY=noncommercial`` (PolyForm Noncommercial); the
fixture sets it for the test only.
"""

from __future__ import annotations

import copy
import random
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import xlwings_remote

from toolkit import jobs as api
from toolkit.core.model import CellError, Table
from toolkit.core.plan import CellStyle, CellWrite, Formula, SheetPlan, WritePlan
from toolkit.core.schema import column_index, column_letter
from toolkit.demo.ledger import DEMO_AS_OF, build_demo_ledger
from toolkit.excel import live
from toolkit.excel.read import read_workbook

_DEMO = build_demo_ledger()
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\Z")


# ----------------------------------------------------------------------------- helpers




def make_ledger(folder: Path, name: str = "台账 示例.xlsx", ledger=None) -> Path:
    """The demo ledger written by the builder into ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    api.new_ledger_workbook(path, copy.deepcopy(ledger or _DEMO), today=DEMO_AS_OF)
    return path


@pytest.fixture
def demo_path(tmp_path) -> Path:
    return make_ledger(tmp_path / "整改 台账（测试）")


def open_book(payload: dict) -> Any:
    return xlwings_remote.remote_book(copy.deepcopy(payload))


def excel_value(raw: Any) -> Any:
    """A value from a setValues action as Excel stores it (for what the toolkit writes)."""
    if raw == "" or raw is None:
        return None
    if isinstance(raw, str):
        if raw.startswith("'"):
            return raw[1:]
        if raw.startswith("="):
            return ("formula", raw[1:])
        if _ISO_DATE.match(raw):  # xlwings sends dates as ISO text; an unmarked one is a real date
            return date.fromisoformat(raw)
        if _ISO_DATETIME.match(raw):
            return datetime.fromisoformat(raw)
    return raw


def replay(payload: dict, actions: list[dict]) -> tuple[dict[str, dict[tuple[int, str], dict]], list[list]]:
    """Apply queued actions to per-sheet cell dicts: {sheet: {(row, letter): {"value", "fill", ...}}}; and the alerts."""
    order = [s["name"] for s in payload["sheets"]]
    state: dict[str, dict[tuple[int, str], dict]] = {name: {} for name in order}
    alerts: list[list] = []
    for a in actions:
        func = a["func"]
        if func == "addSheet":
            index, name = a["args"]
            order.insert(index, name)
            state[name] = {}
            continue
        if func == "alert":
            alerts.append(a["args"])
            continue
        if func in ("activateSheet", "setColumnWidth"):
            continue
        sheet = state[order[a["sheet_position"]]]
        for i in range(a["row_count"]):
            for j in range(a["column_count"]):
                key = (a["start_row"] + 1 + i, column_letter(a["start_column"] + j))
                cell = sheet.setdefault(key, {})
                if func == "setValues":
                    cell["value"] = excel_value(a["values"][i][j])
                elif func == "rangeClearContents":
                    cell["value"] = None
                elif func == "rangeClear":
                    cell.clear()
                    cell["value"] = None
                    cell["cleared"] = True
                elif func == "setRangeColor":
                    cell["fill"] = a["args"][0]
                elif func == "setFontProperty":
                    cell["font_" + a["args"][0]] = a["args"][1]
                elif func == "setNumberFormat":
                    cell["number_format"] = a["args"][0]
                elif func == "setWrapText":
                    cell["wrap"] = a["args"][0]
                elif func == "setHorizontalAlignment":
                    cell["align"] = a["args"][0]
                else:
                    raise AssertionError(f"unexpected action {func}")
    return state, alerts


def expected_value(value: Any) -> Any:
    return ("formula", value.text) if isinstance(value, Formula) else value


def assert_cells_match_plan(state: dict, plan: WritePlan) -> None:
    """Every planned cell holds the planned value, and its fill, font colour, bold and number format."""
    for sp in plan.sheets:
        cells = state[sp.sheet]
        for cw in sp.cells:
            got = cells.get((cw.row, cw.column.upper()))
            assert got is not None, f"{sp.sheet}!{cw.column}{cw.row} not written"
            assert got.get("value") == expected_value(cw.value), f"{sp.sheet}!{cw.column}{cw.row}"
            style = cw.style
            if style is not None:
                assert got["fill"] == (None if style.fill is None else "#" + style.fill)
                assert got["font_bold"] is style.bold
                if style.font_color:
                    assert got["font_color"] == "#" + style.font_color
                if style.num_format:
                    assert got["number_format"] == style.num_format


def written_cells(state: dict) -> dict[str, set[tuple[int, str]]]:
    return {
        name: {k for k, v in cells.items() if "value" in v and not v.get("cleared")} for name, cells in state.items()
    }


# ----------------------------------------------------------------------------- reading


def test_read_book_gives_the_file_readers_tables(remote, demo_path):
    """Same cells as toolkit.excel.read, except merged titles: the remote engine cannot report merges."""
    book = open_book(xlwings_remote.workbook_payload(demo_path))
    from_book = live.read_book(book)
    from_file = read_workbook(demo_path)
    assert list(from_book) == list(from_file)
    for name, expected in from_file.items():
        got = from_book[name]
        assert (got.first_row, got.first_col) == (expected.first_row, expected.first_col), name
        rows = [list(r) for r in expected.rows]
        for r1, c1, r2, c2 in expected.merged:  # covered cells stay empty without merge information
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    if (r, c) != (r1, c1):
                        rows[r - expected.first_row][c - expected.first_col] = None
        assert got.rows == rows, name


def _payload(values: list[list], used: str | None, name: str = "S") -> dict:
    import xlwings

    return {
        "client": "Office.js",
        "version": xlwings.__version__,
        "book": {"name": "/tmp/b.xlsx", "active_sheet_index": 0, "selection": "A1"},
        "names": [],
        "sheets": [{"name": name, "values": values, "used_range_address": used, "pictures": [], "tables": []}],
    }


def test_read_sheet_converts_values_like_the_file_reader(remote):
    values = [
        ["", "", "", ""],
        ["", "", "", ""],
        ["", 3.0, 2.5, "2025-04-07T00:00:00.000Z"],
        ["", "#REF!", "#N/A", "2025-04-07T08:30:00.000Z"],
        ["", True, "文本", ""],
    ]
    book = open_book(_payload(values, "B3:D5"))
    table = live.read_book(book)["S"]
    assert (table.first_row, table.first_col) == (3, 1)
    assert table.rows == [
        [3, 2.5, date(2025, 4, 7)],
        [CellError("#REF!"), CellError("#N/A"), datetime(2025, 4, 7, 8, 30)],
        [True, "文本", None],
    ]
    assert type(table.rows[0][0]) is int


def test_read_sheet_trims_formatted_empty_cells_around_the_data(remote):
    values = [["", "", ""], ["", "x", ""], ["", "", ""]]
    table = live.read_book(open_book(_payload(values, "A1:C3")))["S"]
    assert (table.first_row, table.first_col, table.rows) == (2, 1, [["x"]])


def test_empty_sheet_reads_as_no_rows(remote):
    table = live.read_book(open_book(_payload([[]], None)))["S"]
    assert (table.first_row, table.first_col, table.rows) == (1, 0, [])


def test_com_error_codes_map_to_cell_errors():
    """COM hands newer error values (#SPILL!, #CALC!…) to xlwings as bare ints; the adapter maps them."""
    assert live.COM_ERROR_CODES[-2146826265] == "#REF!"  # the code xlwings itself maps
    assert live._cell(-2146826243) == CellError("#SPILL!")
    assert live._cell(-2146826238) == CellError("#CALC!")
    assert live._cell(5) == 5 and live._cell(5.0) == 5 and live._cell("#TAG") == "#TAG"


# A model of Excel's Range.MergeCells / MergeArea for a given list of merged ranges (Excel itself does
# not run here); it drives the search the excel engine runs through xlwings.
def _excel_model(merged: list[tuple[int, int, int, int]]):
    calls = []

    def covers(a, r, c):
        return a[0] <= r <= a[2] and a[1] <= c <= a[3]

    def state(r1, c1, r2, c2):
        calls.append(1)
        flags = {any(covers(a, r, c) for a in merged) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
        return None if len(flags) > 1 else flags.pop()

    def area(r, c):
        calls.append(1)
        return next((a for a in merged if covers(a, r, c)), (r, c, r, c))

    return state, area, calls


@pytest.mark.parametrize(
    "merged",
    [
        [],
        [(1, 1, 1, 19)],  # the title row of 任务清单
        [(1, 1, 1, 9), (3, 2, 7, 2), (8, 2, 12, 2), (20, 3, 21, 5)],  # categories merged down a column
    ],
)
def test_find_merged_areas_finds_every_merged_range(merged):
    state, area, calls = _excel_model(merged)
    assert live.find_merged_areas(state, area, (1, 1, 60, 20)) == sorted(merged)
    if not merged:
        assert len(calls) == 1  # a sheet without merges costs one call


def test_find_merged_areas_stops_at_the_budget():
    merged = [(r, 1, r, 2) for r in range(1, 200)]
    state, area, calls = _excel_model(merged)
    found = live.find_merged_areas(state, area, (1, 1, 200, 3), budget=50)
    assert len(calls) <= 51 and set(found) <= set(merged)


# ----------------------------------------------------------------------------- writing helpers


def test_rectangles_cover_exactly():
    rng = random.Random(7)
    for _ in range(50):
        cells = {(rng.randint(1, 12), rng.randint(0, 6)) for _ in range(rng.randint(1, 40))}
        rects = live.rectangles(cells)
        covered = [(r, c) for r1, c1, r2, c2 in rects for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]
        assert sorted(covered) == sorted(cells)  # every cell once, nothing else
    block = {(r, c) for r in range(2, 53) for c in range(15, 19)}
    assert live.rectangles(block) == [(2, 15, 52, 18)]


def test_union_addresses_fit_excels_range_limit():
    rects = [(r, 16, r, 16) if r % 3 else (r, 16, r + 1, 16) for r in range(3, 3000, 2)]
    groups = live.union_addresses(rects)
    assert [i for g in groups for i in g] == list(range(len(rects)))  # every area once, in order
    for g in groups:
        address = ",".join(live._a1(rects[i]) for i in g)
        assert len(address) <= 255
    assert len(groups) < len(rects) / 20  # what makes a status column cheap over COM
    assert live._a1((3, 16, 3, 16)) == "P3" and live._a1((3, 16, 5, 19)) == "P3:S5"


def test_multi_area_writes_fall_back_to_rectangles_where_refused(remote, demo_path):
    """The remote engine cannot address "P3,P7": each group is redone rectangle by rectangle."""
    book = open_book(xlwings_remote.workbook_payload(demo_path))
    sheet = book.sheets["校验结果"]
    rects = [(3, 2, 3, 2), (5, 2, 6, 2), (9, 2, 9, 3)]
    live._each(sheet, rects, True, lambda rng: setattr(rng, "color", "#FFC7CE"))
    got = [
        (a["start_row"] + 1, a["start_column"] + 1, a["row_count"], a["column_count"]) for a in book.json()["actions"]
    ]
    assert got == [(3, 2, 1, 1), (5, 2, 2, 1), (9, 2, 1, 2)]


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("=1+1", True),
        ("+8613800000000", True),
        ("-1", True),
        ("@x", True),
        ("'引号", True),
        ("#N/A", True),
        ("3/5", True),
        ("1-1", True),
        ("TRUE", True),
        ("2025-04-07", True),
        ("2025年4月7日", True),
        ("１２３", True),
        ("4月7日", True),
        ("12:30", True),
        ("1e5", True),
        ("missing-value", True),
        ("按期推进", False),
        ("已逾期3天", False),
        ("剩5个工作日", False),
        ("", False),
        ("请于3月5日前完成", False),
    ],
)
def test_needs_text_mark(text, marked):
    assert live.needs_text_mark(text) is marked
    assert live.excel_text(text) == ("'" + text if marked else text)


# ----------------------------------------------------------------------------- apply_plan


def test_apply_plan_writes_the_cli_plan_in_bulk(remote, demo_path):
    payload = xlwings_remote.workbook_payload(demo_path)
    book = open_book(payload)
    tables = live.read_book(book)
    plan = api.check_file(demo_path).plan
    written = live.apply_plan(book, plan, tables=tables)
    actions = book.json()["actions"]
    state, _ = replay(payload, actions)
    assert written == plan.cell_count()
    assert_cells_match_plan(state, plan)
    # Bulk, not cell by cell: value writes are disjoint rectangles of planned cells only, covering each
    # planned cell once, and there are few of them (counted from the actions, not from live.rectangles).
    value_writes = [a for a in actions if a["func"] == "setValues"]
    planned = {(sp.sheet, c.row, column_index(c.column)) for sp in plan.sheets for c in sp.cells}
    covered = [
        (payload["sheets"][a["sheet_position"]]["name"], a["start_row"] + 1 + i, a["start_column"] + j)
        for a in value_writes
        for i in range(a["row_count"])
        for j in range(a["column_count"])
    ]
    assert len(covered) == len(set(covered)) == len(planned) and set(covered) == planned
    assert len(value_writes) < 20
    assert len(actions) < plan.cell_count() / 2
    task_writes = [a for a in value_writes if payload["sheets"][a["sheet_position"]]["name"] == "任务清单"]
    assert [(a["row_count"], a["column_count"]) for a in task_writes] == [(51, 4)]  # P2:S52 in one go


def test_strings_stay_text_and_only_formulas_become_formulas(remote, demo_path):
    payload = xlwings_remote.workbook_payload(demo_path)
    book = open_book(payload)
    texts = ["=1+1", "+86", "-1", "3/5", "1-1", "TRUE", "#N/A", "'引号", "按期推进", "2025年4月7日", "１２３"]
    cells = [CellWrite(r, "A", t) for r, t in enumerate(texts, start=1)]
    cells.append(CellWrite(len(texts) + 1, "A", Formula('HYPERLINK("#\'任务清单\'!A1","A1")', "A1")))
    plan = WritePlan([SheetPlan("校验结果", cells, owned_sheet=True, clear_from_row=1)])
    live.apply_plan(book, plan)
    actions = book.json()["actions"]
    raw = [row[0] for a in actions if a["func"] == "setValues" for row in a["values"]]
    assert raw[texts.index("按期推进")] == "按期推进"  # ordinary Chinese text gets no quote prefix
    assert raw[texts.index("3/5")] == "'3/5"
    state, _ = replay(payload, actions)
    got = [state["校验结果"][(r, "A")]["value"] for r in range(1, len(texts) + 2)]
    assert got == [*texts, ("formula", 'HYPERLINK("#\'任务清单\'!A1","A1")')]


def test_missing_owned_sheet_is_created_and_the_active_sheet_restored(remote, demo_path):
    payload = xlwings_remote.workbook_payload(demo_path, active_sheet="任务清单")
    payload["sheets"] = [s for s in payload["sheets"] if s["name"] != "统计"]
    book = open_book(payload)
    plan = api.check_file(demo_path).plan
    live.apply_plan(book, plan)
    actions = book.json()["actions"]
    added = [a for a in actions if a["func"] == "addSheet"]
    assert [a["args"][1] for a in added] == ["统计"]
    assert actions[-1]["func"] == "activateSheet"
    assert book.sheets.active.name == "任务清单"
    state, _ = replay(payload, actions)
    assert_cells_match_plan(state, plan)


def test_owned_sheet_rows_outside_the_plan_are_cleared(remote, demo_path):
    payload = xlwings_remote.workbook_payload(demo_path)
    check = next(s for s in payload["sheets"] if s["name"] == "校验结果")
    check["values"] = [row + [""] * (7 - len(row)) for row in check["values"]]
    check["values"] += [[n, "错误", "任务清单", "H7", "完成时限", "旧的问题", "bad-date"] for n in range(1, 6)]
    check["used_range_address"] = f"A1:G{len(check['values'])}"
    book = open_book(payload)
    live.apply_plan(book, api.check_file(demo_path).plan)
    state, _ = replay(payload, book.json()["actions"])
    old_rows = range(len(check["values"]) - 4, len(check["values"]) + 1)
    for r in old_rows:
        for letter in "ABCDEFG":
            assert state["校验结果"][(r, letter)] == {"value": None, "cleared": True}


def test_stale_owned_column_cells_are_emptied_but_keep_their_format(remote, demo_path):
    """A task row deleted by staff leaves its 【自动】 cells behind; they are emptied (rangeClearContents)."""
    payload = xlwings_remote.workbook_payload(demo_path)
    tasks = next(s for s in payload["sheets"] if s["name"] == "任务清单")
    last = len(tasks["values"])
    tasks["values"].append([""] * 15 + ["逾期", 3, "已逾期3天", ""])  # row below the last task: staff deleted it
    tasks["used_range_address"] = f"A1:S{last + 1}"
    book = open_book(payload)
    live.apply_plan(book, api.check_file(demo_path).plan)
    clears = [a for a in book.json()["actions"] if a["func"] == "rangeClearContents"]
    assert [
        (a["start_row"] + 1, column_letter(a["start_column"]), a["row_count"], a["column_count"]) for a in clears
    ] == [(last + 1, "P", 1, 3)]


def test_a_plan_for_a_staff_column_is_refused_before_anything_is_written(remote, demo_path):
    book = open_book(xlwings_remote.workbook_payload(demo_path))
    plan = WritePlan(
        [SheetPlan("任务清单", [CellWrite(3, "C", "改写整改措施")], owned_columns=("C",), clear_from_row=3)]
    )
    with pytest.raises(live.LiveWriteRefused, match="不是以“【自动】”开头的工具列"):
        live.apply_plan(book, plan)
    assert book.json()["actions"] == []


@pytest.mark.parametrize("value", [float("nan"), "长" * 32768])
def test_values_excel_cannot_hold_are_refused_before_anything_is_written(remote, demo_path, value):
    book = open_book(xlwings_remote.workbook_payload(demo_path))
    plan = WritePlan(
        [SheetPlan("校验结果", [CellWrite(1, "A", "ok"), CellWrite(2, "A", value)], owned_sheet=True, clear_from_row=1)]
    )
    with pytest.raises(live.LiveWriteRefused, match="校验结果」A2"):
        live.apply_plan(book, plan)
    assert book.json()["actions"] == []


def test_a_plan_for_a_missing_staff_sheet_is_refused(remote, demo_path):
    book = open_book(xlwings_remote.workbook_payload(demo_path))
    plan = WritePlan([SheetPlan("不存在的表", [CellWrite(3, "P", "x")], owned_columns=("P",), clear_from_row=3)])
    with pytest.raises(live.LiveWriteRefused, match="找不到工作表"):
        live.apply_plan(book, plan)


def test_new_owned_column_header_is_accepted(remote, demo_path):
    """A plan may add a 【自动】 column right of the data: the header it writes is what the check reads."""
    book = open_book(xlwings_remote.workbook_payload(demo_path))
    plan = WritePlan(
        [
            SheetPlan(
                "任务清单",
                [CellWrite(2, "T", "【自动】新列", CellStyle(bold=True)), CellWrite(3, "T", "x")],
                owned_columns=("T",),
                clear_from_row=3,
            )
        ]
    )
    assert live.apply_plan(book, plan) == 2


def test_column_widths_go_out_in_points_on_the_remote_engine(remote, demo_path):
    payload = xlwings_remote.workbook_payload(demo_path)
    book = open_book(payload)
    plan = WritePlan(
        [SheetPlan("校验结果", [CellWrite(1, "A", "x")], owned_sheet=True, clear_from_row=1, column_widths={"F": 80})]
    )
    live.apply_plan(book, plan)
    width = next(a for a in book.json()["actions"] if a["func"] == "setColumnWidth")
    assert column_letter(width["start_column"]) == "F" and width["args"] == [423.75]  # (80·7+5)·0.75 points


def test_payload_keeps_chinese_paths_and_dates(remote, demo_path):
    payload = xlwings_remote.workbook_payload(demo_path)
    assert payload["book"]["name"] == str(demo_path.resolve())
    book = open_book(payload)
    assert Path(book.fullname) == demo_path.resolve()
    settings = live.read_book(book, ["基本信息"])["基本信息"]
    assert list(live.read_book(book, ["基本信息"])) == ["基本信息"]
    assert any(isinstance(v, date) for row in settings.rows for v in row)
    assert isinstance(settings, Table)
