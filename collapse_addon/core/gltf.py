"""glTF 2.0 in (``.glb`` binary, or ``.gltf`` JSON with its buffers beside it or embedded as
base64 data URIs): every triangle primitive of the default scene's meshes, with the node
transforms applied, as one triangle soup in the file's coordinates (glTF is always Y up and in
metres; ``[mesh] up_axis = "auto"`` turns it to Blender's Z up).

A small reader of its own (positions and indices only; no materials, no Draco/meshopt compressed
buffers, which it refuses by name) so the mesh path needs no extra dependency and never imports
bpy. Game and web assets are rarely closed solids: they go through the same repaired / united /
solidified routes as any mesh.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np

from .errors import SpecError

_COMPONENTS = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32,
               5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def is_gltf(path) -> bool:
    return str(path).lower().endswith((".glb", ".gltf"))


def load_gltf(path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) and triangles (T, 3) of every mesh the default scene places."""
    path = Path(path)
    doc, chunks = _read(path)
    for ext in doc.get("extensionsRequired", []):
        raise SpecError(str(path), f"needs the glTF extension {ext}, which Collapse does not read",
                        "export without compression (no Draco / meshopt), or as OBJ")
    scenes = doc.get("scenes") or [{"nodes": list(range(len(doc.get("nodes", []))))}]
    scene = scenes[doc.get("scene", 0)]
    verts, tris, offset = [], [], 0
    stack = [(n, np.eye(4)) for n in scene.get("nodes", [])]
    while stack:
        index, parent = stack.pop()
        node = doc["nodes"][index]
        world = parent @ _node_matrix(node)
        for child in node.get("children", []):
            stack.append((child, world))
        if "mesh" not in node:
            continue
        for prim in doc["meshes"][node["mesh"]].get("primitives", []):
            if prim.get("mode", 4) != 4 or "POSITION" not in prim.get("attributes", {}):
                continue  # points, lines and strips hold no faces of a solid
            p = _accessor(doc, chunks, prim["attributes"]["POSITION"], path).astype(float)
            idx = (_accessor(doc, chunks, prim["indices"], path).astype(np.int64).ravel()
                   if "indices" in prim else np.arange(len(p)))
            t = idx[: len(idx) // 3 * 3].reshape(-1, 3)
            if np.linalg.det(world[:3, :3]) < 0:  # a mirroring node turns the winding over
                t = t[:, ::-1]
            verts.append(p @ world[:3, :3].T + world[:3, 3])
            tris.append(t + offset)
            offset += len(p)
    if not tris or not sum(len(t) for t in tris):
        raise SpecError(str(path), "has no triangle mesh in its default scene",
                        "export the building's meshes (triangles) to glTF, or as OBJ")
    return np.concatenate(verts), np.concatenate(tris)


def _read(path: Path):
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(str(path), f"cannot be read ({exc})", "check the path") from exc
    chunks: dict = {}
    if data[:4] == b"glTF":
        try:
            _, _, length = struct.unpack_from("<III", data, 0)
            pos, doc = 12, None
            while pos + 8 <= min(length, len(data)):
                size, kind = struct.unpack_from("<II", data, pos)
                body = data[pos + 8: pos + 8 + size]
                if kind == 0x4E4F534A:  # JSON
                    doc = json.loads(body)
                elif kind == 0x004E4942:  # BIN
                    chunks[0] = body
                pos += 8 + size
        except (struct.error, ValueError) as exc:
            raise SpecError(str(path), f"is not a readable GLB file ({exc})", "export it again") from exc
        if doc is None:
            raise SpecError(str(path), "has no JSON chunk", "export it again as glTF 2.0")
        return doc, chunks
    try:
        return json.loads(data), chunks
    except ValueError as exc:
        raise SpecError(str(path), f"is neither GLB nor glTF JSON ({exc})",
                        "export it as glTF 2.0 (.glb or .gltf)") from exc


def _buffer(doc, chunks, index: int, path: Path) -> bytes:
    if index in chunks:
        return chunks[index]
    uri = doc["buffers"][index].get("uri")
    if uri is None:
        raise SpecError(str(path), f"buffer {index} has no data", "export it again")
    if uri.startswith("data:"):
        chunks[index] = base64.b64decode(uri.split(",", 1)[1])
    else:
        try:
            chunks[index] = (path.parent / uri).read_bytes()
        except OSError as exc:
            raise SpecError(str(path), f"its buffer {uri} cannot be read ({exc})",
                            "keep the .bin beside the .gltf, or export a .glb") from exc
    return chunks[index]


def _accessor(doc, chunks, index: int, path: Path) -> np.ndarray:
    acc = doc["accessors"][index]
    dtype = np.dtype(_COMPONENTS[acc["componentType"]])
    width = _WIDTH[acc["type"]]
    count = acc["count"]
    if "bufferView" not in acc:
        return np.zeros((count, width), dtype)
    view = doc["bufferViews"][acc["bufferView"]]
    raw = _buffer(doc, chunks, view["buffer"], path)
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    stride = view.get("byteStride") or dtype.itemsize * width
    rows = np.lib.stride_tricks.as_strided(
        np.frombuffer(raw, np.uint8, offset=start, count=(count - 1) * stride + dtype.itemsize * width),
        shape=(count, dtype.itemsize * width), strides=(stride, 1))
    return np.ascontiguousarray(rows).view(dtype).reshape(count, width)


def _node_matrix(node) -> np.ndarray:
    if "matrix" in node:
        return np.array(node["matrix"], float).reshape(4, 4).T  # column-major
    m = np.eye(4)
    x, y, z, w = node.get("rotation", [0.0, 0.0, 0.0, 1.0])
    r = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    m[:3, :3] = r * np.array(node.get("scale", [1.0, 1.0, 1.0]))[None, :]
    m[:3, 3] = node.get("translation", [0.0, 0.0, 0.0])
    return m
