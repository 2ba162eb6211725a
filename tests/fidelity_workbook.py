"""Builds ledger-like workbooks that carry every feature staff workbooks are known to carry.

XlsxWriter writes most features; a post-processing step adds what it cannot write (the Excel
2010 ``x14`` cross-sheet dropdown and a form control's ``<controls>`` element with its
``ctrlProp`` part), the way Excel itself stores them. :data:`FEATURE_MARKERS` lists, per
feature, a member pattern and a byte string that must still be there after a patch.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from datetime import date
from pathlib import Path

import xlsxwriter

TASK_SHEET = "任务清单"
CHECK_SHEET = "校验结果"
TASK_HEADERS = (
    "任务编号",
    "问题编号",
    "整改措施",
    "整改进展",
    "责任单位",
    "完成时限",
    "完成情况",
    "完成标记",
    "【自动】状态",
    "【自动】逾期天数",
)
# Owned columns of 任务清单 in the fixture: the last two headers.
TASK_OWNED_COLUMNS = ("I", "J")
COUNTIES = ("清城区", "清新区", "英德市", "连州市", "佛冈县", "阳山县", "连山壮族瑶族自治县", "连南瑶族自治县")
STATES = ("未启动", "推进中", "已完成", "长期坚持")

_X14_NS = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
_XM_NS = "http://schemas.microsoft.com/office/excel/2006/main"
_MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_XDR_NS = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
_CTRL_PROP_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/ctrlProp"
_CTRL_PROP_CT = "application/vnd.ms-excel.controlproperties+xml"

# (name, regex on member names, bytes that must occur in one such member)
FEATURE_MARKERS: tuple[tuple[str, str, bytes], ...] = (
    ("x14 跨表下拉", r"xl/worksheets/sheet\d+\.xml", b"x14:dataValidation "),
    ("x14 下拉引用县区", r"xl/worksheets/sheet\d+\.xml", "县区!$A$2:$A$9".encode()),
    ("普通下拉", r"xl/worksheets/sheet\d+\.xml", b"<dataValidation "),
    ("迷你图", r"xl/worksheets/sheet\d+\.xml", b"sparklineGroup"),
    ("数据条2010", r"xl/worksheets/sheet\d+\.xml", b"x14:dataBar"),
    ("条件格式", r"xl/worksheets/sheet\d+\.xml", b"<conditionalFormatting"),
    ("忽略错误", r"xl/worksheets/sheet\d+\.xml", b"<ignoredErrors"),
    ("工作表保护", r"xl/worksheets/sheet\d+\.xml", b"<sheetProtection"),
    ("冻结窗格", r"xl/worksheets/sheet\d+\.xml", b'state="frozen"'),
    ("合并单元格", r"xl/worksheets/sheet\d+\.xml", b"<mergeCell "),
    ("批注VML", r"xl/worksheets/sheet\d+\.xml", b"<legacyDrawing "),
    ("绘图引用", r"xl/worksheets/sheet\d+\.xml", b"<drawing "),
    ("表格引用", r"xl/worksheets/sheet\d+\.xml", b"<tablePart "),
    ("缓存公式值", r"xl/worksheets/sheet\d+\.xml", b"</f><v>"),
    ("隐藏工作表", r"xl/workbook\.xml", b'state="hidden"'),
    ("定义名称", r"xl/workbook\.xml", "单位名称".encode()),
    ("富文本", r"xl/sharedStrings\.xml", b"<rPr>"),
    ("图片", r"xl/media/image\d+\.png", b"\x89PNG"),
    ("图表", r"xl/charts/chart\d+\.xml", b"<c:chart>"),
    ("批注", r"xl/comments\d+\.xml", "请核实".encode()),
    ("批注框", r"xl/drawings/vmlDrawing\d+\.vml", b"visibility:visible"),
    ("表格", r"xl/tables/table\d+\.xml", "责任人表".encode()),
    ("图片关系", r"xl/drawings/_rels/drawing\d+\.xml\.rels", b"relationships/image"),
)
# Only in the .xlsm variant.
MACRO_MARKERS: tuple[tuple[str, str, bytes], ...] = (
    ("窗体控件", r"xl/worksheets/sheet\d+\.xml", b"<controls>"),
    ("控件属性", r"xl/ctrlProps/ctrlProp\d+\.xml", b'objectType="Button"'),
    ("按钮宏", r"xl/drawings/vmlDrawing\d+\.vml", b"CheckLedger"),
)


def make_png(width: int = 4, height: int = 3) -> bytes:
    """A tiny valid RGB PNG, built without Pillow."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes((200, 30, 30)) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def find_vba_project() -> bytes | None:
    """A real ``vbaProject.bin``: from xlwings' quickstart workbook or the shared corpus."""
    candidates: list[Path] = []
    for base in map(Path, sys.path):
        candidates.extend(sorted((base / "xlwings").glob("*.xlsm")) if (base / "xlwings").is_dir() else [])
    corpus = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "calamine-tests"
    candidates.extend(corpus / n for n in ("issue3.xlsm", "issue221.xlsm", "issue281.xlsm"))
    for path in candidates:
        try:
            with zipfile.ZipFile(path) as zf:
                return zf.read("xl/vbaProject.bin")
        except (OSError, KeyError, zipfile.BadZipFile):
            continue
    return None


def build_fidelity_workbook(path: Path, *, macro: bool = False, rows: int = 20, problems: bool = False) -> Path:
    """Write a ledger-like workbook with every feature of ``FEATURE_MARKERS`` to ``path``.

    ``macro=True`` writes an .xlsm with a vbaProject.bin and a form button (``path`` must end
    in ``.xlsm``). Sheets: 基本信息 (protected), 任务清单 (the staff sheet with owned columns
    I:J), 进度图表 (chart, image, sparkline), 责任清单 (a table), 县区 (dropdown source),
    校验结果 (an owned sheet with old content) and the hidden _lists.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory() as scratch:
        _build(path, Path(scratch), macro=macro, rows=rows, problems=problems)
    return path


def _build(path: Path, scratch: Path, *, macro: bool, rows: int, problems: bool = False) -> None:
    tmp = scratch / "raw.xlsx"
    wb = xlsxwriter.Workbook(str(tmp))
    if macro:
        vba = find_vba_project()
        if vba is None:
            raise RuntimeError("no vbaProject.bin available")
        vba_path = scratch / "vbaProject.bin"
        vba_path.write_bytes(vba)
        wb.add_vba_project(str(vba_path))
        wb.set_vba_name("ThisWorkbook")

    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd", "border": 1})
    border = wb.add_format({"border": 1})
    red = wb.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE"})

    settings = wb.add_worksheet("基本信息")
    settings.write_row(0, 0, ["项目", "内容"], bold)
    settings.write_row(1, 0, ["单位名称", "清远市公路事务中心"])
    settings.write_row(2, 0, ["反馈日期"])
    settings.write_datetime(2, 1, date(2025, 3, 1), date_fmt)
    settings.write_url(3, 1, "https://example.org/ledger", string="说明文档")
    settings.protect("", {"format_columns": True})
    wb.define_name("单位名称", "=基本信息!$B$2")
    wb.define_name("基本信息!本表标题", "=基本信息!$A$1")

    tasks = wb.add_worksheet(TASK_SHEET)
    tasks.write_row(0, 0, TASK_HEADERS, bold)
    tasks.freeze_panes(1, 0)
    tasks.set_column("A:B", 9)
    tasks.set_column("C:D", 36)
    tasks.set_column("I:J", 12)
    for i in range(rows):
        r = i + 1
        tasks.write_string(r, 0, f"{i // 3 + 1}-{i % 3 + 1}", border)
        tasks.write_string(r, 1, str(i // 3 + 1), border)
        tasks.write_string(r, 2, f"整改措施第{i + 1}条", border)
        if i == 0:
            tasks.write_rich_string(r, 3, "已完成", red, "部分", "整改", border)
        else:
            tasks.write_string(r, 3, f"进展说明{i + 1}", border)
        tasks.write_string(r, 4, COUNTIES[i % len(COUNTIES)], border)
        tasks.write_datetime(r, 5, date(2025, 1 + i % 12, 1 + i % 28), date_fmt)
        state = STATES[i % len(STATES)]
        tasks.write_string(r, 6, state, border)
        tasks.write_formula(r, 7, f'=IF(G{r + 1}="已完成",1,0)', border, 1 if state == "已完成" else 0)
        tasks.write_string(r, 8, "旧状态", border)
        tasks.write_number(r, 9, i, border)
    last = rows + 1
    tasks.data_validation(f"G2:G{last + 50}", {"validate": "list", "source": list(STATES)})
    tasks.conditional_format(f"J2:J{last}", {"type": "data_bar", "bar_color": "#63BE7B", "data_bar_2010": True})
    tasks.conditional_format(f"I2:I{last}", {"type": "cell", "criteria": "==", "value": '"逾期"', "format": red})
    tasks.autofilter(0, 0, rows, len(TASK_HEADERS) - 1)
    tasks.write_comment(
        "C2", "请核实整改措施", {"visible": True, "color": "#FFFF99", "font_size": 11, "author": "督查科"}
    )
    tasks.write_comment("D3", "进展需补充佐证", {"author": "督查科"})
    tasks.ignore_errors({"number_stored_as_text": f"A2:B{last}"})
    if macro:
        tasks.insert_button("L2", {"macro": "CheckLedger", "caption": "检查台账", "width": 96, "height": 30})

    charts = wb.add_worksheet("进度图表")
    charts.merge_range("A1:D1", "整改进度", bold)
    charts.write_row(1, 0, ["一月", "二月", "三月", "四月"])
    charts.write_row(2, 0, [3, 5, 8, 13])
    charts.add_sparkline("E3", {"range": "进度图表!A3:D3", "markers": True})
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"name": "已完成", "categories": "=进度图表!$A$2:$D$2", "values": "=进度图表!$A$3:$D$3"})
    chart.set_title({"name": "整改进度"})
    charts.insert_chart("A6", chart)
    png = scratch / "logo.png"
    png.write_bytes(make_png())
    charts.insert_image("H2", str(png))

    people = wb.add_worksheet("责任清单")
    people.add_table(
        "A1:C4",
        {
            "name": "责任人表",
            "columns": [{"header": "姓名"}, {"header": "职务"}, {"header": "单位"}],
            "data": [["张三", "科长", "养护科"], ["李四", "副科长", "计划科"], ["王五", "科员", "办公室"]],
        },
    )

    counties = wb.add_worksheet("县区")
    counties.write(0, 0, "县区名称", bold)
    for i, name in enumerate(COUNTIES):
        counties.write(i + 1, 0, name)

    check = wb.add_worksheet(CHECK_SHEET)
    check.write_row(0, 0, ["位置", "问题", "修改建议"], bold)
    for i in range(5):
        check.write_row(i + 1, 0, [f"任务清单!A{i + 2}", f"旧问题{i}", "旧建议"])

    lists = wb.add_worksheet("_lists")
    for i, s in enumerate(STATES):
        lists.write(i, 0, s)
    lists.hide()

    if problems:  # the problems the tasks belong to: without 问题清单 a status run writes only check results
        sheet = wb.add_worksheet("问题清单")
        sheet.write_row(0, 0, ["问题编号", "问题方面", "问题标题"], bold)
        for n in range(1, rows // 3 + 2):
            sheet.write_row(n, 0, [str(n), "作风建设方面", f"问题{n}"])
    wb.close()

    _post_process(tmp, path, task_sheet_index=1, macro=macro)


def _post_process(src: Path, dst: Path, *, task_sheet_index: int, macro: bool) -> None:
    """Add what XlsxWriter cannot write: the x14 dropdown and (for .xlsm) ``<controls>``."""
    sheet_name = f"xl/worksheets/sheet{task_sheet_index + 1}.xml"
    rels_name = f"xl/worksheets/_rels/sheet{task_sheet_index + 1}.xml.rels"
    with zipfile.ZipFile(src) as zin:
        members = [(info, zin.read(info)) for info in zin.infolist()]
    out: list[tuple[zipfile.ZipInfo, bytes]] = []
    extra: list[tuple[str, bytes]] = []
    for info, data in members:
        if info.filename == sheet_name:
            data = _add_x14_validation(data)
            if macro:
                data = _add_controls(data)
        elif info.filename == rels_name and macro:
            data = data.replace(
                b"</Relationships>",
                f'<Relationship Id="rIdCtrl1" Type="{_CTRL_PROP_REL}" Target="../ctrlProps/ctrlProp1.xml"/>'
                "</Relationships>".encode(),
            )
            extra.append(
                (
                    "xl/ctrlProps/ctrlProp1.xml",
                    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
                    b'<formControlPr xmlns="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"'
                    b' objectType="Button" lockText="1"/>',
                )
            )
        elif info.filename == "[Content_Types].xml" and macro:
            data = data.replace(
                b"</Types>",
                f'<Override PartName="/xl/ctrlProps/ctrlProp1.xml" ContentType="{_CTRL_PROP_CT}"/></Types>'.encode(),
            )
        out.append((info, data))
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in out:
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in extra:
            zout.writestr(name, data)


def _add_x14_validation(xml: bytes) -> bytes:
    ext = (
        f'<ext uri="{{CCE6A557-97BC-4b89-ADB8-0101EAAB4A40}}" xmlns:x14="{_X14_NS}">'
        f'<x14:dataValidations count="1" xmlns:xm="{_XM_NS}">'
        '<x14:dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1">'
        "<x14:formula1><xm:f>县区!$A$2:$A$9</xm:f></x14:formula1><xm:sqref>E2:E200</xm:sqref>"
        "</x14:dataValidation></x14:dataValidations></ext>"
    ).encode()
    # Excel orders the ext blocks conditionalFormattings, dataValidations, sparklineGroups.
    if b"</extLst>" in xml:
        return xml.replace(b"</extLst>", ext + b"</extLst>", 1)
    return xml.replace(b"</worksheet>", b"<extLst>" + ext + b"</extLst></worksheet>")


def _add_controls(xml: bytes) -> bytes:
    controls = (
        f'<mc:AlternateContent xmlns:mc="{_MC_NS}"><mc:Choice Requires="x14"><controls>'
        f'<mc:AlternateContent><mc:Choice Requires="x14">'
        '<control shapeId="1025" r:id="rIdCtrl1" name="Button 1">'
        '<controlPr defaultSize="0" print="0" autoFill="0" autoPict="0" macro="[0]!CheckLedger">'
        f'<anchor moveWithCells="1" sizeWithCells="1"><from xmlns:xdr="{_XDR_NS}"><xdr:col>11</xdr:col>'
        "<xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></from>"
        f'<to xmlns:xdr="{_XDR_NS}"><xdr:col>12</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>3</xdr:row>'
        "<xdr:rowOff>0</xdr:rowOff></to></anchor></controlPr></control></mc:Choice></mc:AlternateContent>"
        "</controls></mc:Choice></mc:AlternateContent>"
    ).encode()
    # <controls> comes after <legacyDrawing> and before <tableParts>/<extLst> (CT_Worksheet order).
    m = re.search(rb"<legacyDrawing [^>]*/>", xml)
    assert m is not None, "the .xlsm fixture needs the button's legacyDrawing"
    return xml[: m.end()] + controls + xml[m.end() :]


def build_big_sheet(path: Path, *, rows: int = 10_000, cols: int = 15, owned: int = 4) -> Path:
    """A plain ledger of ``rows`` × ``cols`` (the last ``owned`` columns are 【自动】 columns)."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet(TASK_SHEET)
    headers = [f"列{c + 1}" for c in range(cols - owned)] + [f"【自动】{c + 1}" for c in range(owned)]
    ws.write_row(0, 0, headers)
    for r in range(1, rows + 1):
        for c in range(cols):
            if c % 3 == 0:
                ws.write_number(r, c, r * 10 + c)
            else:
                ws.write_string(r, c, f"文本{r}-{c}")
    wb.close()
    return path


def resave_with_libreoffice(src: Path, outdir: Path, profile: Path) -> Path | None:
    """Convert ``src`` to .xlsx with LibreOffice headless; None when soffice is missing."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return None
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(outdir),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    out = outdir / (src.stem + ".xlsx")
    return out if out.exists() else None


def rewrite_members(
    path: Path,
    edits: dict[str, object],
    *,
    add: dict[str, bytes] | None = None,
) -> Path:
    """Rewrite members of the package at ``path`` in place, keeping member order.

    ``edits`` maps a member name to new bytes, to a function old bytes → new bytes, or to
    None (drop the member); ``add`` appends members.
    """
    with zipfile.ZipFile(path) as zin:
        members = [(info, zin.read(info)) for info in zin.infolist()]
    tmp = path.with_name(path.name + ".rewrite")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in members:
            if info.filename in edits:
                edit = edits[info.filename]
                if edit is None:
                    continue
                data = edit(data) if callable(edit) else edit
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    tmp.replace(path)
    return path


_MAIN_NS_B = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def prefix_main_namespace(xml: bytes, prefix: bytes = b"x") -> bytes:
    """Rewrite a SpreadsheetML part so the main namespace uses ``prefix:`` (as WPS/LibreOffice may)."""
    xml = xml.replace(b'xmlns="' + _MAIN_NS_B + b'"', b"xmlns:" + prefix + b'="' + _MAIN_NS_B + b'"')
    return re.sub(rb"<(/?)([A-Za-z][\w.-]*)(?=[\s/>])", lambda m: b"<" + m.group(1) + prefix + b":" + m.group(2), xml)
