"""GB/T 9704-2012 layout facts read from the rendered notice's XML (no LibreOffice needed)."""

from __future__ import annotations

import re
import zipfile
from datetime import date

import docx
import pytest
from docx.oxml.ns import qn

from toolkit.notice import render_notice

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MM_TWIPS = 1440 / 25.4


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from toolkit.demo.ledger import build_demo_ledger

    path = tmp_path_factory.mktemp("layout") / "通报.docx"
    render_notice(build_demo_ledger(), today=date(2025, 4, 7), out_path=path)
    return path


@pytest.fixture(scope="module")
def document(rendered):
    return docx.Document(str(rendered))


def _attr(el, name):
    return None if el is None else el.get(W + name)


class StyleChain:
    """Resolve a paragraph style's effective properties through basedOn and docDefaults."""

    def __init__(self, document):
        self.styles = document.styles.element
        self.by_id = {s.get(qn("w:styleId")): s for s in self.styles.findall(qn("w:style"))}
        self.by_name = {s.find(qn("w:name")).get(qn("w:val")): s for s in self.styles.findall(qn("w:style"))}
        defaults = self.styles.find(qn("w:docDefaults"))
        self.default_rpr = defaults.find(f"{W}rPrDefault/{W}rPr")

    def chain(self, name):
        style = self.by_name[name]
        while style is not None:
            yield style
            based = style.find(qn("w:basedOn"))
            style = self.by_id.get(_attr(based, "val")) if based is not None else None

    def rpr(self, name, tag, attr="val"):
        for style in self.chain(name):
            el = style.find(f"{W}rPr/{W}{tag}")
            if el is not None and _attr(el, attr) is not None:
                return _attr(el, attr)
        el = self.default_rpr.find(W + tag)
        return _attr(el, attr)

    def ppr(self, name, tag, attr="val"):
        for style in self.chain(name):
            el = style.find(f"{W}pPr/{W}{tag}")
            if el is not None and _attr(el, attr) is not None:
                return _attr(el, attr)
        return None


def test_page_is_a4_with_gbt9704_margins(document):
    section = document.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    assert [
        round(x.mm) for x in (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    ] == [
        37,
        35,
        28,
        26,
    ]
    type_width = section.page_width.mm - section.left_margin.mm - section.right_margin.mm
    type_height = section.page_height.mm - section.top_margin.mm - section.bottom_margin.mm
    assert type_width == pytest.approx(156, abs=0.1) and type_height == pytest.approx(225, abs=0.1)


def test_line_grid_gives_22_lines(document):
    section = document.sections[0]
    grid = section._sectPr.find(qn("w:docGrid"))
    assert _attr(grid, "type") == "lines" and _attr(grid, "linePitch") == "579"
    # The document's own type-area height (twips) holds exactly 22 lines of its own pitch.
    type_height = section.page_height.twips - section.top_margin.twips - section.bottom_margin.twips
    assert type_height // int(_attr(grid, "linePitch")) == 22


@pytest.mark.parametrize(
    ("style", "font", "size_half_points"),
    [
        ("公文正文", "仿宋_GB2312", "32"),
        ("公文标题", "方正小标宋简体", "44"),
        ("公文一级标题", "黑体", "32"),
        ("公文二级标题", "楷体_GB2312", "32"),
        ("公文三级标题", "仿宋_GB2312", "32"),
        ("公文落款", "仿宋_GB2312", "32"),
        ("公文日期", "仿宋_GB2312", "32"),
        ("公文页码", "宋体", "28"),
    ],
)
def test_fonts_per_style_through_the_chain(document, style, font, size_half_points):
    chain = StyleChain(document)
    for slot in ("eastAsia", "ascii", "hAnsi"):
        assert chain.rpr(style, "rFonts", slot) == font, slot
        assert chain.rpr(style, "rFonts", slot + "Theme") is None
    assert chain.rpr(style, "sz") == size_half_points


def test_doc_defaults_name_the_body_font_without_theme_fonts(document):
    chain = StyleChain(document)
    fonts = chain.default_rpr.find(qn("w:rFonts"))
    assert _attr(fonts, "eastAsia") == "仿宋_GB2312"
    assert not any(k.endswith("Theme") for k in fonts.attrib)
    assert _attr(chain.default_rpr.find(qn("w:lang")), "eastAsia") == "zh-CN"


def test_body_paragraph_properties(document):
    chain = StyleChain(document)
    for style in ("公文正文", "公文一级标题", "公文二级标题", "公文三级标题"):
        assert chain.ppr(style, "spacing", "line") == "579"
        assert chain.ppr(style, "spacing", "lineRule") == "exact"
        assert chain.ppr(style, "ind", "firstLineChars") == "200"
        assert chain.ppr(style, "jc") == "both"
    assert chain.rpr("公文正文", "spacing") == "-5"  # 28 characters per line
    assert chain.ppr("公文正文", "overflowPunct") == "0"  # no punctuation in the margin


def test_title_is_centred_off_the_grid(document):
    chain = StyleChain(document)
    assert chain.ppr("公文标题", "jc") == "center"
    assert chain.ppr("公文标题", "snapToGrid") == "0"
    assert chain.ppr("公文标题", "ind", "firstLine") == "0"


def test_signature_and_date_placement(document):
    signature, day = document.paragraphs[-2], document.paragraphs[-1]
    assert document.paragraphs[-3].text == ""  # one blank line below the body
    for para, chars in ((signature, "200"), (day, "575")):
        ind = para._p.pPr.find(qn("w:ind"))
        assert _attr(ind, "rightChars") == chars
    chain = StyleChain(document)
    assert chain.ppr("公文落款", "jc") == chain.ppr("公文日期", "jc") == "right"


def test_footers_have_page_fields_odd_right_even_left(rendered, document):
    settings = document.settings.element
    assert settings.find(qn("w:evenAndOddHeaders")) is not None
    section = document.sections[0]
    for footer, align, indent in ((section.footer, "right", "right"), (section.even_page_footer, "left", "left")):
        assert not footer.is_linked_to_previous
        (para,) = footer.paragraphs
        assert para.style.name == "公文页码"
        assert _attr(para._p.pPr.find(qn("w:jc")), "val") == align
        assert _attr(para._p.pPr.find(qn("w:ind")), indent + "Chars") == "100"  # 空一字
        instr = "".join(t.text for t in para._p.iter(qn("w:instrText")))
        assert instr.strip() == "PAGE"
        assert [_attr(f, "fldCharType") for f in para._p.iter(qn("w:fldChar"))] == ["begin", "separate", "end"]
        assert para.text.startswith("— ") and para.text.endswith(" —")


def test_no_leftover_template_tags_and_no_word_numbering(rendered):
    with zipfile.ZipFile(rendered) as z:
        for name in z.namelist():
            if name.endswith(".xml"):
                xml = z.read(name).decode("utf-8")
                assert not re.search(r"\{\{|\{%|%\}|\}\}|\{#", xml), name
        assert "<w:numPr>" not in z.read("word/document.xml").decode("utf-8")


def test_every_paragraph_uses_a_named_official_style(document):
    names = {p.style.name for p in document.paragraphs}
    assert names <= {"公文标题", "公文正文", "公文一级标题", "公文二级标题", "公文三级标题", "公文落款", "公文日期"}
    assert {"公文标题", "公文一级标题", "公文二级标题", "公文三级标题", "公文落款", "公文日期"} <= names


def test_title_is_one_paragraph_with_a_manual_line_break(rendered):
    xml = zipfile.ZipFile(rendered).read("word/document.xml").decode("utf-8")
    first = xml[xml.index("<w:body>") : xml.index("</w:p>")]
    assert first.count("<w:br/>") == 1
    assert "中共清远市公路事务中心党组关于<" in first and ">八届市委第四轮巡察整改进展情况的通报" in first


def test_document_properties_carry_the_title_not_the_template_marker(document):
    props = document.core_properties
    assert props.title == "中共清远市公路事务中心党组关于八届市委第四轮巡察整改进展情况的通报"
    assert "toolkit:" not in (props.keywords or "")


def test_section3_leads_are_kaiti_like_level_2_headings(document):
    """Regression: section 三's （一）担子不松… leads were in the body font."""

    paras = document.paragraphs
    start = next(i for i, p in enumerate(paras) if p.text.startswith("三、"))
    leads = []
    for p in paras[start + 1 :]:
        if p.text.startswith("（"):
            first = p.runs[0]
            leads.append(first.text)
            style = first.style
            assert style.name == "公文楷体小标题"
            fonts = style.element.find(qn("w:rPr")).find(qn("w:rFonts"))
            assert fonts.get(qn("w:eastAsia")) == "楷体_GB2312"
            assert p.runs[1].style.name != "公文楷体小标题" and p.runs[1].text
    assert leads == ["（一）担子不松，严格落实全面从严治党主体责任。", "（二）力度不减，持续抓好整改后续工作。",
                     "（三）干劲不弱，着力推动公路事业高质量发展。"]


def test_heading_with_a_lone_last_character_is_condensed(document):
    """Regression: 一、…主体责任情况 (27 characters after a 2-character indent) left 况 alone."""
    from toolkit.notice.text import condense_to_avoid_lone_character

    heading = next(p for p in document.paragraphs if p.text.endswith("主体责任情况"))
    values = {int(r._r.rPr.find(qn("w:spacing")).get(qn("w:val"))) for r in heading.runs}
    assert len(values) == 1 and values.pop() < -5
    assert condense_to_avoid_lone_character(26, first=26, full=28, char_pt=15.75) == 0  # fits one line
    assert condense_to_avoid_lone_character(28, first=26, full=28, char_pt=15.75) == 0  # 2 on the last line
    assert condense_to_avoid_lone_character(27, first=26, full=28, char_pt=15.75) < 0
    assert condense_to_avoid_lone_character(55, first=26, full=28, char_pt=15.75) < 0
