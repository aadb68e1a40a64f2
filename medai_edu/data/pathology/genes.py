"""Gene expression: pathway activity driven by the clinical concepts, then log2 expression.

Each gene belongs to one pathway (a biological programme such as proliferation or the
squamous lineage); the concepts set each pathway's activity, and each gene follows its
pathway with its own baseline and loading, plus noise.
"""

from __future__ import annotations

import numpy as np

from medai_edu.data.pathology.markers import MARKER_GENES
from medai_edu.data.pathology.vocabulary import ADENO, SMALL_CELL, SQUAMOUS

#: Gene symbols grouped by the biological programme that drives them.
PATHWAYS: dict[str, tuple[str, ...]] = {
    "proliferation": ("MKI67", "TOP2A", "CCNB1", "CDK1", "BIRC5", "AURKA", "MCM2", "PCNA", "BUB1"),
    "glandular": ("NKX2-1", "NAPSA", "SFTPB", "SFTPC", "MUC1", "KRT7", "CLDN18"),
    "squamous": ("KRT5", "KRT6A", "TP63", "SOX2", "DSG3", "KRT14", "SPRR1B", "PKP1"),
    "neuroendocrine": ("CHGA", "SYP", "INSM1", "ASCL1", "NCAM1", "ENO2", "DLL3"),
    "immune": ("PTPRC", "CD3E", "CD8A", "GZMB", "PRF1", "MS4A1", "CXCL13"),
    "hypoxia": ("CA9", "VEGFA", "SLC2A1", "LDHA", "PGK1", "ADM", "NDRG1"),
    "housekeeping": ("ACTB", "GAPDH", "RPLP0", "TBP", "HPRT1", "PPIA"),
}
GENE_NAMES: tuple[str, ...] = tuple(g for genes in PATHWAYS.values() for g in genes)
_PATHWAY_OF_GENE = np.array(
    [list(PATHWAYS).index(p) for p, genes in PATHWAYS.items() for _ in genes]
)

# Fixed per-gene constants (the same for every case): baseline log2 expression and how
# strongly each gene follows its pathway. Housekeeping genes are high and flat.
_GENE_CONSTANTS = np.random.default_rng(20260101)
_GENE_BASELINE = np.where(
    _PATHWAY_OF_GENE == list(PATHWAYS).index("housekeeping"),
    _GENE_CONSTANTS.uniform(9.0, 12.0, len(GENE_NAMES)),
    _GENE_CONSTANTS.uniform(2.5, 6.0, len(GENE_NAMES)),
).astype(np.float32)
_GENE_LOADING = _GENE_CONSTANTS.uniform(0.7, 1.3, len(GENE_NAMES)).astype(np.float32)
del _GENE_CONSTANTS


def pathway_scores(
    rng: np.random.Generator, tumour_type: int, grade: int, concepts: dict[str, float]
) -> dict[str, float]:
    """Latent activity of each pathway (log2 units above baseline) for one tumour.

    Proliferation follows mitoses and pleomorphism; each type switches on its lineage
    programme (poor differentiation dims it); the immune programme follows the lymphocytic
    infiltrate seen in the slide; hypoxia follows necrosis.
    """
    differentiation_loss = 0.3 * concepts["architecture_score"]
    noise = rng.normal(0.0, 0.35, len(PATHWAYS))
    return {
        "proliferation": 0.8 * concepts["mitotic_count"]
        + 0.4 * concepts["nuclear_pleomorphism"]
        + 0.4 * (tumour_type == SMALL_CELL)
        + noise[0],
        "glandular": (2.5 - differentiation_loss) * (tumour_type == ADENO) + noise[1],
        "squamous": (2.5 - differentiation_loss) * (tumour_type == SQUAMOUS) + noise[2],
        "neuroendocrine": 2.5 * (tumour_type == SMALL_CELL) + noise[3],
        "immune": 1.1 * concepts["lymphocytic_infiltrate"] + noise[4],
        "hypoxia": 1.3 * concepts["necrosis"] + 0.2 * (grade - 1) + noise[5],
        "housekeeping": 0.0,
    }


def _sample_genes(
    rng: np.random.Generator,
    scores: dict[str, float],
    markers: dict[str, float] | None = None,
) -> np.ndarray:
    """log2 expression = baseline + loading * pathway score + sample offset + gene noise.

    Returns an array of shape (G,) float32 in :data:`GENE_NAMES` order. The sample offset
    (library size, RNA quality) moves every gene, housekeeping genes included, which is why
    real pipelines normalise to housekeeping genes. With ``markers`` (immunohistochemistry),
    each marker's gene follows the marker's status instead of its pathway: NKX2-1 is then
    high in TTF-1-positive small cell carcinomas too.
    """
    score = np.array([scores[p] for p in PATHWAYS], np.float32)[_PATHWAY_OF_GENE]
    if markers is not None:
        for gene, marker in MARKER_GENES.items():
            score[GENE_NAMES.index(gene)] = 2.5 * markers[marker]
    offset = rng.normal(0.0, 0.2)
    gene_noise = rng.normal(0.0, 0.35, len(GENE_NAMES))
    expression = _GENE_BASELINE + _GENE_LOADING * score + offset + gene_noise
    return np.clip(expression, 0.0, None).astype(np.float32)
