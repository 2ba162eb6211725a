"""Lossless write-back of a :class:`~toolkit.core.plan.WritePlan` into an existing .xlsx/.xlsm.

Only the cells listed in the plan change. Every zip member the plan does not need is copied
as its raw compressed bytes (same name, order, compression method, local header, extra
fields, CRC and compressed data), so its content is byte-identical; the central directory
records of copied members differ only in the local-header offset. A worksheet the plan
touches is not re-serialised: the original bytes are kept and only the touched ``<row>``
elements are rebuilt and spliced in, cell by cell (untouched cells inside a touched row are
copied verbatim too).

Design choices
--------------
* **Library evaluation** (the same feature test as ``tests/test_patch_fidelity.py``, run on
  this project's fixture with wolfxl 2.0.21 and xlinject 0.2.0b2):

  - wolfxl (``load_workbook(modify=True)``): on .xlsx it kept every feature, but wrote the
    text ``=HYPERLINK("x")`` as a formula without a cached value (calamine read ``''``) and
    turned the literal text ``_x000D_`` into a carriage return. On .xlsm it rewrote all seven
    sheet XMLs with ``ns1:``… prefixes and dropped ``xl/comments1.xml`` and
    ``xl/sharedStrings.xml``: the x14 cross-sheet dropdown, the 2010 data bar, rich text and
    the comments were lost. Rejected.
  - xlinject (``inject_cells_mixed``): kept every feature on .xlsx and .xlsm and writes text
    as inline strings, but does not escape ``_xHHHH_`` (the literal ``_x000D_`` came back as a
    carriage return), writes no styles, dates or booleans, cannot create or clear a sheet and
    is alpha. Rejected.

  So this module is our own (stdlib zip/zlib + regex tokenising; no full XML parse of a
  worksheet).
* **Strings go to the shared-string table, append only.** Existing ``<si>`` entries are never
  moved; a plan string equal to an existing plain entry reuses its index, a new one is
  appended; ``uniqueCount`` grows by the number appended and ``count`` is adjusted by the
  references added and removed (so an exact count stays exact). Inline strings were the
  alternative (sharedStrings.xml would stay byte-identical), but a literal ``_x000D_`` must be
  stored as ``_x005F_x000D_``, and openpyxl undoes that escape only in shared strings, not in
  inline strings; calamine, Excel and LibreOffice read both. A carriage return is stored as
  ``&#13;``, which every reader decodes (openpyxl does not decode ``_x000D_``). Inline strings
  are used only when the workbook has no shared-string part at all (creating one would change
  more members).
  Orphaned entries (texts no cell uses any more) stay until Excel next saves the file.
* **Styles**: a cell written with a :class:`CellStyle` gets an ``xf`` derived from the cell's
  current ``xf`` (so borders, font name and size and vertical alignment of the staff's
  formatting stay): fill, font colour, bold, number format, wrap and horizontal alignment come
  from the CellStyle (``fill=None`` means no fill, ``bold=False`` not bold, ``font_color=None``
  keeps the base colour, ``num_format=None`` keeps the base format — except that dates always
  get a date format, ``yyyy-mm-dd`` or ``yyyy-mm-dd hh:mm``). New fonts, fills, numFmts and
  cellXfs entries are appended (deduplicated against existing entries, so repeated runs
  converge); existing indices never move. ``style=None`` keeps the cell's current style.
* **``None`` empties the value but keeps the cell's style** (borders of a staff's owned column
  survive). Cells cleared because of ``owned_columns`` keep their style too; in an
  ``owned_sheet`` cells outside the plan (from ``clear_from_row`` down) are removed outright,
  and so are rows left without cells.
* **Equivalent cells are left alone**: a plan cell whose current value, formula and style
  already match is not rewritten (whether Excel stored it as shared or inline string). A run
  that changes nothing reports ``changed=False`` and yields a byte-identical package.
* **Tables (Ctrl+T)**: header cells the plan writes right of a table, contiguous from the
  column after its last one, join the table (``ref``, ``autoFilter/@ref`` and ``tableColumns``
  edited in place; see :mod:`~toolkit.excel.patch.tables` for when a table is left as it is). A
  planned table-header cell that already holds the planned value is left alone whatever its
  formatting (rewriting a table header is refused, see below).
* Text is always text (``'=cmd'`` is stored as a string); only :class:`Formula` values become
  ``<f>`` with a cached ``<v>``. ``fullCalcOnLoad="1"`` is set on ``calcPr`` whenever
  anything changes. When a formula cell is overwritten or cleared, ``calcChain.xml`` is
  dropped (with its relationship and content-type override); Excel rebuilds it.

Refused (``PatchRefused``, raised before anything is written) when the plan would touch:
a shared-formula master or member; a cell of an array formula (or dynamic array, ``cm``);
a data-table formula; a cell with rich value metadata (``vm``: in-cell picture, checkbox
data); a table (ListObject) header (unless it already holds the planned value) or totals row; a pivot table's area; a merged range other
than its top-left cell; in a staff sheet a column whose header (row ``clear_from_row - 1``)
does not start with ``【自动】``; a chart sheet or missing sheet (unless ``owned_sheet``);
and for files that are encrypted, ZIP64, multi-part, strict OOXML, UTF-16, contain a DTD,
or are damaged. Plans with duplicate cells, invalid references, non-finite numbers, texts
over 32,767 characters, dates before 1900-03-01 or bad colours are refused as well.

Modules (one per OOXML part, as in XlsxWriter/openpyxl)
-------------------------------------------------------
* :mod:`~toolkit.excel.patch.package` — zip members, relationships, ``[Content_Types].xml``;
* :mod:`~toolkit.excel.patch.workbook` — ``xl/workbook.xml`` (new sheets, ``calcPr``);
* :mod:`~toolkit.excel.patch.sharedstrings` — ``xl/sharedStrings.xml``;
* :mod:`~toolkit.excel.patch.styles` — ``xl/styles.xml``;
* :mod:`~toolkit.excel.patch.sheetrows` — worksheets: the ``<row>``/``<c>`` rewriting;
* :mod:`~toolkit.excel.patch.tables` — ``xl/tables/tableN.xml``: widening a table over new columns;
* :mod:`~toolkit.excel.patch.checks` — plan checks and every refusal listed above;
* :mod:`~toolkit.excel.patch.cells`, :mod:`~toolkit.excel.patch.xmltree`,
  :mod:`~toolkit.excel.patch.errors` — cell references/values, XML helpers, exceptions;
* :mod:`~toolkit.excel.patch.apply` — :func:`prepare_patch` / :func:`apply_plan`.
"""

from toolkit.excel.patch.apply import OpenedPackage, PatchSummary, PreparedPatch, apply_plan, prepare_patch, read_ahead
from toolkit.excel.patch.errors import LedgerWriteError, PatchRefused
from toolkit.excel.patch.package import member_records

__all__ = [
    "LedgerWriteError",
    "OpenedPackage",
    "PatchRefused",
    "PatchSummary",
    "PreparedPatch",
    "apply_plan",
    "member_records",
    "prepare_patch",
    "read_ahead",
]
