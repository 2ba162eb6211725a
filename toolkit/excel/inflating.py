"""Inflating (decompressing) zip members: zlib-ng when installed, else the standard zlib.

Inflating is exact: the same deflate stream gives the same bytes whichever library decodes it, and
zlib-ng does it about twice as fast (measured on the bench task sheet, 6.5 MB: 16–21 ms with zlib,
8–9 ms with zlib-ng). Deflating is NOT done here: a rewritten member's bytes depend on the compressor,
so every write keeps the standard zlib at level 6 (toolkit.excel.patch.package.new_deflater).
"""

from __future__ import annotations

import zlib
from typing import Any

try:  # pragma: no cover - depends on the installation
    from zlib_ng import zlib_ng as _fast
except ImportError:  # pragma: no cover - an installation without the wheel falls back to zlib
    _fast = None

error = zlib.error if _fast is None else (zlib.error, _fast.error)
"""What a corrupt deflate stream raises (catch this tuple)."""


def decompressobj(wbits: int = -15) -> Any:
    """A decompressor with zlib's ``decompressobj`` interface (``decompress(data, max_length)``,
    ``unconsumed_tail``, ``eof``, ``flush``)."""
    return (_fast or zlib).decompressobj(wbits)


def crc32(data: Any, value: int = 0) -> int:
    """CRC-32 as zip stores it (the same value from either library)."""
    return (_fast or zlib).crc32(data, value)


FAST = _fast is not None
"""Whether zlib-ng is in use (reported by the tests and the benchmarks)."""
