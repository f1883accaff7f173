"""Perceptual hashes of photos: near-identical pictures (resized, recompressed) have hashes a few bits apart."""

import math
import statistics

from PIL import Image

_COS = [[math.cos((2 * x + 1) * u * math.pi / 64) for x in range(32)] for u in range(8)]


def perceptual_hash(image: Image.Image) -> str:
    """64-bit DCT hash as 16 hex digits; near-identical pictures (resized, recompressed) differ in few bits."""
    grey = image.convert("L").resize((32, 32), Image.Resampling.LANCZOS).tobytes()
    rows = [[sum(grey[y * 32 + x] * cos[x] for x in range(32)) for cos in _COS] for y in range(32)]
    coefficients = [sum(rows[y][u] * _COS[v][y] for y in range(32)) for v in range(8) for u in range(8)]
    median = statistics.median(coefficients)
    bits = 0
    for value in coefficients:
        bits = (bits << 1) | (value > median)
    return f"{bits:016x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
