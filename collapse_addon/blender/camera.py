"""Camera, sun, sky and ground: what makes a collapse shot readable.

The framing maths (``orbit_direction``, ``look_rotation``, ``fit_camera``) is numpy only; the rest
creates or updates Blender objects. Everything this module adds is tagged with the custom
property ``collapse_role`` so a rerun updates the same objects instead of adding new ones.
"""

from __future__ import annotations

import math

import bpy
import numpy as np

from ..core.settings import CameraSettings, LightSettings
from . import look

SENSOR_WIDTH = 36.0  # mm, Blender's default full-frame sensor
ROLE = "collapse_role"


# ------------------------------------------------------------------------------------ pure maths


def orbit_direction(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """Unit vector from a target towards a viewer at that azimuth (0: south, 90: east) and elevation."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    return np.array([math.sin(az) * math.cos(el), -math.cos(az) * math.cos(el), math.sin(el)])


def look_rotation(forward: np.ndarray) -> np.ndarray:
    """3x3 rotation whose -Z axis looks along ``forward`` with +Y as close to world up as possible.

    Blender cameras and lights look down their local -Z.
    """
    f = np.asarray(forward, float)
    f = f / np.linalg.norm(f)
    up = np.array([0.0, 0.0, 1.0]) if abs(f[2]) < 0.999 else np.array([0.0, 1.0, 0.0])
    right = np.cross(f, up)
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, f)
    return np.stack([right, cam_up, -f], axis=1)


def field_of_view(lens_mm: float, aspect: float) -> tuple[float, float]:
    """Horizontal and vertical half-angle tangents for Blender's AUTO sensor fit."""
    half = SENSOR_WIDTH / 2 / lens_mm
    return (half, half / aspect) if aspect >= 1 else (half * aspect, half)


def fit_camera(points: np.ndarray, azimuth: float, elevation: float, lens: float, aspect: float,
               margin: float = 1.1, target=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Place a camera so every point is in frame, seen from (azimuth, elevation).

    Returns (location, 3x3 rotation, target). The target is re-centred on the points' projected
    extent (unless given), then the distance is the smallest that keeps every point inside the
    frame shrunk by ``margin``.
    """
    points = np.asarray(points, float)
    view = orbit_direction(azimuth, elevation)
    rot = look_rotation(-view)
    right, up, forward = rot[:, 0], rot[:, 1], -rot[:, 2]
    tan_x, tan_y = field_of_view(lens, aspect)
    tan_x, tan_y = tan_x / margin, tan_y / margin
    fixed = target is not None
    centre = np.asarray(target, float) if fixed else 0.5 * (points.min(0) + points.max(0))
    distance = 0.0
    for _ in range(1 if fixed else 3):
        rel = points - centre
        x, y, z = rel @ right, rel @ up, rel @ forward
        distance = float(max(np.max(np.abs(x) / tan_x - z), np.max(np.abs(y) / tan_y - z), 1e-3))
        if fixed:
            break
        # Shift the target so the projected extent is symmetric in the frame.
        depth = distance + z
        sx, sy = x / depth, y / depth
        shift_x = 0.5 * (sx.max() + sx.min()) * distance
        shift_y = 0.5 * (sy.max() + sy.min()) * distance
        centre = centre + shift_x * right + shift_y * up
    rel = points - centre
    x, y, z = rel @ right, rel @ up, rel @ forward
    distance = float(max(np.max(np.abs(x) / tan_x - z), np.max(np.abs(y) / tan_y - z), 1e-3))
    return centre - distance * forward, rot, centre


def box_corners(lo, hi) -> np.ndarray:
    """The 8 corners of an axis-aligned box."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    idx = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    return np.where(idx == 0, lo, hi)


def debris_points(locations: np.ndarray, masses: np.ndarray, centre, quantile: float) -> np.ndarray:
    """Corners of the box around the debris that holds ``quantile`` of the mass (plan radius)."""
    locations = np.asarray(locations, float)
    if len(locations) == 0:
        return np.zeros((0, 3))
    radius = np.linalg.norm(locations[:, :2] - np.asarray(centre, float)[:2], axis=1)
    order = np.argsort(radius)
    cum = np.cumsum(np.asarray(masses, float)[order])
    keep = order[: int(np.searchsorted(cum, quantile * cum[-1])) + 1]
    kept = locations[keep]
    return box_corners(kept.min(0), kept.max(0))


# ------------------------------------------------------------------------------------- bpy glue


def _tagged(scene, role: str):
    return next((ob for ob in scene.objects if ob.get(ROLE) == role), None)


def _new_object(scene, role: str, name: str, data):
    ob = bpy.data.objects.new(name, data)
    ob[ROLE] = role
    scene.collection.objects.link(ob)
    return ob


def _set_transform(ob, location, rotation) -> None:
    from mathutils import Matrix

    m = Matrix.Identity(4)
    for i in range(3):
        for j in range(3):
            m[i][j] = float(rotation[i, j])
        m[i][3] = float(location[i])
    ob.matrix_world = m


def place_camera(scene, camera: CameraSettings, points: np.ndarray | None) -> bpy.types.Object:
    """Create (or update) the shot camera and make it the scene camera.

    ``auto`` frames ``points`` (building and debris corners); ``manual`` uses the location and
    target from the settings.
    """
    ob = _tagged(scene, "camera")
    if ob is None:
        ob = _new_object(scene, "camera", "Collapse Camera", bpy.data.cameras.new("Collapse Camera"))
    ob.data.lens = camera.lens
    ob.data.sensor_width = SENSOR_WIDTH
    ob.data.sensor_fit = "AUTO"
    render = scene.render
    aspect = (render.resolution_x * render.pixel_aspect_x) / (render.resolution_y * render.pixel_aspect_y)
    if camera.mode == "manual":
        location = np.asarray(camera.location, float)
        target = np.asarray(camera.target if camera.target is not None else (0.0, 0.0, 0.0), float)
        rotation = look_rotation(target - location)
        extent = float(np.linalg.norm(target - location))
    else:
        location, rotation, target = fit_camera(points, camera.azimuth, camera.elevation, camera.lens,
                                                aspect, camera.margin, camera.target)
        extent = float(np.linalg.norm(points - location, axis=1).max())
    _set_transform(ob, location, rotation)
    _push_in(ob, scene, location, -rotation[:, 2],
             camera.move * float(np.linalg.norm(np.asarray(target) - location)))
    ob.data.clip_start = max(0.05, 0.002 * extent)
    ob.data.clip_end = max(5000.0, 100.0 * extent)  # past the ground's far edge: a clean horizon
    scene.camera = ob
    return ob


def _push_in(ob, scene, location, forward, distance: float) -> None:
    """Keyframe a slow dolly from ``distance`` behind ``location`` (first frame) to it (last)."""
    ob.animation_data_clear()
    if distance <= 0 or scene.frame_end <= scene.frame_start:
        return
    ob.location = tuple(float(v) for v in np.asarray(location) - distance * np.asarray(forward))
    ob.keyframe_insert("location", frame=scene.frame_start)
    ob.location = tuple(float(v) for v in location)
    ob.keyframe_insert("location", frame=scene.frame_end)


def _material(name: str, color) -> bpy.types.Material:
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    rgba = (*color[:3], 1.0)
    mat.diffuse_color = rgba
    mat.roughness = 0.9
    if mat.node_tree is None:
        mat.use_nodes = True  # deprecated in 5.0 (node trees are always on) but needed before
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    if bsdf is not None:
        bsdf.inputs["Base Color"].default_value = rgba
        bsdf.inputs["Roughness"].default_value = 0.9
    return mat


def add_ground(scene, lights: LightSettings, size: float, z: float = 0.0, centre=(0.0, 0.0)):
    """A large visible ground plane at height ``z`` (no rigid body: physics has its own ground)."""
    physics_ground = bpy.data.materials.get("Collapse ground")  # the rigid-body ground box's
    if physics_ground is not None:
        _material(physics_ground.name, lights.ground_color)
        look.style_ground(physics_ground, lights.ground_color)
    ob = _tagged(scene, "ground")
    if not lights.ground:
        if ob is not None:
            bpy.data.objects.remove(ob)
        return None
    if ob is None:
        mesh = bpy.data.meshes.new("Collapse Ground")
        h = 0.5
        mesh.from_pydata([(-h, -h, 0), (h, -h, 0), (h, h, 0), (-h, h, 0)], [], [(0, 1, 2, 3)])
        ob = _new_object(scene, "ground", "Collapse Ground", mesh)
        ob.data.materials.append(_material("Collapse Ground", lights.ground_color))
    else:
        _material("Collapse Ground", lights.ground_color)
    look.style_ground(bpy.data.materials["Collapse Ground"], lights.ground_color)
    ob.location = (centre[0], centre[1], z - 0.01)  # just under the physics ground: no z-fighting
    ob.scale = (size, size, 1.0)
    return ob


def add_lights(scene, lights: LightSettings):
    """Sun lamp, sky colour, and Workbench studio lighting that follows the sun."""
    sun_dir = orbit_direction(lights.sun_azimuth, lights.sun_elevation)
    ob = _tagged(scene, "sun")
    if ob is None:
        ob = _new_object(scene, "sun", "Collapse Sun", bpy.data.lights.new("Collapse Sun", "SUN"))
    ob.data.energy = lights.sun_strength
    ob.data.angle = math.radians(lights.sun_angle)
    _set_transform(ob, sun_dir * 50.0, look_rotation(-sun_dir))

    world = scene.world or bpy.data.worlds.new("Collapse Sky")
    scene.world = world
    world.color = tuple(lights.sky_color)
    if world.node_tree is not None:
        background = world.node_tree.nodes.get("Background")
        if background is not None:
            background.inputs["Color"].default_value = (*lights.sky_color, 1.0)
            background.inputs["Strength"].default_value = lights.sky_strength
    look.gradient_sky(world, lights.sky_color, lights.sky_strength)

    shading = scene.display.shading
    shading.light = "STUDIO"
    shading.color_type = "MATERIAL"
    shading.show_shadows = lights.shadows
    shading.show_cavity = True
    shading.cavity_type = "WORLD"
    shading.background_type = "WORLD"
    shading.show_specular_highlight = False
    # Camera-relative studio light keeps faces towards the camera readable from any azimuth;
    # the shadows still follow the sun's direction.
    shading.use_world_space_lighting = False
    shading.shadow_intensity = 0.6
    scene.display.light_direction = tuple(float(v) for v in sun_dir)
    scene.display.shadow_shift = 0.05
    return ob


def shot_materials(presets: dict, names: list[str]) -> dict[str, tuple]:
    """Exterior and interior materials of each preset in ``names``: the colour both as Workbench's
    ``diffuse_color`` and as the Principled BSDF's base colour (Cycles, EEVEE), so every engine
    shows the same colours. Returns {name: (exterior, interior)} as the scene builder expects.
    """
    out = {}
    for name in names:
        preset = presets[name]
        pair = []
        for suffix, color in (("exterior", preset.color), ("interior", preset.interior_color)):
            mat = _material(f"Collapse {name} {suffix}", color)
            metallic = 1.0 if name == "steel" else 0.0
            roughness = 0.15 if name == "glass" else (0.55 if name == "steel" else 0.9)
            mat.metallic, mat.roughness = metallic, roughness
            bsdf = mat.node_tree.nodes.get("Principled BSDF") if mat.node_tree else None
            if bsdf is not None:
                bsdf.inputs["Metallic"].default_value = metallic
                bsdf.inputs["Roughness"].default_value = roughness
            look.style_material(mat, name, color, interior=suffix == "interior")
            pair.append(mat)
        out[name] = tuple(pair)
    return out


def shot_points(scene, camera: CameraSettings, frame_start: int, frame_end: int, *,
                end_positions=None) -> np.ndarray:
    """Points the auto camera frames: the standing building (the scene's ``collapse_bounds``),
    where the debris lands at ``frame_end`` (the mass quantile), and the ball at ``frame_start``.

    ``end_positions``: the shards' positions (S, 3) at ``frame_end`` as the scene shows them, when
    the caller has them (else read from the scene: two frame changes)."""
    from .simulation import CollapseScene, baked_transforms

    bounds = np.array(scene["collapse_bounds"], float)
    lo, hi = bounds[:3], bounds[3:]
    points = [box_corners(lo, hi)]
    handle = CollapseScene.from_scene(scene)
    if camera.include_debris:
        if end_positions is None:
            end_positions = baked_transforms(handle, frames=[frame_end])[0][0]
        masses = np.array(scene["collapse_masses"], float)
        debris = debris_points(end_positions, masses, 0.5 * (lo + hi), camera.debris_quantile)
        debris[:, 2] = np.maximum(debris[:, 2], lo[2])
        points.append(debris)
    if handle.ball:
        ball = bpy.data.objects[handle.ball]
        current = scene.frame_current
        scene.frame_set(frame_start)
        centre = np.array(ball.matrix_world.translation[:])
        scene.frame_set(current)
        radius = max(ball.dimensions) / 2
        points.append(box_corners(centre - radius, centre + radius))
    return np.concatenate(points)
