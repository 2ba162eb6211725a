"""The staged read of a ledger: the largest sheet pre-checked first and parsed in a background thread while the
other sheets are pre-checked and read (toolkit.excel.read.read_workbook_staged, ledger_file.read_ledger_staged).

It must give what the plain read gives, in the same order, and refuse what the plain pre-check refuses, leaving
no parse running behind it.
"""

from __future__ import annotations

import threading
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.core.check import check_tables
from toolkit.core.errors import ToolkitError
from toolkit.excel.ledger_file import read_ledger_staged, read_ledger_tables
from toolkit.excel.read import StagedTables, read_workbook, read_workbook_staged
from toolkit.excel.untrusted import finish_precheck, precheck
from toolkit.jobs.sources import FileLedger


@pytest.fixture(autouse=True)
def _stage_every_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The workbooks built here are small: stage them all the same (the size rule has its own test)."""
    from toolkit.excel import read

    monkeypatch.setattr(read, "STAGED_MIN_SHEET_BYTES", 0)


def _no_background_parse() -> bool:
    return not any(t.name == "zhenggai-read" and t.is_alive() for t in threading.enumerate())


def _workbook(path: Path, sizes: list[int], errors: set[int], merged: set[int]) -> Path:
    """Sheets S0, S1… with ``sizes[k]`` rows each: text, numbers, dates; an error formula where asked."""
    wb = xlsxwriter.Workbook(path)
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    for k, n in enumerate(sizes):
        ws = wb.add_worksheet(f"S{k}")
        ws.write_row(0, 0, ["编号", "内容", "数量", "日期"])
        for r in range(1, n + 1):
            ws.write_row(r, 0, [f"{k}-{r}", "整改措施内容" * (r % 3), r * 1.0, None])
            ws.write_datetime(r, 3, datetime(2025, 1 + r % 12, 1 + r % 28), day)
        if k in errors:
            ws.write_formula(min(n, 2), 4, "=1/0", None, "#DIV/0!")
        if k in merged and n >= 3:
            ws.merge_range(1, 5, 3, 5, "合并")
    wb.close()
    return path


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(0, 300), min_size=2, max_size=4), data=st.data())
def test_staged_read_gives_the_plain_read_in_workbook_order(tmp_path: Path, sizes: list[int], data) -> None:
    errors = set(data.draw(st.lists(st.integers(0, len(sizes) - 1), max_size=2)))
    merged = set(data.draw(st.lists(st.integers(0, len(sizes) - 1), max_size=2)))
    path = _workbook(tmp_path / f"w{len(list(tmp_path.iterdir()))}.xlsx", sizes, errors, merged)
    plain = read_workbook(path)
    # As the ledger job does it: the pre-check in two steps, the largest sheet cleared first.
    facts = precheck(path, largest_sheet_first=True)
    staged = read_workbook_staged(path, first_part=facts.largest_sheet if facts.pending else None,
                                  finish=lambda: finish_precheck(facts), error_parts=lambda: facts.error_parts)
    assert facts.complete
    got = staged.resolve() if isinstance(staged, StagedTables) else staged
    assert list(got) == list(plain) and got == plain
    # has_errors says exactly whether the reader placed an error value.
    for name, table in got.items():
        assert table.has_errors is (int(name[1:]) in errors), name
    # Without a pre-check in steps: the largest sheet is chosen by the reader.
    again = read_workbook_staged(path)
    assert (again.resolve() if isinstance(again, StagedTables) else again) == plain
    assert _no_background_parse()


def test_small_sheets_are_ready_before_the_largest_is_asked_for(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "w.xlsx", [20, 400, 10], set(), set())
    tables = read_workbook_staged(path)
    assert isinstance(tables, StagedTables) and list(tables) == ["S0", "S1", "S2"]
    assert tables._pending == "S1" and set(tables._ready) == {"S0", "S2"}
    assert len(tables["S1"].rows) == 401 and tables._pending == ""
    assert _no_background_parse()


def _with_far_cell(path: Path) -> Path:
    """A ledger whose largest sheet is fine and whose small sheet has one value at XFD1048576."""
    wb = xlsxwriter.Workbook(path)
    big = wb.add_worksheet("任务清单")
    for r in range(2000):
        big.write_row(r, 0, [f"1-{r}", "措施" * 10, r])
    small = wb.add_worksheet("问题清单")
    small.write("A1", "问题编号")
    small.write("XFD1048576", "x")
    wb.close()
    return path


def test_a_small_sheet_refused_in_the_second_step_refuses_the_file_and_stops_the_parse(tmp_path: Path) -> None:
    path = _with_far_cell(tmp_path / "far.xlsx")
    with pytest.raises(ToolkitError) as plain:
        read_ledger_tables(path)
    with pytest.raises(ToolkitError) as staged:
        read_ledger_staged(path)
    assert str(staged.value) == str(plain.value) and "XFD1048576" in str(staged.value)
    assert _no_background_parse()
    with pytest.raises(ToolkitError, match="XFD1048576"):
        FileLedger(path).check(date(2025, 4, 7))
    assert _no_background_parse()


def _unparseable_largest(tmp_path: Path) -> Path:
    src = _workbook(tmp_path / "ok.xlsx", [5, 300], set(), set())
    with zipfile.ZipFile(src) as zf:
        items = [(i.filename, zf.read(i.filename)) for i in zf.infolist()]
    path = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, body in items:
            if name == "xl/worksheets/sheet2.xml":
                assert b'<c r="A10" t="s">' in body
                body = body.replace(b'<c r="A10" t="s">', b'<c r="A10" t="bogus">', 1)
            out.writestr(name, body)
    return path


def test_a_largest_sheet_calamine_cannot_parse_is_a_chinese_error_where_it_is_needed(tmp_path: Path) -> None:
    path = _unparseable_largest(tmp_path)
    facts, tables = read_ledger_staged(path)  # pre-check passes; the parse fails in the background
    assert facts.complete and isinstance(tables, StagedTables)
    assert tables["S0"].rows  # the other sheet is there
    with pytest.raises(Exception) as err:
        tables["S1"]
    assert "工作表“S1”无法读取" in str(err.value)
    tables.close()
    assert _no_background_parse()


def _ledger_with_errors(path: Path) -> Path:
    """A ledger with Excel error values in 问题清单 and 任务清单 and an unreadable date: issues of several kinds."""
    from conftest import PROBLEM_ROWS, SETTINGS_ROWS, TASK_HEADER

    wb = xlsxwriter.Workbook(str(path))
    for name, rows in (("基本信息", SETTINGS_ROWS), ("问题清单", PROBLEM_ROWS)):
        ws = wb.add_worksheet(name)
        for i, r in enumerate(rows):
            for j, v in enumerate(r):
                if isinstance(v, date):
                    ws.write_datetime(i, j, datetime(v.year, v.month, v.day))
                else:
                    ws.write(i, j, v)
        if name == "问题清单":
            ws.write_formula(1, 5, "=1/0", None, "#DIV/0!")
    ws = wb.add_worksheet("任务清单")
    ws.write_row(0, 0, TASK_HEADER)
    for r in range(1, 400):
        ws.write_row(r, 0, [f"1-{r}", 1, "加强学习。" * 3, "", "李国强", "办公室", "周丽", "2024-06-30", None, "推进中"])
    ws.write_formula(3, 3, "=#REF!+1", None, "#REF!")
    ws.write(5, 7, "明年春天")  # not a date
    wb.close()
    return path


def test_check_of_a_staged_read_equals_the_check_of_the_plain_read(tmp_path: Path) -> None:
    """The whole check (issues in their order, statuses, plan) is the same whichever way the file was read;
    error values are listed first, sheet by sheet, though intake now looks for them last."""
    path = _ledger_with_errors(tmp_path / "台账.xlsx")
    staged = FileLedger(path).check(date(2025, 4, 7))
    plain = check_tables(read_ledger_tables(path), today=date(2025, 4, 7), source=path.name,
                         clock_today=date.today())
    assert staged.report.issues == plain.report.issues
    assert staged.status.rows == plain.status.rows and staged.plan.as_grid() == plain.plan.as_grid()
    codes = [(i.code, i.location.sheet) for i in staged.report.issues]
    assert codes[:2] == [("excel-error", "问题清单"), ("excel-error", "任务清单")]
    assert any(code != "excel-error" for code, _ in codes[2:])
    assert _no_background_parse()


def test_a_workbook_whose_largest_sheet_is_small_is_read_the_plain_way(tmp_path: Path, monkeypatch) -> None:
    """Below STAGED_MIN_SHEET_BYTES a thread and a second handle cost more than they save: no step, no thread."""
    from toolkit.excel import read

    path = _workbook(tmp_path / "w.xlsx", [20, 400, 10], set(), set())
    size = max(i.file_size for i in zipfile.ZipFile(path).infolist() if i.filename.startswith("xl/worksheets/"))
    monkeypatch.setattr(read, "STAGED_MIN_SHEET_BYTES", size + 1)
    facts = precheck(path, largest_sheet_first=True)
    assert facts.complete and not facts.largest_sheet
    tables = read_workbook_staged(path)
    assert type(tables) is dict and tables == read_workbook(path)
    monkeypatch.setattr(read, "STAGED_MIN_SHEET_BYTES", size)
    assert not precheck(path, largest_sheet_first=True).complete
    assert isinstance(read_workbook_staged(path), StagedTables)


# --------------------------------------------------------------------------------------------------
# 基本信息 first, the task list's pre-check deferred (consolidation starts the county reads sooner)


def _with_far_cell_in_largest(path: Path) -> Path:
    """A ledger whose small sheets are fine and whose largest sheet (任务清单) has one value at XFD1048576."""
    _ledger_with_errors(path)
    from fidelity_workbook import rewrite_members

    def far(xml: bytes) -> bytes:
        i = xml.rfind(b"</sheetData>")
        return xml[:i] + b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>' + xml[i:]

    return rewrite_members(path, {"xl/worksheets/sheet3.xml": far})


def test_deferred_pre_check_reads_settings_at_once_and_the_whole_file_as_before(tmp_path: Path) -> None:
    path = _ledger_with_errors(tmp_path / "台账.xlsx")
    one_step = precheck(path)
    deferred = precheck(path, defer_largest=True)
    assert deferred.largest_pending and deferred.largest_sheet == "xl/worksheets/sheet3.xml"
    assert precheck(path, largest_sheet_first=True).largest_pending is False
    finish_precheck(deferred)
    assert not deferred.largest_pending and deferred.complete
    one_step.seconds = deferred.seconds = 0.0
    assert {k: v for k, v in vars(deferred).items() if k not in ("largest_sheet", "_limits")} == {
        k: v for k, v in vars(one_step).items() if k not in ("largest_sheet", "_limits")}

    source = FileLedger(path)
    settings = source.settings_tables()
    assert list(settings) == ["基本信息"] and source._facts.largest_pending  # 任务清单 not yet cleared
    assert settings["基本信息"] == read_workbook(path)["基本信息"]
    tables, _ = source.loaded()
    assert not source._facts.largest_pending
    assert {n: t for n, t in tables.items()} == read_ledger_tables(path)
    assert _no_background_parse()


def test_a_largest_sheet_refused_after_settings_were_read_refuses_the_file_before_it_is_parsed(
        tmp_path: Path, monkeypatch) -> None:
    path = _with_far_cell_in_largest(tmp_path / "far.xlsx")
    with pytest.raises(ToolkitError) as plain:
        read_ledger_tables(path)
    assert "XFD1048576" in str(plain.value)
    from toolkit.excel import read

    parsed: list[str] = []
    real_open = read._open

    def watching(*args, **kwargs):  # every calamine workbook opened, and each sheet asked of it
        wb = real_open(*args, **kwargs)
        real_get = wb.get_sheet_by_name

        class Watch:
            def __getattr__(self, name):
                return getattr(wb, name)

            def get_sheet_by_name(self, name):
                parsed.append(name)
                return real_get(name)

            def __enter__(self):
                wb.__enter__()
                return self

            def __exit__(self, *exc):
                return wb.__exit__(*exc)

        return Watch()

    monkeypatch.setattr(read, "_open", watching)
    source = FileLedger(path)
    assert list(source.settings_tables()) == ["基本信息"]
    assert parsed == ["基本信息"]
    with pytest.raises(ToolkitError) as later:
        source.loaded()
    assert str(later.value) == str(plain.value)
    assert "任务清单" not in parsed
    assert _no_background_parse()


def test_reading_a_deferred_sheet_by_name_finishes_the_pre_check_first(tmp_path: Path) -> None:
    path = _with_far_cell_in_largest(tmp_path / "far.xlsx")
    facts = precheck(path, defer_largest=True)
    assert list(read_ledger_tables(path, facts=facts, sheets=["问题清单"])) == ["问题清单"]
    assert facts.largest_pending  # not needed for 问题清单
    with pytest.raises(ToolkitError, match="XFD1048576"):
        read_ledger_tables(path, facts=facts, sheets=["任务清单"])
    with pytest.raises(ToolkitError, match="XFD1048576"):
        read_ledger_tables(path, facts=precheck(path, defer_largest=True))


# --- the largest part's name stored twice; the workbook opened while the largest part is pre-checked ----------

_FAR_SHEET = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
              b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="1048576">'
              b'<c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>')


def _largest_name_twice(tmp_path: Path, far_copy_last: bool, name: str | None = None) -> Path:
    """A workbook whose largest sheet part is stored twice under one name (``name``: the second copy's own
    spelling, e.g. in upper case); one copy holds A1 and XFD1048576, which python-calamine would allocate as
    17 billion cells and abort the process. A zip reader may take either copy: both must be pre-checked before
    anything parses that sheet."""
    import warnings

    src = _workbook(tmp_path / "src.xlsx", [5, 300], set(), set())
    with zipfile.ZipFile(src) as zf:
        items = [(i.filename, zf.read(i.filename)) for i in zf.infolist()]
    path = tmp_path / f"twice_{int(far_copy_last)}_{name is not None}.xlsx"
    largest = "xl/worksheets/sheet2.xml"
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name: that is the point
        if not far_copy_last:
            out.writestr(name or largest, _FAR_SHEET)
        for item, body in items:
            out.writestr(item, body)
        if far_copy_last:
            out.writestr(name or largest, _FAR_SHEET)
    return path


@pytest.mark.parametrize("far_copy_last", [True, False])
def test_a_largest_part_stored_twice_is_checked_whole_in_the_first_step(tmp_path: Path, far_copy_last: bool) -> None:
    """Before: the first step passed over both copies (skipped by name) and the background parse could start on
    the unchecked one (measured: the process aborted, 'memory allocation of 549755813888 bytes failed')."""
    path = _largest_name_twice(tmp_path, far_copy_last)
    with pytest.raises(Exception) as err:
        precheck(path, largest_sheet_first=True, max_rows=1_048_576, max_cols=16_384, max_cells=20_000_000)
    assert getattr(err.value, "code", "") == "too-many-cells"
    # The other two-step order leaves every copy for its second step, and that step refuses the file.
    facts = precheck(path, defer_largest=True, max_rows=1_048_576, max_cols=16_384, max_cells=20_000_000)
    assert facts.largest_pending and [i.filename for i in facts.pending] == ["xl/worksheets/sheet2.xml"] * 2
    with pytest.raises(Exception, match="XFD1048576"):
        finish_precheck(facts)


def test_a_largest_part_stored_twice_in_another_case_is_one_part(tmp_path: Path) -> None:
    path = _largest_name_twice(tmp_path, True, name="XL/Worksheets/Sheet2.xml")
    with pytest.raises(Exception, match="XFD1048576"):
        precheck(path, largest_sheet_first=True, max_rows=1_048_576, max_cols=16_384, max_cells=20_000_000)


@pytest.mark.parametrize("far_copy_last", [True, False])
def test_staff_ledger_with_a_largest_part_stored_twice_is_refused_not_a_crash(tmp_path: Path,
                                                                             far_copy_last: bool) -> None:
    """End to end, in a child process with an address-space limit: a regression aborts the child (a failed test
    here), not the test run."""
    import subprocess
    import sys
    import textwrap

    path = _largest_name_twice(tmp_path, far_copy_last)
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
        from datetime import date
        from toolkit.excel import read
        read.STAGED_MIN_SHEET_BYTES = 0
        from toolkit.core.errors import ToolkitError
        from toolkit.jobs.sources import FileLedger
        try:
            FileLedger({str(path)!r}).check(date(2025, 4, 7))
        except ToolkitError as exc:
            print("REFUSED", exc)
    """)
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "REFUSED" in out.stdout and "XFD1048576" in out.stdout


def _ledger_for_hook(tmp_path: Path) -> Path:
    return _workbook(tmp_path / "hook.xlsx", [5, 300, 7], set(), set())


def test_before_largest_is_called_once_between_the_other_parts_and_the_largest(tmp_path: Path, monkeypatch) -> None:
    import sys

    module = sys.modules["toolkit.excel.untrusted.precheck"]  # the package exports a function of that name
    path = _ledger_for_hook(tmp_path)
    seen: list[str] = []
    real = module._scan_members

    def scan(path_, fmt, facts, lim, fh, infos, later, total):  # noqa: ANN001, ANN202
        seen.extend(i.filename for i in infos if i.filename not in later and i.filename.endswith(".xml"))
        return real(path_, fmt, facts, lim, fh, infos, later, total)

    monkeypatch.setattr(module, "_scan_members", scan)
    facts = precheck(path, largest_sheet_first=True, before_largest=lambda fmt: seen.append(f"HOOK:{fmt}"))
    hook = seen.index("HOOK:xlsx")
    assert seen.count("HOOK:xlsx") == 1 and seen[hook + 1:] == ["xl/worksheets/sheet2.xml"]
    assert "xl/sharedStrings.xml" in seen[:hook] and "xl/styles.xml" in seen[:hook]
    assert {i.filename for i in facts.pending} == {"xl/worksheets/sheet1.xml", "xl/worksheets/sheet3.xml"}
    # The facts are those of the pre-check without the hook.
    plain = precheck(path, largest_sheet_first=True)
    facts.seconds = plain.seconds = 0.0
    names = [i.filename for i in facts.pending]
    assert names == [i.filename for i in plain.pending]
    facts.pending = plain.pending = []  # ZipInfo objects compare by identity: compared by name above
    assert vars(facts) == vars(plain)


def test_before_largest_is_not_called_for_a_file_refused_before_the_largest(tmp_path: Path) -> None:
    from fidelity_workbook import rewrite_members

    path = rewrite_members(_ledger_for_hook(tmp_path),
                           {"xl/styles.xml": lambda xml: xml.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY e "e">]>', 1)})
    called: list[str] = []
    with pytest.raises(Exception) as err:
        precheck(path, largest_sheet_first=True, before_largest=called.append)
    assert getattr(err.value, "code", "") == "xml-dtd" and called == []


def _no_open_ahead() -> bool:
    return not any(t.name == "zhenggai-open" and t.is_alive() for t in threading.enumerate())


def test_workbook_opened_during_the_pre_check_reads_what_the_plain_read_reads(tmp_path: Path) -> None:
    from toolkit.excel import read

    path = _ledger_for_hook(tmp_path)
    opened: list[object] = []
    real = read.OpeningWorkbook.__init__

    def spy(self, path_, fmt):  # noqa: ANN001, ANN202
        opened.append(fmt)
        real(self, path_, fmt)

    read.OpeningWorkbook.__init__ = spy
    try:
        facts, tables = read_ledger_staged(path)
    finally:
        read.OpeningWorkbook.__init__ = real
    assert opened == ["xlsx"] and isinstance(tables, StagedTables)
    assert tables.resolve() == read_workbook(path)
    assert _no_background_parse() and _no_open_ahead()


def test_a_largest_sheet_refused_after_the_open_started_closes_the_open_workbook(tmp_path: Path) -> None:
    path = _with_far_cell_in_largest(tmp_path / "far_largest.xlsx")
    with pytest.raises(ToolkitError, match="XFD1048576"):
        read_ledger_staged(path)
    assert _no_background_parse() and _no_open_ahead()
    facts = precheck(path, defer_largest=True, max_rows=1_048_576, max_cols=16_384, max_cells=20_000_000)
    with pytest.raises(ToolkitError, match="XFD1048576"):
        read_ledger_staged(path, facts=facts)  # the deferred order: opened, then refused in finish_precheck
    assert _no_background_parse() and _no_open_ahead()
