"""Decode a PNG (and structure-check an OpenEXR) with the standard library: is a frame whole?

A frame cut short by a killed process fails here: every chunk's CRC is checked and the image data is
inflated and must hold exactly ``height`` scanlines of the declared width and pixel format.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Samples per pixel for each PNG colour type.
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


class PngError(ValueError):
    """The file is not a complete, decodable PNG."""


def decode_png(path: str | Path) -> tuple[int, int, int]:
    """Decode ``path`` fully and return ``(width, height, channels)``; raise PngError if broken."""
    data = Path(path).read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise PngError(f"{path}: not a PNG (bad signature)")
    pos = len(PNG_SIGNATURE)
    header = None
    idat = bytearray()
    ended = False
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc_bytes = data[pos + 8 + length:pos + 12 + length]
        if len(body) != length or len(crc_bytes) != 4:
            raise PngError(f"{path}: truncated in chunk {kind!r}")
        if zlib.crc32(kind + body) != struct.unpack(">I", crc_bytes)[0]:
            raise PngError(f"{path}: CRC mismatch in chunk {kind!r}")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            ended = True
            break
        pos += 12 + length
    if header is None or not ended:
        raise PngError(f"{path}: missing {'IHDR' if header is None else 'IEND'}")
    width, height, depth, colour, _, _, interlace = header
    if colour not in CHANNELS:
        raise PngError(f"{path}: unknown colour type {colour}")
    try:
        raw = zlib.decompress(bytes(idat))
    except zlib.error as exc:
        raise PngError(f"{path}: image data does not inflate ({exc})") from None
    if interlace == 0:
        row_bytes = (width * CHANNELS[colour] * depth + 7) // 8
        expected = height * (1 + row_bytes)
        if len(raw) != expected:
            raise PngError(f"{path}: {len(raw)} bytes of pixels, expected {expected}")
        filters = raw[:: 1 + row_bytes]
        if any(f > 4 for f in filters):
            raise PngError(f"{path}: bad scanline filter type")
    return width, height, CHANNELS[colour]


EXR_MAGIC = b"\x76\x2f\x31\x01"


def check_exr(path: str | Path) -> None:
    """Structure check of an OpenEXR file: magic, a header that ends, and a complete offset table
    whose every chunk lies inside the file (a file cut short fails). Raise PngError if broken."""
    data = Path(path).read_bytes()
    if data[:4] != EXR_MAGIC:
        raise PngError(f"{path}: not an OpenEXR file (bad magic)")
    if len(data) < 16:
        raise PngError(f"{path}: truncated OpenEXR header")
    flags = data[5]
    multipart = bool(flags & 0x10)
    pos, parts, chunk_counts = 8, 0, []
    while True:  # one header per part; a multi-part file ends the list with an empty header
        if pos >= len(data):
            raise PngError(f"{path}: truncated OpenEXR header")
        if data[pos] == 0:
            pos += 1
            break
        count, ymin, ymax, compression = None, None, None, 0
        while True:
            end = data.find(b"\0", pos)
            if end < 0:
                raise PngError(f"{path}: truncated OpenEXR header")
            name = data[pos:end]
            if not name:
                pos = end + 1
                break
            type_end = data.find(b"\0", end + 1)
            if type_end < 0 or type_end + 5 > len(data):
                raise PngError(f"{path}: truncated OpenEXR header")
            (size,) = struct.unpack("<i", data[type_end + 1:type_end + 5])
            value = data[type_end + 5:type_end + 5 + size]
            if size < 0 or len(value) != size:
                raise PngError(f"{path}: truncated OpenEXR attribute {name!r}")
            if name == b"chunkCount":
                (count,) = struct.unpack("<i", value)
            elif name == b"dataWindow":
                _, ymin, _, ymax = struct.unpack("<iiii", value)
            elif name == b"compression":
                compression = value[0]
            pos = type_end + 5 + size
        if count is None:
            if ymin is None:
                raise PngError(f"{path}: OpenEXR header without a data window")
            lines = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 16, 8: 32, 9: 256}
            count = -(-(ymax - ymin + 1) // lines.get(compression, 1))
        chunk_counts.append(count)
        parts += 1
        if not multipart:
            break
    total = sum(chunk_counts)
    table_end = pos + 8 * total
    if table_end > len(data):
        raise PngError(f"{path}: truncated OpenEXR offset table")
    offsets = struct.unpack(f"<{total}Q", data[pos:table_end])
    if any(not table_end <= o < len(data) for o in offsets):
        raise PngError(f"{path}: OpenEXR chunk offsets point past the end (file cut short)")
    # The last chunk's data must end inside the file.
    last = max(offsets)
    head = 4 + (4 if multipart else 0)
    if last + head + 4 > len(data):
        raise PngError(f"{path}: last OpenEXR chunk cut short")
    (size,) = struct.unpack("<i", data[last + head:last + head + 4])
    if last + head + 4 + size > len(data):
        raise PngError(f"{path}: last OpenEXR chunk cut short")


def check_image(path: str | Path) -> None:
    """Prove a frame file is whole: a PNG is decoded, an EXR structure-checked. PngError if not."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PngError(f"{path}: cannot read it ({exc.strerror})") from None
    if size == 0:
        raise PngError(f"{path}: empty file")
    if path.suffix.lower() == ".exr":
        check_exr(path)
    else:
        decode_png(path)


def check_mp4(path: str | Path) -> None:
    """Structure check of an MP4: top-level boxes tile the file exactly, with ``ftyp``, ``moov``
    and a non-empty ``mdat`` (a file cut short by a full disk or a kill fails). PngError if not."""
    data = Path(path).read_bytes()
    pos, kinds = 0, {}
    while pos < len(data):
        if pos + 8 > len(data):
            raise PngError(f"{path}: MP4 cut short in a box header")
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > len(data):
                raise PngError(f"{path}: MP4 cut short in a box header")
            (size,) = struct.unpack(">Q", data[pos + 8:pos + 16])
            header = 16
        elif size == 0:
            size = len(data) - pos
        if size < header or pos + size > len(data):
            raise PngError(f"{path}: MP4 box {kind!r} runs past the end (file cut short)")
        kinds[kind] = kinds.get(kind, 0) + size - header
        pos += size
    for need in (b"ftyp", b"moov", b"mdat"):
        if need not in kinds:
            raise PngError(f"{path}: MP4 without a {need.decode()} box")
    if kinds[b"mdat"] == 0:
        raise PngError(f"{path}: MP4 with no video data")
