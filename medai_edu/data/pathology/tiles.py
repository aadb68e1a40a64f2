"""Tiles: cut a slide into square tiles on a grid, label them, serve them to PyTorch."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from medai_edu.data.pathology.slide import SyntheticSlide
from medai_edu.data.pathology.vocabulary import BACKGROUND, REGION_CLASSES


class SlideTiles(NamedTuple):
    """Tiles cut from one slide; unpack as ``tiles, coords, labels, tissue = cut_tiles(...)``."""

    tiles: np.ndarray  # (N, t, t, 3) uint8
    coords: np.ndarray  # (N, 2) int64, level-0 (x, y) of each tile's top-left corner
    labels: np.ndarray  # (N,) uint8, majority tissue region (index into REGION_CLASSES)
    tissue_fraction: np.ndarray  # (N,) float32, share of the tile that is not background


def _region_counts(mask: np.ndarray, ys: np.ndarray, xs: np.ndarray, size: int) -> np.ndarray:
    """Pixels of each region class in every tile, (len(ys), len(xs), n_classes) int64.

    Uses a summed-area table per class: four lookups per tile, whatever the stride.
    """
    counts = np.empty((len(ys), len(xs), len(REGION_CLASSES)), np.int64)
    for c in range(len(REGION_CLASSES)):
        table = np.pad((mask == c).cumsum(0, dtype=np.int64).cumsum(1), ((1, 0), (1, 0)))
        y0, y1, x0, x1 = ys[:, None], ys[:, None] + size, xs[None, :], xs[None, :] + size
        counts[..., c] = table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0]
    return counts


def cut_tiles(
    slide: SyntheticSlide, tile_size: int = 224, stride: int | None = None, min_tissue: float = 0.5
) -> SlideTiles:
    """Cut a slide into square tiles on a regular grid and keep those with enough tissue.

    Parameters
    ----------
    slide : SyntheticSlide
    tile_size : int
        Tile side in level-0 pixels (224 px at 0.5 µm/px is 112 µm).
    stride : int, optional
        Step between tiles; defaults to ``tile_size`` (no overlap).
    min_tissue : float
        Keep tiles whose non-background share is at least this (0-1).

    Returns
    -------
    SlideTiles
        A tile's label is its most common tissue region (background does not count), so a
        tile that is 60 % glass and 40 % tumour is a tumour tile if it is kept at all.
    """
    height, width = slide.region_mask.shape
    stride = tile_size if stride is None else stride
    if not 0 < tile_size <= min(height, width):
        raise ValueError(f"tile_size must be in 1..{min(height, width)}, got {tile_size!r}")
    if stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}")
    if not 0.0 <= min_tissue <= 1.0:
        raise ValueError(f"min_tissue must be in [0, 1], got {min_tissue!r}")
    ys = np.arange(0, height - tile_size + 1, stride)
    xs = np.arange(0, width - tile_size + 1, stride)
    counts = _region_counts(slide.region_mask, ys, xs, tile_size)
    tissue = 1.0 - counts[..., BACKGROUND] / tile_size**2
    iy, ix = np.nonzero((tissue >= min_tissue) & (tissue > 0))
    coords = np.stack([xs[ix], ys[iy]], axis=1).astype(np.int64)
    tiles = np.zeros((len(coords), tile_size, tile_size, 3), np.uint8)
    for k, (x, y) in enumerate(coords):
        tiles[k] = slide.image[y : y + tile_size, x : x + tile_size]
    labels = (counts[iy, ix, 1:].argmax(axis=1) + 1).astype(np.uint8)
    return SlideTiles(tiles, coords, labels, tissue[iy, ix].astype(np.float32))


class TileDataset(torch.utils.data.Dataset):
    """Tiles as a PyTorch dataset: ``(image, label)`` with image (3, t, t) float32 in [0, 1].

    Parameters
    ----------
    tiles : np.ndarray, shape (N, t, t, 3), uint8
    labels : np.ndarray, shape (N,), int
    transform : callable, optional
        Applied to each image tensor (augmentation, normalisation).
    """

    def __init__(self, tiles: np.ndarray, labels: np.ndarray, transform=None) -> None:
        tiles, labels = np.asarray(tiles), np.asarray(labels)
        if tiles.ndim != 4 or tiles.shape[-1] != 3 or tiles.dtype != np.uint8:
            raise ValueError(f"tiles must be (N, t, t, 3) uint8, got {tiles.shape} {tiles.dtype}")
        if len(labels) != len(tiles):
            raise ValueError(f"{len(tiles)} tiles but {len(labels)} labels")
        self.tiles, self.labels, self.transform = tiles, labels.astype(np.int64), transform
        self.slide_index = np.zeros(len(tiles), np.int64)  # which slide each tile came from

    @classmethod
    def from_slides(
        cls,
        slides: list[SyntheticSlide],
        tile_size: int = 224,
        stride: int | None = None,
        min_tissue: float = 0.5,
        label: str = "region",
        transform=None,
    ) -> TileDataset:
        """Tiles of several slides, labelled by ``label``: ``"region"`` (the tile's region
        class), or a slide label, ``"tumour_type"`` or ``"grade"`` (every tile of a slide
        gets it). ``slide_index`` records each tile's slide, for splitting by slide."""
        if label not in ("region", "tumour_type", "grade"):
            raise ValueError(f"label must be 'region', 'tumour_type' or 'grade', got {label!r}")
        parts = [cut_tiles(s, tile_size, stride, min_tissue) for s in slides]
        tiles = np.concatenate([p.tiles for p in parts])
        labels = np.concatenate(
            [
                p.labels if label == "region" else np.full(len(p.labels), getattr(s, label))
                for p, s in zip(parts, slides, strict=True)
            ]
        )
        dataset = cls(tiles, labels, transform)
        dataset.slide_index = np.repeat(np.arange(len(slides)), [len(p.labels) for p in parts])
        return dataset

    def __len__(self) -> int:
        return len(self.tiles)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = torch.from_numpy(self.tiles[index]).permute(2, 0, 1).float().div_(255.0)
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])
