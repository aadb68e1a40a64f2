"""Export tiles and their scores as GeoJSON, the format QuPath imports and exports.

Each tile becomes a ``Feature`` with a square ``Polygon`` in **level-0 pixel coordinates**
(x to the right, y down), which is how QuPath places objects on a slide. The ring is closed
(first point repeated last, 5 points) and runs (x, y) -> (x + s, y) -> (x + s, y + s) ->
(x, y + s): counter-clockwise by the sign of its shoelace area, as RFC 7946 asks of outer
rings (it looks clockwise on screen, because image y points down).

QuPath reads ``properties.objectType`` (``"tile"``, ``"detection"`` or ``"annotation"``),
``properties.measurements`` (a name -> number map, shown in its measurement tables and
usable for colouring) and ``properties.classification`` (``{"name": ..., "color": [r, g,
b]}``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

__all__ = ["tile_polygon", "tiles_to_geojson"]

OBJECT_TYPES = ("tile", "detection", "annotation")


def tile_polygon(x: float, y: float, size: float) -> list[list[float]]:
    """The closed ring of a square tile: 5 ``[x, y]`` points, the first repeated last."""
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]


def _number(value) -> float | None:
    """A JSON-safe number: NaN and infinities (not valid JSON) become null."""
    value = float(value)
    return value if math.isfinite(value) else None


def _measurements(scores, n: int) -> dict[str, np.ndarray]:
    """Scores as a name -> (N,) array map; a bare array is called ``"score"``."""
    if scores is None:
        return {}
    table = dict(scores) if isinstance(scores, dict) else {"score": scores}
    columns = {str(name): np.asarray(values, np.float64).ravel() for name, values in table.items()}
    for name, values in columns.items():
        if len(values) != n:
            raise ValueError(f"measurement {name!r} has {len(values)} values for {n} tiles")
    return columns


def tiles_to_geojson(
    coords_level0: np.ndarray,
    tile_size_level0: float,
    scores: dict[str, np.ndarray] | np.ndarray | None = None,
    path: str | Path | None = None,
    classification: list[str] | np.ndarray | None = None,
    colors: dict[str, tuple[int, int, int]] | None = None,
    object_type: str = "tile",
) -> dict:
    """Tiles as a GeoJSON ``FeatureCollection`` that QuPath can import.

    Parameters
    ----------
    coords_level0 : np.ndarray, shape (N, 2)
        Level-0 ``(x, y)`` of each tile's top-left corner.
    tile_size_level0 : float
        Tile side in level-0 pixels.
    scores : dict of str to (N,) array, or (N,) array, optional
        Measurements per tile (a bare array is named ``"score"``). NaN becomes null.
    path : str or Path, optional
        Also write the collection to this file (UTF-8 JSON).
    classification : sequence of N str, optional
        A class name per tile (``properties.classification.name``).
    colors : dict of str to (r, g, b), optional
        Display colour of each class name, 0-255.
    object_type : {"tile", "detection", "annotation"}

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", "features": [...]}``, one feature per tile, in order,
        with ``id`` ``"tile-<index>"``.
    """
    if object_type not in OBJECT_TYPES:
        raise ValueError(f"object_type must be one of {OBJECT_TYPES}, got {object_type!r}")
    coords = np.asarray(coords_level0, np.float64).reshape(-1, 2)
    if not np.isfinite(coords).all() or not tile_size_level0 > 0:
        raise ValueError("coordinates must be finite and tile_size_level0 positive")
    columns = _measurements(scores, len(coords))
    if classification is not None and len(classification) != len(coords):
        raise ValueError(f"{len(classification)} class names for {len(coords)} tiles")
    size = float(tile_size_level0)
    if size.is_integer() and np.array_equal(coords, np.rint(coords)):
        coords, size = coords.astype(np.int64), int(size)  # whole pixels print as integers
    features = []
    for i, (x, y) in enumerate(coords.tolist()):
        properties: dict = {"objectType": object_type}
        if columns:
            properties["measurements"] = {k: _number(v[i]) for k, v in columns.items()}
        if classification is not None:
            name = str(classification[i])
            properties["classification"] = {"name": name}
            if colors and name in colors:
                properties["classification"]["color"] = [int(c) for c in colors[name]]
        features.append(
            {
                "type": "Feature",
                "id": f"tile-{i}",
                "geometry": {"type": "Polygon", "coordinates": [tile_polygon(x, y, size)]},
                "properties": properties,
            }
        )
    collection = {"type": "FeatureCollection", "features": features}
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(collection, allow_nan=False), encoding="utf-8")
    return collection
