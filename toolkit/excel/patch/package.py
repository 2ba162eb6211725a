"""The OPC package: zip members, relationships and ``[Content_Types].xml``.

Members the patch does not change are copied as their raw compressed bytes (same name,
order, compression method, local header, extra fields, CRC and data); only their offset in
the central directory changes. Relationship targets are resolved by :func:`resolve_target`
and nowhere else.
"""

from __future__ import annotations

import posixpath
import struct
import zlib
from dataclasses import dataclass

from toolkit.excel import inflating
from toolkit.excel.patch.errors import refuse
from toolkit.excel.patch.xmltree import Node, escape_attr, ns_prefix, parse_tree, qualify, unescape

MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = b"http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_NS = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_BASE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


# ----------------------------------------------------------------------------- zip members
@dataclass
class ZipEntry:
    name: str
    raw_name: bytes
    cd: bytes  # raw central-directory record
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    local_start: int
    data_start: int
    local_end: int  # end of data (+ data descriptor)


_CD_FMT = "<4sHHHHHHIIIHHHHHII"
_LOCAL_FMT = "<4sHHHHHIIIHH"


def read_zip(blob: bytes) -> tuple[list[ZipEntry], bytes]:
    """Parse the central directory; refuse what cannot be raw-copied safely."""
    if blob[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise refuse(
            "文件已加密（设置了打开密码）或是旧版 .xls 格式，无法写回。请在 Excel 中取消打开密码，并另存为 .xlsx 后再试。"
        )
    pos = blob.rfind(b"PK\x05\x06", max(0, len(blob) - 65_557))
    if pos < 0 or len(blob) < pos + 22:
        raise refuse("文件不是有效的 Excel 工作簿（.xlsx/.xlsm），可能已损坏。请用 Excel 打开确认后另存一份再试。")
    _, disk, cd_disk, n_disk, n, cd_size, cd_off, clen = struct.unpack("<4sHHHHIIH", blob[pos : pos + 22])
    if disk or cd_disk or n != n_disk or n == 0xFFFF or cd_off == 0xFFFFFFFF:
        raise refuse("工作簿的压缩格式特殊（ZIP64 或分卷），无法安全写回。请用 Excel 打开并另存为 .xlsx 后再试。")
    if cd_off + cd_size != pos:
        raise refuse("工作簿文件结构异常（可能已损坏或被其他程序改动）。请用 Excel 打开并另存为 .xlsx 后再试。")
    comment = blob[pos + 22 : pos + 22 + clen]
    entries: list[ZipEntry] = []
    p = cd_off
    for _ in range(n):
        rec = struct.unpack(_CD_FMT, blob[p : p + 46])
        sig, _vm, _vn, flags, method, _t, _d, crc, csize, usize, nlen, elen, clen2, _ds, _ia, _ea, off = rec
        if sig != b"PK\x01\x02":
            raise refuse("工作簿文件结构异常（目录损坏）。请用 Excel 打开并另存为 .xlsx 后再试。")
        end = p + 46 + nlen + elen + clen2
        raw_name = blob[p + 46 : p + 46 + nlen]
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
        if flags & 0x1:
            raise refuse("工作簿中有加密的部件，无法写回。请取消加密后再试。")
        if 0xFFFFFFFF in (csize, usize, off):
            raise refuse("工作簿的压缩格式特殊（ZIP64），无法安全写回。请用 Excel 打开并另存为 .xlsx 后再试。")
        if method not in (0, 8):
            raise refuse(f"工作簿部件 {name} 使用了不支持的压缩方式。请用 Excel 打开并另存为 .xlsx 后再试。")
        lsig, *_rest, lnlen, lelen = struct.unpack(_LOCAL_FMT, blob[off : off + 30])
        if lsig != b"PK\x03\x04":
            raise refuse("工作簿文件结构异常（数据损坏）。请用 Excel 打开并另存为 .xlsx 后再试。")
        data_start = off + 30 + lnlen + lelen
        local_end = data_start + csize
        if flags & 0x8:
            local_end += 16 if blob[local_end : local_end + 4] == b"PK\x07\x08" else 12
        if local_end > cd_off:
            raise refuse("工作簿文件结构异常（数据越界）。请用 Excel 打开并另存为 .xlsx 后再试。")
        entries.append(
            ZipEntry(name, raw_name, blob[p:end], flags, method, crc, csize, usize, off, data_start, local_end)
        )
        p = end
    return entries, comment


def member_records(blob: bytes) -> list[tuple[str, int, bytes]]:
    """Members of a package in directory order: (name, compression method, raw local record).

    The raw record is the local header, compressed data and data descriptor exactly as
    stored: two members with equal records are byte-identical in every respect but their
    offset. Raises :class:`PatchRefused` for packages this module cannot handle.
    """
    entries, _ = read_zip(blob)
    return [(e.name, e.method, blob[e.local_start : e.local_end]) for e in entries]


def inflate(blob: bytes, e: ZipEntry) -> bytes:
    raw = memoryview(blob)[e.data_start : e.data_start + e.csize]
    if e.method == 8:
        d = inflating.decompressobj(-15)
        try:
            data = d.decompress(raw, e.usize + 1)
        except inflating.error:
            data = b""  # a damaged stream: refused below as a damaged member
    else:
        data = bytes(raw)
    if len(data) != e.usize or inflating.crc32(data) != e.crc:
        raise refuse(f"工作簿部件 {e.name} 已损坏（校验和不符）。请用 Excel 打开修复并另存后再试。")
    return data


def new_deflater() -> zlib._Compress:
    """The compressor of every rewritten member: raw deflate, level 6 (a member's bytes depend on it)."""
    return zlib.compressobj(6, zlib.DEFLATED, -15)


def deflate(data: bytes) -> bytes:
    c = new_deflater()
    return c.compress(data) + c.flush()


def pack(data: bytes) -> tuple[int, int, bytes]:
    """(CRC-32, size, deflated bytes) of a member's new content, as :func:`build_zip` stores it."""
    return zlib.crc32(data), len(data), deflate(data)


def build_zip(
    blob: bytes,
    entries: list[ZipEntry],
    comment: bytes,
    replaced: dict[str, bytes],
    removed: set[str],
    added: list[tuple[str, bytes]],
    dos_time: tuple[int, int],
    packed: dict[str, tuple[int, int, bytes]] | None = None,
) -> list[bytes | memoryview]:
    """Assemble the new package as a list of chunks (one per member, then the directory).

    ``packed`` holds :func:`pack` results computed ahead for some replaced (deflated) members;
    their content in ``replaced`` is then not needed.
    """
    chunks: list[bytes | memoryview] = []
    cds: list[bytes] = []
    offset = 0
    for e in entries:
        if e.name in removed:
            continue
        if e.name in replaced:
            if packed and e.name in packed and e.method == 8:
                crc, usize, comp = packed[e.name]
            else:
                data = replaced[e.name]
                comp = deflate(data) if e.method == 8 else data
                crc, usize = zlib.crc32(data), len(data)
            _sig, vneed, _fl, _m, ltime, ldate, *_r, lnlen, lelen = struct.unpack(
                _LOCAL_FMT, blob[e.local_start : e.local_start + 30]
            )
            lname_extra = blob[e.local_start + 30 : e.local_start + 30 + lnlen + lelen]
            flags = e.flags & ~0x8
            header = struct.pack(
                _LOCAL_FMT, b"PK\x03\x04", vneed, flags, e.method, ltime, ldate, crc, len(comp), usize, lnlen, lelen
            )
            chunk = header + lname_extra + comp
            rec = bytearray(e.cd)
            struct.pack_into("<H", rec, 8, flags)
            struct.pack_into("<III", rec, 16, crc, len(comp), usize)
        else:
            chunk = memoryview(blob)[e.local_start : e.local_end]  # no copy of the raw member
            rec = bytearray(e.cd)
        struct.pack_into("<I", rec, 42, offset)
        chunks.append(chunk)
        cds.append(bytes(rec))
        offset += len(chunk)
    for name, data in added:
        raw_name = name.encode("utf-8")
        flags = 0x800 if not name.isascii() else 0
        comp = deflate(data)
        crc = zlib.crc32(data)
        t, d = dos_time
        header = struct.pack(_LOCAL_FMT, b"PK\x03\x04", 20, flags, 8, t, d, crc, len(comp), len(data), len(raw_name), 0)
        chunks.append(header + raw_name + comp)
        cds.append(
            struct.pack(
                _CD_FMT,
                b"PK\x01\x02",
                20,
                20,
                flags,
                8,
                t,
                d,
                crc,
                len(comp),
                len(data),
                len(raw_name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + raw_name
        )
        offset += len(chunks[-1])
    cd = b"".join(cds)
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(cds), len(cds), len(cd), offset, len(comment)) + comment
    chunks.append(cd + eocd)
    return chunks


# ----------------------------------------------------------------------------- relationships
def resolve_target(base_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_part), target))


def rels_name(part: str) -> str:
    d, _, f = part.rpartition("/")
    return f"{d}/_rels/{f}.rels" if d else f"_rels/{f}.rels"


# ----------------------------------------------------------------------------- the parsed package
@dataclass
class SheetInfo:
    name: str
    part: str | None
    kind: str  # worksheet / chartsheet / dialogsheet / macrosheet / unknown
    node: Node


class Package:
    """The parsed package: members, workbook, relationships."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self.entries, self.comment = read_zip(blob)
        self.by_name = {e.name: e for e in self.entries}
        self.by_lower = {e.name.lower(): e for e in self.entries}
        self._cache: dict[str, bytes] = {}
        rels = self._rels("", "_rels/.rels")
        wb_target = next((t for ty, t in rels.values() if ty.endswith("/officeDocument")), None)
        if wb_target is None:
            if "xl/workbook.xml" not in self.by_name:
                if any("\\" in e.name for e in self.entries):
                    raise refuse(
                        "工作簿内部的文件名用了反斜杠“\\”（不符合 Excel 文件格式，多为其他软件导出），无法安全写回。"
                        "请用 Excel 打开并另存为 .xlsx 后再试。"
                    )
                raise refuse("文件不是有效的 Excel 工作簿（找不到 workbook.xml）。请用 Excel 打开确认后另存一份再试。")
            wb_target = "/xl/workbook.xml"
        self.wb_part = resolve_target("", wb_target)
        self.wb_xml = self.read(self.wb_part)
        self.wb_root = parse_tree(self.wb_xml, self.wb_part)
        ns = ns_prefix(self.wb_root, MAIN_NS)
        if ns is None or ns != self.wb_root.prefix:
            if ns_prefix(self.wb_root, STRICT_NS) is not None:
                raise refuse(
                    "工作簿是“Strict Open XML”格式，无法安全写回。请在 Excel 中另存为普通的“Excel 工作簿(*.xlsx)”后再试。"
                )
            raise refuse("工作簿的 XML 命名空间无法识别。请用 Excel 打开并另存为 .xlsx 后再试。")
        self.wb_rels_part = rels_name(self.wb_part)
        self.wb_rels = self._rels(self.wb_part, self.wb_rels_part)
        self.rel_prefix = ns_prefix(self.wb_root, REL_NS)
        pr = self.wb_root.find(b"workbookPr")
        self.date1904 = pr is not None and (pr.get(b"date1904") or "").lower() in ("1", "true")
        self.sheets: list[SheetInfo] = []
        sheets = self.wb_root.find(b"sheets")
        for node in sheets.children if sheets else []:
            rid = next((v for k, v in node.attrs().items() if k.endswith(b":id") and k != b"xml:id"), None)
            rel = self.wb_rels.get(unescape(rid)) if rid is not None else None
            part = resolve_target(self.wb_part, rel[1]) if rel else None
            kind = rel[0].rsplit("/", 1)[-1] if rel else "unknown"
            self.sheets.append(SheetInfo(node.get(b"name") or "", part, kind, node))

    def read(self, name: str, *, keep: bool = True) -> bytes:
        """A member's content; ``keep=False`` does not cache it (a worksheet, read once), and drops it from the
        cache when it was read ahead (apply.read_ahead)."""
        data = self._cache.get(name) if keep else self._cache.pop(name, None)
        if data is None:
            e = self.by_name.get(name) or self.by_lower.get(name.lower())
            if e is None:
                raise KeyError(name)
            data = inflate(self.blob, e)
            if keep:
                self._cache[name] = data
        return data

    def has(self, name: str) -> bool:
        return name in self.by_name or name.lower() in self.by_lower

    def member_name(self, name: str) -> str:
        e = self.by_name.get(name) or self.by_lower.get(name.lower())
        return e.name if e else name

    def _rels(self, part: str, rels_part: str) -> dict[str, tuple[str, str]]:
        """``{rId: (type, target)}``; external targets are skipped."""
        if not self.has(rels_part):
            return {}
        root = parse_tree(self.read(rels_part), rels_part)
        out: dict[str, tuple[str, str]] = {}
        for rel in root.children:
            if rel.local == b"Relationship" and (rel.get(b"TargetMode") or "") != "External":
                out[rel.get(b"Id") or ""] = (rel.get(b"Type") or "", rel.get(b"Target") or "")
        return out

    def part_rels(self, part: str) -> dict[str, tuple[str, str]]:
        return self._rels(part, rels_name(part))

    def wb_part_of_type(self, suffix: str) -> str | None:
        for ty, target in self.wb_rels.values():
            if ty.endswith(suffix):
                part = resolve_target(self.wb_part, target)
                return self.member_name(part) if self.has(part) else None
        return None


# ----------------------------------------------------------------------------- editing relationships and content types
CONTENT_TYPES_PART = "[Content_Types].xml"
Edit = tuple[int, int, bytes]


def relative_target(base_part: str, part: str) -> str:
    """The ``Target`` of a relationship from ``base_part`` to ``part`` (inverse of :func:`resolve_target`)."""
    return posixpath.relpath(part, posixpath.dirname(base_part) or ".")


def add_relationships(rels_root: Node, rels: list[tuple[str, str, str]]) -> list[Edit]:
    """Edits appending ``(Id, type name, Target)`` relationships (type name such as ``worksheet``)."""
    q = qualify(rels_root.prefix, b"Relationship")
    xml = b"".join(
        b"<" + q + b' Id="' + rid.encode() + b'" Type="' + REL_BASE.encode() + kind.encode() + b'" Target="'
        + escape_attr(target) + b'"/>'
        for rid, kind, target in rels
    )  # fmt: skip
    return [(rels_root.close_pos(), rels_root.close_pos(), xml)] if xml else []


def remove_relationships(rels_root: Node, type_suffix: str) -> list[Edit]:
    """Edits removing every relationship whose type ends with ``type_suffix`` (``/calcChain``)."""
    return [(rel.start, rel.end, b"") for rel in rels_root.children if (rel.get(b"Type") or "").endswith(type_suffix)]


def add_overrides(ct_root: Node, overrides: list[tuple[str, str]]) -> list[Edit]:
    """Edits appending ``<Override PartName=... ContentType=...>`` for ``(part, content type)``."""
    q = qualify(ct_root.prefix, b"Override")
    xml = b"".join(
        b"<" + q + b' PartName="/' + escape_attr(part) + b'" ContentType="' + ctype.encode() + b'"/>'
        for part, ctype in overrides
    )
    return [(ct_root.close_pos(), ct_root.close_pos(), xml)] if xml else []


def remove_override(ct_root: Node, part: str) -> list[Edit]:
    """Edits removing the ``<Override>`` of ``part`` (case-insensitive, as OPC part names are)."""
    return [
        (ov.start, ov.end, b"")
        for ov in ct_root.children
        if ov.local == b"Override" and (ov.get(b"PartName") or "").lstrip("/").lower() == part.lower()
    ]
