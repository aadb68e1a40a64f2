"""MedMNIST ``.npz`` archives: a strict reader and a PyTorch dataset over one split."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

MEDMNIST_SPLITS = ("train", "val", "test")

_MEDMNIST_HELP = (
    "MedMNIST files are named like pathmnist.npz or organmnist3d_64.npz; get them from "
    "https://zenodo.org/records/10519652 or with `pip install medmnist` and "
    "`python -m medmnist download` (they land in ~/.medmnist)."
)


class MedMNISTFormatError(ValueError):
    """A file is not a MedMNIST ``.npz`` archive, or its arrays do not fit together."""


def _open_npz(path: Path) -> np.lib.npyio.NpzFile:
    if not path.exists():
        raise FileNotFoundError(f"MedMNIST file not found: {path}. {_MEDMNIST_HELP}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give the path of one .npz file.")
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise MedMNISTFormatError(
            f"{path} is not a readable .npz archive ({type(err).__name__}: {err}); the "
            f"download may be truncated or corrupt. {_MEDMNIST_HELP}"
        ) from err
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise MedMNISTFormatError(
            f"{path} holds a single .npy array, not a MedMNIST .npz archive with "
            f"train/val/test arrays."
        )
    return archive


def _read_member(archive: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError) as err:
        raise MedMNISTFormatError(
            f"{path}: the array {key!r} cannot be read ({type(err).__name__}: {err}); the "
            f"file is corrupt, download it again."
        ) from err


def load_medmnist(path: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Read one split of a MedMNIST ``.npz`` archive.

    Parameters
    ----------
    path : str or Path
        A MedMNIST archive with the keys ``train_images``, ``train_labels``,
        ``val_images``, ``val_labels``, ``test_images`` and ``test_labels``.
    split : {"train", "val", "test"}

    Returns
    -------
    images : ndarray, uint8
        (N, H, W) grey 2D images, (N, H, W, 3) colour 2D images, or (N, D, H, W) 3D
        volumes; intensities 0-255. Only the chosen split is decompressed (the 224-pixel
        archives need several GB of memory per split).
    labels : ndarray, shape (N, k)
        Integer class labels: k = 1 for binary, multi-class and ordinal tasks, k > 1 for
        multi-label tasks (ChestMNIST: k = 14 binary columns). A 1D label array is returned
        as (N, 1).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    MedMNISTFormatError
        Not an npz archive, a corrupt member, a missing split (the message lists the keys
        found), images that are not uint8 with 3 or 4 axes, or images and labels of
        different lengths.
    """
    if split not in MEDMNIST_SPLITS:
        raise ValueError(f"split must be one of {MEDMNIST_SPLITS}, got {split!r}")
    path = Path(path)
    with _open_npz(path) as archive:
        wanted = (f"{split}_images", f"{split}_labels")
        missing = [key for key in wanted if key not in archive.files]
        if missing:
            raise MedMNISTFormatError(
                f"{path} has no {' or '.join(missing)}; keys found: {sorted(archive.files)}. "
                f"A MedMNIST archive has <split>_images and <split>_labels for each split "
                f"in {MEDMNIST_SPLITS}."
            )
        images = _read_member(archive, wanted[0], path)
        labels = _read_member(archive, wanted[1], path)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise MedMNISTFormatError(
            f"{path}: {wanted[0]} must be uint8 with shape (N, H, W), (N, H, W, 3) or "
            f"(N, D, H, W); got {images.dtype} {images.shape}"
        )
    if labels.ndim == 1:
        labels = labels[:, None]
    if labels.ndim != 2:
        raise MedMNISTFormatError(
            f"{path}: {wanted[1]} must have shape (N,) or (N, k); got {labels.shape}"
        )
    if len(images) != len(labels):
        raise MedMNISTFormatError(
            f"{path}: {len(images)} {split} images but {len(labels)} {split} labels"
        )
    return images, labels


class MedMNISTDataset(Dataset):
    """A PyTorch dataset over one split of a MedMNIST archive.

    Parameters
    ----------
    path : str or Path
        The ``.npz`` archive (see :func:`load_medmnist`).
    split : {"train", "val", "test"}
    volumetric : bool, optional
        Whether 4D image arrays are 3D volumes (N, D, H, W) rather than colour images
        (N, H, W, 3). By default a last axis of length 3 means colour.
    transform : callable, optional
        Applied to each image tensor after scaling (e.g. an augmentation).

    Notes
    -----
    Item ``i`` is ``(image, label)``:

    - ``image``: float32 tensor in [0, 1], shape (1, H, W) for grey, (3, H, W) for colour
      (channels first, as convolution layers expect), (1, D, H, W) for volumes;
    - ``label``: for one label column, an int64 scalar tensor (for
      ``torch.nn.CrossEntropyLoss``); for several columns (multi-label), a float32 tensor
      of shape (k,) (for ``torch.nn.BCEWithLogitsLoss``).

    Images stay uint8 in memory and are converted one item at a time.
    """

    def __init__(
        self,
        path: str | Path,
        split: str = "train",
        volumetric: bool | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.path = Path(path)
        self.split = split
        self.images, self.labels = load_medmnist(self.path, split)
        if volumetric is None:
            volumetric = self.images.ndim == 4 and self.images.shape[-1] != 3
        if volumetric and self.images.ndim != 4:
            raise MedMNISTFormatError(
                f"{self.path}: volumetric=True needs (N, D, H, W) images, got {self.images.shape}"
            )
        self.volumetric = volumetric
        self.transform = transform

    @property
    def multi_label(self) -> bool:
        """True when each image has several binary labels (e.g. ChestMNIST)."""
        return self.labels.shape[1] > 1

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        array = self.images[index]
        if self.volumetric or array.ndim == 2:
            array = array[None]  # (1, H, W) or (1, D, H, W)
        else:
            array = np.moveaxis(array, -1, 0)  # (H, W, 3) -> (3, H, W)
        image = torch.from_numpy(np.ascontiguousarray(array)).float().div_(255.0)
        if self.transform is not None:
            image = self.transform(image)
        row = self.labels[index]
        if self.multi_label:
            label = torch.as_tensor(row, dtype=torch.float32)
        else:
            label = torch.as_tensor(int(row[0]), dtype=torch.int64)
        return image, label
