"""A folder of whole-slide images with an optional ``slide_id,label`` CSV (CAMELYON, TCGA)."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from medai_edu.data.public.messages import few

if TYPE_CHECKING:  # openslide is imported only when a slide is opened
    import openslide

#: File endings OpenSlide reads (``.mrxs`` files come with a folder of the same name).
SLIDE_EXTENSIONS = (".svs", ".tif", ".tiff", ".ndpi", ".mrxs", ".scn", ".svslide", ".bif")


class SlideFolderError(ValueError):
    """A slide folder or its labels CSV does not fit together."""


@dataclass(frozen=True)
class SlideRecord:
    """One slide of a :class:`SlideFolder`.

    Attributes
    ----------
    slide_id : str
        File name without its extension, e.g. ``"tumor_001"``.
    path : Path
        The slide file.
    label : str or None
        Label from the CSV, or None when the folder has no CSV.
    """

    slide_id: str
    path: Path
    label: str | None


def _list_slides(root: Path, recursive: bool) -> list[Path]:
    candidates = root.rglob("*") if recursive else root.iterdir()
    slides = [
        path
        for path in candidates
        if path.is_file()
        and path.suffix.lower() in SLIDE_EXTENSIONS
        and not path.name.startswith(".")
    ]
    return sorted(slides)


def _read_labels_csv(path: Path) -> dict[str, str]:
    """Read ``slide_id,label`` rows into a dict; extra columns are ignored."""
    if not path.is_file():
        raise FileNotFoundError(f"labels CSV not found: {path}")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [name.strip() for name in reader.fieldnames or []]
        if "slide_id" not in columns or "label" not in columns:
            raise SlideFolderError(
                f"{path}: bad CSV header {columns}; the first line must name the columns "
                f"slide_id,label"
            )
        reader.fieldnames = columns
        labels: dict[str, str] = {}
        for line, row in enumerate(reader, start=2):
            slide_id = (row.get("slide_id") or "").strip()
            label = (row.get("label") or "").strip()
            if not slide_id or not label:
                raise SlideFolderError(f"{path}, line {line}: empty slide_id or label: {row}")
            if slide_id in labels:
                raise SlideFolderError(f"{path}, line {line}: slide_id {slide_id!r} repeated")
            labels[slide_id] = label
    return labels


def _match_labels(ids: list[str], labels_csv: str | Path, root: Path) -> dict[str, str]:
    """Read the labels CSV and check that it labels every slide, and only those."""
    labels = _read_labels_csv(Path(labels_csv))
    unlabelled = [i for i in ids if i not in labels]
    if unlabelled:
        raise SlideFolderError(
            f"{len(unlabelled)} slides in {root} have no label in {labels_csv}: {few(unlabelled)}"
        )
    orphans = sorted(set(labels) - set(ids))
    if orphans:
        raise SlideFolderError(
            f"{labels_csv} labels {len(orphans)} slides that are not in {root}: {few(orphans)}"
        )
    return labels


class SlideFolder(Sequence[SlideRecord]):
    """The slides in a folder, sorted by path, with optional labels from a CSV.

    Parameters
    ----------
    root : str or Path
        Folder holding slide files (see :data:`SLIDE_EXTENSIONS`).
    labels_csv : str or Path, optional
        CSV whose header has the columns ``slide_id`` and ``label`` (others are ignored).
        Every slide must have exactly one label and every label a slide.
    recursive : bool
        Also look in sub-folders (CAMELYON16 keeps ``normal/`` and ``tumor/`` apart).

    Examples
    --------
    >>> slides = SlideFolder("camelyon16/training", "labels.csv", recursive=True)
    >>> slides[0].slide_id, slides[0].label            # doctest: +SKIP
    ('normal_001', 'normal')
    >>> with slides.open(0) as slide:                   # doctest: +SKIP
    ...     print(slide.dimensions)
    """

    def __init__(
        self,
        root: str | Path,
        labels_csv: str | Path | None = None,
        recursive: bool = False,
    ) -> None:
        self.root = Path(root)
        if not self.root.exists():
            raise FileNotFoundError(f"slide folder not found: {self.root}")
        if not self.root.is_dir():
            raise NotADirectoryError(f"{self.root} is a file; give the folder of slides")
        paths = _list_slides(self.root, recursive)
        if not paths:
            raise SlideFolderError(
                f"no slide files in {self.root}"
                f"{' or its sub-folders' if recursive else ''}; looked for {SLIDE_EXTENSIONS}"
            )
        ids = [path.stem for path in paths]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise SlideFolderError(f"{self.root}: several slides share an id: {few(repeated)}")
        labels = None if labels_csv is None else _match_labels(ids, labels_csv, self.root)
        self.records = [
            SlideRecord(slide_id, path, labels[slide_id] if labels else None)
            for slide_id, path in zip(ids, paths, strict=True)
        ]

    @property
    def classes(self) -> list[str]:
        """Sorted distinct labels (empty without a CSV); use ``classes.index(label)``."""
        return sorted({r.label for r in self.records if r.label is not None})

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> SlideRecord:  # type: ignore[override]
        return self.records[index]

    def __iter__(self) -> Iterator[SlideRecord]:
        return iter(self.records)

    def open(self, index: int) -> openslide.OpenSlide:
        """Open slide ``index`` with OpenSlide (close it, or use ``with``)."""
        import openslide

        record = self.records[index]
        try:
            return openslide.OpenSlide(record.path)
        except openslide.OpenSlideError as err:
            raise SlideFolderError(f"OpenSlide cannot read {record.path}: {err}") from err
