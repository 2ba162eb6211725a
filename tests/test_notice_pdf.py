"""The notice as PDF through LibreOffice: A4, 22 lines × 28 characters, mapped fonts only, margins.

Needs LibreOffice, poppler-utils and the CJK fonts: skipped (with the reason) when they are missing,
failed under ``CI=true`` (conftest.require).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from conftest import CJK_FAMILIES, POPPLER_TOOLS, require

from toolkit.notice import render_notice, render_reminders
from toolkit.notice.pdf import FONT_MAP, convert_to_pdf, write_fontconfig

MM = 72 / 25.4  # PDF points per millimetre
LEFT, RIGHT, TOP, BOTTOM = 28 * MM, (210 - 26) * MM, 37 * MM, (297 - 35) * MM
TOLERANCE = 0.6 * MM
PAGE_NUMBER = re.compile(r"^—\s*\d+\s*—$")

pytestmark = [pytest.mark.slow]
needs_pdf_tools = pytest.mark.requires("soffice", "poppler", "cjk-fonts")


def run(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def notice_pdf(tmp_path_factory) -> Path:
    require("soffice", "cjk-fonts")
    from toolkit.demo.ledger import build_demo_ledger

    out = tmp_path_factory.mktemp("pdf") / "通报.docx"
    result = render_notice(build_demo_ledger(), today=date(2025, 4, 7), out_path=out, pdf=True)
    assert result.pdf_skipped is None and result.pdf is not None and result.pdf.exists()
    return result.pdf


def words(pdf: Path) -> list[tuple[int, float, float, float, float, str]]:
    """(page, xMin, yMin, xMax, yMax, text) for every word pdftotext finds."""
    html = run("pdftotext", "-bbox", str(pdf), "-")
    out = []
    for page_no, page in enumerate(html.split("<page ")[1:], start=1):
        for m in re.finditer(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page
        ):
            out.append((page_no, *(float(m.group(i)) for i in range(1, 5)), m.group(5)))
    return out


def page_lines(pdf: Path) -> list[list[str]]:
    """Non-empty text lines per page (pdftotext -layout)."""
    pages = run("pdftotext", "-layout", str(pdf), "-").split("\f")
    return [[ln.strip() for ln in page.splitlines() if ln.strip()] for page in pages if page.strip()]


def width(line: str) -> float:
    """Width in body characters (spaces are the viewer's CJK/Latin gaps, not characters)."""
    return sum(0.5 if ch.isascii() else 1.0 for ch in line if not ch.isspace())


@needs_pdf_tools
def test_pdf_is_a4(notice_pdf):
    info = run("pdfinfo", str(notice_pdf))
    m = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert abs(float(m.group(1)) - 595.28) < 1 and abs(float(m.group(2)) - 841.89) < 1


@needs_pdf_tools
def test_pdf_uses_only_the_mapped_faces(notice_pdf):
    listing = run("pdffonts", str(notice_pdf)).splitlines()[2:]
    names = [line.split()[0].split("+", 1)[-1] for line in listing]
    assert names
    allowed = re.compile(r"^(NotoSerifCJK\w*-(Regular|Bold)|NotoSansCJK\w*-Regular|UKaiCN)")
    assert [n for n in names if not allowed.match(n)] == []
    assert not any(re.search(r"DejaVu|Liberation|Droid|WenQuanYi", n) for n in names)
    # Every official face is used: body/宋 (serif), title (serif bold), 黑体 (sans), 楷体 (UKai).
    assert any("Serif" in n and "Regular" in n for n in names)
    assert any("Serif" in n and "Bold" in n for n in names)
    assert any("Sans" in n for n in names)
    assert any("UKai" in n for n in names)


def test_required_fonts_are_the_ones_the_font_map_uses():
    """conftest's CJK-font requirement checks exactly the faces the notice is mapped to."""
    assert set(CJK_FAMILIES) == {family for family, _ in FONT_MAP.values()}


def test_test_script_checks_and_installs_what_the_tests_require():
    """scripts/test.sh (run by CI) checks the same tools and fonts as conftest.require, and fails under CI."""
    script = (Path(__file__).resolve().parents[1] / "scripts" / "test.sh").read_text("utf-8")
    for needed in (*CJK_FAMILIES, *POPPLER_TOOLS, "soffice", "fc-match", "../shared/corpus/calamine-tests"):
        assert needed in script, needed
    for package in ("libreoffice-writer-nogui", "poppler-utils", "fontconfig", "fonts-noto-cjk", "fonts-arphic-ukai"):
        assert re.search(rf"apt-get install[^\n]*\\\n[^\n]*\b{package}\b", script), package
    assert "exit 1" in script[script.index("if in_ci; then") :]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text("utf-8")
    assert ci.index("export CI=true") < ci.index("bash scripts/test.sh")


@pytest.mark.requires("fontconfig", "cjk-fonts")
def test_fontconfig_file_maps_each_official_name(tmp_path):
    conf = write_fontconfig(tmp_path)
    env = {"FONTCONFIG_FILE": str(conf), "PATH": "/usr/bin:/bin"}
    for name, (family, bold) in FONT_MAP.items():
        got = subprocess.run(
            [shutil.which("fc-match"), "-f", "%{family[0]}|%{style[0]}", name],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
        found_family, style = got.split("|")
        assert found_family == family, name
        assert ("Bold" in style) == bold, name


@needs_pdf_tools
def test_at_most_22_lines_of_28_characters_per_page(notice_pdf):
    pages = page_lines(notice_pdf)
    assert len(pages) > 5
    full_lines = 0
    for number, lines in enumerate(pages, start=1):
        body = [ln for ln in lines if not PAGE_NUMBER.match(ln)]
        assert len(body) <= 22, f"第{number}页有{len(body)}行"
        assert any(PAGE_NUMBER.match(ln) for ln in lines), f"第{number}页没有页码"
        for ln in body[2 if number == 1 else 0 :]:  # the title lines are 22 pt, not body text
            assert width(ln) <= 28, ln
            full_lines += width(ln) == 28
    assert full_lines > 100  # the grid is really filled: most lines hold exactly 28 characters


@needs_pdf_tools
def test_text_stays_inside_the_type_area_and_page_numbers_alternate(notice_pdf):
    all_words = words(notice_pdf)
    numbers = [w for w in all_words if w[2] > BOTTOM]
    body = [w for w in all_words if w[2] <= BOTTOM]
    outside = [w for w in body if w[1] < LEFT - TOLERANCE or w[3] > RIGHT + TOLERANCE or w[2] < TOP - TOLERANCE]
    assert outside == []
    assert all(w[4] <= BOTTOM + TOLERANCE for w in body)
    # Page numbers: odd pages right half, even pages left half, about 7 mm below the type area.
    for page, x0, y0, x1, y1, _ in numbers:
        centre = (x0 + x1) / 2
        assert (centre > 105 * MM) if page % 2 else (centre < 105 * MM)
        assert BOTTOM + 3 * MM < (y0 + y1) / 2 < BOTTOM + 11 * MM
        assert x1 <= RIGHT + TOLERANCE and x0 >= LEFT - TOLERANCE


@needs_pdf_tools
def test_title_is_centred_in_the_type_area(notice_pdf):
    first_page = [w for w in words(notice_pdf) if w[0] == 1]
    title = [w for w in first_page if w[5].startswith(("中共清远市", "八届市委第四轮"))][:2]
    assert len(title) == 2
    for _, x0, _, x1, _, _ in title:
        assert abs((x0 + x1) / 2 - (LEFT + RIGHT) / 2) < 2 * MM


@needs_pdf_tools
def test_title_lines_on_the_page_keep_words_whole(notice_pdf):
    """Regression: the title broke "…关于八届 / 市委第四轮…" (GB/T 9704 7.3.1 keeps words whole)."""
    first = page_lines(notice_pdf)[0]
    assert first[:2] == ["中共清远市公路事务中心党组关于", "八届市委第四轮巡察整改进展情况的通报"]


@needs_pdf_tools
def test_no_heading_ends_with_a_lone_character_on_the_page(notice_pdf):
    """Regression: 一、…主体责任情况 wrapped with "况" alone on its second line."""
    import docx

    document = docx.Document(str(notice_pdf.with_suffix(".docx")))
    headings = [p.text for p in document.paragraphs if p.style.name in ("公文一级标题", "公文二级标题", "公文三级标题")]
    lines = [ln.replace(" ", "") for page in page_lines(notice_pdf) for ln in page if not PAGE_NUMBER.match(ln)]
    assert "一、中共清远市公路事务中心党组履行巡察整改主体责任情况" in lines
    checked = 0
    for heading in headings:
        for i, ln in enumerate(lines):
            if heading.startswith(ln) and ln != heading:
                joined, j = ln, i
                while len(joined) < len(heading) and j + 1 < len(lines):
                    j += 1
                    joined += lines[j]
                if joined == heading:
                    checked += 1
                    assert width(lines[j]) > 1, f"标题“{heading}”末行只有一个字：{lines[j]}"
                break
    assert len(headings) > 20


@needs_pdf_tools
def test_reminder_letter_converts_with_mapped_fonts(tmp_path, demo_ledger):
    (first, *_) = render_reminders(demo_ledger, today=date(2025, 4, 7), out_dir=tmp_path)
    pdf = convert_to_pdf(first)
    names = [line.split()[0] for line in run("pdffonts", str(pdf)).splitlines()[2:]]
    assert names and not any(re.search(r"DejaVu|Liberation", n) for n in names)
    body = [w for w in words(pdf) if w[2] <= BOTTOM]
    assert all(LEFT - TOLERANCE <= w[1] and w[3] <= RIGHT + TOLERANCE for w in body)


@needs_pdf_tools
@pytest.mark.parametrize("level", ["提醒函", "督办函", "告诫函"])
def test_each_ladder_letter_converts_inside_the_margins(tmp_path, demo_ledger, level):
    from toolkit.core.model import Table
    from toolkit.notice.reminders import render_letters

    monthly = Table("月度进展", [["月份", "截止日期"], ["2025-03", date(2025, 3, 31)]])
    letters = render_letters(demo_ledger, today=date(2025, 4, 7), out_dir=tmp_path, monthly=monthly)
    letter = next(x for x in letters if x.level == level)
    pdf = convert_to_pdf(letter.path)
    body = [w for w in words(pdf) if w[2] <= BOTTOM]
    assert all(LEFT - TOLERANCE <= w[1] and w[3] <= RIGHT + TOLERANCE for w in body)
    text = "".join(w[5] for w in body)
    assert letter.number.replace(" ", "") in text and "责任人" in text


def test_missing_libreoffice_skips_pdf_with_a_chinese_reason(demo_ledger, tmp_path, monkeypatch):
    monkeypatch.setenv("SOFFICE", str(tmp_path / "没有这个程序"))
    result = render_notice(demo_ledger, today=date(2025, 4, 7), out_path=tmp_path / "通报.docx", pdf=True)
    assert result.docx.exists() and result.pdf is None
    assert result.pdf_skipped.startswith("未找到 LibreOffice（soffice 命令），无法生成 PDF")
