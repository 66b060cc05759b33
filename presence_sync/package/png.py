"""Just enough PNG to draw the app's icons and to check the icons a package carries.

Teams refuses an outline icon that is not 32x32 white on transparent, and says so only after
the upload; reading the pixels here lets `presence-sync package` say it first. Only what the
standard library offers (zlib, struct), so the checks need no imaging library.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

__all__ = ["Image", "decode", "encode"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Colour type -> channels, for 8-bit images: grey, RGB, grey+alpha, RGBA.
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


@dataclass(frozen=True)
class Image:
    """An RGBA image: `pixels` holds width x height (r, g, b, a) tuples, row by row."""

    width: int
    height: int
    pixels: tuple[tuple[int, int, int, int], ...]
    has_alpha: bool = True


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def encode(image: Image) -> bytes:
    """The image as an 8-bit RGBA PNG (filter 0 on every row; the same bytes every time)."""
    if len(image.pixels) != image.width * image.height:
        raise ValueError("pixel count does not match width x height")
    rows = bytearray()
    for y in range(image.height):
        rows.append(0)
        for r, g, b, a in image.pixels[y * image.width : (y + 1) * image.width]:
            rows += bytes((r, g, b, a))
    header = struct.pack(">IIBBBBB", image.width, image.height, 8, 6, 0, 0, 0)
    return (
        _SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def decode(data: bytes) -> Image:
    """The pixels of an 8-bit, non-interlaced grey, RGB, grey+alpha or RGBA PNG.

    Anything else raises ValueError saying what the file is and how to save it instead.
    """
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG file")
    position, header, compressed = len(_SIGNATURE), None, bytearray()
    while position + 8 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
    if header is None or len(header) != 13:
        raise ValueError("PNG without a header")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise ValueError(
            f"PNG of bit depth {depth}, colour type {colour}"
            f"{', interlaced' if interlace else ''}; save it as an 8-bit RGBA PNG"
        )
    channels = _CHANNELS[colour]
    try:
        raw = zlib.decompress(bytes(compressed))
    except zlib.error as err:
        raise ValueError(f"PNG image data is corrupt ({err})") from None
    stride = width * channels
    if len(raw) < height * (stride + 1):
        raise ValueError("PNG image data is truncated")
    rows = _unfilter(raw, height, stride, channels)
    pixels = []
    for row in rows:
        for x in range(width):
            px = row[x * channels : (x + 1) * channels]
            if channels == 1:
                pixels.append((px[0], px[0], px[0], 255))
            elif channels == 2:
                pixels.append((px[0], px[0], px[0], px[1]))
            elif channels == 3:
                pixels.append((px[0], px[1], px[2], 255))
            else:
                pixels.append((px[0], px[1], px[2], px[3]))
    return Image(width, height, tuple(pixels), has_alpha=colour in (4, 6))


def _unfilter(raw: bytes, height: int, stride: int, bpp: int) -> list[bytes]:
    """Undo the per-row filters (None, Sub, Up, Average, Paeth) of PNG's filter method 0."""
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                corner = previous[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
            elif kind != 0:
                raise ValueError(f"unknown PNG row filter {kind}")
        previous = bytes(line)
        rows.append(previous)
    return rows


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c
