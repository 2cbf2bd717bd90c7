"""Materials are values: a shot's resolved table travels on its Building, never through a global.

Pure core (no bpy scene): ``api.make_shards`` returns the building carrying the shot's table, and
masses, glue and the structural strengths read it from there. Two shots with different overrides
built in two threads at the same time each get their own numbers.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from collapse_addon import api
from collapse_addon.core import physics
from collapse_addon.core.materials import MATERIALS
from collapse_addon.core.settings import SceneError, load_scene
from collapse_addon.core.support_graph import build_support_graph

SCENE = """seed = 3
[building]
bays_x = 1
bays_y = 1
storeys = 1
[fracture]
cell_count = 40
"""
HEAVY = SCENE + """
[materials.reinforced_concrete]
density = 4800
bond_strength = 120000
tensile_strength = 10.0
[materials.masonry]
density = 950
"""


def _numbers(settings):
    building, shards = api.make_shards(settings, api.make_building(settings))
    masses = physics.shard_masses(building, shards)
    contacts = np.arange(shards.contacts.count)
    glue = physics.glue_strengths(building, shards, contacts)
    graph = build_support_graph(building, shards, design_factor=0.0)
    return masses, glue, graph.capacity_tension


def test_two_shots_with_different_overrides_in_two_threads_get_their_own_numbers():
    plain, heavy = load_scene(SCENE), load_scene(HEAVY)
    expected = {"plain": _numbers(plain), "heavy": _numbers(heavy)}
    # the overrides really change the numbers (else this test could not fail)
    assert expected["heavy"][0].sum() > 1.5 * expected["plain"][0].sum()
    assert not np.allclose(expected["heavy"][1], expected["plain"][1])
    assert not np.allclose(expected["heavy"][2], expected["plain"][2])

    results: dict[str, list] = {"plain": [], "heavy": []}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(name, settings):
        try:
            start.wait()
            for _ in range(3):
                results[name].append(_numbers(settings))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=("plain", plain)),
               threading.Thread(target=run, args=("heavy", heavy))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for name, runs in results.items():
        assert len(runs) == 3
        for got in runs:
            for a, b in zip(got, expected[name], strict=True):
                np.testing.assert_array_equal(a, b)
    assert MATERIALS["reinforced_concrete"].density == 2400.0  # the presets never change


def test_building_carries_the_resolved_table_and_the_presets_stay_untouched():
    settings = load_scene(HEAVY)
    building, _ = api.make_shards(settings, api.make_building(settings))
    assert building.materials["reinforced_concrete"].density == 4800.0
    assert building.materials["masonry"].density == 950.0
    assert building.materials["steel"] is MATERIALS["steel"]
    assert MATERIALS["masonry"].density == 1900.0


@pytest.mark.parametrize("text, key", [
    ("density = -1", "materials.masonry.density"),
    ("color = [0.5, 0.5, 2.0, 1.0]", "materials.masonry.color"),
    ("color = [0.5, 0.5, 0.5]", "materials.masonry.color"),
    ("friction = \"high\"", "materials.masonry.friction"),
    ("densty = 2000", "materials.masonry.densty"),
])
def test_bad_material_overrides_name_the_key(text, key):
    with pytest.raises(SceneError) as err:
        load_scene(f"[materials.masonry]\n{text}\n")
    assert err.value.key == key and err.value.fix
