"""The mSTAR-mini demo: a slide in, its tumour type, the attention map and similar reports out."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from matplotlib.figure import Figure

from medai_edu.demos.uploads import read_slide_upload, slide_tiles

#: Tiles read from a slide: every 64 µm tissue tile of a 768 x 768 px example slide
#: (0.5 µm/px, read at 1 µm/px as mSTAR-mini was pretrained).
MAX_TILES = 64


@dataclass
class SlideCase:
    """A slide read for the models: its tissue tiles and what is needed to draw them."""

    tiles: object  # uploads.UploadedSlideTiles
    mpp: float  # µm per level-0 pixel (0.5 when the file does not say)
    name: str

    def batch(self) -> dict[str, torch.Tensor]:
        """mSTAR-mini's batch of one slide: tiles (1, N, 3, t, t) in [0, 1], mask, grid."""
        tiles = torch.from_numpy(np.asarray(self.tiles.tiles)).float().div(255)[None]
        grid = torch.as_tensor(np.asarray(self.tiles.grid), dtype=torch.long)[None]
        return {
            "tiles": tiles,
            "tile_mask": torch.ones(tiles.shape[:2], dtype=torch.bool),
            "grid": grid,
        }


@dataclass
class SlidePrediction:
    """Tumour-type probabilities (summing to 1), each tile's attention and similar reports."""

    probabilities: dict[str, float]
    attention: np.ndarray  # (N,), sums to 1 over the slide's tiles
    reports: list[dict] = field(default_factory=list)  # rank, similarity, report


def read_slide_case(path, name: str | None = None) -> SlideCase:
    """Open a slide file (an upload or an example), check it and cut its tissue tiles."""
    slide = read_slide_upload(path)
    try:
        tiles = slide_tiles(slide, max_tiles=MAX_TILES)
        mpp = slide.mpp or 0.5
    finally:
        slide.close()
    return SlideCase(tiles, float(mpp), name or str(path))


@torch.no_grad()
def predict_slide(slide_model, case: SlideCase, k: int = 3) -> SlidePrediction:
    """mSTAR-mini's tumour type with its tile attention, and the ``k`` archived reports
    nearest to the slide in the shared slide-report space (cosine similarity)."""
    model = slide_model.model.eval()
    out = model(case.batch())
    probabilities = out["logits"].softmax(-1)[0].tolist()
    similarity = (
        torch.nn.functional.normalize(out["slide"], dim=-1) @ slide_model.report_embeddings.T
    )
    top = similarity[0].topk(min(k, similarity.shape[1]))
    reports = [
        {"rank": r + 1, "similarity": round(float(s), 3), "report": slide_model.reports[int(j)]}
        for r, (s, j) in enumerate(zip(top.values, top.indices, strict=True))
    ]
    return SlidePrediction(
        dict(zip(slide_model.classes, probabilities, strict=True)),
        out["attention"][0].numpy(),
        reports,
    )


def plot_attention(case: SlideCase, attention: np.ndarray, title: str = "Where mSTAR-mini looked"):
    """The slide's thumbnail with each tile's attention painted over it, axes in µm."""
    from medai_edu.wsi import stitch_heatmap

    t = case.tiles
    width, height = t.dimensions
    heatmap = stitch_heatmap(
        t.coords, attention, t.tile_size_level0, (width, height), t.tile_size_level0
    )
    extent = (0, width * case.mpp, height * case.mpp, 0)
    fig = Figure(figsize=(6, 5), layout="constrained")
    ax = fig.subplots()
    ax.imshow(t.thumbnail, extent=extent)
    shown = ax.imshow(np.ma.masked_invalid(heatmap), cmap="inferno", alpha=0.55, extent=extent)
    fig.colorbar(shown, ax=ax, shrink=0.8, label="attention (share of the slide, 0-1)")
    ax.set(title=title, xlabel="x (µm)", ylabel="y (µm)")
    return fig
