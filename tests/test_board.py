"""督办看板: the HTML board opened in a real headless Chromium with the network cut, every figure
on it compared with the ledger's statistics computed here from toolkit.core.status; the pandas
frames; the job's file rules; pandas kept off the check and button paths.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest
from conftest import DEMO_AS_OF, chromium_path, require
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.core import schema as S
from toolkit.core import status as st
from toolkit.core.plan import CellWrite, SheetPlan, WritePlan
from toolkit.core.writeplan import DATE_STYLE
from toolkit.jobs import check_file, new_ledger_workbook
from toolkit.jobs.sources import FileLedger

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

# ----------------------------------------------------------------------------- ledgers with history

EARLIER = {  # 月度进展 rows of the months before the demo's consolidated 2025-03
    "2025-01": [date(2025, 2, 5), 50, 30, 15, 6, 5, 0.6],
    "2025-02": [date(2025, 3, 5), 50, 33, 12, 4, 5, "76%"],  # a rate typed as text
}
EARLIER_CHANGES = [  # 变更记录 rows of 2025-02 (two counties' returns were imported)
    ("2025-03-05 09:00:00", "2025-02", "清城区", "清城区.xlsx", "13-4", "完成情况", "未启动", "推进中"),
    ("2025-03-05 09:00:00", "2025-02", "英德市", "英德市.xlsx", "2-2", "整改进展", "", "推进中"),
]


def add_history(path: Path) -> None:
    """Put EARLIER months before 月度进展's rows and EARLIER_CHANGES before 变更记录's, through the lossless patcher."""
    from toolkit.excel.safe_write import write_safely

    wb = openpyxl.load_workbook(path)
    monthly = [list(r) for r in wb[S.SHEET_MONTHLY].iter_rows(values_only=True)]
    changes = [list(r) for r in wb[S.SHEET_CHANGELOG].iter_rows(values_only=True)]
    wb.close()
    rows_m = [monthly[0], *[[k, *v] for k, v in EARLIER.items()], *monthly[1:]]
    rows_c = [changes[0], *[list(c) for c in EARLIER_CHANGES], *changes[1:]]

    def sheet(name: str, rows: list[list]) -> SheetPlan:
        cells = [CellWrite(i, S.column_letter(j), v, DATE_STYLE if isinstance(v, date) else None)
                 for i, row in enumerate(rows, start=1) for j, v in enumerate(row) if v is not None]
        return SheetPlan(name, cells, owned_sheet=True, clear_from_row=1)

    write_safely(path, WritePlan([sheet(S.SHEET_MONTHLY, rows_m), sheet(S.SHEET_CHANGELOG, rows_c)]),
                 backup_dir=path.parent / "备份")


@pytest.fixture(scope="module")
def cycled(tmp_path_factory) -> Path:
    """The demo ledger after the demo's monthly cycle (county returns consolidated for 2025-03) plus two earlier months."""
    from toolkit.demo.counties import simulate_returns
    from toolkit.demo.ledger import build_demo_ledger
    from toolkit.jobs.counties import run_consolidate, run_county_templates

    folder = tmp_path_factory.mktemp("board")
    path = folder / "示例台账.xlsx"
    new_ledger_workbook(path, build_demo_ledger(), today=DEMO_AS_OF)
    issued = datetime.combine(DEMO_AS_OF - timedelta(days=6), time(9, 0))
    run_county_templates(FileLedger(path), today=DEMO_AS_OF, now=issued, deadline=DEMO_AS_OF - timedelta(days=2))
    simulate_returns(folder / "县区报送表-下发", folder / "inbox", today=DEMO_AS_OF)
    run_consolidate(FileLedger(path), inbox=folder / "inbox", today=DEMO_AS_OF,
                    now=datetime.combine(DEMO_AS_OF, time(10, 0)))
    add_history(path)
    return path


def board_of(ledger: Path, out: Path, *extra: str) -> Path:
    res = runner.invoke(app, ["board", str(ledger), "--out", str(out), *extra])
    assert res.exit_code in (0, 1), res.output
    assert out.is_file(), res.output
    return out


# ----------------------------------------------------------------------------- Chromium

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--hide-scrollbars",
    # No network at all: every host resolves to nothing and every request goes to a dead proxy.
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--virtual-time-budget=10000",
]


def chromium(page: Path, tmp_path: Path, *args: str) -> str:
    """Run Debian's Chromium on ``page`` (offline); its stdout."""
    require("chromium")
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    run = subprocess.run([chromium_path(), *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


class Dom(HTMLParser):
    """The dumped DOM: figures by data-k, chart records, the error box, and digits outside any figure."""

    SKIP_TAGS = {"script", "style", "svg", "title", "footer"}
    SKIP_CLASSES = {"measure", "note", "chart", "card-name"}

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: dict[str, str] = {}
        self.duplicates: list[str] = []
        self.charts: dict[str, dict] = {}
        self.errors: dict[str, str] = {}
        self.ready = None
        self.stray: list[str] = []
        self._stack: list[tuple[str, str | None, bool]] = []  # tag, figure key, skipped
        self._text: dict[str, list[str]] = {}
        self.feed(text)

    VOID = {"meta", "link", "br", "img", "input", "hr", "path", "rect", "circle", "line", "polyline", "polygon"}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.ready = a.get("data-board-ready")
        if "data-drawn" in a:
            self.charts[a["id"]] = json.loads(a["data-drawn"])
        if a.get("id") == "board-errors":
            self.errors = {"count": a.get("data-count"), "hidden": "hidden" in a}
        if tag in self.VOID:
            return
        skipped = (tag in self.SKIP_TAGS or bool(set((a.get("class") or "").split()) & self.SKIP_CLASSES)
                   or (self._stack and self._stack[-1][2]))
        key = a.get("data-k")
        if key is not None:
            if key in self._text:
                self.duplicates.append(key)
            self._text[key] = []
        self._stack.append((tag, key, skipped))

    def handle_endtag(self, tag):
        while self._stack:
            t, key, _ = self._stack.pop()
            if key is not None:
                self.figures[key] = "".join(self._text[key]).strip()
            if t == tag:
                break

    def handle_data(self, data):
        keys = [k for _, k, _ in self._stack if k is not None]
        for k in keys[-1:]:
            self._text[k].append(data)
        skipped = self._stack and self._stack[-1][2]
        in_body = any(t == "body" for t, _, _ in self._stack)
        if in_body and not keys and not skipped and re.search(r"\d", data):
            self.stray.append(data.strip())


def js_pct(rate: float | None) -> float | None:
    """Math.round(rate * 1000) / 10, as the page computes it."""
    return None if rate is None else math.floor(rate * 1000 + 0.5) / 10


def rate_text(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def days_text(v) -> str:
    if v is None:
        return "—"
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


# ----------------------------------------------------------------------------- expected, from the ledger


def sheet_rows(path: Path, name: str) -> list[dict]:
    wb = openpyxl.load_workbook(path, data_only=True)
    rows = list(wb[name].iter_rows(values_only=True))
    wb.close()
    head = [str(h) if h is not None else "" for h in rows[0]]
    return [dict(zip(head, r)) for r in rows[1:] if any(v not in (None, "") for v in r)]


def month(v) -> str:
    if isinstance(v, (date, datetime)):
        return f"{v.year:04d}-{v.month:02d}"
    m = re.fullmatch(r"(\d{4})(?:-|年)(\d{1,2})月?", str(v).strip())
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def expected_figures(path: Path) -> tuple[dict[str, str], dict[str, dict]]:
    """Every figure the board must show, and every chart's drawn data, computed from the ledger here."""
    result = check_file(path)
    ledger, status, stats = result.ledger, result.status, result.status.stats
    exp: dict[str, str] = {"as_of": result.today.isoformat(), "ledger": path.name}
    if result.report.errors:
        exp["errors"] = str(len(result.report.errors))
    for prefix, counts in (("tasks", stats.overall), ("problems", stats.problems_overall)):
        for f in ("total", "done", "open", "long_term"):
            exp[f"{prefix}.{f}"] = str(getattr(counts, f))
        exp[f"{prefix}.rate"] = rate_text(counts.rate)
    for f in ("done_late", "signed_off", "due_soon", "overdue"):
        exp[f"tasks.{f}"] = str(getattr(stats.overall, f))
    exp["problems.overdue"] = str(stats.problems_overall.overdue)
    codes = Counter(s.code for s in status.tasks.values())
    for code in st.LABELS:
        exp[f"status.{code}"] = str(codes.get(code, 0))
    for lamp, code in (("red", st.OVERDUE), ("yellow", st.DUE_SOON), ("blue", st.ON_TRACK)):
        exp[f"lamp.{lamp}"] = str(codes.get(code, 0))
    charts: dict[str, dict] = {}
    order = ["overdue", "due_soon", "on_track", "done_on_time", "done_late", "signed_off", "long_term"]
    order += [c for c in st.LABELS if c not in order]
    charts["chart-status"] = {"categories": None, "series": [
        {"name": "措施状态", "data": [[st.LABELS[c], codes[c]] for c in order if codes.get(c)]}]}
    parts = (("已完成", "done"), ("按期推进", "on_track"), ("临期", "due_soon"), ("逾期", "overdue"), ("长期坚持", "long_term"))
    for group, by in (("category", stats.by_category), ("unit", stats.by_unit), ("county", stats.by_county)):
        for name, c in by.items():
            exp[f"{group}.{name}.name"] = name
            for f in ("total", "done", "open", "overdue", "due_soon", "long_term"):
                exp[f"{group}.{name}.{f}"] = str(getattr(c, f))
            exp[f"{group}.{name}.rate"] = rate_text(c.rate)
        if by:
            charts[f"chart-{group}"] = {"categories": list(by), "series": [
                {"name": n, "data": [getattr(c, f) for c in by.values()]} for n, f in parts]}
    tasks = {t.id: t for t in ledger.tasks}
    for kind, ids, days in (("overdue", stats.overdue, "days_overdue"), ("due_soon", stats.due_soon, "days_left")):
        exp[f"{kind}_total"] = str(len(ids))
        for tid in ids:
            s, t = status.tasks[tid], tasks[tid]
            exp |= {f"{kind}.{tid}.id": tid, f"{kind}.{tid}.unit": t.unit, f"{kind}.{tid}.person": t.person,
                    f"{kind}.{tid}.deadline": s.deadline.isoformat(), f"{kind}.{tid}.days": days_text(getattr(s, days))}

    # 月度进展, read with openpyxl (not the board's reader)
    history = {}
    for r in sheet_rows(path, S.SHEET_MONTHLY):
        rate = r["完成率"]
        rate = float(rate.rstrip("%")) / 100 if isinstance(rate, str) else rate
        history[month(r["月份"])] = (r, rate)
    for p, (r, rate) in sorted(history.items()):
        exp[f"history.{p}.period"] = p
        exp[f"history.{p}.as_of"] = r["截止日期"].date().isoformat() if r["截止日期"] else ""
        for f, h in (("total", "措施总数"), ("done", "已完成"), ("open", "正在推进"), ("overdue", "其中逾期"),
                     ("long_term", "长期坚持")):
            exp[f"history.{p}.{f}"] = days_text(r[h])
        exp[f"history.{p}.rate"] = rate_text(rate)
    if history:
        periods = sorted(history)
        charts["chart-trend"] = {"categories": periods, "series": [
            {"name": "完成率", "data": [js_pct(history[p][1]) for p in periods]},
            {"name": "逾期措施", "data": [history[p][0]["其中逾期"] for p in periods]}]}

    # County punctuality: 县区's current state for its period, else 已导入 when 变更记录 has the county's changes
    changes = sheet_rows(path, S.SHEET_CHANGELOG)
    imported = {(c["县区"], month(c["报送期"])) for c in changes}
    current = {}
    for r in sheet_rows(path, "县区"):
        if r.get("【自动】报送期"):
            current[r["县区名称"]] = (month(r["【自动】报送期"]), str(r["【自动】本期报送"]).split("（")[0])
    periods = sorted(set(history) | {p for _, p in imported} | {p for p, _ in current.values()})
    matrix = {}
    if ledger.counties:
        exp |= {f"punct_period.{p}": p for p in periods}
    for c in ledger.counties:
        for p in periods:
            cur = current.get(c.name)
            state = cur[1] if cur and cur[0] == p else "已导入" if (c.name, p) in imported else "无记录"
            exp[f"punct.{c.name}.{p}"] = state
            matrix[(c.name, p)] = state
    if periods and ledger.counties:
        series = []
        for state, name in (("已报送", "按时报送"), ("逾期报送", "逾期报送"), ("未报送", "未报送"), ("被退回", "被退回"),
                            ("已导入", "已导入（时效未记录）"), ("无需报送", "无需报送"), ("无记录", "无记录")):
            data = [sum(matrix[(c.name, p)] == state for c in ledger.counties) for p in periods]
            if any(data):
                series.append({"name": name, "data": data})
        charts["chart-punctuality"] = {"categories": periods, "series": series}

    # Time to complete per unit: days from 反馈日期 to 完成日期 of completed measures
    start = ledger.settings.feedback_date
    units = list(dict.fromkeys(t.unit for t in ledger.tasks if t.unit))
    medians = []
    for u in units:
        mine = [t for t in ledger.tasks if t.unit == u]
        done = [t for t in mine if status.tasks[t.id].is_done]
        took = [(t.completed_on - start).days for t in done if t.completed_on]
        vs = [(t.completed_on - status.tasks[t.id].deadline).days for t in done
              if t.completed_on and status.tasks[t.id].deadline]
        row = {"unit": u, "tasks": len(mine), "done": len(done), "dated": len(took),
               "median_days": statistics.median(took) if took else None,
               "mean_days": statistics.mean(took) if took else None,
               "median_vs_deadline": statistics.median(vs) if vs else None,
               "late": sum(status.tasks[t.id].code == st.DONE_LATE for t in done)}
        for f, v in row.items():
            exp[f"completion.{u}.{f}"] = v if f == "unit" else days_text(v)
        if row["median_days"] is not None:
            medians.append((u, row["median_days"]))
    if medians:
        charts["chart-completion"] = {"categories": [u for u, _ in medians],
                                      "series": [{"name": "用时中位数", "data": [m for _, m in medians]}]}
    return exp, charts


# ----------------------------------------------------------------------------- the board in Chromium


def check_page(dom: Dom, path: Path) -> None:
    assert dom.ready == "1", "the page's script did not finish"
    assert dom.errors == {"count": "0", "hidden": True}, dom.errors
    exp, charts = expected_figures(path)
    assert not dom.duplicates
    assert set(dom.figures) == set(exp), (sorted(set(dom.figures) - set(exp)), sorted(set(exp) - set(dom.figures)))
    wrong = {k: (dom.figures[k], v) for k, v in exp.items() if dom.figures[k] != v}
    assert wrong == {}
    assert dom.stray == [], "digits on the page outside any checked figure"
    assert dom.charts == charts


def test_board_opens_offline_without_errors_and_every_figure_equals_the_ledger(cycled, tmp_path):
    page = board_of(cycled, tmp_path / "看板.html")
    shot = tmp_path / "看板.png"
    chromium(page, tmp_path, "--window-size=1300,4000", f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    dom = Dom(chromium(page, tmp_path, "--dump-dom"))
    check_page(dom, cycled)
    # the history is really there: three months, the county states of 2025-03 and the imported 2025-02
    assert [dom.figures[f"history.{p}.rate"] for p in ("2025-01", "2025-02", "2025-03")] == ["60.0%", "76.0%", "82.0%"]
    assert dom.figures["punct.英德市.2025-03"] == "逾期报送" and dom.figures["punct.英德市.2025-02"] == "已导入"
    assert dom.figures["punct.连南瑶族自治县.2025-03"] == "未报送"
    assert dom.figures["punct.连南瑶族自治县.2025-01"] == "无记录"


def test_board_of_a_new_ledger_without_history_opens_without_errors(tmp_path):
    path = tmp_path / "新台账.xlsx"
    res = runner.invoke(app, ["init", str(path)])
    assert res.exit_code == 0, res.output
    page = board_of(path, tmp_path / "看板.html", "--today", "2025-04-07")
    dom = Dom(chromium(page, tmp_path, "--dump-dom"))
    assert dom.ready == "1" and dom.errors == {"count": "0", "hidden": True}
    assert dom.figures["tasks.total"] == "0" and dom.figures["tasks.rate"] == "—"
    assert "chart-trend" not in dom.charts and "chart-completion" not in dom.charts


def test_board_with_ledger_errors_is_made_and_says_so(demo_file, tmp_path):
    wb = openpyxl.load_workbook(demo_file)
    ws = wb["任务清单"]
    ws.cell(row=3, column=8).value = "明年"  # an unreadable deadline
    wb.save(demo_file)
    res = runner.invoke(app, ["board", str(demo_file), "--out", str(tmp_path / "b.html")])
    assert res.exit_code == 1, res.output
    assert "台账有" in res.output and "看板中的数字可能不准确" in res.output
    dom = Dom(chromium(tmp_path / "b.html", tmp_path, "--dump-dom"))
    check_page(dom, demo_file)
    assert int(dom.figures["errors"]) >= 1


def test_error_hook_reports_script_errors_and_blocked_network_on_the_page(demo_file, tmp_path):
    """The hook the other tests rely on does see failures: a script error and a request that needs the network."""
    page = board_of(demo_file, tmp_path / "b.html")
    text = page.read_text("utf-8")
    head, _, tail = text.rpartition("</body>")
    broken = head + '<img src="http://example.invalid/x.png"><script>undefinedFunction();</script></body>' + tail
    bad = tmp_path / "broken.html"
    bad.write_text(broken, "utf-8")
    dom = Dom(chromium(bad, tmp_path, "--dump-dom"))
    assert dom.errors["count"] == "2" and not dom.errors["hidden"]


def test_board_prints_on_at_most_two_a4_landscape_pages(cycled, tmp_path):
    require("poppler")
    page = board_of(cycled, tmp_path / "看板.html")
    pdf = tmp_path / "看板.pdf"
    chromium(page, tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    w, h = (float(x) for x in re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert 1 <= pages <= 2
    assert (round(w), round(h)) == (842, 595)  # A4 landscape in points


# ----------------------------------------------------------------------------- the file


def test_board_is_one_self_contained_file_under_two_megabytes(cycled, tmp_path):
    page = board_of(cycled, tmp_path / "看板.html")
    text = page.read_text("utf-8")
    assert page.stat().st_size <= 2 * 1024 * 1024
    vendored = (ROOT / "toolkit/board/vendor/echarts.min.js").read_text("utf-8")
    assert text.count(vendored) == 1
    own = text.replace(vendored, "")  # the page's own markup, styles and scripts load nothing either
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=|<link\b|@import|url\(|https?://", own, re.IGNORECASE)
    assert own.count("<script") == 4  # error hook, data, ECharts, the board's script: all inline


def test_board_default_name_beside_the_ledger_and_never_overwritten(demo_file):
    first = runner.invoke(app, ["board", str(demo_file), "--today", "2025-04-07"])
    second = runner.invoke(app, ["board", str(demo_file), "--today", "2025-04-07"])
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert (demo_file.parent / "督办看板_2025-04-07.html").is_file()
    assert (demo_file.parent / "督办看板_2025-04-07(2).html").is_file()
    out = demo_file.parent / "mine.html"
    out.write_text("staff notes", "utf-8")
    res = runner.invoke(app, ["board", str(demo_file), "--out", str(out)])
    assert res.exit_code == 0 and out.read_text("utf-8") == "staff notes"
    assert (demo_file.parent / "mine(2).html").is_file()


@pytest.mark.parametrize("args, message", [
    (["--out", "看板.docx"], "应以 .html 结尾"),
    (["--today", "昨天"], "--today 无法识别"),
])
def test_board_bad_options_exit_2(demo_file, tmp_path, args, message):
    res = runner.invoke(app, ["board", str(demo_file), *args])
    assert res.exit_code == 2 and message in res.output


def test_board_of_a_missing_ledger_exits_2(tmp_path):
    res = runner.invoke(app, ["board", str(tmp_path / "无.xlsx")])
    assert res.exit_code == 2 and "找不到台账文件" in res.output


# ----------------------------------------------------------------------------- frames


def test_tasks_and_problems_frames_match_the_statuses(cycled):
    from toolkit.board import frames

    result = check_file(cycled)
    tasks = frames.tasks_frame(result)
    assert list(tasks["task_id"]) == [t.id for t in result.ledger.tasks]
    assert dict(zip(tasks["task_id"], tasks["status"])) == {k: s.code for k, s in result.status.tasks.items()}
    assert tasks["done"].sum() == result.status.stats.overall.done
    assert set(tasks.loc[tasks["days_overdue"] > 0, "task_id"]) == set(result.status.stats.overdue)
    problems = frames.problems_frame(result)
    assert dict(zip(problems["problem_id"], problems["status"])) == {k: p.code for k, p in result.status.problems.items()}


def test_history_frame_reads_months_typed_as_dates_or_text_and_rates_as_percent_text():
    from conftest import tables_from_rows

    from toolkit.board import frames

    tables = tables_from_rows({S.SHEET_MONTHLY: [
        ["月份", "截止日期", "措施总数", "已完成", "正在推进", "其中逾期", "长期坚持", "完成率"],
        ["2025年2月", "2025-03-05", 10.0, 5, 5, 1, 0, "50%"],
        [date(2025, 1, 1), date(2025, 2, 5), 10, 4, 6, 2, 0, 0.4],
        ["合计", None, 10, 4, 6, 2, 0, 0.4],  # not a month: skipped
        [None, None, None, None, None, None, None, None],
    ]})
    h = frames.history_frame(tables)
    assert list(h["period"]) == ["2025-01", "2025-02"]
    assert list(h["rate"]) == [0.4, 0.5] and list(h["total"]) == [10, 10]
    assert list(h["as_of"]) == [date(2025, 2, 5), date(2025, 3, 5)]


def test_submissions_frame_states_current_period_imported_and_no_record(cycled):
    from toolkit.board import frames

    result = check_file(cycled)
    tables = FileLedger(cycled).tables
    subs = frames.submissions_frame(tables, result.ledger)
    state = {(r.county, r.period): r.state for r in subs.itertuples()}
    assert state[("英德市", "2025-03")] == frames.LATE
    assert state[("清城区", "2025-03")] == frames.SUBMITTED
    assert state[("英德市", "2025-02")] == frames.IMPORTED
    assert state[("连州市", "2025-02")] == frames.NO_RECORD
    assert sorted(set(subs["period"])) == ["2025-01", "2025-02", "2025-03"]


def test_completion_frame_counts_days_from_the_feedback_date(cycled):
    from toolkit.board import frames

    result = check_file(cycled)
    comp = frames.completion_frame(frames.tasks_frame(result)).set_index("unit")
    start = result.ledger.settings.feedback_date
    done = [t for t in result.ledger.tasks if t.unit == "财务审计部" and result.status.tasks[t.id].is_done]
    assert comp.loc["财务审计部", "done"] == len(done)
    assert comp.loc["财务审计部", "median_days"] == statistics.median((t.completed_on - start).days for t in done)


# ----------------------------------------------------------------------------- pandas stays off the light paths


def test_pandas_is_not_imported_by_the_command_line_or_the_check(demo_file):
    code = (
        "import sys, json, toolkit.cli.commands, toolkit.board; "
        "from toolkit.jobs.check import run_check; from toolkit.jobs.sources import FileLedger; "
        f"run_check(FileLedger({str(demo_file)!r})); "
        "print(json.dumps([m for m in ('pandas', 'numpy') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
