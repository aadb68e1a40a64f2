"""Read the tiles of a grid in batches, once each, optionally in worker processes.

Reading a whole-slide image tile by tile spends most of its time on per-call overhead:
every ``read_region`` finds, decodes and composites the stored tiles it touches. Adjacent
grid tiles in a row share stored tiles, so :func:`iter_tile_batches` reads each run of
adjacent tiles as one strip (one ``read_region`` call) and cuts it up.

Memory is bounded by the batch size, not by the slide: one batch is assembled at a time
(with ``workers > 0``, at most ``2 * workers`` batches are in flight), and a strip never
spans more than one batch.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np

from medai_edu.wsi.slide import Slide, open_slide, resize_rgb
from medai_edu.wsi.tiling import TileGrid

__all__ = ["iter_tile_batches"]


class _Geometry(NamedTuple):
    """What a worker needs of a grid besides the coordinates (small, cheap to pickle)."""

    level: int
    read_size: int
    tile_size: int
    tile_size_level0: int
    level_downsample: float

    @classmethod
    def of(cls, grid: TileGrid) -> _Geometry:
        return cls(
            grid.level,
            grid.read_size,
            grid.tile_size,
            grid.tile_size_level0,
            grid.level_downsample,
        )


def _strips(coords: np.ndarray, step: int, max_tiles: int) -> Iterator[slice]:
    """Runs of consecutive tiles on one row, each ``step`` level-0 pixels right of the last."""
    start = 0
    for i in range(1, len(coords) + 1):
        ends = (
            i == len(coords)
            or coords[i, 1] != coords[i - 1, 1]
            or coords[i, 0] - coords[i - 1, 0] != step
            or i - start == max_tiles
        )
        if ends:
            yield slice(start, i)
            start = i


def _read_batch(
    slide: Slide, coords: np.ndarray, geometry: _Geometry, strip_tiles: int
) -> np.ndarray:
    """Tiles at ``coords`` (B, 2), as (B, t, t, 3) uint8, reading strips of adjacent tiles."""
    t, size = geometry.tile_size, geometry.read_size
    tiles = np.empty((len(coords), t, t, 3), np.uint8)
    for run in _strips(coords, geometry.tile_size_level0, strip_tiles):
        x_first, y = (int(v) for v in coords[run.start])
        # Offsets in level pixels; exact when the level downsample divides the grid step.
        offsets = np.rint((coords[run, 0] - x_first) / geometry.level_downsample).astype(int)
        strip = slide.read_region((x_first, y), geometry.level, (int(offsets[-1]) + size, size))
        for k, offset in enumerate(offsets):
            tiles[run.start + k] = resize_rgb(strip[:, offset : offset + size], (t, t))
    return tiles


# One open slide per worker process, opened by the initializer and reused for every batch.
_WORKER_SLIDE: Slide | None = None


def _worker_open(path: str, backend: str) -> None:
    global _WORKER_SLIDE
    _WORKER_SLIDE = open_slide(path, backend=backend)


def _worker_read(
    coords: np.ndarray, geometry: _Geometry, strip_tiles: int
) -> tuple[np.ndarray, np.ndarray]:
    assert _WORKER_SLIDE is not None, "worker slide not opened"
    return _read_batch(_WORKER_SLIDE, coords, geometry, strip_tiles), coords


def _batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    return [(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def iter_tile_batches(
    slide_path: str | Path | Slide,
    grid: TileGrid,
    batch_size: int = 64,
    workers: int = 0,
    backend: str | None = None,
    strip_tiles: int = 16,
    start_method: str | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield every tile of ``grid`` exactly once, in grid order, in batches.

    Parameters
    ----------
    slide_path : str, Path or Slide
        The slide file (a :class:`Slide` stands for its path and backend; it is not read
        from directly, each reader opens its own handle).
    grid : TileGrid
        From :func:`tile_grid` on the same slide.
    batch_size : int
        Tiles per batch (the last batch may be smaller).
    workers : int
        0 reads in this process; ``n > 0`` reads in ``n`` worker processes, each opening the
        slide once, while this process consumes batches.
    backend : {"auto", "openslide", "tifffile"}, optional
        Reader; defaults to the backend of a given :class:`Slide`, else ``"auto"``.
    strip_tiles : int
        Longest run of adjacent tiles read in one ``read_region`` call.
    start_method : {"fork", "forkserver", "spawn"}, optional
        How worker processes start; the platform's default when omitted (``fork`` on Linux
        up to Python 3.13, as PyTorch's DataLoader does). Workers share nothing with this
        process but the file name, so ``fork`` is safe here and starts in milliseconds;
        ``spawn`` re-imports the main script in every worker (seconds, if it imports torch).

    Yields
    ------
    tiles : np.ndarray, shape (B, t, t, 3), uint8
        RGB tiles, ``t = grid.tile_size``; identical to :func:`read_tile` when the level
        downsample divides the grid step (always for level 0 and power-of-two pyramids).
    coords : np.ndarray, shape (B, 2), int64
        Level-0 ``(x, y)`` of each tile, rows of ``grid.coords``.
    """
    # Arguments are checked now; the slide is opened when iteration starts.
    if isinstance(slide_path, Slide):
        backend = backend or slide_path.backend
        slide_path = slide_path.path
    backend = backend or "auto"
    if int(batch_size) < 1 or int(workers) < 0 or int(strip_tiles) < 1:
        raise ValueError(
            f"need batch_size >= 1, workers >= 0 and strip_tiles >= 1; got {batch_size}, "
            f"{workers} and {strip_tiles}"
        )
    if not Path(slide_path).exists():
        raise FileNotFoundError(f"slide file not found: {slide_path}")
    bounds = _batch_bounds(len(grid), int(batch_size))
    geometry = _Geometry.of(grid)
    if workers == 0:
        return _iter_here(Path(slide_path), backend, grid, bounds, geometry, strip_tiles)
    context = multiprocessing.get_context(start_method)
    return _iter_in_workers(
        str(slide_path), backend, grid, bounds, geometry, int(workers), strip_tiles, context
    )


def _iter_here(path, backend, grid, bounds, geometry, strip_tiles):
    """Batches read in this process, through one slide handle."""
    with open_slide(path, backend=backend) as slide:
        for start, stop in bounds:
            coords = grid.coords[start:stop]
            yield _read_batch(slide, coords, geometry, strip_tiles), coords


def _iter_in_workers(path, backend, grid, bounds, geometry, workers, strip_tiles, context):
    """Batches read by a process pool, yielded in order, with at most 2 per worker in flight."""
    if not bounds:
        return
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_worker_open, initargs=(path, backend)
    )

    def submit(start: int, stop: int):
        return pool.submit(_worker_read, grid.coords[start:stop], geometry, strip_tiles)

    queued = iter(bounds)
    try:
        pending = deque(submit(*b) for _, b in zip(range(2 * workers), queued, strict=False))
        while pending:
            tiles, coords = pending.popleft().result()
            following = next(queued, None)
            if following is not None:
                pending.append(submit(*following))
            yield tiles, coords
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
