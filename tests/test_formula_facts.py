"""The reader worker's pre-check notes the worksheets without formulas, so that the zip probe of a county
file need not decompress them again (issue 15, fifth round). The probe's answer must be the same with and
without that knowledge, whatever the package looks like.
"""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from conftest import COUNTY_TODAY
from fidelity_workbook import prefix_main_namespace, rewrite_members
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.core.schema import FORMULA_START, has_formula_start
from toolkit.counties.returns import prepare_in_worker, prepare_return, probe_zip
from toolkit.demo.counties import fill_return, stamp_saved_time
from toolkit.excel.read import read_workbook
from toolkit.excel.untrusted import precheck, stream_read_untrusted

FAST = settings(derandomize=True, max_examples=200, deadline=None)


def _county_file(issued, tmp_path: Path, name: str = "清新区") -> Path:
    _, templates = issued
    task = {"清新区": "2-3", "连州市": "1-3"}[name]
    dest = fill_return(templates[name], tmp_path / f"{name}.xlsx", {task: {"progress": "已完工5个项目。"}},
                       filler=("张三", "0763-1234567"), today=COUNTY_TODAY)
    stamp_saved_time(dest, datetime(2025, 4, 4, 10))
    return dest


def _data_part(path: Path) -> str:
    """The data sheet's part: the template's first sheet."""
    with zipfile.ZipFile(path) as z:
        assert "xl/worksheets/sheet1.xml" in z.namelist()
    assert read_workbook(path, sheets=["整改进展报送"])  # and it is the data sheet
    return "xl/worksheets/sheet1.xml"


def _with_formula(xml: bytes, ref: bytes = b"K9", tag: bytes = b"f") -> bytes:
    """A formula put into the cell ``ref`` (its value kept)."""
    i = xml.find(b'r="' + ref + b'"')
    assert i > 0
    j = xml.find(b">", i) + 1
    if xml[j - 2 : j] == b"/>":  # an empty cell: give it content
        return xml[: j - 2] + b"><" + tag + b">1+1</" + tag + b"><v>2</v></c>" + xml[j:]
    return xml[:j] + b"<" + tag + b">1+1</" + tag + b">" + xml[j:]


def _probe_both_ways(path: Path, sheets: tuple[str, ...]):
    facts = precheck(path, formulas=True)
    plain = probe_zip(path, sheets)
    informed = probe_zip(path, sheets, facts.formula_free)
    assert informed == plain
    return facts, plain


def test_facts_name_the_sheets_without_formulas_and_only_when_asked(issued, tmp_path):
    path = _county_file(issued, tmp_path)
    data = _data_part(path)
    assert precheck(path).formula_free is None
    facts, probe = _probe_both_ways(path, ("整改进展报送",))
    assert data.lower() in facts.formula_free and probe.formulas == {}
    rewrite_members(path, {data: _with_formula})
    facts, probe = _probe_both_ways(path, ("整改进展报送",))
    assert data.lower() not in facts.formula_free
    assert probe.formulas == {"整改进展报送": {"K9"}}


@pytest.mark.parametrize("shape", ["prefixed", "backslash", "twice-formula-first", "twice-formula-last", "upper"])
def test_probe_is_the_same_on_odd_packages(issued, tmp_path, shape):
    path = _county_file(issued, tmp_path)
    data = _data_part(path)
    with zipfile.ZipFile(path) as z:
        members = [(i.filename, z.read(i)) for i in z.infolist()]
    out = tmp_path / f"{shape}.xlsx"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, blob in members:
            if name == data:
                if shape == "prefixed":  # x:f elements, as WPS / LibreOffice may write
                    z.writestr(name, prefix_main_namespace(_with_formula(blob)))
                elif shape == "backslash":  # a producer writing Windows separators
                    z.writestr(name.replace("/", "\\"), _with_formula(blob))
                elif shape == "upper":
                    z.writestr(name.upper().replace("XL/", "xl/"), blob)
                else:  # the same member stored twice, one copy with a formula
                    first, second = (_with_formula(blob), blob) if shape == "twice-formula-first" else (blob, _with_formula(blob))
                    z.writestr(name, first)
                    z.writestr(name, second)
            else:
                z.writestr(name, blob)
    try:
        _probe_both_ways(out, ("整改进展报送", "_zhenggai_meta"))
    except Exception as exc:  # a package the pre-check refuses is never probed
        assert type(exc).__name__ == "RejectedFile", exc


@FAST
@given(st.binary(max_size=40), st.sampled_from([b"<f>", b"<f ", b"<f/>", b"<x:f>", b"<x:f t=\"shared\"/>", b"<fo>",
                                                  b"<ff>", b"of ", b"<c>f>", b"</f>", b"<x:fmt>", b""]),
       st.binary(max_size=40))
def test_the_quick_formula_test_agrees_with_the_pattern(before, middle, after):
    data = before + middle + after
    assert has_formula_start(data) == (FORMULA_START.search(data) is not None)


def test_a_formula_split_across_the_pre_checks_segments_is_seen(tmp_path, monkeypatch):
    """Segments are cut at a '<': a formula element is seen whole wherever the cut falls."""
    import importlib

    pc = importlib.import_module("toolkit.excel.untrusted.precheck")

    rows = b"".join(b'<row r="%d"><c r="A%d" t="s"><v>0</v></c></row>' % (r, r) for r in range(1, 3000))
    formula_row = b'<row r="3000"><c r="A3000"><f>1+1</f><v>2</v></c></row>'
    sheet = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             b'spreadsheetml/2006/main"><sheetData>' + rows + formula_row + b"</sheetData></worksheet>")
    from openpyxl import Workbook

    src = tmp_path / "f.xlsx"
    wb = Workbook()
    wb.active["A1"] = "x"
    wb.save(src)
    rewrite_members(src, {"xl/worksheets/sheet1.xml": sheet})
    for segment in (1 << 10, 4 << 10, 64 << 10):
        monkeypatch.setattr(pc, "_SEGMENT", segment)
        facts = precheck(src, formulas=True)
        assert "xl/worksheets/sheet1.xml" not in facts.formula_free, segment
    monkeypatch.undo()
    rewrite_members(src, {"xl/worksheets/sheet1.xml": sheet.replace(formula_row, b"")})
    assert "xl/worksheets/sheet1.xml" in precheck(src, formulas=True).formula_free


def test_the_worker_hands_its_facts_to_the_hook_and_prepares_the_same(issued, tmp_path):
    a = _county_file(issued, tmp_path, "清新区")
    b = _county_file(issued, tmp_path, "连州市")
    rewrite_members(b, {_data_part(b): _with_formula})
    for p in (a, b):
        tables = read_workbook(p)
        expected = prepare_return(p, tables)  # the probe reads every sheet itself
        assert prepare_in_worker(str(p), tables, precheck(p, formulas=True))[1] == expected
    got = dict(stream_read_untrusted([a, b], workers=1, post="toolkit.counties.returns:prepare_in_worker",
                                     post_tables=True))
    assert got[a][1] == prepare_return(a, read_workbook(a))
    assert got[b][1].probe.formulas == {"整改进展报送": {"K9"}}
    assert got[b][1] == prepare_return(b, read_workbook(b))
