"""Decode a PNG with the standard library, to prove a rendered frame is whole.

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
