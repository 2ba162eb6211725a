"""Inflating zip members with zlib-ng (when installed) or zlib: the same bytes, the same facts, the same refusals
(issue 15, fourth round). Deflating stays with zlib (a rewritten member's bytes depend on the compressor)."""

from __future__ import annotations

import random
import zipfile
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.excel import inflating
from toolkit.excel.patch import PatchRefused
from toolkit.excel.patch.package import inflate, new_deflater, read_zip


def _raw_deflate(data: bytes, level: int) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def test_zlib_ng_is_installed_and_used():
    # A dependency of the project: an installation without it would still work (zlib), only slower.
    assert inflating.FAST


@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.binary(max_size=5000), st.integers(1, 9), st.integers(1, 4096))
def test_both_libraries_inflate_the_same_bytes_and_crc(data, level, max_length):
    stream = _raw_deflate(data * 3, level)
    d = inflating.decompressobj(-15)
    out = d.decompress(stream, max_length)
    while d.unconsumed_tail:
        out += d.decompress(d.unconsumed_tail, max_length)
    out += d.flush()
    assert out == data * 3 and d.eof
    assert inflating.crc32(out) == zlib.crc32(out)
    assert inflating.crc32(out[10:], inflating.crc32(out[:10])) == zlib.crc32(out)


def test_a_damaged_stream_raises_the_error_the_callers_catch():
    stream = bytearray(_raw_deflate(bytes(random.Random(1).randrange(256) for _ in range(4000)), 6))
    stream[0] ^= 0xFF
    with pytest.raises(inflating.error):
        inflating.decompressobj(-15).decompress(bytes(stream), 1 << 20)


def test_precheck_facts_identical_without_zlib_ng(tmp_path, monkeypatch):
    from fidelity_workbook import build_fidelity_workbook

    from toolkit.excel.untrusted import precheck

    path = build_fidelity_workbook(tmp_path / "f.xlsx", rows=200)
    fast = precheck(path)
    monkeypatch.setattr(inflating, "_fast", None)
    plain = precheck(path)
    fast.seconds = plain.seconds = 0.0
    assert vars(fast) == vars(plain)


def test_a_damaged_member_is_refused_by_the_package_reader(tmp_path):
    path = tmp_path / "w.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", "<worksheet>" + "<row/>" * 3000 + "</worksheet>")
    blob = bytearray(path.read_bytes())
    entry = read_zip(bytes(blob))[0][0]
    blob[entry.data_start + 5] ^= 0xFF  # the deflate stream itself
    with pytest.raises(PatchRefused, match="已损坏"):
        inflate(bytes(blob), entry)


def test_writes_still_deflate_with_zlib():
    data = b"<row r='1'/>" * 5000
    c = new_deflater()
    assert c.compress(data) + c.flush() == _raw_deflate(data, 6)
