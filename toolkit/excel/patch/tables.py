"""Table parts (``xl/tables/tableN.xml``, Excel's Ctrl+T ListObjects): widening a table to new columns.

When a sheet plan writes header cells in a table's header row, in the columns immediately
right of the table's last column (a contiguous run starting at the next column), the table is
extended over them: ``ref`` and ``autoFilter/@ref`` get the new last column (rows unchanged),
one ``<tableColumn id=... name=.../>`` per new column is appended (ids after the largest id,
names exactly the header texts written) and ``tableColumns/@count`` is updated. The part is
edited by splicing bytes; everything else in it stays byte-identical.

A table is left as it is (nothing reported) when: it has no header row or has a totals row;
it is not a plain worksheet table (``tableType`` such as ``queryTable``); the plan writes no
header in the column right after it; a header of the run is not non-empty text, holds a
control character (line break, tab) or repeats a column name of the table (case-insensitive,
as Excel compares them) or another header of the run; or the widened area would overlap
another table, a pivot table, a merged range or an array formula. A run stops at the first
column without a planned header: columns after such a gap stay outside.
"""

from __future__ import annotations

import re

from toolkit.core.plan import CellWrite
from toolkit.excel.patch.cells import cell_ref, parse_range
from toolkit.excel.patch.package import Edit, Package, resolve_target
from toolkit.excel.patch.xmltree import (
    X_ESC_RE,
    Node,
    decode_ooxml_text,
    escape_attr,
    parse_tree,
    qualify,
    set_attr,
    splice,
)

Range = tuple[int, int, int, int]
_CONTROL_RE = re.compile("[\x00-\x1f\x7f]")


def _overlaps(a: Range, b: Range) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _name_attr(text: str) -> bytes:
    """A column name as an ``ST_Xstring`` attribute value (a literal ``_xHHHH_`` protected)."""
    if "_x" in text:
        text = re.sub(r"_(?=x[0-9A-Fa-f]{4}_)", "_x005F_", text)
    return escape_attr(text)


def sheet_tables(pkg: Package, part: str) -> list[tuple[str, Node, Range]]:
    """(table part, parsed root, ref) of every table related to worksheet ``part``."""
    out = []
    for ty, target in pkg.part_rels(part).values():
        if ty.rsplit("/", 1)[-1] != "table":
            continue
        tpart = pkg.member_name(resolve_target(part, target))
        if not pkg.has(tpart):
            continue
        root = parse_tree(pkg.read(tpart), tpart)
        try:
            rng = parse_range(root.get(b"ref") or "")
        except ValueError:
            continue  # sheet_areas has refused such a part already
        out.append((tpart, root, rng))
    return out


def extend_tables(
    pkg: Package,
    part: str,
    header_cells: dict[int, dict[int, CellWrite]],
    blocked: list[Range],
    replaced: dict[str, bytes],
) -> list[str]:
    """Widen the tables of worksheet ``part`` over planned headers right of them (see module doc).

    ``header_cells`` are the plan's cells by row and column index, ``blocked`` the sheet's
    merged ranges, array-formula ranges and pivot areas. New table parts go into ``replaced``;
    returns ``"<displayName> <new ref>"`` per widened table.
    """
    tables = sheet_tables(pkg, part)
    ranges = [rng for _, _, rng in tables]
    done: list[str] = []
    for i, (tpart, root, rng) in enumerate(tables):
        new = _extension(root, rng, header_cells)
        if new is None:
            continue
        r1, c1, r2, c2 = rng
        added_cols = (r1, c2 + 1, r2, c2 + len(new))
        others = [o for j, o in enumerate(ranges) if j != i]
        if any(_overlaps(added_cols, b) for b in (*blocked, *others)):
            continue
        xml = pkg.read(tpart)
        new_ref = cell_ref(r1, c1) + ":" + cell_ref(r2, c2 + len(new))
        edits = _edits(xml, root, new_ref.encode(), new)
        if edits is None:
            continue
        replaced[tpart] = splice(xml, edits)
        ranges[i] = (r1, c1, r2, c2 + len(new))
        done.append(f"{root.get(b'displayName') or root.get(b'name') or tpart} {new_ref}")
    return done


def _extension(root: Node, rng: Range, header_cells: dict[int, dict[int, CellWrite]]) -> list[str] | None:
    """Names of the columns to append to this table, or None when it is left as it is."""
    if (root.get(b"headerRowCount") or "1") == "0" or int(root.get(b"totalsRowCount") or "0") > 0:
        return None
    if (root.get(b"tableType") or "worksheet") != "worksheet":
        return None
    cols = root.find(b"tableColumns")
    if cols is None or cols.self_closing:
        return None
    r1, _c1, _r2, c2 = rng
    row = header_cells.get(r1, {})
    taken = {decode_ooxml_text(c.attrs().get(b"name") or b"").casefold() for c in cols.findall(b"tableColumn")}
    names: list[str] = []
    col = c2 + 1
    while col in row:
        value = row[col].value
        if not isinstance(value, str) or not value.strip() or _CONTROL_RE.search(value) or X_ESC_RE.search(value):
            return None
        key = value.casefold()
        if key in taken:
            return None
        taken.add(key)
        names.append(value)
        col += 1
    return names or None


def _edits(xml: bytes, root: Node, new_ref: bytes, names: list[str]) -> list[Edit] | None:
    cols = root.find(b"tableColumns")
    assert cols is not None
    ids = []
    for c in cols.findall(b"tableColumn"):
        try:
            ids.append(int(c.get(b"id") or "0"))
        except ValueError:
            return None
    edits: list[Edit] = [(root.start, root.head_end, set_attr(xml[root.start : root.head_end], b"ref", new_ref))]
    af = root.find(b"autoFilter")
    if af is not None:
        edits.append((af.start, af.head_end, set_attr(xml[af.start : af.head_end], b"ref", new_ref)))
    q = qualify(cols.prefix, b"tableColumn")
    next_id = max([0, *ids]) + 1
    body = b"".join(
        b"<" + q + b' id="%d" name="' % (next_id + k) + _name_attr(name) + b'"/>' for k, name in enumerate(names)
    )
    count = str(len(ids) + len(names)).encode()
    edits.append((cols.start, cols.head_end, set_attr(xml[cols.start : cols.head_end], b"count", count)))
    edits.append((cols.close_pos(), cols.close_pos(), body))
    return edits
