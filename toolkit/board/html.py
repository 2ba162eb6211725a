"""The board as ONE self-contained HTML file: tables written here, charts drawn by the inlined ECharts.

No network at all: ECharts (vendored from the npm registry, ``vendor/``), the page's script and
styles are inlined; fonts are the system's. Every figure is in the HTML itself (tables and cards,
each value in an element with a ``data-k`` key), so the board reads and prints even where scripts
are blocked; the charts draw the same data from the embedded JSON. Script errors are shown on the
page (``#board-errors``) instead of failing silently.
"""

from __future__ import annotations

import json
import re
from functools import cache
from html import escape
from importlib import resources
from typing import Any

from toolkit.board import figures as F
from toolkit.board.data import GROUP_TITLES, LIST_LIMIT, BoardData

ECHARTS_VERSION = "5.6.0"
_SCRIPT_BREAK = re.compile(r"</script|<!--", re.IGNORECASE)


@cache
def asset(name: str) -> str:
    """A file of the package's ``assets/`` or ``vendor/`` folder, as text."""
    folder, _, file = name.rpartition("/")
    return resources.files("toolkit.board").joinpath(folder, file).read_text("utf-8")


def _script_safe(text: str) -> str:
    """Script text checked to be safe inline: it cannot end (or comment out) its <script> element."""
    if _SCRIPT_BREAK.search(text):
        raise ValueError("script text holds </script or <!-- and cannot be inlined as it is")
    return text


def _json_inline(value: Any) -> str:
    """JSON for an inline <script type="application/json">: every < escaped, so no text can end the element."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def _e(v: Any) -> str:
    return escape("" if v is None else str(v), quote=True)


def fig(key: str, text: Any, *, tag: str = "span", sort: Any = None, cls: str = "") -> str:
    """One figure: an element keyed ``data-k`` (what the tests and analysts read back), sort value optional."""
    attrs = f' data-k="{_e(key)}"'
    if sort is not None:
        attrs += f' data-sort="{_e(sort)}"'
    if cls:
        attrs += f' class="{cls}"'
    return f"<{tag}{attrs}>{_e(text)}</{tag}>"


def num_text(v: Any) -> str:
    """A count or a number of days as shown: integers plainly, other numbers to one decimal, — when missing."""
    if v is None:
        return "—"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:.1f}"
    return str(int(v))


def _sort(v: Any) -> str:
    return "" if v is None else str(v)


def _th(*cols: tuple[str, str]) -> str:
    return "<tr>" + "".join(f'<th data-type="{t}">{_e(n)}</th>' for n, t in cols) + "</tr>"


# ----------------------------------------------------------------------------- sections


def _headline(d: BoardData) -> str:
    t, p = d.headline["tasks"], d.headline["problems"]
    cards = [
        ("整改措施", fig("tasks.total", t["total"]), "项"),
        ("已完成", fig("tasks.done", t["done"]),
         f"其中逾期完成 {fig('tasks.done_late', t['done_late'])} 项，已销号 {fig('tasks.signed_off', t['signed_off'])} 项"),
        ("正在推进", fig("tasks.open", t["open"]),
         f"其中临期 {fig('tasks.due_soon', t['due_soon'])} 项，逾期 {fig('tasks.overdue', t['overdue'])} 项"),
        ("长期坚持", fig("tasks.long_term", t["long_term"]), "项"),
        ("措施完成率", fig("tasks.rate", F.format_rate(t["rate"])), f"长期坚持{_e(d.rule)}"),
    ]
    pcards = [
        ("反馈问题", fig("problems.total", p["total"]), "个"),
        ("已完成整改", fig("problems.done", p["done"]), "个"),
        ("正在整改", fig("problems.open", p["open"]), f"其中有逾期措施的 {fig('problems.overdue', p['overdue'])} 个"),
        ("长期坚持", fig("problems.long_term", p["long_term"]), "个"),
        ("问题完成率", fig("problems.rate", F.format_rate(p["rate"])), "按问题的全部措施计"),
    ]

    def row(items: list[tuple[str, str, str]], cls: str) -> str:
        return f'<div class="cards {cls}">' + "".join(
            f'<div class="card"><div class="card-name">{name}</div><div class="card-value">{value}</div>'
            f'<div class="card-note">{note}</div></div>' for name, value, note in items) + "</div>"

    return f'<section id="headline"><h2>总体情况</h2>{row(cards, "tasks")}{row(pcards, "problems")}</section>'


def _status(d: BoardData) -> str:
    lamps = "".join(
        f'<div class="lamp lamp-{lamp["key"]}"><span class="lamp-dot"></span><span class="lamp-name">{_e(lamp["name"])}'
        f'（{_e(lamp["label"])}）</span>{fig("lamp." + lamp["key"], lamp["count"], cls="lamp-count")}<span>项</span></div>'
        for lamp in d.lamps)
    rows = "".join(
        f'<tr><td><i class="swatch" style="background:{_e(s["colour"])}"></i>{_e(s["label"])}</td>'
        f'<td class="n">{fig("status." + s["code"], s["count"], tag="span")}</td></tr>' for s in d.status)
    table = f'<table class="compact"><thead>{_th(("状态", "text"), ("措施数", "num"))}</thead><tbody>{rows}</tbody></table>'
    return (f'<section id="status"><h2>督办预警（红灯逾期、黄灯临期、蓝灯按期推进）</h2><div class="lamps">{lamps}</div>'
            f'<div class="split"><div class="chart" id="chart-status"></div>{table}</div></section>')


def _group(d: BoardData, group: str) -> str:
    rows = []
    for g in d.groups[group]:
        k = f"{group}.{g['name']}"
        cells = "".join(
            f'<td class="n">{fig(f"{k}.{f}", g[f], sort=g[f])}</td>'
            for f in ("total", "done", "open", "overdue", "due_soon", "long_term"))
        rate = fig(f"{k}.rate", F.format_rate(g["rate"]), sort=_sort(g["rate"]))
        rows.append(f'<tr><td>{fig(k + ".name", g["name"])}</td>{cells}<td class="n">{rate}</td></tr>')
    head = _th((GROUP_TITLES[group], "text"), ("措施", "num"), ("已完成", "num"), ("正在推进", "num"), ("逾期", "num"),
               ("临期", "num"), ("长期坚持", "num"), ("完成率", "num"))
    body = "".join(rows) or '<tr><td colspan="8" class="empty">无</td></tr>'
    return (f'<div class="group" id="group-{group}"><h3>按{GROUP_TITLES[group]}</h3>'
            f'<div class="chart chart-group" id="chart-{group}"></div>'
            f'<table class="sortable"><thead>{head}</thead><tbody>{body}</tbody></table></div>')


def _task_list(d: BoardData, kind: str) -> str:
    overdue = kind == "overdue"
    items, total = (d.overdue, d.overdue_total) if overdue else (d.due_soon, d.due_soon_total)
    last = ("逾期天数", "num") if overdue else ("剩余天数", "num")
    rows = []
    for t in items:
        k = f"{kind}.{t['id']}"
        days = t["days_overdue"] if overdue else t["days_left"]
        rows.append(
            f'<tr><td>{fig(k + ".id", t["id"])}</td><td class="measure">{_e(t["measure"])}</td>'
            f'<td>{fig(k + ".unit", t["unit"])}</td><td>{fig(k + ".person", t["person"])}</td>'
            f'<td>{fig(k + ".deadline", t["deadline"])}</td>'
            f'<td class="n">{fig(k + ".days", num_text(days), sort=_sort(days))}</td></tr>')
    body = "".join(rows) or f'<tr><td colspan="6" class="empty">没有{"逾期" if overdue else "临期"}措施</td></tr>'
    more = ""
    if total > len(items):
        more = f'<p class="note">只列出前 {LIST_LIMIT} 项，其余 {total - len(items)} 项请见台账“任务清单”。</p>'
    title = "逾期措施" if overdue else "临期措施"
    unit_note = "" if overdue else "（剩余天数按台账的预警口径计算）"
    head = _th(("编号", "text"), ("整改措施", "text"), ("责任单位", "text"), ("责任人", "text"), ("时限", "text"), last)
    return (f'<div class="list" id="list-{kind}"><h3>{title} {fig(kind + "_total", total)} 项{unit_note}</h3>'
            f'<table class="sortable"><thead>{head}</thead><tbody>{body}</tbody></table>{more}</div>')


def _history_row(h: dict[str, Any]) -> str:
    k = "history." + h["period"]
    cells = "".join(f'<td class="n">{fig(f"{k}.{f}", num_text(h[f]), sort=_sort(h[f]))}</td>'
                    for f in ("total", "done", "open", "overdue", "long_term"))
    rate = fig(k + ".rate", F.format_rate(h["rate"]), sort=_sort(h["rate"]))
    return (f'<tr><td>{fig(k + ".period", h["period"])}</td><td>{fig(k + ".as_of", h["as_of"])}</td>{cells}'
            f'<td class="n">{rate}</td></tr>')


def _trend(d: BoardData) -> str:
    if not d.history:
        return ('<section id="trend"><h2>月度走势</h2><p class="empty">“月度进展”表还没有记录：'
                "每月汇总县区报送（zhenggai consolidate）后自动增加一行。</p></section>")
    rows = "".join(_history_row(h) for h in d.history)
    head = _th(("月份", "text"), ("截止日期", "text"), ("措施总数", "num"), ("已完成", "num"), ("正在推进", "num"),
               ("其中逾期", "num"), ("长期坚持", "num"), ("完成率", "num"))
    return (f'<section id="trend"><h2>月度走势（“月度进展”表）</h2><div class="chart chart-wide" id="chart-trend"></div>'
            f'<table class="sortable"><thead>{head}</thead><tbody>{rows}</tbody></table></section>')


def _punctuality(d: BoardData) -> str:
    p = d.punctuality
    if not p["periods"] or not p["counties"]:
        return ('<section id="punctuality"><h2>县区按月报送情况</h2><p class="empty">还没有县区报送记录'
                "（“县区”表的【自动】本期报送和“变更记录”表为空）。</p></section>")
    head = "<tr><th>县（市、区）</th>" + "".join(f"<th>{fig('punct_period.' + x, x)}</th>" for x in p["periods"]) + "</tr>"
    rows = "".join(
        f"<tr><td>{_e(c)}</td>" + "".join(
            f'<td class="state" data-state="{_e(p["states"][c][x])}">{fig(f"punct.{c}.{x}", p["states"][c][x])}</td>'
            for x in p["periods"]) + "</tr>"
        for c in p["counties"])
    legend = "".join(f'<li><i class="swatch" style="background:{_e(s["colour"])}"></i>{_e(s["state"])}：{_e(s["name"])}</li>'
                     for s in p["series"])
    return (f'<section id="punctuality"><h2>县区按月报送情况</h2><div class="chart chart-wide" id="chart-punctuality"></div>'
            f'<table class="matrix"><thead>{head}</thead><tbody>{rows}</tbody></table><ul class="legend">{legend}</ul>'
            '<p class="note">本期情况取自“县区”表的【自动】本期报送；以前各期只能从“变更记录”看出哪些县区的报送已导入，'
            "台账没有记录其是否按时，显示为“已导入”；没有任何记录的显示为“无记录”。</p></section>")


def _completion_row(r: dict[str, Any]) -> str:
    k = "completion." + r["unit"]
    cells = "".join(f'<td class="n">{fig(f"{k}.{f}", num_text(r[f]), sort=_sort(r[f]))}</td>'
                    for f in ("tasks", "done", "dated", "median_days", "mean_days", "median_vs_deadline", "late"))
    return f'<tr><td>{fig(k + ".unit", r["unit"])}</td>{cells}</tr>'


def _completion(d: BoardData) -> str:
    c = d.completion
    start = c["start"]
    rows = "".join(_completion_row(r) for r in c["rows"])
    head = _th(("责任单位", "text"), ("措施", "num"), ("已完成", "num"), ("有完成日期", "num"),
               ("用时中位数（天）", "num"), ("平均用时（天）", "num"), ("较时限（天，中位数）", "num"), ("逾期完成", "num"))
    basis = (f"用时 = 完成日期 − 反馈日期（基本信息：{_e(start)}），按日历天计；" if start else
             "基本信息未填写“反馈日期”，无法计算用时；")
    note = f'<p class="note">{basis}“较时限”= 完成日期 − 时限（延期的按延期时限），负数表示提前完成。</p>'
    return (f'<section id="completion"><h2>各责任单位整改用时</h2><div class="chart chart-wide" id="chart-completion"></div>'
            f'<table class="sortable"><thead>{head}</thead><tbody>{rows}</tbody></table>{note}</section>')


# ----------------------------------------------------------------------------- the page


def render_board_html(d: BoardData) -> str:
    """The complete HTML document of the board."""
    meta = (f'统计截止 {fig("as_of", d.as_of.isoformat())}'
            + (f" · 台账：{fig('ledger', d.ledger_name)}" if d.ledger_name else "")
            + f" · 完成率口径：长期坚持{_e(d.rule)}")
    warn = ""
    if d.errors:
        warn = (f'<p class="ledger-errors">台账有 {fig("errors", d.errors)} 处错误，部分数字可能不准确：'
                "请先校验台账（zhenggai check 或“校验台账”按钮）并改正。</p>")
    body = (
        f'<header><h1>{_e(d.title)}</h1><p class="meta">{meta}</p>{warn}</header>'
        '<div id="board-errors" data-count="0" hidden></div>'
        f"{_headline(d)}{_status(d)}"
        f'<section id="groups"><h2>分类完成情况</h2>{"".join(_group(d, g) for g in GROUP_TITLES)}</section>'
        f'<section id="lists"><h2>督办清单</h2>{_task_list(d, "overdue")}{_task_list(d, "due_soon")}</section>'
        f"{_trend(d)}{_punctuality(d)}{_completion(d)}"
        f'<footer>由 zhenggai 整改台账工具生成。图表：Apache ECharts {ECHARTS_VERSION}（Apache License 2.0）。'
        "点击表头可排序。</footer>"
    )
    data = _json_inline(d.as_json())
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(d.title)}（{d.as_of.isoformat()}）</title>"
        f"<script>{_script_safe(asset('assets/errors.js'))}</script>"
        f"<style>{asset('assets/board.css')}</style></head>"
        f"<body>{body}"
        f'<script type="application/json" id="board-data">{data}</script>'
        f"<script>{_script_safe(asset('vendor/echarts.min.js'))}</script>"
        f"<script>{_script_safe(asset('assets/board.js'))}</script>"
        "</body></html>\n"
    )
