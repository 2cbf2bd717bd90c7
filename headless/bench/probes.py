"""What the benchmark reads from the operating system: peak memory, frame file times, the machine."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def reset_peak_rss() -> None:
    """Reset the kernel's high-water mark of this process's resident memory (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_bytes() -> int | None:
    """This process's peak resident memory since the last reset (Linux), or None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def frame_mtimes(frames_dir: Path) -> dict[int, float]:
    """Frame number -> modification time (epoch s) of each image written in ``frames_dir``."""
    out = {}
    for f in frames_dir.glob("*"):
        digits = "".join(ch for ch in f.stem if ch.isdigit())
        if digits and f.suffix.lower() in (".png", ".exr", ".jpg"):
            out[int(digits)] = f.stat().st_mtime
    return out


def machine_info() -> dict:
    """CPU model, cores, memory, platform, Python and load average of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1),
            "platform": platform.platform(), "python": platform.python_version(),
            "loadavg": [round(x, 2) for x in os.getloadavg()]}

