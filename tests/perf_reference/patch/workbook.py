"""The workbook part (``xl/workbook.xml``): new ``<sheet>`` entries and ``calcPr``.

Adding a sheet also adds its relationship and its content-type override (see
:mod:`perf_reference.patch.package`); dropping the calculation chain removes both of its own.
"""

from __future__ import annotations

from perf_reference.patch.errors import refuse
from perf_reference.patch.package import (
    CONTENT_TYPES_PART,
    REL_NS,
    WORKSHEET_CT,
    Edit,
    Package,
    add_overrides,
    add_relationships,
    relative_target,
    remove_override,
    remove_relationships,
)
from perf_reference.patch.xmltree import escape_attr, parse_tree, qualify, set_attr, splice


def edit_workbook(
    pkg: Package, new_sheets: list[tuple[str, str]], replaced: dict[str, bytes], calc_part: str | None
) -> None:
    """workbook.xml (new sheets, fullCalcOnLoad), its rels and [Content_Types].xml, into ``replaced``."""
    wb, root = pkg.wb_xml, pkg.wb_root
    p = root.prefix
    edits: list[Edit] = []
    rels_xml = pkg.read(pkg.wb_rels_part) if pkg.has(pkg.wb_rels_part) else None
    rels_root = parse_tree(rels_xml, pkg.wb_rels_part) if rels_xml is not None else None
    rel_edits: list[Edit] = []
    ct_xml = pkg.read(CONTENT_TYPES_PART)
    ct_root = parse_tree(ct_xml, CONTENT_TYPES_PART)
    ct_edits: list[Edit] = []

    if new_sheets:
        if rels_root is None:
            raise refuse(
                "工作簿缺少关系文件（workbook.xml.rels），无法新建工作表。请用 Excel 打开并另存为 .xlsx 后再试。"
            )
        sheets = root.find(b"sheets")
        if sheets is None:
            raise refuse("工作簿结构异常（缺少 sheets）。请用 Excel 打开并另存为 .xlsx 后再试。")
        ids = [int(s.get(b"sheetId") or 0) for s in sheets.children]
        next_id = max([0, *ids]) + 1
        used_rids = {r.get(b"Id") for r in rels_root.children}
        k = 1
        sheet_xml = b""
        new_rels: list[tuple[str, str, str]] = []
        for name, part in new_sheets:
            while f"rId{k}" in used_rids:
                k += 1
            rid = f"rId{k}"
            used_rids.add(rid)
            if pkg.rel_prefix:
                rattr = pkg.rel_prefix + b':id="' + rid.encode() + b'"'
            else:
                rattr = b'xmlns:r="' + REL_NS + b'" r:id="' + rid.encode() + b'"'
            sheet_xml += (
                b"<"
                + qualify(p, b"sheet")
                + b' name="'
                + escape_attr(name)
                + b'" sheetId="%d" ' % next_id
                + rattr
                + b"/>"
            )
            next_id += 1
            new_rels.append((rid, "worksheet", relative_target(pkg.wb_part, part)))
        if sheets.self_closing:
            head = wb[sheets.start : sheets.head_end][:-2].rstrip() + b">"
            edits.append((sheets.start, sheets.end, head + sheet_xml + b"</" + sheets.qname + b">"))
        else:
            edits.append((sheets.close_pos(), sheets.close_pos(), sheet_xml))
        rel_edits += add_relationships(rels_root, new_rels)
        ct_edits += add_overrides(ct_root, [(part, WORKSHEET_CT) for _name, part in new_sheets])

    calc = root.find(b"calcPr")
    if calc is not None:
        if calc.get(b"fullCalcOnLoad") not in ("1", "true"):
            edits.append((calc.start, calc.head_end, set_attr(wb[calc.start : calc.head_end], b"fullCalcOnLoad", b"1")))
    else:
        before = [
            c
            for c in root.children
            if c.local in (b"sheets", b"functionGroups", b"externalReferences", b"definedNames")
        ]
        pos = max(c.end for c in before) if before else root.close_pos()
        edits.append((pos, pos, b"<" + qualify(p, b"calcPr") + b' fullCalcOnLoad="1"/>'))

    if calc_part is not None:
        if rels_root is not None:
            rel_edits += remove_relationships(rels_root, "/calcChain")
        ct_edits += remove_override(ct_root, calc_part)

    if edits:
        replaced[pkg.wb_part] = splice(wb, edits)
    if rel_edits and rels_xml is not None:
        replaced[pkg.wb_rels_part] = splice(rels_xml, rel_edits)
    if ct_edits:
        replaced[CONTENT_TYPES_PART] = splice(ct_xml, ct_edits)
