"""The benchmark's outputs for people: the terminal report and the chart."""

from __future__ import annotations

import os
from pathlib import Path

from headless.bench.shot import ROUTES, STAGES


def _fmt(v, unit="", digits=3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 10**digits or abs(v) < 10 ** -(digits - 1)):
            return f"{v:.2e}{unit}"
        return f"{v:.{digits}g}{unit}"
    return f"{v}{unit}"


def format_report(data: dict) -> str:
    """The terminal report: per size and route, the stage table; ratios; scaling; bars; artist model."""
    s = data["summary"]
    lines = [f"Collapse bench: {data['scene']} (seed {data['seed']}, {data['frames']} frames, "
             f"{data['render']['engine']} {data['render']['resolution'][0]}x{data['render']['resolution'][1]})",
             f"machine: {data['machine']['cpu']}, {data['machine']['cores']} cores, "
             f"{data['machine']['memory_gib']} GiB; load at start {data['machine']['loadavg']}", ""]
    head = f"{'route':9}{'shards':>7} {'stage':10}{'wall s':>10}{'cpu s':>10}{'peak MiB':>10}{'spread':>8}  throughput"
    lines += ["Measured machine time (work inside each stage's process; median of repeats)", head,
              "-" * len(head)]
    for route in ROUTES:
        for n, row in s["table"][route].items():
            for stage in STAGES:
                v = row.get(stage)
                if not v:
                    continue
                tp = (f"{v['shards_per_s']:.3g} shards/s" if "shards_per_s" in v
                      else f"{v['frames_per_min']:.3g} frames/min" if "frames_per_min" in v else "")
                lines.append(f"{route:9}{n:>7} {stage:10}{_fmt(v['work_s']):>10}{_fmt(v['cpu_s']):>10}"
                             f"{_fmt(v['peak_rss_mb'], digits=4):>10}{_fmt(v['spread'], digits=2):>8}  {tp}")
            t = row["_total"]
            lines.append(f"{route:9}{n:>7} {'shot':10}{_fmt(t['work_s']):>10}{'':>28}  "
                         f"{_fmt(t['shots_per_hour'])} shots/hour; first frame after trigger "
                         f"{_fmt(t['first_frame_s'])} s")
    lines += ["", "Ratio manual / Collapse (machine time; 'extrapolated' rows use the manual fit)"]
    cols = [*STAGES, "fracture+assembly", "shot", "first_frame"]
    lines.append(f"{'shards':>7} {'source':13}" + "".join(f"{c[:12]:>13}" for c in cols))
    for n, row in s["ratios"].items():
        lines.append(f"{n:>7} {row['source']:13}" + "".join(f"{_fmt(row.get(c)):>13}" for c in cols))
    if s.get("cpu_ratios"):
        lines += ["", "Ratio manual / Collapse in CPU time (less sensitive to other jobs on the machine)"]
        for n, row in s["cpu_ratios"].items():
            lines.append(f"{n:>7} {row['source']:13}" + "".join(f"{_fmt(row.get(c)):>13}" for c in cols))
    lines += ["", "Scaling: growth exponent k (time ~ N^k, least squares on log-log)",
              f"{'route':9}" + "".join(f"{st:>11}" for st in STAGES)]
    for route in ROUTES:
        lines.append(f"{route:9}" + "".join(f"{_fmt(s['exponents'][route][st]['all'], digits=2):>11}"
                                            for st in STAGES) + "   (all sizes, wall)")
        lines.append(f"{route:9}" + "".join(f"{_fmt(s['exponents'][route][st].get('cpu'), digits=2):>11}"
                                            for st in STAGES) + "   (all sizes, CPU)")
    lines.append(f"{'collapse':9}" + "".join(
        f"{_fmt(s['exponents']['collapse'][st]['1000_8000'], digits=2):>11}" for st in STAGES)
        + "   (1,000-8,000)")
    if s["manual_extrapolated"]:
        lines += ["", "Manual route, EXTRAPOLATED (not run at these sizes; wall time at the largest size "
                  "it ran at, scaled by its CPU-time power law)"]
        for n, row in s["manual_extrapolated"].items():
            lines.append(f"{n:>7} " + "  ".join(f"{st} {_fmt(row.get(st))} s" for st in STAGES))
    lines += ["", "Bars"]
    for b in data["bars"]:
        lines.append(f"  [{'met' if b['met'] else 'NOT MET'}] {b['bar']}: {_fmt(b['value'])} "
                     f"({b['source']}){' -- ' + b['note'] if b.get('note') else ''}")
    if data.get("missing"):
        lines += ["", "Not measured: " + "; ".join(data["missing"])]
    a = data.get("artist")
    if a:
        lines += ["", "Artist-time MODEL (estimated seconds per UI action, editable; NOT measured, "
                  "never added to the machine-time ratios)"]
        for n, r in a.items():
            lines.append(f"{n:>7} shards: manual {r['manual_actions']} actions = "
                         f"{r['manual_seconds'] / 3600:.3g} h; Collapse {r['collapse_actions']} actions = "
                         f"{r['collapse_seconds'] / 60:.3g} min; ratio {r['ratio']:.3g}x")
    return "\n".join(lines)


STAGE_COLORS = {"building": "#4c72b0", "fracture": "#dd8452", "assembly": "#55a868",
                "bake": "#c44e52", "render": "#8172b3", "finalize": "#937860"}


def write_chart(data: dict, path: Path) -> None:
    """PNG: stage time against shard count for both routes, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    s = data["summary"]
    fig, (ax, rax) = plt.subplots(1, 2, figsize=(14, 6.5), dpi=100, width_ratios=(3, 2))
    for stage in STAGES:
        color = STAGE_COLORS[stage]
        for route, style, marker in (("collapse", "-", "o"), ("manual", "--", "s")):
            pts = sorted((int(n), row[stage]["work_s"]) for n, row in s["table"][route].items()
                         if stage in row and row[stage]["work_s"] > 0)
            if pts:
                ax.plot(*zip(*pts, strict=True), style, marker=marker, color=color,
                        label=f"{route} {stage}")
        ext = sorted((int(n), row[stage]) for n, row in s["manual_extrapolated"].items() if stage in row)
        measured = [(int(n), row[stage]["work_s"]) for n, row in s["table"]["manual"].items() if stage in row]
        if ext and measured:
            ax.plot(*zip(*([max(measured)] + ext), strict=True), ":", color=color, alpha=0.7)
        ratio = sorted((int(n), r[stage], r["source"]) for n, r in s["ratios"].items() if stage in r)
        if ratio:
            rax.plot([n for n, _, _ in ratio], [v for _, v, _ in ratio], "-", color=color, label=stage)
            for n, v, src in ratio:
                rax.plot(n, v, "o" if src == "measured" else "x", color=color)
    shot = sorted((int(n), r["shot"]) for n, r in s["ratios"].items() if "shot" in r)
    if shot:
        rax.plot(*zip(*shot, strict=True), "k-", lw=2.5, label="whole shot")
    rax.axhline(1.0, color="grey", lw=0.8)
    for a in (ax, rax):
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("shards")
        a.grid(True, which="both", alpha=0.3)
        a.set_xticks(data["sizes"])
        a.xaxis.set_major_formatter(ScalarFormatter())
        a.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("stage time, s (work inside the stage's process)")
    ax.set_title(f"Stage times: Collapse (solid) vs manual Blender (dashed; dotted: extrapolated)\n"
                 f"{Path(data['scene']).name}, {data['frames']} frames, {data['machine']['cpu']}",
                 fontsize=10)
    rax.set_ylabel("manual / Collapse (o measured, x manual extrapolated)")
    rax.set_title("How many times faster Collapse is, per stage", fontsize=10)
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    rax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)

