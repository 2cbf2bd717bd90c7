"""Procedural materials at real scale, the textured ground and the gradient sky (Cycles, EEVEE).

Textures are driven by each vertex's rest position in world space (the ``collapse_rest``
attribute written with the shard meshes), so brick courses and formwork marks line up across
shards and travel with them when they fall. Brick: 215 x 65 mm with 10 mm joints; concrete:
150 mm formwork boards with a fine mottle; broken faces: coarse aggregate and a strong bump.
Workbench shows the flat ``diffuse_color`` (with shadows and cavity, see ``camera.add_lights``).
Only node types and sockets present from Blender 4.2 to 5.x are used.
"""

from __future__ import annotations

import bpy

REST_ATTRIBUTE = "collapse_rest"


def principled(mat) -> bpy.types.Node:
    """The material's Principled BSDF (node tree switched on where Blender still needs it)."""
    if mat.node_tree is None:
        mat.use_nodes = True  # deprecated in 5.0 (always on) but needed before
    nodes = mat.node_tree.nodes
    bsdf = nodes.get("Principled BSDF")
    if bsdf is None:
        bsdf = nodes.new("ShaderNodeBsdfPrincipled")
        out = nodes.get("Material Output") or nodes.new("ShaderNodeOutputMaterial")
        mat.node_tree.links.new(bsdf.outputs[0], out.inputs["Surface"])
    return bsdf


def _clear_look(mat) -> None:
    nodes = mat.node_tree.nodes
    for node in [n for n in nodes if n.get("collapse_look")]:
        nodes.remove(node)


def _node(mat, kind: str, **inputs):
    node = mat.node_tree.nodes.new(kind)
    node["collapse_look"] = True
    for name, value in inputs.items():
        node.inputs[name.replace("_", " ")].default_value = value
    return node


def _link(mat, out, inp) -> None:
    mat.node_tree.links.new(out, inp)


def _rest_vector(mat, world: bool = False):
    """Rest position in world space: the shards' stored attribute (or the plain position)."""
    if world:
        return _node(mat, "ShaderNodeNewGeometry").outputs["Position"]
    attr = _node(mat, "ShaderNodeAttribute")
    attr.attribute_name = REST_ATTRIBUTE
    return attr.outputs["Vector"]


def _facade_uv(mat, vector):
    """(x + y, z): the horizontal and vertical coordinate on walls facing x or y."""
    sep = _node(mat, "ShaderNodeSeparateXYZ")
    _link(mat, vector, sep.inputs[0])
    add = _node(mat, "ShaderNodeMath")
    add.operation = "ADD"
    _link(mat, sep.outputs[0], add.inputs[0])
    _link(mat, sep.outputs[1], add.inputs[1])
    comb = _node(mat, "ShaderNodeCombineXYZ")
    _link(mat, add.outputs[0], comb.inputs[0])
    _link(mat, sep.outputs[2], comb.inputs[1])
    return comb.outputs[0]


def _noise(mat, vector, scale: float, detail: float = 4.0):
    node = _node(mat, "ShaderNodeTexNoise", Scale=scale, Detail=detail)
    _link(mat, vector, node.inputs["Vector"])
    return node.outputs["Fac"]


def _mix(mat, factor, a, b):
    """Colour ramp from a to b along ``factor``."""
    ramp = _node(mat, "ShaderNodeValToRGB")
    ramp.color_ramp.elements[0].color = (*a[:3], 1.0)
    ramp.color_ramp.elements[1].color = (*b[:3], 1.0)
    _link(mat, factor, ramp.inputs[0])
    return ramp.outputs[0]


def _bump(mat, bsdf, height, strength: float, distance: float) -> None:
    bump = _node(mat, "ShaderNodeBump", Strength=strength, Distance=distance)
    _link(mat, height, bump.inputs["Height"])
    _link(mat, bump.outputs[0], bsdf.inputs["Normal"])


def _shade(color, k: float):
    return tuple(min(1.0, max(0.0, c * k)) for c in color[:3])


def style_brick(mat, color) -> None:
    vec = _facade_uv(mat, _rest_vector(mat))
    brick = _node(mat, "ShaderNodeTexBrick", Scale=1.0, Mortar_Size=0.010, Brick_Width=0.225,
                  Row_Height=0.075, Bias=0.0)
    brick.inputs["Color1"].default_value = (*_shade(color, 1.1), 1.0)
    brick.inputs["Color2"].default_value = (*_shade(color, 0.8), 1.0)
    brick.inputs["Mortar"].default_value = (0.55, 0.53, 0.50, 1.0)
    _link(mat, vec, brick.inputs["Vector"])
    bsdf = principled(mat)
    _link(mat, brick.outputs["Color"], bsdf.inputs["Base Color"])
    _bump(mat, bsdf, brick.outputs["Fac"], 0.4, 0.01)


def style_concrete(mat, color) -> None:
    rest = _rest_vector(mat)
    sep = _node(mat, "ShaderNodeSeparateXYZ")
    _link(mat, rest, sep.inputs[0])
    boards = _node(mat, "ShaderNodeTexWave", Scale=1.0 / 0.15, Distortion=0.4, Detail=1.0)
    boards.wave_type = "BANDS"
    boards.bands_direction = "Z"
    _link(mat, rest, boards.inputs["Vector"])
    mottle = _noise(mat, rest, 3.0, 6.0)
    mixed = _node(mat, "ShaderNodeMath")
    mixed.operation = "MULTIPLY_ADD"
    _link(mat, boards.outputs["Fac"], mixed.inputs[0])
    mixed.inputs[1].default_value = 0.25
    _link(mat, mottle, mixed.inputs[2])
    bsdf = principled(mat)
    _link(mat, _mix(mat, mixed.outputs[0], _shade(color, 0.75), _shade(color, 1.15)),
          bsdf.inputs["Base Color"])
    _bump(mat, bsdf, _noise(mat, rest, 40.0, 3.0), 0.15, 0.005)


def style_broken(mat, color) -> None:
    """Cut faces: coarse aggregate (Voronoi speckles) and a strong bump."""
    rest = _rest_vector(mat)
    stones = _node(mat, "ShaderNodeTexVoronoi", Scale=30.0)
    _link(mat, rest, stones.inputs["Vector"])
    bsdf = principled(mat)
    _link(mat, _mix(mat, stones.outputs["Distance"], _shade(color, 0.7), _shade(color, 1.2)),
          bsdf.inputs["Base Color"])
    _bump(mat, bsdf, _noise(mat, rest, 12.0, 8.0), 0.8, 0.03)


def style_plain(mat, color, bump_scale: float = 60.0) -> None:
    rest = _rest_vector(mat)
    bsdf = principled(mat)
    _link(mat, _mix(mat, _noise(mat, rest, 4.0), _shade(color, 0.85), _shade(color, 1.1)),
          bsdf.inputs["Base Color"])
    _bump(mat, bsdf, _noise(mat, rest, bump_scale, 2.0), 0.1, 0.003)


def style_glass(mat, color) -> None:
    bsdf = principled(mat)
    bsdf.inputs["Base Color"].default_value = (*color[:3], 1.0)
    bsdf.inputs["Transmission Weight"].default_value = 0.9
    bsdf.inputs["Roughness"].default_value = 0.05
    bsdf.inputs["IOR"].default_value = 1.5


def style_material(mat, preset: str, color, interior: bool) -> None:
    """Give ``mat`` the procedural look of a material preset (replacing an earlier look)."""
    principled(mat)
    _clear_look(mat)
    if interior and preset in ("concrete", "reinforced_concrete", "masonry"):
        style_broken(mat, color)
    elif preset == "masonry":
        style_brick(mat, color)
    elif preset in ("concrete", "reinforced_concrete"):
        style_concrete(mat, color)
    elif preset == "glass":
        style_glass(mat, color)
    else:
        style_plain(mat, color)


def style_ground(mat, color) -> None:
    """Gravel and dirt: two noise scales in world space and a fine bump."""
    principled(mat)
    _clear_look(mat)
    pos = _rest_vector(mat, world=True)
    bsdf = principled(mat)
    patches = _noise(mat, pos, 0.15, 5.0)
    _link(mat, _mix(mat, patches, _shade(color, 0.45), _shade(color, 0.9)),
          bsdf.inputs["Base Color"])
    grit = _node(mat, "ShaderNodeTexVoronoi", Scale=25.0)
    _link(mat, pos, grit.inputs["Vector"])
    _bump(mat, bsdf, grit.outputs["Distance"], 0.3, 0.02)
    bsdf.inputs["Roughness"].default_value = 0.95


def gradient_sky(world, zenith, strength: float) -> None:
    """Sky from a pale, hazy horizon to ``zenith`` overhead (the world's Background colour)."""
    if world.node_tree is None:
        world.use_nodes = True
    tree = world.node_tree
    for node in [n for n in tree.nodes if n.get("collapse_look")]:
        tree.nodes.remove(node)
    background = tree.nodes.get("Background")
    if background is None:
        return
    coords = tree.nodes.new("ShaderNodeTexCoord")
    sep = tree.nodes.new("ShaderNodeSeparateXYZ")
    ramp = tree.nodes.new("ShaderNodeValToRGB")
    for node in (coords, sep, ramp):
        node["collapse_look"] = True
    horizon = tuple(min(1.0, 0.8 * c + 0.12) for c in zenith[:3])
    ramp.color_ramp.elements[0].position = 0.0
    ramp.color_ramp.elements[0].color = (*horizon, 1.0)
    ramp.color_ramp.elements[1].position = 0.6
    ramp.color_ramp.elements[1].color = (*[0.8 * c for c in zenith[:3]], 1.0)
    tree.links.new(coords.outputs["Generated"], sep.inputs[0])
    tree.links.new(sep.outputs[2], ramp.inputs[0])
    tree.links.new(ramp.outputs[0], background.inputs["Color"])
    # a dimmer sky than the sun's key light: deeper shadows, more contrast
    background.inputs["Strength"].default_value = 0.5 * strength


def film_look(scene, engine: str) -> None:
    """Cycles/EEVEE: AgX with medium-high contrast, a little under-exposed so the sunlit
    concrete keeps its texture (Workbench keeps its plain display colours)."""
    view = scene.view_settings
    if engine == "WORKBENCH":
        view.look = "None"
        view.exposure = 0.0
        return
    for name in ("AgX - Medium High Contrast", "Medium High Contrast"):
        try:
            view.look = name
            break
        except TypeError:  # the look's name differs in this Blender
            continue
    view.exposure = -0.7


#: Workbench anti-aliasing with sun shadows on, for sample counts up to this: FXAA. Shadows are
#: drawn again for every AA sample, so 5 samples with shadows cost 3.5x a shadowless frame of the
#: demo, FXAA with shadows about 1.1x (docs/look.md).
FXAA_WITH_SHADOWS_UP_TO = 8


def workbench_aa(scene, samples: int, aa: str) -> str:
    """The Workbench AA to use: ``aa`` (from the samples), or FXAA when shadows are on and the
    sample count is a preview's."""
    if scene.display.shading.show_shadows and samples <= FXAA_WITH_SHADOWS_UP_TO:
        return "FXAA"
    return aa
