"""How fast the pipeline reads a large slide: tissue mask, tile grid, batched tile reading.

:func:`benchmark_tiling` writes a synthetic 20 480 x 20 480 pyramidal TIFF in seconds: a
2048 x 2048 synthetic H&E image repeated 10 x 10 times, each distinct TIFF tile compressed
once and its bytes reused (the file holds every tile, as a real one would). It then times
the pipeline against the plain loop most scripts start with: OpenSlide ``read_region`` tile
by tile, one tile at a time through the feature extractor. The pipeline reads the ``.tif``
through :func:`open_slide`'s default, tifffile, so its gain over the plain loop combines
three things: strips of adjacent tiles per read, no RGBA compositing, batched features.

Memory figures are **tracemalloc peaks**: the largest amount of memory allocated through
Python's allocators in this process during a pass (every NumPy array, but not PyTorch
tensors, nor buffers of C libraries such as OpenSlide's tile cache), above what was
allocated before it. For workers, ``worker_maxrss_mb`` is ``getrusage(RUSAGE_CHILDREN)``'s
``ru_maxrss``: the resident peak of the largest finished child process, imports included
(and, with ``fork``, the pages it shares with this process). Speeds are measured in
separate passes without tracemalloc, which slows allocation.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import tempfile
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np

from medai_edu.data.pyramid import MICRONS_PER_CM, downsample_by_two
from medai_edu.wsi.batches import iter_tile_batches
from medai_edu.wsi.slide import open_slide, resize_rgb
from medai_edu.wsi.tiling import TileGrid, tile_grid
from medai_edu.wsi.tissue import tissue_mask

__all__ = ["benchmark_tiling", "conv_features", "mean_colour_features", "write_large_slide"]

FeatureFn = Callable[[np.ndarray], np.ndarray]
T = TypeVar("T")


# --------------------------------------------------------------------------------------
# A large slide, quickly
# --------------------------------------------------------------------------------------


def _repeated_tiles(source: np.ndarray, shape: tuple[int, int], tile: int) -> Iterator[bytes]:
    """Zlib-compressed tiles, row by row, of ``source`` repeated to fill ``shape`` (H, W).

    Tiles with the same content are compressed once: with a period that is a multiple of
    the tile size, a 20k-pixel level has only 64 distinct tiles.
    """
    period_h, period_w = source.shape[:2]
    compressed: dict[tuple[int, int], bytes] = {}
    for top in range(0, shape[0], tile):
        for left in range(0, shape[1], tile):
            key = (top % period_h, left % period_w)
            if key not in compressed:
                rows = (top + np.arange(tile)) % period_h
                cols = (left + np.arange(tile)) % period_w
                pixels = np.ascontiguousarray(source[np.ix_(rows, cols)])
                compressed[key] = zlib.compress(pixels.tobytes(), 1)
            yield compressed[key]


def write_large_slide(
    path: str | Path,
    size: int = 20480,
    mpp: float = 0.5,
    tile: int = 256,
    seed: int = 0,
    source_size: int = 2048,
) -> Path:
    """Write a large synthetic H&E slide as a pyramidal TIFF, in seconds.

    Parameters
    ----------
    path : str or Path
    size : int
        Level-0 width and height in pixels.
    mpp : float
        Microns per level-0 pixel.
    tile : int
        TIFF tile side (a multiple of 16).
    seed : int
        Seed of the synthetic slide that is repeated.
    source_size : int
        Side of that slide; a multiple of ``tile`` keeps the number of distinct tiles small.

    Returns
    -------
    Path
        A BigTIFF with levels halving down to about 256 px, read by OpenSlide and tifffile.
        Every level is an exact 2x2 average of the one above, like :func:`write_pyramid_tiff`.
    """
    import tifffile

    from medai_edu.data.pathology import SlideConfig, make_slide

    config = SlideConfig(width=source_size, height=source_size, mpp=mpp)
    source = make_slide(seed, config).image
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    height = width = int(size)
    with tifffile.TiffWriter(path, bigtiff=True) as writer:
        for level in range(64):
            pixels_per_cm = MICRONS_PER_CM / (mpp * 2**level)
            writer.write(
                _repeated_tiles(source, (height, width), tile),
                shape=(height, width, 3),
                dtype=np.uint8,
                photometric="rgb",
                tile=(tile, tile),
                compression="zlib",
                resolution=(pixels_per_cm, pixels_per_cm),
                resolutionunit="CENTIMETER",
                subfiletype=0 if level == 0 else 1,
                metadata=None,
            )
            if max(height, width) // 2 < 256:
                break
            # The repeated image stays periodic at each level while its period is even.
            height, width = -(-height // 2), -(-width // 2)
            source = downsample_by_two(source)
    return path


# --------------------------------------------------------------------------------------
# Tiny feature extractors, to make the benchmark an end-to-end inference pass
# --------------------------------------------------------------------------------------


def mean_colour_features(tiles: np.ndarray) -> np.ndarray:
    """Mean R, G, B of each tile: (B, t, t, 3) uint8 -> (B, 3) float32."""
    # Summing whole rows first keeps the inner loop contiguous: ~25x faster than a mean
    # over a (B, t*t, 3) view, whose reduction strides across the colour channels.
    rows = tiles.sum(axis=1, dtype=np.uint32)
    return (rows.sum(axis=1) / np.float32(tiles.shape[1] * tiles.shape[2])).astype(np.float32)


_CONV_NET = None


def conv_features(tiles: np.ndarray) -> np.ndarray:
    """A small random convolutional network (3 strided convolutions, global average pool).

    (B, t, t, 3) uint8 -> (B, 32) float32; stands in for a pretrained tile encoder.
    """
    global _CONV_NET
    import torch

    if _CONV_NET is None:
        torch.manual_seed(0)
        _CONV_NET = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 5, stride=4),
            torch.nn.ReLU(),
            torch.nn.Conv2d(16, 32, 3, stride=2),
            torch.nn.ReLU(),
            torch.nn.Conv2d(32, 32, 3, stride=2),
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
        ).eval()
    with torch.inference_mode():
        writable = np.require(tiles, requirements="W")  # read_region may give read-only views
        images = torch.from_numpy(writable).permute(0, 3, 1, 2).float().div_(255.0)
        return _CONV_NET(images).numpy()


_FEATURES: dict[str, FeatureFn] = {"mean": mean_colour_features, "conv": conv_features}


# --------------------------------------------------------------------------------------
# Passes
# --------------------------------------------------------------------------------------


def _plain_pass(path: Path, grid: TileGrid, feature: FeatureFn, limit: int) -> int:
    """The baseline: OpenSlide ``read_region`` one tile at a time, one tile per inference."""
    import openslide

    slide = openslide.OpenSlide(path)
    try:
        size = (grid.read_size, grid.read_size)
        for x, y in grid.coords[:limit].tolist():
            tile = np.asarray(slide.read_region((x, y), grid.level, size))[..., :3]
            feature(resize_rgb(np.ascontiguousarray(tile), (grid.tile_size,) * 2)[None])
    finally:
        slide.close()
    return min(limit, len(grid))


def _batched_pass(
    path: Path, grid: TileGrid, feature: FeatureFn, limit: int, batch_size: int, workers: int
) -> int:
    subset = grid.subset(np.arange(min(limit, len(grid))))
    count = 0
    for tiles, _ in iter_tile_batches(path, subset, batch_size=batch_size, workers=workers):
        feature(tiles)
        count += len(tiles)
    return count


@contextlib.contextmanager
def _torch_threads(count: int | None):
    """Run with ``count`` PyTorch threads (if not None), restoring the setting afterwards."""
    if count is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _timed(run: Callable[[], T]) -> tuple[float, T]:
    """Seconds ``run`` took, and what it returned."""
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def _traced_peak_mb(run: Callable[[], int]) -> float:
    """tracemalloc peak of ``run`` above what was allocated when it started, in MB."""
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - baseline) / 1e6


def _record(name: str, value: float, unit: str, **details) -> dict:
    rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in details.items()}
    return {"benchmark": f"wsi.{name}", "value": round(float(value), 4), "unit": unit, **rounded}


def benchmark_tiling(
    out_dir: str | Path | None = None,
    size: int = 20480,
    tile_size: int = 256,
    mpp: float | None = None,
    batch_size: int = 64,
    workers: tuple[int, ...] = (0, 2),
    feature: str | FeatureFn = "mean",
    max_tiles: int | None = None,
    memory_tiles: int = 512,
    torch_threads: int | None = 1,
) -> list[dict]:
    """Time the slide pipeline on a large synthetic slide, against a plain OpenSlide loop.

    Parameters
    ----------
    out_dir : str or Path, optional
        Where to write the slide (and leave it: 1.1 GB at the default size); a temporary
        folder, deleted afterwards, when omitted.
    size : int
        Level-0 side of the slide in pixels (at least 20 000 for a realistic slide).
    tile_size : int
        Tile side in pixels at the requested resolution.
    mpp : float, optional
        Resolution of the tiles (µm/px); level 0 (0.5 µm/px) when omitted.
    batch_size : int
    workers : tuple of int
        Worker counts of the batched iterator to measure.
    feature : {"mean", "conv"} or callable
        Per-batch feature extractor, (B, t, t, 3) uint8 -> (B, F): mean colour, a small
        random conv net (PyTorch), or your own.
    max_tiles : int, optional
        Read at most this many tiles per pass (the grid's first tiles), to bound the run
        time; None reads the whole grid.
    memory_tiles : int
        Tiles read in each (separate, slower) tracemalloc pass.
    torch_threads : int, optional
        PyTorch intra-op threads during the run (restored afterwards), for the ``"conv"``
        feature. One by default: on a small shared machine, or beside reading workers, more
        threads oversubscribe the cores and a tiny network can run 30x slower as its threads
        wait for each other. None leaves PyTorch's setting alone.

    Returns
    -------
    list of dict
        JSON-serialisable records ``{"benchmark", "value", "unit", ...details}``: slide
        writing, tissue-mask and grid seconds, tiles per second and tracemalloc peak of the
        plain loop and of each worker count, and ``ratio_to_plain`` (batched speed / plain
        speed).
    """
    if isinstance(feature, str) and feature not in _FEATURES:
        raise ValueError(f"feature must be one of {list(_FEATURES)} or a callable")
    extract = _FEATURES[feature] if isinstance(feature, str) else feature
    feature_name = feature if isinstance(feature, str) else getattr(feature, "__name__", "custom")
    with (
        tempfile.TemporaryDirectory(prefix="medai-wsi-bench-") as tmp,
        _torch_threads(torch_threads),
    ):
        folder = Path(out_dir) if out_dir is not None else Path(tmp)
        return _run_benchmark(
            folder / f"synthetic_{size}.tif",
            size,
            tile_size,
            mpp,
            batch_size,
            workers,
            (extract, feature_name),
            max_tiles,
            memory_tiles,
        )


def _run_benchmark(
    path, size, tile_size, mpp, batch_size, workers, feature, max_tiles, memory_tiles
) -> list[dict]:
    records, grid = _prepare(path, size, tile_size, mpp)
    extract, feature_name = feature
    limit = len(grid) if max_tiles is None else min(max_tiles, len(grid))
    details = {"feature": feature_name, "tile": tile_size, "tiles": limit}

    def plain(n_tiles: int) -> int:
        return _plain_pass(path, grid, extract, n_tiles)

    seconds, count = _timed(lambda: plain(limit))
    plain_speed = count / seconds
    peak = _traced_peak_mb(lambda: plain(memory_tiles))
    records.append(
        _record("plain_openslide_tiles_per_s", plain_speed, "tiles/s", **details, peak_mb=peak)
    )
    for n in workers:

        def batched(n_tiles: int, n: int = n) -> int:
            return _batched_pass(path, grid, extract, n_tiles, batch_size, n)

        seconds, count = _timed(lambda: batched(limit))
        peak = _traced_peak_mb(lambda: batched(memory_tiles))
        extra = {"worker_maxrss_mb": _children_maxrss_mb()} if n else {}
        name = f"batched_workers{n}_tiles_per_s"
        speed = count / seconds
        records.append(
            _record(
                name,
                speed,
                "tiles/s",
                **details,
                batch_size=batch_size,
                peak_mb=peak,
                ratio_to_plain=speed / plain_speed,
                **extra,
            )
        )
    return records


def _prepare(path: Path, size: int, tile_size: int, mpp: float | None):
    """Write the slide, compute its tissue mask and grid; records of how long each took."""
    seconds, _ = _timed(lambda: write_large_slide(path, size=size))
    megabytes = path.stat().st_size / 1e6
    records = [_record("write_slide_s", seconds, "s", size=f"{size}x{size}", file_mb=megabytes)]
    with open_slide(path) as slide:
        seconds, mask = _timed(lambda: tissue_mask(slide))
        records.append(_record("tissue_mask_s", seconds, "s", mask_shape=list(mask.mask.shape)))
        seconds, grid = _timed(lambda: tile_grid(slide, tile_size, mpp=mpp, mask=mask))
    records.append(
        _record("tile_grid_s", seconds, "s", tiles=len(grid), level=grid.level, tile=tile_size)
    )
    return records, grid


def _children_maxrss_mb() -> float:
    """Resident peak of the largest finished child process, in MB (ru_maxrss is in KiB
    on Linux, bytes on macOS)."""
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale / 1e6
