"""Draw the Teams app's icons: `color.png` (192x192) and `outline.png` (32x32).

Run from the repository root with `python -m manifest.icons` (or `python manifest/icons.py`);
it rewrites both files beside this script, or in `--out DIR`. The drawing is plain geometry
(two linked rings for the two platforms, a presence dot), so the same PNGs come out every time
and a test checks that the committed files are what this script draws.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from presence_sync.package.png import Image, encode

__all__ = ["ACCENT", "color_icon", "main", "outline_icon"]

# The manifest's accentColor: the colour icon's background.
ACCENT = (0x1F, 0x5F, 0xBF)
_GREEN = (0x6B, 0xB7, 0x00)  # Teams' "Available" dot
_WHITE = (0xFF, 0xFF, 0xFF)
_SAMPLES = 4  # per axis: 16 samples a pixel smooth the edges

Shape = Callable[[float, float], bool]


def _ring(cx: float, cy: float, outer: float, inner: float) -> Shape:
    return lambda x, y: inner**2 <= (x - cx) ** 2 + (y - cy) ** 2 <= outer**2


def _disc(cx: float, cy: float, radius: float) -> Shape:
    return lambda x, y: (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def _rounded_square(size: float, radius: float) -> Shape:
    def inside(x: float, y: float) -> bool:
        dx = max(radius - x, 0.0, x - (size - radius))
        dy = max(radius - y, 0.0, y - (size - radius))
        return math.hypot(dx, dy) <= radius

    return inside


def _coverage(shape: Shape, px: int, py: int) -> float:
    step = 1 / _SAMPLES
    hits = sum(
        shape(px + (i + 0.5) * step, py + (j + 0.5) * step)
        for i in range(_SAMPLES)
        for j in range(_SAMPLES)
    )
    return hits / _SAMPLES**2


def _over(
    base: tuple[float, float, float, float], rgb: tuple[int, int, int], alpha: float
) -> tuple[float, float, float, float]:
    """`rgb` at `alpha` painted over a straight-alpha pixel."""
    r, g, b, a = base
    out = alpha + a * (1 - alpha)
    if out == 0:
        return (0.0, 0.0, 0.0, 0.0)
    mix = [(c * alpha + bc * a * (1 - alpha)) / out for c, bc in zip(rgb, (r, g, b), strict=True)]
    return (mix[0], mix[1], mix[2], out)


def _paint(size: int, layers: list[tuple[Shape, tuple[int, int, int], float]]) -> Image:
    pixels = []
    for y in range(size):
        for x in range(size):
            pixel = (0.0, 0.0, 0.0, 0.0)
            for shape, rgb, opacity in layers:
                cover = _coverage(shape, x, y)
                if cover:
                    pixel = _over(pixel, rgb, cover * opacity)
            r, g, b, a = pixel
            pixels.append((round(r), round(g), round(b), round(a * 255)))
    return Image(size, size, tuple(pixels))


def color_icon() -> Image:
    """192x192: two white linked rings and a green presence dot on the accent colour."""
    return _paint(
        192,
        [
            (_rounded_square(192, 36), ACCENT, 1.0),
            (_ring(76, 86, 42, 29), _WHITE, 1.0),
            (_ring(116, 86, 42, 29), _WHITE, 0.8),
            (_disc(142, 142, 30), ACCENT, 1.0),
            (_disc(142, 142, 24), _GREEN, 1.0),
        ],
    )


def outline_icon() -> Image:
    """32x32: the same rings and dot in white on transparent, as Teams requires."""
    rings_a, rings_b = _ring(12, 14, 8.5, 5.5), _ring(20, 14, 8.5, 5.5)
    gap, dot = _disc(24.5, 24.5, 6.5), _disc(24.5, 24.5, 4)

    def rings(x: float, y: float) -> bool:
        return (rings_a(x, y) or rings_b(x, y)) and not gap(x, y)

    return _paint(32, [(rings, _WHITE, 1.0), (dot, _WHITE, 1.0)])


def main(argv: list[str] | None = None) -> int:
    """Write color.png and outline.png; print where."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent, help="folder to write to"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, image in (("color.png", color_icon()), ("outline.png", outline_icon())):
        (args.out / name).write_bytes(encode(image))
        print(f"wrote {args.out / name} ({image.width}x{image.height})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
