"""The Blender add-on: registration, panel settings, panel draw code and scene files (fast tests).

Operators that build, bake and render a scene are in ``test_addon_ops.py``; the packaged
extension's install is in ``test_addon_install.py``.
"""

from __future__ import annotations

from dataclasses import fields

import pytest

from collapse_addon.core.settings import SECTIONS, ShotSettings, dump_scene, load_scene


class RecordingLayout:
    """A stand-in for ``UILayout`` that records what draw code asks for and checks each name.

    ``prop(data, name)`` must name a property of ``data``; ``operator(idname)`` a registered
    operator. It records, it does not imitate Blender's drawing.
    """

    def __init__(self, log=None):
        self.log = log if log is not None else []
        self.use_property_split = False
        self.use_property_decorate = True
        self.active = True
        self.enabled = True
        self.alignment = "EXPAND"

    def _child(self, *args, **kwargs):
        return RecordingLayout(self.log)

    row = column = box = split = grid_flow = column_flow = _child

    def prop(self, data, name, **kwargs):
        assert name in data.bl_rna.properties, f"{data.bl_rna.identifier} has no property {name!r}"
        self.log.append(("prop", data.bl_rna.identifier, name))

    def prop_enum(self, data, name, value, **kwargs):
        self.prop(data, name)

    def operator(self, idname, **kwargs):
        import bpy

        module, name = idname.split(".")
        assert hasattr(getattr(bpy.ops, module), name), f"no operator {idname}"
        assert getattr(getattr(bpy.ops, module), name).get_rna_type() is not None
        self.log.append(("operator", idname))
        return _OperatorProperties(idname)

    def label(self, **kwargs):
        self.log.append(("label", kwargs.get("text", "")))

    def separator(self, **kwargs):
        pass


class _OperatorProperties:
    """What ``layout.operator`` returns: setting an attribute must name an operator property."""

    def __init__(self, idname):
        object.__setattr__(self, "idname", idname)

    def __setattr__(self, name, value):
        import bpy

        module, op = self.idname.split(".")
        rna = getattr(getattr(bpy.ops, module), op).get_rna_type()
        assert name in rna.properties, f"{self.idname} has no property {name!r}"


@pytest.fixture
def addon(clean_scene):
    import collapse_addon

    collapse_addon.register()
    yield clean_scene
    collapse_addon.unregister()


def _registered_state(bpy):
    ops = sorted(dir(bpy.ops.collapse))
    types = sorted(n for n in dir(bpy.types) if n.startswith("COLLAPSE_"))
    return (ops, types, hasattr(bpy.types.Scene, "collapse_shot"),
            hasattr(bpy.types.Object, "collapse_override"))


def test_register_unregister_twice_leaves_nothing_behind(clean_scene, bpy_module):
    import collapse_addon
    from collapse_addon import addon as addon_module

    bpy = bpy_module
    before = _registered_state(bpy)
    assert before == ([], [], False, False)
    for _ in range(2):
        collapse_addon.register()
        ops, types, on_scene, on_object = _registered_state(bpy)
        assert {"fracture", "bake", "generate_building", "setup_simulation", "clear", "export",
                "render_preview", "write_scene", "load_scene"} <= set(ops)
        assert on_scene and on_object
        assert all(cls.is_registered for cls in addon_module.CLASSES)
        assert bpy.context.scene.collapse_shot.building.storeys == 4
        collapse_addon.unregister()
        assert _registered_state(bpy) == before
        assert not any(cls.is_registered for cls in addon_module.CLASSES)


def test_core_package_imports_without_registering_anything(bpy_module):
    import collapse_addon

    assert not hasattr(bpy_module.types.Scene, "collapse_shot")
    assert callable(collapse_addon.register) and callable(collapse_addon.unregister)


def test_package_and_pure_ui_modules_import_without_bpy():
    import subprocess
    import sys

    code = ("import sys; sys.modules['bpy'] = None\n"
            "import collapse_addon, collapse_addon.core.settings\n"
            "import collapse_addon.ui.fields, collapse_addon.ui.seed_preview\n"
            "assert callable(collapse_addon.register)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_setting_of_a_scene_file_has_a_panel_property(addon):
    from collapse_addon.ui.fields import field_table, is_optional

    settings = addon.collapse_shot
    for section, spec_type in SECTIONS.items():
        group = getattr(settings, section)
        table = field_table(spec_type)
        assert set(table) == {f.name for f in fields(spec_type) if f.init}
        for name, entry in table.items():
            prop = group.bl_rna.properties[name]
            assert prop.description, f"{section}.{name} has no tooltip"
            if is_optional(entry["kind"]):
                assert "use_" + name in group.bl_rna.properties
            if entry.get("units") == "m" and entry["kind"] == "float":
                assert prop.subtype == "DISTANCE", f"{section}.{name} shows no length unit"
            # everything below comes from the one field table (core/field_meta.spec_field)
            assert prop.description.startswith(entry["doc"]), f"{section}.{name}"
            lo, hi = entry["range"]
            if entry["kind"] in ("int", "float"):
                assert lo is None or prop.hard_min >= lo - 1e-6, f"{section}.{name}"
                assert hi is None or prop.hard_max <= hi + 1e-6, f"{section}.{name}"
                if "soft" in entry:
                    assert (prop.soft_min, prop.soft_max) == pytest.approx(entry["soft"]), name
            if entry["kind"] == "choice":
                assert tuple(i.identifier for i in prop.enum_items) == tuple(entry["choices"])


def test_fresh_panel_describes_the_default_shot(addon):
    from collapse_addon.ui.properties import shot_from_scene

    assert shot_from_scene(addon) == ShotSettings()


def test_panel_round_trips_a_scene_file_exactly(addon):
    from collapse_addon.ui.properties import load_shot_into_scene, shot_from_scene

    text = """seed = 7
[building]
storeys = 2
bay_width = 4.35
facades = ["south", "east"]
[fracture]
cell_count = 321
pattern = "impact"
focus = [1.5, 0.25, 1.1]
[simulation]
solver = "glue"  # these tests pin the Bullet glue route
frame_end = 48
substeps = 8
[trigger]
type = "explosion"
frame = 12
explosion_point = [2.0, 1.0, 0.75]
demolition_storeys = [0, 1]
[render]
resolution = [320, 180]
engine = "CYCLES"
[materials.masonry]
density = 1750.0
"""
    shot = load_scene(text)
    load_shot_into_scene(addon, shot)
    assert shot_from_scene(addon) == shot
    assert dump_scene(shot_from_scene(addon)) == dump_scene(shot)


def test_loading_a_value_the_panel_cannot_hold_is_refused_with_the_field(addon):
    from collapse_addon.core.errors import SpecError
    from collapse_addon.ui.properties import load_shot_into_scene

    with pytest.raises(SpecError, match="seed"):
        load_shot_into_scene(addon, load_scene("seed = 4000000000\n"))


def test_invalid_panel_values_give_an_error_naming_the_field(addon):
    from collapse_addon.core.errors import SpecError
    from collapse_addon.ui.properties import shot_from_scene

    addon.collapse_shot.building.bay_width = 0.3  # narrower than the columns
    with pytest.raises(SpecError, match="building.bay_width"):
        shot_from_scene(addon)


def _draw_all_panels(bpy, context):
    from types import SimpleNamespace

    from collapse_addon.ui import panels

    log = []
    for cls in panels.CLASSES:
        assert cls.poll(context)
        cls.draw(SimpleNamespace(layout=RecordingLayout(log)), context)
    return log


def test_panels_draw_only_properties_and_operators_that_exist(addon, bpy_module):
    bpy = bpy_module
    from collapse_addon.core.physics import TRIGGER_TYPES
    from collapse_addon.core.seeds import PATTERNS

    settings = addon.collapse_shot
    bpy.ops.mesh.primitive_cube_add()
    seen = set()
    for source in ("PROCEDURAL", "SELECTED", "FILE"):
        settings.source = source
        for trigger in TRIGGER_TYPES:
            settings.trigger.type = trigger
            for pattern in PATTERNS:
                settings.fracture.pattern = pattern
                seen.update(_draw_all_panels(bpy, bpy.context))
    drawn = {(kind, name) for kind, *rest in seen for name in rest[-1:]}
    # Every field of every scene-file section is reachable from some panel state
    # (except the seeds the shot sets itself).
    for section, spec_type in SECTIONS.items():
        group = f"COLLAPSE_PG_{section}"
        for f in fields(spec_type):
            if (section, f.name) in {("fracture", "seed"), ("trigger", "seed")}:
                continue
            assert ("prop", group, f.name) in seen, f"{section}.{f.name} is never drawn"
    assert ("prop", "COLLAPSE_PG_object", "anchor") in seen
    for op in ("collapse.generate_building", "collapse.fracture", "collapse.setup_simulation",
               "collapse.bake", "collapse.render_preview", "collapse.export", "collapse.clear",
               "collapse.write_scene", "collapse.load_scene", "collapse.add_trigger_empty",
               "collapse.preview_seeds"):
        assert ("operator", op) in drawn


def test_panel_tab_and_sub_panel_order(addon, bpy_module):
    from collapse_addon.ui import panels

    main, *subs = [cls for cls in panels.CLASSES if getattr(cls, "bl_parent_id", "") in
                   ("", "COLLAPSE_PT_main")]
    assert main.bl_category == "Collapse" and main.bl_space_type == "VIEW_3D"
    assert [cls.bl_label for cls in subs] == ["Building", "Fracture", "Material and Glue",
                                              "Trigger", "Simulation", "Output"]


def test_seed_preview_puts_one_seed_in_each_shard():
    import numpy as np

    from collapse_addon.core.building import BuildingSpec, generate_building
    from collapse_addon.core.fracture import fracture_building
    from collapse_addon.core.seeds import FractureSpec
    from collapse_addon.ui.seed_preview import fracture_seeds

    building = generate_building(BuildingSpec(storeys=1, bays_x=1, bays_y=1))
    spec = FractureSpec(cell_count=80, seed=3, pattern="impact", focus=(1.0, 0.0, 1.0))
    shards = fracture_building(building, spec)
    seeds = fracture_seeds(building, spec)
    breakable = np.array([building.elements[e].kind != "foundation" for e in shards.element])
    assert len(seeds) == breakable.sum()
    for s, seed in zip(np.nonzero(breakable)[0], seeds, strict=True):
        v = shards.vertices[shards.vertex_start[s]:shards.vertex_start[s + 1]]
        assert (seed >= v.min(0) - 1e-9).all() and (seed <= v.max(0) + 1e-9).all()
