"""Small exact helpers for convex polygons in a plane (the shared faces of touching elements)."""

from __future__ import annotations

import numpy as np


def signed_area(poly: np.ndarray) -> float:
    """Shoelace area of a 2D polygon (positive when counter-clockwise)."""
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def area_centroid(poly: np.ndarray) -> tuple[float, np.ndarray]:
    """Area and centroid of a simple 2D polygon (either winding)."""
    x, y = poly[:, 0], poly[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    a = 0.5 * cross.sum()
    if abs(a) < 1e-300:
        return 0.0, poly.mean(0)
    cx = ((x + xn) * cross).sum() / (6 * a)
    cy = ((y + yn) * cross).sum() / (6 * a)
    return abs(a), np.array([cx, cy])


def clip_convex(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Intersection of two convex 2D polygons, both counter-clockwise (Sutherland-Hodgman)."""
    output = subject
    n = len(clip)
    for i in range(n):
        if len(output) == 0:
            break
        a, b = clip[i], clip[(i + 1) % n]
        edge = b - a
        # inside: left of the edge (counter-clockwise clip polygon)
        side = edge[0] * (output[:, 1] - a[1]) - edge[1] * (output[:, 0] - a[0])
        inside = side >= 0
        if inside.all():
            continue
        if not inside.any():
            return output[:0]
        nxt_side = np.roll(side, -1)
        nxt = np.roll(output, -1, axis=0)
        pts = []
        for k in range(len(output)):
            if inside[k]:
                pts.append(output[k])
            if (side[k] >= 0) != (nxt_side[k] >= 0):
                t = side[k] / (side[k] - nxt_side[k])
                pts.append(output[k] + t * (nxt[k] - output[k]))
        output = np.array(pts) if pts else output[:0]
    return output


def ccw(poly: np.ndarray) -> np.ndarray:
    """The polygon in counter-clockwise order."""
    return poly if signed_area(poly) >= 0 else poly[::-1]
