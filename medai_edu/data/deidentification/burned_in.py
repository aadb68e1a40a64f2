"""Images whose pixels may show names or dates: header de-identification cannot clean them."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pydicom


class BurnedInTextWarning(UserWarning):
    """The pixels of the image may show names or dates that header de-identification misses."""


_BURNED_IN_MODALITIES = {"US", "SC", "OT", "XC", "ES", "GM", "DOC"}


def _warn_burned_in(ds: pydicom.Dataset) -> None:
    flag = str(ds.get("BurnedInAnnotation", "") or "").upper()
    modality = str(ds.get("Modality", "") or "")
    if flag == "YES" or (flag != "NO" and modality in _BURNED_IN_MODALITIES):
        reason = "says it has" if flag == "YES" else f"is {modality}, which often has"
        warnings.warn(
            f"this image {reason} burned-in annotation: names, dates or the hospital may be "
            f"part of the pixels, which deidentify() does not change. Look at the image and "
            f"mask the text before sharing it.",
            BurnedInTextWarning,
            stacklevel=3,
        )
