"""Draws the packaged presenter image (src/interviewai/resources/avatar.png) from simple shapes."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import numpy as np

SIZE = 512


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0


def draw() -> np.ndarray:
    """The presenter as a SIZE x SIZE x 3 array of RGB bytes: a sky gradient, then shapes painted in order."""
    y = np.linspace(0, 1, SIZE)[:, None, None]
    image = ((1 - y) * np.array([226, 236, 245]) + y * np.array([176, 196, 222])) * np.ones((1, SIZE, 1))
    paint = {
        "blazer": (_ellipse(256, 560, 220, 170), (38, 52, 84)),
        "shirt": (_ellipse(256, 430, 60, 70) & (np.mgrid[0:SIZE, 0:SIZE][0] > 390), (240, 240, 240)),
        "neck": (_ellipse(256, 370, 44, 60), (224, 178, 148)),
        "hair_back": (_ellipse(256, 215, 118, 150), (58, 38, 30)),
        "face": (_ellipse(256, 235, 98, 122), (236, 192, 160)),
        "fringe": (_ellipse(256, 150, 104, 58) & (np.mgrid[0:SIZE, 0:SIZE][0] < 168), (58, 38, 30)),
        "eye_left": (_ellipse(220, 232, 11, 8), (46, 40, 38)),
        "eye_right": (_ellipse(292, 232, 11, 8), (46, 40, 38)),
        "mouth": (_ellipse(256, 296, 30, 10) & (np.mgrid[0:SIZE, 0:SIZE][0] > 294), (170, 74, 78)),
    }
    for mask, colour in paint.values():
        image[mask] = colour
    return image.astype(np.uint8)


def to_png(pixels: np.ndarray) -> bytes:
    """An 8-bit RGB PNG file of a height x width x 3 uint8 array, unfiltered and zlib level 9."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("src/interviewai/resources/avatar.png")
    target.write_bytes(to_png(draw()))
    print(f"wrote {target}")
