"""Artist-time model: how long a person spends clicking through the manual route, and Collapse's.

Pure (no bpy). Machine time is measured by the benchmark; this is the other half of the cost, the
minutes an artist's hands are busy, and it is printed apart from the measured ratios, never added
to them. Two parts:

- ``manual_action_counts``: the count of UI actions, by kind, that the manual route
  (``headless/bench/manual_workflow.py``) takes for a given building and fracture. The replay counts its own
  actions as it runs; a test checks the two agree.
- ``ACTION_SECONDS``: seconds per action of each kind, an editable table. An artist writes their
  own in a TOML or JSON file (same keys, any subset) and loads it with ``load_action_seconds``.

The default seconds are estimates for a practised artist, from keystroke-level models of
GUI work (a keystroke ~0.3 s, a pointing click ~1.1 s, a mental preparation ~1.35 s) rounded up
for Blender's menus and redo panels; they are not measurements. Change them.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from collapse_addon.core.errors import SpecError

ACTION_SECONDS: dict[str, float] = {
    # Shift+A > Mesh > Cube (or camera, light, field): open the menu, pick the item.
    "add_primitive": 3.0,
    # Typing one number into a field (location, size, threshold) and confirming it.
    "type_value": 2.0,
    # Typing a name or a path.
    "type_text": 3.0,
    # One click (or shift-click) on an object in the viewport or outliner.
    "click_select": 1.5,
    # A single-key shortcut: A, Tab, H, I, Shift+D, Alt+Enter, G.
    "shortcut": 0.6,
    # An operator from a menu or F3 search: Add Active, Connect, Set Origin, Bake, Render.
    "menu_operator": 2.5,
    # Ticking a box or picking an enum in the properties editor.
    "property_edit": 1.5,
    # Mesh > Bisect: drag the cut line, tick Clear Outer and Fill, type the plane in the redo panel.
    "bisect": 12.0,
    # Inserting a keyframe on a hovered property (I) after setting the frame.
    "keyframe": 2.0,
}

# Collapse through the add-on: open the sidebar, set the handful of settings that differ from the
# defaults, press the buttons. Counted for the benchmark's default shot (see docs/benchmark.md).
COLLAPSE_ACTIONS: dict[str, int] = {
    "menu_operator": 5,  # Generate building, Fracture, Set up simulation, Bake, Render
    "type_value": 6,  # storeys, bays x/y, shard count, seed, trigger frame
    "property_edit": 3,  # trigger type, render engine, resolution preset
    "click_select": 2,
}


def load_action_seconds(path: str | Path | None = None) -> dict[str, float]:
    """The default table, with the entries of a TOML or JSON file (``{kind: seconds}``) applied.

    A TOML file may hold the entries at the top level or under an ``[action_seconds]`` table.
    Raises SpecError naming an unknown kind or a value that is not a non-negative number.
    """
    table = dict(ACTION_SECONDS)
    if path is None:
        return table
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError("action_seconds", f"cannot read {path}: {exc}", "give a TOML or JSON file") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise SpecError("action_seconds", f"{path} is not valid {path.suffix[1:] or 'TOML'}: {exc}",
                        "fix the syntax; see docs/benchmark.md for an example") from None
    if isinstance(data, dict) and isinstance(data.get("action_seconds"), dict):
        data = data["action_seconds"]
    if not isinstance(data, dict):
        raise SpecError("action_seconds", f"{path} must map action kinds to seconds",
                        f"e.g. bisect = 10.0; kinds: {', '.join(ACTION_SECONDS)}")
    for kind, value in data.items():
        if kind not in ACTION_SECONDS:
            raise SpecError(f"action_seconds.{kind}", "is not an action kind",
                            f"choose from {', '.join(ACTION_SECONDS)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or value < 0:
            raise SpecError(f"action_seconds.{kind}", f"must be seconds >= 0, got {value!r}", "e.g. 2.5")
        table[kind] = float(value)
    return table


@dataclass(frozen=True)
class ManualShot:
    """What the manual route's action count depends on (all from the same scene as Collapse's).

    ``cells_per_element``: Voronoi cells of each element (1: stays whole; the foundation is
    ``fractured=False``); ``planes_per_cell``: the bisector cuts of each cell, flat over all
    fractured elements; ``neighbours_later``: for each shard with later neighbours, how many (one
    Connect each); ``glue_groups``: distinct threshold groups; ``materials``: materials in use.
    """

    elements: int
    fractured_elements: int
    cells: int
    planes: int
    connect_shards: int
    connect_clicks: int
    glue_groups: int
    materials: int
    active_materials: int
    support_shards: int
    anchors: int = 1
    workbench: bool = True  # Workbench render: the artist also matches Collapse's look (5 edits)


def manual_action_counts(shot: ManualShot) -> Counter[str]:
    """The UI actions of the manual route, by kind (the replay in bench/ counts the same)."""
    c: Counter[str] = Counter()
    # building: per material New + name + colour; per element a cube, 6 values, a name, 2 clicks
    c["menu_operator"] += shot.materials
    c["type_text"] += shot.materials
    c["property_edit"] += shot.materials
    c["add_primitive"] += shot.elements + 1  # + the ground plane
    c["type_value"] += 6 * shot.elements + 4
    c["type_text"] += shot.elements + 1
    c["click_select"] += 2 * shot.elements
    # fracture: per cell Alt+A + click the source, Shift+D + drop, Tab, (A + Bisect) per plane, Tab
    c["shortcut"] += 5 * shot.cells + shot.planes
    c["click_select"] += shot.cells
    c["bisect"] += shot.planes
    # per fractured element: select it and hide it; then A + Set Origin
    c["shortcut"] += 2 * shot.fractured_elements + 1
    c["click_select"] += shot.fractured_elements
    c["menu_operator"] += 1
    # assembly: Add Active, Add Passive (select foundation + ground)
    c["shortcut"] += 2
    c["click_select"] += 1 + shot.anchors + 1
    c["menu_operator"] += 2
    # per material: select, Select Linked, 4 physics values, Calculate Mass (+density), Copy
    c["click_select"] += shot.active_materials
    c["menu_operator"] += 3 * shot.active_materials
    c["type_value"] += 5 * shot.active_materials
    # per shard with later neighbours: Alt+A, click each neighbour and the shard, Connect
    c["shortcut"] += shot.connect_shards
    c["click_select"] += shot.connect_clicks + shot.connect_shards
    c["menu_operator"] += shot.connect_shards
    # per glue group: select the group, Breakable + Disable Collisions, threshold, Alt+Enter
    c["shortcut"] += 2 * shot.glue_groups
    c["click_select"] += shot.glue_groups
    c["menu_operator"] += shot.glue_groups
    c["property_edit"] += 2 * shot.glue_groups
    c["type_value"] += shot.glue_groups
    # trigger: select the supports' constraints, key Enabled; select the supports, key Animated
    # and location, move them
    c["shortcut"] += 1 + 1 + 2
    c["click_select"] += 1 + shot.support_shards
    c["menu_operator"] += 1
    c["keyframe"] += 2 + 6
    c["property_edit"] += 2 + 3
    c["type_value"] += 1
    # world, camera, sun, render settings
    c["type_value"] += 6 + 8 + 3
    c["add_primitive"] += 2
    c["property_edit"] += 2 + 5 * shot.workbench  # Workbench look: AA, colour, light, shadows, cavity
    # bake; render (output path + Render Animation); preview movie in the sequencer
    c["menu_operator"] += 1 + 1 + 4
    c["type_text"] += 1 + 1
    c["property_edit"] += 4
    return c


def artist_seconds(counts: Counter[str] | dict[str, int], table: dict[str, float] | None = None) -> float:
    """Total seconds of the actions ``counts`` at the ``table``'s seconds per action."""
    table = ACTION_SECONDS if table is None else table
    missing = [k for k in counts if k not in table]
    if missing:
        raise SpecError(f"action_seconds.{missing[0]}", "has no seconds in the table",
                        f"add it; kinds: {', '.join(ACTION_SECONDS)}")
    return float(sum(n * table[k] for k, n in counts.items()))


def artist_report(manual_counts, table: dict[str, float] | None = None) -> dict:
    """Artist minutes for both routes and their ratio (a model, not a measurement)."""
    manual = artist_seconds(manual_counts, table)
    collapse = artist_seconds(COLLAPSE_ACTIONS, table)
    return {"manual_actions": int(sum(manual_counts.values())), "manual_seconds": manual,
            "collapse_actions": int(sum(COLLAPSE_ACTIONS.values())), "collapse_seconds": collapse,
            "ratio": manual / collapse if collapse > 0 else math.inf,
            "table": dict(ACTION_SECONDS if table is None else table)}
