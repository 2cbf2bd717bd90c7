"""Progressive collapse of a tall tower: cutting the ground storey of a 14-storey tower brings the
roof below 40 % of its height within 2 x the free-fall time from the roof + 1 s, the block above
the crush front falling as one actor (or a few) until it lands (``core/crush.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_addon.core.actor_solver import ActorSolver
from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.crush import crush_relief
from collapse_addon.core.fracture import FractureSpec, fracture_building
from collapse_addon.core.physics import SimulationSpec, TriggerSpec


def test_crush_relief_gives_back_only_what_the_failing_storey_could_not_carry():
    impulse = np.array([0.0, 0.0, 1000.0])  # N s upwards on a 100 kg block: it stopped 10 m/s
    assert np.allclose(crush_relief(impulse, 4.0, 100.0), [0.0, 0.0, -7.5])  # carried 1/4
    assert np.allclose(crush_relief(impulse, 0.9, 100.0), 0.0)  # nothing failed: nothing back
    assert np.allclose(crush_relief(impulse, np.inf, 100.0), 0.0)  # no solve: nothing back
    assert np.allclose(crush_relief(impulse, 1e9, 100.0), [0.0, 0.0, -10.0], atol=1e-6)


@pytest.mark.slow
def test_cutting_the_ground_storey_of_a_14_storey_tower_crushes_it_down():
    building = generate_building(BuildingSpec(storeys=14, bays_x=1, bays_y=1, bay_width=5.0,
                                              bay_depth=5.0, facades=()))
    shards = fracture_building(building, FractureSpec(cell_count=400, seed=2))
    height = float(building.hi[2])
    fall = np.sqrt(2 * height / 9.81)
    window = 2 * fall + 1.0
    trigger = 12
    sim = SimulationSpec(frame_end=trigger + int(np.ceil(window * 24)))
    solver = ActorSolver(building, shards, sim, TriggerSpec(type="demolition", frame=trigger,
                                                          demolition_sweep=0.0))
    z0 = shards.centroid[:, 2]
    top = z0 > height - BuildingSpec().storey_height  # the top storey
    owners = []
    bake = solver.run(lambda f, e: owners.append(solver.world.owner[top].copy()))
    roof = bake.positions[:, top, 2].mean(1)
    down = np.nonzero(roof < 0.4 * roof[0])[0]
    assert len(down), f"roof only down to {roof.min():.1f} m of {roof[0]:.1f} m"
    seconds = (bake.frames[down[0]] - trigger) / 24
    assert seconds <= window
    # the top storey is one actor (or a few) all the way down to 40 % of the height
    falling = [o for o, f in zip(owners, bake.frames[1:], strict=True) if trigger < f < bake.frames[down[0]]]
    assert all((o >= 0).all() for o in falling)
    share = [np.bincount(o).max() / len(o) for o in falling]
    assert min(share) >= 0.9, min(share)
    assert max(len(np.unique(o)) for o in falling) <= 3
    # sane energy: nothing faster than 1.5 sqrt(2 g H) (+ the charges' kick)
    speed = np.linalg.norm(np.diff(bake.positions, axis=0), axis=2).max() * 24
    assert speed <= 1.5 * np.sqrt(2 * 9.81 * height) + 0.5
    print(f"roof below 40 % {seconds:.2f} s after the cut (window {window:.2f} s), "
          f"top storey in one actor >= {min(share):.0%}, top speed {speed:.1f} m/s")


def test_real_mesh_house_baked_awake_holds_for_5_seconds(tmp_path):
    """Holds awake on the mesh path, baked in Blender: a 3D BAG house (tests/data/README.md), no
    trigger, 5 s: its top moves <= 1 cm and no bond breaks."""
    from pathlib import Path

    import bpy

    from collapse_addon import api
    from collapse_addon.blender import simulation
    from collapse_addon.core.settings import load_scene

    data = Path(__file__).parent / "data" / "3dbag_shertogenbosch_10houses_multilod.city.json"
    scene_file = tmp_path / "house.toml"
    scene_file.write_text(f'seed = 1\n[mesh]\npath = "{data.as_posix()}"\nobject = "2921895"\n'
                          'lod = "2.2"\nmaterial = "masonry"\n[fracture]\ncell_count = 80\n'
                          '[simulation]\nframe_end = 121\n[trigger]\ntype = "none"\n')
    settings = load_scene(scene_file)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    api.build_shot(settings, scene=scene)
    report = api.bake_shot(settings, scene=scene, events_path=tmp_path / "break_events.json")
    assert api.is_baked(scene)
    positions, _ = simulation.baked_transforms(scene)
    assert len(positions) == 121 and positions.shape[1] >= 40
    top = positions[0, :, 2] > positions[0, :, 2].max() - 1.0
    assert np.linalg.norm(positions[:, top] - positions[0, top], axis=2).max() <= 0.01
    assert report["actors"]["bonds_broken"] == 0


def test_explosion_is_a_transient_load_that_breaks_near_the_charge_only():
    from collapse_addon.core.actor_solver import bake_actors
    from collapse_addon.core.physics import resolve_trigger

    building = generate_building(BuildingSpec(storeys=2, bays_x=3, bays_y=1))
    shards = fracture_building(building, FractureSpec(cell_count=200, seed=1))
    sim = SimulationSpec(frame_end=40)
    strong = TriggerSpec(type="explosion", frame=6, explosion_point=(2.5, 0.3, 4.8))
    bake = bake_actors(building, shards, sim, strong)
    point = np.asarray(resolve_trigger(building, strong).explosion_point)
    freed = bake.events.cause == "trigger"
    assert freed.sum() > 0
    assert np.linalg.norm(bake.events.position[freed] - point, axis=1).max() <= strong.explosion_radius + 1.0
    far = np.abs(shards.centroid[:, 0] - point[0]) > 2 * BuildingSpec().bay_width
    assert np.linalg.norm(bake.positions[:, far] - bake.positions[0, far], axis=2).max() <= 0.02
    speed = np.linalg.norm(np.diff(bake.positions, axis=0), axis=2).max() * 24
    assert speed <= strong.explosion_strength + np.sqrt(2 * 9.81 * float(building.hi[2]))
    # a charge too weak for the joints breaks nothing (the stress solver decides, not the radius)
    weak = bake_actors(building, shards, sim, TriggerSpec(type="explosion", frame=6, explosion_strength=0.05,
                                                         explosion_point=(2.5, 0.3, 4.8)))
    assert weak.events.count == 0
    assert np.abs(weak.positions - weak.positions[0]).max() == 0.0


def test_resting_load_shares_the_weight_by_how_hard_the_debris_pressed():
    from collapse_addon.core.resting import resting_load

    pos = np.array([[0.0, 0, 0], [1.0, 0, 0], [5.0, 0, 0], [0.5, 0, 0.6]])
    radius = np.full(4, 0.5)
    static = np.array([True, True, True, False])
    contact = np.array([[0.0, 0, -300], [0, 0, -100], [0, 0, -50], [0, 0, 400]])
    idx, forces = resting_load(pos, radius, np.array([3]), static, contact, 1000.0)
    assert idx.tolist() == [0, 1]  # the far shard is not under it
    assert np.allclose(forces[:, 2], [-750.0, -250.0])
    idx, _ = resting_load(pos, radius, np.array([3]), static, np.zeros((4, 3)), 1000.0)
    assert len(idx) == 0  # pressed on nothing standing: the ground or other debris holds it


def test_debris_asleep_on_a_slab_keeps_loading_it():
    building = generate_building(BuildingSpec(storeys=2, bays_x=2, bays_y=1, facades=()))
    shards = fracture_building(building, FractureSpec(cell_count=200, seed=1))
    solver = ActorSolver(building, shards, SimulationSpec(frame_end=96),
                         TriggerSpec(type="demolition", frame=6, demolition_storeys=(1,),
                                     demolition_sweep=0.0))
    solver.run()
    world = solver.world
    assert solver.resting  # the top storey's debris came to rest on the standing first floor
    load = solver._resting_sum()
    weight = sum(world.body_mass[a] for a in solver.resting) * 9.81
    assert not world.awake[list(solver.resting)].any()
    assert -load[:, 2].sum() == pytest.approx(weight)
    assert (world.owner[np.abs(load).sum(1) > 0] == -1).all()  # carried by standing shards


def test_a_push_off_the_centre_moves_less_mass_than_the_body():
    from collapse_addon.core.contact_mass import effective_mass

    mass = np.array([12.0])
    inertia = np.array([np.diag([1.0, 2.0, 3.0])])
    q = np.array([[1.0, 0, 0, 0]])
    com = np.zeros((1, 3))
    points = np.array([[0.0, 0, 0], [0.5, 0, 0], [0.5, 0, 0]])
    normals = np.array([[0.0, 0, 1], [0.0, 0, 1], [1.0, 0, 0]])
    m = effective_mass(mass, inertia, q, com, np.zeros(3, np.int64), points, normals)
    # at the centre, or pushed along its arm: the whole mass; off the centre: 1/(1/12 + 0.25/2)
    assert m == pytest.approx([12.0, 1.0 / (1.0 / 12.0 + 0.25 / 2.0), 12.0])
