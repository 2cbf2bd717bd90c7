"""The benchmark's maths on measured runs: medians, ratios, growth exponents, extrapolation, bars."""

from __future__ import annotations

import math

import click
import numpy as np

from headless.bench.shot import ROUTES, STAGES

GROWTH_LIMIT = 1.3


def growth_exponent(sizes, times) -> float | None:
    """Least-squares slope of log(time) on log(size); None with fewer than two usable points."""
    pts = [(s, t) for s, t in zip(sizes, times, strict=True) if t is not None and t > 0]
    if len({s for s, _ in pts}) < 2:
        return None
    x = np.log([s for s, _ in pts])
    y = np.log([t for _, t in pts])
    return float(np.polyfit(x, y, 1)[0])


def _median(values):
    vals = [v for v in values if v is not None]
    return float(np.median(vals)) if vals else None


def _spread(values):
    """(max - min) / median of repeated measurements; None with fewer than two."""
    vals = [v for v in values if v is not None]
    if len(vals) < 2 or np.median(vals) <= 0:
        return None
    return float((max(vals) - min(vals)) / np.median(vals))


def _throughput(stage: str, cells: int, frames: int, seconds: float | None) -> dict:
    if not seconds or seconds <= 0:
        return {}
    if stage in ("building", "fracture", "assembly"):
        return {"shards_per_s": cells / seconds}
    if stage in ("bake", "render", "finalize"):
        return {"frames_per_min": 60 * frames / seconds}
    return {}


def summarize(runs: list[dict], sizes: list[int], frames: int) -> dict:
    """Medians over repeats, ratios, throughput, exponents and extrapolated manual times."""
    table: dict[str, dict[int, dict]] = {r: {} for r in ROUTES}
    for route in ROUTES:
        for n in sizes:
            reps = [r for r in runs if r["route"] == route and r["cells"] == n]
            if not reps:
                continue
            row: dict = {}
            for stage in STAGES:
                done = [r["stages"].get(stage) for r in reps]
                done = [d for d in done if d and "work_s" in d]
                if not done:
                    continue
                work = [d["work_s"] for d in done]
                row[stage] = {"work_s": _median(work), "cpu_s": _median([d["cpu_s"] for d in done]),
                              "peak_rss_mb": _median([(d.get("peak_rss_bytes") or 0) / 2**20 for d in done]),
                              "spread": _spread(work), "repeats": len(done)}
                row[stage].update(_throughput(stage, n, frames, row[stage]["work_s"]))
            complete = all(s in row for s in STAGES)
            total = sum(v["work_s"] for v in row.values()) if complete else None
            row["_total"] = {"work_s": total, "shots_per_hour": 3600 / total if total else None,
                             "first_frame_s": _median([r["first_frame_s"] for r in reps]),
                             "first_frame_spread": _spread([r["first_frame_s"] for r in reps])}
            table[route][n] = row
    exponents: dict[str, dict[str, dict]] = {r: {} for r in ROUTES}
    for route in ROUTES:
        measured = sorted(table[route])
        for stage in STAGES:
            times = [table[route][n].get(stage, {}).get("work_s") for n in measured]
            high = [(n, t) for n, t in zip(measured, times, strict=True) if 1000 <= n <= 8000]
            cpu = [table[route][n].get(stage, {}).get("cpu_s") for n in measured]
            exponents[route][stage] = {
                "all": growth_exponent(measured, times),
                "1000_8000": growth_exponent([n for n, _ in high], [t for _, t in high]),
                "cpu": growth_exponent(measured, cpu),
            }
    # Manual times beyond the sizes it ran at: the power law fitted on the sizes it ran at, with
    # the exponent of the CPU times (steadier than wall times when other jobs share the machine).
    extrapolated: dict[int, dict[str, float]] = {}
    manual_sizes = sorted(table["manual"])
    for n in sizes:
        if n in table["manual"] or not manual_sizes:
            continue
        ref = max(manual_sizes)
        row = {}
        for stage in STAGES:
            k = exponents["manual"][stage]["cpu"]
            k = exponents["manual"][stage]["all"] if k is None else k
            t = table["manual"][ref].get(stage, {}).get("work_s")
            if k is not None and t is not None:
                row[stage] = t * (n / ref) ** k
        extrapolated[n] = row
    ratios: dict[int, dict] = {}
    cpu_ratios: dict[int, dict] = {}
    for n in sizes:
        c = table["collapse"].get(n)
        if not c:
            continue
        m = table["manual"].get(n)
        mt = {s: v["work_s"] for s, v in m.items() if s in STAGES} if m else extrapolated.get(n, {})
        row = {"source": "measured" if m else "extrapolated"}
        for stage in STAGES:
            if stage in c and mt.get(stage) and c[stage]["work_s"] > 0:
                row[stage] = mt[stage] / c[stage]["work_s"]
        setup_c = [c.get(s, {}).get("work_s") for s in ("fracture", "assembly")]
        setup_m = [mt.get(s) for s in ("fracture", "assembly")]
        if None not in setup_c and None not in setup_m:
            row["fracture+assembly"] = sum(setup_m) / sum(setup_c)
        if c["_total"]["work_s"] and all(mt.get(s) for s in STAGES):
            row["shot"] = sum(mt[s] for s in STAGES) / c["_total"]["work_s"]
        if not m and manual_sizes:
            # Conservative: the manual route growing only linearly beyond the largest size it ran
            # at (each of its operators touches the whole scene, so it cannot grow slower).
            ref = max(manual_sizes)
            lin = {st: table["manual"][ref][st]["work_s"] * n / ref for st in STAGES
                   if st in table["manual"][ref]}
            if all(st in lin and st in c for st in ("fracture", "assembly")):
                row["fracture+assembly_linear_bound"] = (lin["fracture"] + lin["assembly"]) / (
                    c["fracture"]["work_s"] + c["assembly"]["work_s"])
        if m and c["_total"]["first_frame_s"] and m["_total"]["first_frame_s"]:
            row["first_frame"] = m["_total"]["first_frame_s"] / c["_total"]["first_frame_s"]
        ratios[n] = row
        if m:
            cpu = {"source": "measured"}
            for stage in STAGES:
                if stage in c and stage in m and c[stage]["cpu_s"] > 0:
                    cpu[stage] = m[stage]["cpu_s"] / c[stage]["cpu_s"]
            ok = all(stage in c and stage in m for stage in STAGES)
            if ok:
                cpu["shot"] = sum(m[st]["cpu_s"] for st in STAGES) / sum(c[st]["cpu_s"] for st in STAGES)
            if all(st in c and st in m for st in ("fracture", "assembly")):
                cpu["fracture+assembly"] = (m["fracture"]["cpu_s"] + m["assembly"]["cpu_s"]) / \
                    (c["fracture"]["cpu_s"] + c["assembly"]["cpu_s"])
            cpu_ratios[n] = cpu
    return {"table": {route: {str(n): row for n, row in rows.items()} for route, rows in table.items()},
            "exponents": exponents,
            "manual_extrapolated": {str(k): v for k, v in extrapolated.items()},
            "ratios": {str(k): v for k, v in ratios.items()},
            "cpu_ratios": {str(k): v for k, v in cpu_ratios.items()}}


GROWTH_NOTES = {
    "bake": "Bullet's cost per step grows with bodies x contacts and with the size of the "
            "constraint islands; Collapse does less work per shard but keeps Bullet's growth.",
    "assembly": "Blender's view_layer.update() over the constraint empties grows faster than "
                "linearly (shared/PERFORMANCE.md).",
}


def judge_bars(summary: dict) -> list[dict]:
    """The issue's bars, each with the figure it was judged on and where that figure came from."""
    out = []
    r = summary["ratios"].get("4000")
    if r and "fracture+assembly" in r:
        value = min(r["fracture+assembly"], r.get("fracture+assembly_linear_bound", math.inf))
        source = r["source"] if value == r["fracture+assembly"] else \
            "extrapolated, manual growing only linearly beyond the sizes it ran at (a lower bound)"
        out.append({"bar": "fracture + scene setup >= 100x at 4,000 shards", "value": value,
                    "met": value >= 100, "source": source})
    measured = [(int(n), v) for n, v in summary["ratios"].items() if v["source"] == "measured"]
    for key, label, need in (("first_frame", "settings to first frame after trigger >= 10x", 10),
                             ("bake", "bake no slower than manual", 1),
                             ("render", "render no slower than manual", 1)):
        vals = [(n, v[key]) for n, v in measured if key in v]
        for n, value in vals:
            out.append({"bar": label, "value": value, "met": value >= need, "source": f"measured at {n}"})
    for stage, e in summary["exponents"]["collapse"].items():
        k = e.get("1000_8000")
        if k is not None and k > GROWTH_LIMIT:
            out.append({"bar": f"collapse {stage} grows no worse than N^{GROWTH_LIMIT} (1,000-8,000)",
                        "value": k, "met": False, "source": "measured",
                        "note": GROWTH_NOTES.get(stage, "see docs/benchmark.md")})
    return out


def check_comparable(old: dict, new: dict) -> None:
    """Refuse to compare benchmarks of different scenes or seeds (or unlike settings)."""
    for key, what in (("scene_hash", "scene file"), ("seed", "seed"), ("frames", "frame count"),
                      ("render", "render settings")):
        if old.get(key) != new.get(key):
            raise click.ClickException(f"cannot compare: the {what} differs ({old.get(key)!r} in the "
                                       f"old run, {new.get(key)!r} now); rerun with the same scene")


def compare_report(old: dict, new: dict) -> tuple[str, bool]:
    """Per size and ratio, old vs new and the relative change; within 15% counts as reproduced.

    Wall-time and CPU-time ratios are judged apart (on a shared machine the wall times move
    with other jobs; the CPU times far less). Returns the text and the wall-time verdict.
    """
    lines = []
    verdicts = {}
    for key, title in (("ratios", "wall time"), ("cpu_ratios", "CPU time")):
        ok, rows = True, []
        for n, row in new["summary"].get(key, {}).items():
            prev = old["summary"].get(key, {}).get(n)
            if not prev:
                continue
            for name, value in row.items():
                if name == "source" or not prev.get(name) or value is None:
                    continue
                change = value / prev[name] - 1
                ok &= abs(change) <= 0.15
                rows.append(f"{n:>7} {name:18} {prev[name]:10.3g} -> {value:10.3g}  ({change:+.1%})")
        if rows:
            lines += [f"Comparison with the earlier run: ratios manual / Collapse in {title}", *rows,
                      f"{title}: " + ("reproduced, every ratio within 15%" if ok
                                      else "NOT reproduced, a ratio moved by more than 15%"), ""]
            verdicts[key] = ok
    return "\n".join(lines).rstrip(), verdicts.get("ratios", True)

