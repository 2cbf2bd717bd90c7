"""Exact helpers for small convex polygons in a plane (the shared faces of touching elements).

Plain Python floats on purpose: for polygons of a handful of corners they run several times faster
than numpy, whose per-call overhead dominates at this size.
"""

from __future__ import annotations

Point = tuple[float, float]


def clip_convex(subject: list[Point], clip: list[Point]) -> list[Point]:
    """Intersection of two convex polygons, both counter-clockwise (Sutherland-Hodgman)."""
    output = subject
    n = len(clip)
    for i in range(n):
        if not output:
            break
        ax, ay = clip[i]
        bx, by = clip[(i + 1) % n]
        ex, ey = bx - ax, by - ay
        side = [ex * (py - ay) - ey * (px - ax) for px, py in output]
        if min(side) >= 0:
            continue
        if max(side) < 0:
            return []
        pts = []
        m = len(output)
        for k in range(m):
            sk, sn = side[k], side[(k + 1) % m]
            if sk >= 0:
                pts.append(output[k])
            if (sk >= 0) != (sn >= 0):
                t = sk / (sk - sn)
                (px, py), (qx, qy) = output[k], output[(k + 1) % m]
                pts.append((px + t * (qx - px), py + t * (qy - py)))
        output = pts
    return output


def area_centroid(poly: list[Point]) -> tuple[float, Point]:
    """Area and centroid of a simple polygon (either winding)."""
    a = cx = cy = 0.0
    m = len(poly)
    for k in range(m):
        x0, y0 = poly[k]
        x1, y1 = poly[(k + 1) % m]
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(a) < 1e-300:
        xs, ys = zip(*poly, strict=True)
        return 0.0, (sum(xs) / m, sum(ys) / m)
    return abs(a) / 2, (cx / (3 * a), cy / (3 * a))
