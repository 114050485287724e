#!/usr/bin/env python3
"""Draws Plansync's app icons (app/icons): a plan's list on the brand blue, as SVG and as the
192 and 512 pixel PNGs an install needs. Standard library only; run it again after changing
the shapes below."""
import os, struct, zlib

BLUE = (0x0B, 0x5C, 0xAD)
WHITE = (0xFF, 0xFF, 0xFF)
# Shapes on a 100 x 100 canvas, inside the 80 % safe zone of a maskable icon:
# (kind, x, y, w, h) — round dots and rounded bars, three rows of a list.
SHAPES = [("dot", 26, 34, 8, 8), ("bar", 38, 34, 38, 8),
          ("dot", 26, 48, 8, 8), ("bar", 38, 48, 30, 8),
          ("dot", 26, 62, 8, 8), ("bar", 38, 62, 34, 8)]

def inside(x, y):
    for kind, sx, sy, w, h in SHAPES:
        r = h / 2
        if kind == "dot":
            if (x - sx - r) ** 2 + (y - sy - r) ** 2 <= r * r:
                return True
        elif sx + r <= x <= sx + w - r and sy <= y <= sy + h:
            return True
        elif sy <= y <= sy + h and ((x - sx - r) ** 2 + (y - sy - r) ** 2 <= r * r
                                    or (x - sx - w + r) ** 2 + (y - sy - r) ** 2 <= r * r):
            return True
    return False

def png(size):
    rows, n = [], 3  # 3 x 3 samples per pixel
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            hits = sum(inside((px + (i + .5) / n) * 100 / size, (py + (j + .5) / n) * 100 / size)
                       for i in range(n) for j in range(n))
            a = hits / (n * n)
            row += bytes(round(b * (1 - a) + w * a) for b, w in zip(BLUE, WHITE))
        rows.append(bytes(row))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))

def svg():
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">',
             '<rect width="100" height="100" rx="18" fill="#0b5cad"/>']
    for kind, x, y, w, h in SHAPES:
        if kind == "dot":
            parts.append(f'<circle cx="{x + w / 2:g}" cy="{y + h / 2:g}" r="{h / 2:g}" fill="#fff"/>')
        else:
            parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{h / 2:g}" fill="#fff"/>')
    return "".join(parts) + "</svg>\n"

out = os.path.join(os.path.dirname(__file__), "..", "app", "icons")
os.makedirs(out, exist_ok=True)
for size in (192, 512):
    with open(os.path.join(out, f"icon-{size}.png"), "wb") as f:
        f.write(png(size))
with open(os.path.join(out, "icon.svg"), "w") as f:
    f.write(svg())
