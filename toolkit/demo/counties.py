"""County returns for ``zhenggai demo``: fill some templates the way counties would, then consolidate.

The returns are edited with openpyxl: these are county files, not the master ledger, and
counties' own software re-saves them anyway. openpyxl stamps the file's last-saved time with the
real clock; :func:`stamp_saved_time` rewrites it so the demo's (and the tests') story is told in
its own dates.
"""

from __future__ import annotations

import os
import re
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from toolkit.counties.metadata import CHINA_TZ_OFFSET, DATA_SHEET, LETTERS, META_SHEET, china_timestamp

# What each county does in the demo (county → edits by task id, and how the file comes back).
DEMO_STORY: dict[str, dict[str, Any]] = {
    "连州市": {
        "file": "连州市3月整改进展（已填）.xlsx",
        "edits": {
            "1-3": {
                "state": "已完成",
                "completed_on": -5,
                "evidence": "连州市G234/G323/G358路面修复验收纪要（连公路〔2025〕12号）",
                "progress": "G234、G323、G358三条国道病害路段修复工程已全部完工并通过验收。",
            }
        },
        "filler": ("莫建国", "0763-6612345"),
    },
    "清新区": {
        "file": "清新区-整改进展报送.xlsx",
        "edits": {"2-3": {"progress": "7个路面修复项目中已完工5个，剩余2个正抓紧施工，预计4月底前完成。"}},
        "filler": ("林少华", "13800138000"),
    },
    "清城区": {
        "file": "清城区报送表.xlsx",
        "edits": {"13-4": {"state": "推进中", "progress": "已完成乡村公路绿化方案编制，正在组织苗木采购。"}},
        "filler": ("陈志勇", "0763-3388888"),
    },
    "英德市": {  # late
        "file": "英德市（补报）.xlsx",
        "late": True,
        "edits": {"2-2": {"progress": "G107线桥梁竣工验收资料已补齐，正在等待质监站出具意见。"}},
        "filler": ("黄伟明", "0763-2233445"),
    },
    "阳山县": {  # broken: a read-only cell edited (the measure text)
        "file": "阳山县.xlsx",
        "readonly_edit": ("3-1", "C", "（已按实际调整）加强公路养护巡查。"),
        "edits": {"3-1": {"progress": "已开展路面巡查4次。"}},
        "filler": ("欧阳平", "0763-7712345"),
    },
    "佛冈县": {  # broken in transit: a truncated file
        "file": "佛冈县整改进展.xlsx",
        "truncate": True,
        "edits": {"7-1": {"state": "推进中", "progress": "安全隐患排查整治正在推进。"}},
        "filler": ("朱国华", "0763-4412345"),
    },
    # 连南瑶族自治县 sends nothing (missing); 连山 has no tasks (no template).
}


def stamp_saved_time(path: str | Path, when: datetime) -> None:
    """Set a workbook's last-saved time (``docProps/core.xml``, given in China time) and its mtime."""
    path = Path(path)
    utc = when - CHINA_TZ_OFFSET
    stamp = utc.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    tmp = path.with_name(f".{path.name}.stamp{os.getpid()}")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data, n = re.subn(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + stamp + rb"\g<2>", data
                )
                if n == 0:
                    data = data.replace(
                        b"</cp:coreProperties>",
                        b'<dcterms:modified xsi:type="dcterms:W3CDTF">'
                        + stamp
                        + b"</dcterms:modified></cp:coreProperties>",
                    )
            dst.writestr(info, data)
    os.replace(tmp, path)
    ts = china_timestamp(when)  # China time, whatever the machine's time zone
    os.utime(path, (ts, ts))


def template_meta_values(path: str | Path) -> dict[str, str]:
    """Key/value rows of a template's hidden metadata sheet (read with openpyxl)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        out: dict[str, str] = {}
        for row in wb[META_SHEET].iter_rows(values_only=True):
            if not row or row[0] == "#rows":
                break
            if row[0]:
                out[str(row[0])] = "" if row[1] is None else str(row[1])
        return out
    finally:
        wb.close()


def fill_return(
    template: str | Path,
    dest: str | Path,
    edits: dict[str, dict[str, Any]],
    *,
    filler: tuple[str, str] | None = None,
    readonly_edit: tuple[str, str, str] | None = None,
    today: date,
) -> Path:
    """Fill a template as a county would (openpyxl) and save it as ``dest``.

    ``edits``: task id → {field key: value}; an int ``completed_on`` means ``today`` plus that many
    days. ``readonly_edit`` = (task id, column letter, new text) edits a locked cell (a mistake).
    """
    import openpyxl

    dest = Path(dest)
    if dest.exists() or dest.resolve() == Path(template).resolve():
        # openpyxl's save drops features staff use: it may only write a new file of the toolkit's own.
        raise FileExistsError(f"fill_return writes only a new file, never over an existing one: {dest}")
    wb = openpyxl.load_workbook(template)
    ws = wb[DATA_SHEET]
    rows = {str(ws.cell(r, 1).value): r for r in range(9, ws.max_row + 1) if ws.cell(r, 1).value is not None}
    for tid, fields in edits.items():
        r = rows[tid]
        for key, value in fields.items():
            if key == "completed_on" and isinstance(value, int):
                value = today + timedelta(days=value)
            ws[f"{LETTERS[key]}{r}"] = value
        if filler:
            ws[f"{LETTERS['filler']}{r}"] = filler[0]
            ws[f"{LETTERS['phone']}{r}"] = filler[1]
    if readonly_edit:
        tid, letter, text = readonly_edit
        ws[f"{letter}{rows[tid]}"] = text
    # Saves a new file in the demo inbox: a county's copy of a template the toolkit generated,
    # edited the way a county would — never the master ledger or any staff workbook.
    wb.save(dest)
    return dest


def simulate_returns(templates_dir: str | Path, inbox_dir: str | Path, *, today: date) -> list[Path]:
    """Write the demo counties' returns into ``inbox_dir``; returns the files written.

    Per :data:`DEMO_STORY`: 连州市 completes a task (date, evidence), 清新区 and 清城区 update
    narratives, 英德市 returns late, 阳山县 edits a read-only cell, 佛冈县's file arrives
    truncated, 连南瑶族自治县 sends nothing. Files are named the way counties name them (not the
    template's name): the county is recognised from the hidden metadata.
    """
    templates = {p.name.split("_")[1]: p for p in Path(templates_dir).glob("*_整改进展报送表.xlsx")}
    inbox = Path(inbox_dir)
    inbox.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for county, story in DEMO_STORY.items():
        template = templates.get(county)
        if template is None:
            continue
        meta = template_meta_values(template)
        deadline = date.fromisoformat(meta["return_deadline"])
        dest = fill_return(
            template,
            inbox / story["file"],
            story["edits"],
            filler=story.get("filler"),
            readonly_edit=story.get("readonly_edit"),
            today=today,
        )
        if story.get("late"):
            saved = datetime.combine(min(deadline + timedelta(days=1), today), time(16, 30))
        else:
            saved = datetime.combine(min(deadline, today) - timedelta(days=1), time(10, 15))
        stamp_saved_time(dest, saved)
        if story.get("truncate"):
            data = dest.read_bytes()
            dest.write_bytes(data[: len(data) * 3 // 5])
            os.utime(dest, (china_timestamp(saved), china_timestamp(saved)))
        written.append(dest)
    return written


def run_county_demo(ledger_path: str | Path, folder: str | Path, *, today: date, progress=None):
    """The monthly county cycle on the demo ledger: templates, simulated returns, consolidation.

    Templates are issued six days before ``today`` with returns due two days before it, so one
    return is late. Returns the :class:`~toolkit.counties.consolidate.ConsolidationResult`.
    """
    from toolkit.counties.consolidate import consolidate_folder
    from toolkit.counties.template import make_county_templates

    folder = Path(folder)
    issued = datetime.combine(today - timedelta(days=6), time(9, 0))
    make_county_templates(
        ledger_path,
        out_dir=folder / "县区报送表-下发",
        today=today,
        now=issued,
        return_deadline=today - timedelta(days=2),
    )
    inbox = folder / "县区报送表-收回"
    if inbox.exists():
        for p in inbox.iterdir():
            if p.is_file():
                p.unlink()
    simulate_returns(folder / "县区报送表-下发", inbox, today=today)
    return consolidate_folder(
        ledger_path,
        inbox,
        today=today,
        now=datetime.combine(today, time(10, 0)),
        progress=progress,
        report_dir=folder / "县区报送汇总",
    )


__all__ = [
    "simulate_returns",
    "stamp_saved_time",
    "fill_return",
    "template_meta_values",
    "run_county_demo",
    "DEMO_STORY",
]
