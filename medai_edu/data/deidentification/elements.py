"""Elements that may identify someone, report rows, and how both are shown as text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import pydicom


class IdentifyingElement(NamedTuple):
    """``(tag, keyword, value)``: an element that may identify someone.

    Attributes
    ----------
    tag : str
        ``"(gggg,eeee)"``.
    keyword : str
        DICOM keyword, prefixed by the path of the sequences it sits in
        (``"ReferencedImageSequence[0].ReferencedSOPInstanceUID"``) or by ``file_meta.``;
        for a private element ``"private: <creator>"``.
    value : str
        The value as text, shortened to 40 characters.
    """

    tag: str
    keyword: str
    value: str


@dataclass(frozen=True)
class DeidentificationRow:
    """One line of the report of :func:`deidentify`.

    Attributes
    ----------
    tag : str
        ``"(gggg,eeee)"``; for a group of private elements ``"(gggg,xxxx)"``.
    keyword : str
        DICOM keyword, with the path of sequences for nested elements and ``file_meta.``
        for the file meta information.
    action : str
        ``"X"``, ``"Z"``, ``"D"``, ``"U"`` or ``"K"`` (see :data:`ACTIONS`).
    old_value : str
        The value before, shortened to 40 characters.
    new_value : str
        The value after (``""`` when removed or emptied).
    """

    tag: str
    keyword: str
    action: str
    old_value: str
    new_value: str


def _require_dataset(ds: Any, function: str) -> None:
    import pydicom

    if not isinstance(ds, pydicom.Dataset):
        raise TypeError(
            f"{function}() needs a pydicom Dataset (from pydicom.dcmread), got "
            f"{type(ds).__name__}; read the file first: ds = pydicom.dcmread(path)"
        )


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _shorten(value: Any, limit: int = 40) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if hasattr(value, "__len__") and not isinstance(value, str) and _is_sequence(value):
        return f"<sequence of {len(value)} items>"
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_sequence(value: Any) -> bool:
    from pydicom.sequence import Sequence

    return isinstance(value, Sequence)


def _keyword(element: Any) -> str:
    return element.keyword or element.name


def _private_name(dataset: pydicom.Dataset, tag: int) -> str:
    group, element = tag >> 16, tag & 0xFFFF
    if element < 0x0100:  # the private creator element itself
        return str(dataset[tag].value)
    creator_tag = (group << 16) | (element >> 8)
    creator = dataset.get(creator_tag, None)
    return str(creator.value) if creator is not None else "unknown creator"
