"""Scene files: defaults, validation errors that name file/key/range/nearest key, round trips,
frame lists and chunks, and the generated reference. Pure: no bpy."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from collapse_addon.core.building import BuildingSpec
from collapse_addon.core.errors import SpecError
from collapse_addon.core.scene_reference import reference_markdown, undocumented_keys
from collapse_addon.core.settings import (
    SceneError,
    ShotSettings,
    chunk_frames,
    dump_scene,
    load_scene,
    parse_frames,
    resolve_materials,
)

ROOT = Path(__file__).resolve().parents[1]
SCENES = sorted((ROOT / "scenes").glob("*.toml"))


def write(tmp_path: Path, text: str, name: str = "shot.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path_or_text) -> SceneError:
    with pytest.raises(SceneError) as info:
        load_scene(path_or_text)
    return info.value


def test_three_line_scene_file_takes_defaults_for_everything_else(tmp_path):
    settings = load_scene(write(tmp_path, "seed = 4\n[building]\nstoreys = 2\n"))
    assert settings.building == BuildingSpec(storeys=2)
    assert settings.seed == 4
    assert settings.fracture.seed == 4 and settings.trigger.seed == 4
    assert settings.render.engine == "WORKBENCH"
    assert settings.frame_list() == list(range(1, 121))


def test_empty_scene_file_is_the_default_shot(tmp_path):
    assert load_scene(write(tmp_path, "")) == ShotSettings()


def test_unknown_key_names_file_key_and_nearest_valid_key(tmp_path):
    path = write(tmp_path, "[render]\nsampels = 8\n")
    err = error_of(path)
    assert str(path) in str(err) and "render.sampels" in str(err)
    assert "did you mean 'samples'" in str(err)
    assert err.key == "render.sampels" and err.path == str(path)


def test_key_in_the_wrong_section_says_where_it_belongs(tmp_path):
    err = error_of(write(tmp_path, "[camera]\nstoreys = 5\n"))
    assert "camera.storeys" in str(err) and "[building] storeys" in str(err)


def test_unknown_section_suggests_the_nearest(tmp_path):
    err = error_of(write(tmp_path, "[rendr]\nsamples = 8\n"))
    assert "rendr" in str(err) and "did you mean 'render'" in str(err)


def test_out_of_range_value_gives_the_allowed_range(tmp_path):
    err = error_of(write(tmp_path, "[render]\nsamples = 0\n"))
    assert "render.samples" in str(err) and "1 to 65536" in str(err)
    err = error_of(write(tmp_path, "[simulation]\nsubsteps = 500\n"))
    assert "simulation.substeps" in str(err) and "1 to 100" in str(err)
    err = error_of(write(tmp_path, "[building]\nstoreys = 0\n"))
    assert "building.storeys" in str(err) and "1 to 60" in str(err)


def test_wrong_type_is_refused_with_the_key(tmp_path):
    err = error_of(write(tmp_path, '[building]\nstoreys = "three"\n'))
    assert "building.storeys" in str(err) and "whole number" in str(err)
    err = error_of(write(tmp_path, "[render]\nresolution = 640\n"))
    assert "render.resolution" in str(err) and "list" in str(err)
    err = error_of(write(tmp_path, "[camera]\nlocation = [1, 2]\n"))
    assert "camera.location" in str(err) and "3 items" in str(err)


def test_bad_choice_suggests_the_nearest_choice(tmp_path):
    err = error_of(write(tmp_path, '[render]\nengine = "CYCLE"\n'))
    assert "did you mean 'CYCLES'" in str(err)
    err = error_of(write(tmp_path, '[trigger]\ntype = "explode"\n'))
    assert "trigger.type" in str(err) and "explosion" in str(err)


def test_cross_field_errors_name_the_key(tmp_path):
    err = error_of(write(tmp_path, "[simulation]\nframe_end = 48\n[trigger]\nframe = 60\n"))
    assert "trigger.frame" in str(err) and "2-48" in str(err)
    err = error_of(write(tmp_path, '[camera]\nmode = "manual"\n'))
    assert "camera.location" in str(err)


def test_section_seed_is_refused_in_favour_of_the_shot_seed(tmp_path):
    err = error_of(write(tmp_path, "[fracture]\nseed = 3\n"))
    assert "fracture.seed" in str(err) and "seed = N at the top" in str(err)


def test_syntax_error_names_the_file_and_line(tmp_path):
    path = write(tmp_path, "[building\nstoreys = 3\n")
    err = error_of(path)
    assert str(path) in str(err) and "line 1" in str(err)


def test_missing_file_is_a_scene_error(tmp_path):
    err = error_of(tmp_path / "nope.toml")
    assert "no such scene file" in str(err)


def test_material_overrides_are_checked_and_applied(tmp_path):
    settings = load_scene(write(tmp_path, "[materials.masonry]\nbond_strength = 5000.0\n"))
    assert resolve_materials(settings.materials)["masonry"].bond_strength == 5000.0
    err = error_of(write(tmp_path, "[materials.masnory]\ndensity = 1800.0\n"))
    assert "did you mean 'masonry'" in str(err)
    err = error_of(write(tmp_path, "[materials.masonry]\ndensty = 1800.0\n"))
    assert "materials.masonry.densty" in str(err) and "density" in str(err)
    err = error_of(write(tmp_path, "[materials.masonry]\ncolor = [1, 0, 0]\n"))
    assert "materials.masonry.color" in str(err)


def test_mesh_source_paths_are_relative_to_the_scene_file(tmp_path):
    (tmp_path / "sub").mkdir()
    path = write(tmp_path / "sub", '[mesh]\npath = "house.obj"\n')
    assert load_scene(path).mesh.path == str((tmp_path / "sub" / "house.obj").resolve())
    err = error_of(write(tmp_path, '[mesh]\npath = "house.blend"\n'))
    assert "mesh.object" in str(err)
    err = error_of(write(tmp_path, '[building]\nstoreys = 2\n[mesh]\npath = "a.obj"\n'))
    assert "either [building] or a [mesh]" in str(err)


@pytest.mark.parametrize("scene", SCENES, ids=lambda p: p.name)
def test_shipped_scenes_load_and_round_trip(scene):
    settings = load_scene(scene)
    assert load_scene(dump_scene(settings)) == settings
    assert load_scene(dump_scene(settings, full=True)) == settings


def test_dump_writes_only_what_differs_from_the_defaults():
    settings = dataclasses.replace(ShotSettings(seed=9), building=BuildingSpec(storeys=7))
    text = dump_scene(settings)
    assert "storeys = 7" in text and "bays_x" not in text and "seed = 9" in text
    assert load_scene(text) == settings


def test_with_seed_changes_every_seed():
    settings = ShotSettings(seed=1).with_seed(12)
    assert (settings.seed, settings.fracture.seed, settings.trigger.seed) == (12, 12, 12)


def test_frame_lists_parse_ranges_lists_and_steps():
    assert parse_frames("1-4") == [1, 2, 3, 4]
    assert parse_frames("1,5,9") == [1, 5, 9]
    assert parse_frames("1-9x4,12") == [1, 5, 9, 12]
    assert parse_frames("3, 1-2") == [1, 2, 3]
    for bad in ("", "a-b", "5-1", "1-"):
        with pytest.raises(SpecError, match="frames"):
            parse_frames(bad)


def test_frames_outside_the_simulation_are_refused():
    with pytest.raises(Exception, match="outside the simulation"):
        ShotSettings().frame_list("100-130")


@pytest.mark.parametrize("count,total", [(48, 1), (48, 4), (10, 3), (5, 7)])
def test_chunks_cover_every_frame_once_in_order(count, total):
    frames = list(range(1, count + 1))
    chunks = [chunk_frames(frames, f"{n}/{total}") for n in range(1, total + 1)]
    assert sum(chunks, []) == frames
    assert max(map(len, chunks)) - min(map(len, chunks)) <= 1


def test_bad_chunk_is_refused():
    for bad in ("0/2", "3/2", "1", "a/b"):
        with pytest.raises(Exception, match="chunk"):
            chunk_frames([1, 2, 3], bad)


def test_every_key_is_documented():
    assert undocumented_keys() == []


def test_scene_reference_doc_is_up_to_date():
    committed = (ROOT / "docs" / "scene-reference.md").read_text()
    assert committed == reference_markdown(), "run `collapse reference` to regenerate it"


def test_check_command_exits_2_with_the_key_on_a_bad_scene(tmp_path):
    from headless.cli import cli

    bad = write(tmp_path, "[render]\nresolutoin = [64, 36]\n")
    result = CliRunner().invoke(cli, ["check", str(bad)])
    assert result.exit_code == 2
    assert "render.resolutoin" in result.output and "did you mean 'resolution'" in result.output
    good = write(tmp_path, "[building]\nstoreys = 2\n", "good.toml")
    result = CliRunner().invoke(cli, ["check", str(good)])
    assert result.exit_code == 0 and "storeys = 2" in result.output
