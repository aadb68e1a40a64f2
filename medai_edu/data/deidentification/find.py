"""Listing what in a dataset may identify the patient, the staff or the site."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medai_edu.data.deidentification.elements import (
    IdentifyingElement,
    _keyword,
    _private_name,
    _require_dataset,
    _shorten,
    _tag_text,
)
from medai_edu.data.deidentification.profile import _rule_for

if TYPE_CHECKING:
    import pydicom


def find_identifying_elements(
    ds: pydicom.Dataset, include_private: bool = True
) -> list[IdentifyingElement]:
    """List the elements of a dataset that may identify the patient, the staff or the site.

    Parameters
    ----------
    ds : pydicom.Dataset
    include_private : bool
        Also list every private element (vendors store anything there, including names,
        dates and serial numbers; :func:`deidentify` removes them all).

    Returns
    -------
    list of IdentifyingElement
        ``(tag, keyword, value)`` for each element of :data:`PROFILE` (and each overlay or
        curve) that holds a value, searched through every nested sequence, in the order of
        the file; empty elements identify nobody and are left out. The content of a
        sequence that is listed itself (e.g. OtherPatientIDsSequence) is not repeated.

    Raises
    ------
    TypeError
        ``ds`` is not a pydicom Dataset.
    """
    _require_dataset(ds, "find_identifying_elements")
    found: list[IdentifyingElement] = []

    def visit(dataset: pydicom.Dataset, prefix: str) -> None:
        for element in dataset:
            tag = int(element.tag)
            if element.tag.is_private:
                if include_private:
                    name = f"private: {_private_name(dataset, tag)}"
                    found.append(IdentifyingElement(_tag_text(tag), name, _shorten(element.value)))
                continue
            rule = _rule_for(tag)
            if rule is not None:
                if not element.is_empty:
                    keyword = prefix + _keyword(element)
                    found.append(
                        IdentifyingElement(_tag_text(tag), keyword, _shorten(element.value))
                    )
                continue
            if element.VR == "SQ":
                for index, item in enumerate(element.value):
                    visit(item, f"{prefix}{_keyword(element)}[{index}].")

    file_meta = getattr(ds, "file_meta", None)
    if file_meta is not None:
        visit(file_meta, "file_meta.")
    visit(ds, "")
    return found
