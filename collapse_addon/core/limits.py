"""Bounds on what a scene file or a command line may ask for, checked before anything grows.

Pure Python. A frame range of two billion frames is counted, never listed; a scene file's size and
nesting depth are checked before the TOML parser (which recurses) sees it.
"""

from __future__ import annotations

import re

from .errors import SpecError

# Bounds checked before anything is expanded (a frame range of 2,000,000,000 frames is counted,
# never listed).
MAX_FRAMES = 100_000
MAX_SPEC_CHARS = 10_000
MAX_SCENE_BYTES = 1 << 20
MAX_NESTING = 16


def parse_frame_runs(text: str, field: str = "frames") -> list[tuple[int, int, int]]:
    """Read a frame spec into (first, last, step) runs, counting frames without listing them.

    SpecError when it cannot be read or holds more than MAX_FRAMES frames.
    """
    text = str(text)
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError(field, f"is {len(text)} characters long",
                        f"write at most {MAX_SPEC_CHARS} characters, e.g. 1-48")
    runs, count = [], 0
    for part in text.replace(" ", "").split(","):
        m = re.fullmatch(r"(-?\d{1,12})(?:-(-?\d{1,12})(?:x(\d{1,12}))?)?", part)
        if not m:
            raise SpecError(field, f"cannot read {part!r} in {text!r}",
                            "write frames like 1-48, 1,5,9 or 1-48x2")
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) is not None else a
        step = int(m.group(3)) if m.group(3) else 1
        if b < a or step < 1:
            raise SpecError(field, f"empty range {part!r}", "write the first frame first, e.g. 1-48")
        b = a + (b - a) // step * step  # the last frame the run really has
        count += (b - a) // step + 1
        if count > MAX_FRAMES:
            raise SpecError(field, f"{text!r} holds more than {MAX_FRAMES} frames",
                            f"give at most {MAX_FRAMES} frames")
        runs.append((a, b, step))
    return runs


def parse_frames(text: str, field: str = "frames") -> list[int]:
    """Parse "1-48", "1,5,9", "1-10,20-30" or "1-48x2" into a sorted list of unique frames."""
    frames: set[int] = set()
    for a, b, step in parse_frame_runs(text, field):
        frames.update(range(a, b + 1, step))
    return sorted(frames)


def nesting_depth(text: str) -> int:
    """The deepest nesting of [ and { outside strings and comments (an upper bound of TOML's),
    found without recursion so that a 100,000-deep array cannot exhaust the stack."""
    depth = deepest = 0
    quote, i, n = "", 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if text.startswith(quote, i):
                i += len(quote)
                quote = ""
                continue
        elif ch == "#":
            i = text.find("\n", i)
            if i < 0:
                break
        elif ch in "\"'":
            quote = text[i:i + 3] if text.startswith(ch * 3, i) else ch
            i += len(quote)
            continue
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest
