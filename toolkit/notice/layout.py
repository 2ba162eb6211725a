"""GB/T 9704-2012 layout constants shared by the template builder, the renderer and the tests.

Lengths are in twips (1/20 pt) unless the name says otherwise; 1 mm = 56.6929 twips.
"""

from __future__ import annotations

MM = 56.6929  # twips per millimetre

PAGE_WIDTH_MM = 210
PAGE_HEIGHT_MM = 297
MARGIN_TOP_MM = 37
MARGIN_BOTTOM_MM = 35
MARGIN_LEFT_MM = 28
MARGIN_RIGHT_MM = 26
HEADER_DISTANCE_MM = 15
# The page number's dash line sits 7 mm below the type area (GB/T 9704 7.5): the footer
# paragraph (4号, one line) is placed so its middle is about 262 + 7 = 269 mm from the top.
FOOTER_DISTANCE_MM = 25

LINES_PER_PAGE = 22
CHARS_PER_LINE = 28
LINE_PITCH = 579  # twips: 28.95 pt, exact line spacing and docGrid linePitch (22 lines)

BODY_SIZE_PT = 16  # 3号
TITLE_SIZE_PT = 22  # 2号
PAGE_NUMBER_SIZE_PT = 14  # 4号
TABLE_SIZE_PT = 12  # 小四, used in reminder tables
TITLE_LINE = 700  # twips: 35 pt exact for the 22 pt title lines (off the grid)
TABLE_LINE = 360  # twips: 18 pt exact inside tables

# Glyphs condensed by 0.25 pt (w:spacing -5): 28 × 15.75 pt fit the 156 mm type width in
# both Word and LibreOffice (LibreOffice ignores Word's character grid, see notice-format.md).
CHAR_CONDENSE = -5  # twentieths of a point
CHAR_TWIPS = (BODY_SIZE_PT * 20) + CHAR_CONDENSE  # 315: one body character, for indents

FONT_BODY = "仿宋_GB2312"
FONT_TITLE = "方正小标宋简体"
FONT_HEITI = "黑体"
FONT_KAITI = "楷体_GB2312"
FONT_SONG = "宋体"

# Paragraph style names staff see in Word/WPS (style ids are ASCII, names are what matter).
STYLE_TITLE = "公文标题"
STYLE_BODY = "公文正文"
STYLE_H1 = "公文一级标题"
STYLE_H2 = "公文二级标题"
STYLE_H3 = "公文三级标题"
STYLE_ADDRESSEE = "公文主送机关"
STYLE_SIGNATURE = "公文落款"
STYLE_DATE = "公文日期"
STYLE_PAGE_NUMBER = "公文页码"
STYLE_TABLE = "公文表格"
STYLE_TABLE_HEAD = "公文表头"
# Character style: a run-in numbered lead sentence set like a level-2 heading (section 三: （一）… in 楷体).
STYLE_LEAD_CHAR = "公文楷体小标题"
