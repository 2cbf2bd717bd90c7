"""Auto framing: every framed point lands inside the picture, and the camera is no farther than it
needs to be. (The maths is numpy; camera.py imports bpy for its other half.)"""

from __future__ import annotations

import numpy as np
import pytest

from collapse_addon.blender import camera  # a failing import fails these tests, never skips them


def project(points, location, rotation, lens, aspect):
    rel = (np.asarray(points) - location) @ rotation  # camera axes: x right, y up, -z forward
    depth = -rel[:, 2]
    tan_x, tan_y = camera.field_of_view(lens, aspect)
    return rel[:, 0] / depth / tan_x, rel[:, 1] / depth / tan_y, depth


@pytest.mark.parametrize("azimuth,elevation,aspect", [(35, 15, 16 / 9), (-120, 40, 16 / 9),
                                                      (0, 5, 1.0), (90, 60, 9 / 16)])
def test_auto_camera_frames_every_point_with_the_margin(azimuth, elevation, aspect):
    rng = np.random.default_rng(3)
    points = np.concatenate([camera.box_corners([0, 0, 0], [15, 9, 12]),
                             rng.uniform([-10, -8, 0], [25, 20, 1], (40, 3))])
    margin = 1.15
    location, rotation, _ = camera.fit_camera(points, azimuth, elevation, 35.0, aspect, margin)
    x, y, depth = project(points, location, rotation, 35.0, aspect)
    assert (depth > 0).all()
    extent = np.maximum(np.abs(x), np.abs(y)).max()
    assert extent <= 1 / margin + 1e-9          # all inside the frame shrunk by the margin
    assert extent >= 1 / margin - 0.02          # and no farther away than needed
    # The view comes from the requested direction.
    view = (location - points.mean(0)) / np.linalg.norm(location - points.mean(0))
    assert np.dot(view, camera.orbit_direction(azimuth, elevation)) > 0.9


def test_look_rotation_is_a_proper_rotation_with_up_kept_up():
    rot = camera.look_rotation(np.array([1.0, 2.0, -0.5]))
    assert np.allclose(rot.T @ rot, np.eye(3)) and np.isclose(np.linalg.det(rot), 1.0)
    assert rot[2, 1] > 0  # the camera's up axis points up in the world


def test_debris_points_ignore_the_lightest_outliers():
    locations = np.array([[0, 0, 0], [1, 1, 0], [2, 0, 0], [100, 0, 0]], float)
    masses = np.array([10, 10, 10, 0.1])
    box = camera.debris_points(locations, masses, [0, 0, 0], 0.95)
    assert box[:, 0].max() == 2.0
    box = camera.debris_points(locations, masses, [0, 0, 0], 1.0)
    assert box[:, 0].max() == 100.0
