"""Applying the profile to a copy of a dataset: :func:`deidentify`.

Steps: check the options; deep-copy the dataset; walk it, nested sequences included, and
treat each listed element by its rule (remove, empty, pseudonymise, replace the UID, or
keep a date); report and remove the private elements; record in the header what was done;
warn when the pixels may show text.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from medai_edu.data.deidentification.burned_in import _warn_burned_in
from medai_edu.data.deidentification.elements import (
    DeidentificationRow,
    _keyword,
    _require_dataset,
    _shorten,
    _tag_text,
)
from medai_edu.data.deidentification.profile import Rule, _rule_for
from medai_edu.data.deidentification.values import _new_uid, _pseudonym, _shift_date

if TYPE_CHECKING:
    import pydicom


@dataclass(frozen=True)
class _Options:
    """The choices of one :func:`deidentify` call (see its parameters)."""

    uid_salt: str
    keep_dates: bool
    date_shift_days: int


def deidentify(
    ds: pydicom.Dataset,
    *,
    uid_salt: str,
    keep_dates: bool = False,
    date_shift_days: int = 0,
) -> tuple[pydicom.Dataset, list[DeidentificationRow]]:
    """Return a de-identified copy of a DICOM dataset and a report of every change.

    Parameters
    ----------
    ds : pydicom.Dataset
        The dataset; it is never modified (the work is done on ``copy.deepcopy(ds)``).
    uid_salt : str
        A secret of the project that de-identifies the data. UIDs and the Patient ID
        pseudonym are hashed with it, so the files of one patient, study or series get the
        same new values in every call with the same salt (a series stays a series), and
        nobody without the salt can compute the new value from an old one. Use one salt
        for all files of a project; keep it out of the shared data.
    keep_dates : bool
        False (default): the dates and times of the visit are removed or emptied, as the
        Basic Profile requires. True: they are kept ("Retain Longitudinal Temporal
        Information" option) - useful to follow a patient over time, but a date is a
        strong identifier. The birth date is removed in both cases.
    date_shift_days : int
        With ``keep_dates=True``, move every kept date by this many days (the "Modified
        Dates" variant): intervals between visits survive, calendar dates do not. Use the
        same shift for all files of a patient.

    Returns
    -------
    new_ds : pydicom.Dataset
        The de-identified copy; the pixel data are untouched. PatientIdentityRemoved is
        ``"YES"``, DeidentificationMethod says what was done, and
        LongitudinalTemporalInformationModified is ``"REMOVED"``, ``"UNMODIFIED"`` or
        ``"MODIFIED"``.
    report : list of DeidentificationRow
        One row for each listed element that was present (empty or not), one for each
        group of private elements, in the order of the file.

    Raises
    ------
    TypeError
        ``ds`` is not a pydicom Dataset.
    ValueError
        ``uid_salt`` is empty, or ``date_shift_days`` is given without ``keep_dates``.

    Warns
    -----
    BurnedInTextWarning
        The image says it has burned-in annotation, or is of a kind that usually has it
        (ultrasound, secondary capture, photographs, scanned documents).
    """
    _require_dataset(ds, "deidentify")
    options = _check_options(uid_salt, keep_dates, date_shift_days)
    new_ds = copy.deepcopy(ds)
    report: list[DeidentificationRow] = []
    file_meta = getattr(new_ds, "file_meta", None)
    if file_meta is not None:
        _apply_profile(file_meta, "file_meta.", options, report)
    _apply_profile(new_ds, "", options, report)
    report.extend(_private_rows(new_ds))
    new_ds.remove_private_tags()
    _record_method(new_ds, options)
    _warn_burned_in(ds)
    return new_ds, report


def _check_options(uid_salt: str, keep_dates: bool, date_shift_days: int) -> _Options:
    if not isinstance(uid_salt, str) or not uid_salt:
        raise ValueError("uid_salt must be a non-empty string, the secret of your project")
    if date_shift_days and not keep_dates:
        raise ValueError("date_shift_days shifts kept dates: pass keep_dates=True with it")
    return _Options(uid_salt, keep_dates, int(date_shift_days))


def _apply_profile(
    dataset: pydicom.Dataset, prefix: str, options: _Options, report: list[DeidentificationRow]
) -> None:
    """Treat every listed element of ``dataset`` and of its nested sequences, in place.

    ``prefix`` is the path of sequences down to ``dataset`` (``"file_meta."`` for the file
    meta information); one row per treated element is appended to ``report``. Private
    elements are skipped: :func:`deidentify` removes them all at once.
    """
    for tag in list(dataset.keys()):
        element = dataset[tag]
        if element.tag.is_private:
            continue
        rule = _rule_for(int(tag))
        keyword = prefix + _keyword(element)
        if rule is None:
            if element.VR == "SQ":
                for index, item in enumerate(element.value):
                    _apply_profile(item, f"{keyword}[{index}].", options, report)
            continue
        old = element.value
        action, new = _treat_element(dataset, tag, rule, options)
        report.append(
            DeidentificationRow(_tag_text(tag), keyword, action, _shorten(old), _shorten(new))
        )


def _treat_element(
    dataset: pydicom.Dataset, tag: int, rule: Rule, options: _Options
) -> tuple[str, Any]:
    """Apply ``rule`` to the element ``tag`` of ``dataset``; return (action taken, new value)."""
    element = dataset[tag]
    old = element.value
    if rule.date and options.keep_dates:
        if options.date_shift_days and element.VR in ("DA", "DT") and not element.is_empty:
            element.value = _shift_date(old, options.date_shift_days, element.VR)
        return "K", element.value
    if rule.action == "X":
        del dataset[tag]
        return "X", ""
    if rule.action == "Z":
        element.value = element.empty_value  # "" for text, [] for a sequence
        return "Z", ""
    if rule.action == "D":
        salt = options.uid_salt
        element.value = _pseudonym(salt, str(old)) if not element.is_empty else element.empty_value
        return "D", element.value
    if rule.action == "U":
        if element.is_empty:
            element.value = old
        elif element.VM > 1:
            element.value = [_new_uid(options.uid_salt, uid) for uid in old]
        else:
            element.value = _new_uid(options.uid_salt, old)
        return "U", element.value
    raise AssertionError(f"unknown action {rule.action!r} for {rule.keyword}")  # pragma: no cover


def _record_method(new_ds: pydicom.Dataset, options: _Options) -> None:
    """Say in the header that identity was removed, how, and what happened to the dates."""
    new_ds.PatientIdentityRemoved = "YES"
    if not options.keep_dates:
        new_ds.LongitudinalTemporalInformationModified = "REMOVED"
        dates = "dates removed"
    elif options.date_shift_days:
        new_ds.LongitudinalTemporalInformationModified = "MODIFIED"
        dates = f"dates shifted by {options.date_shift_days} days"
    else:
        new_ds.LongitudinalTemporalInformationModified = "UNMODIFIED"
        dates = "dates kept"
    new_ds.DeidentificationMethod = [  # LO, several values of at most 64 characters
        "medai-edu teaching subset of PS3.15 E.1-1 Basic Profile",
        dates,
        "pixel data not checked for burned-in text",
    ]


def _private_rows(ds: pydicom.Dataset) -> list[DeidentificationRow]:
    """One report row per private group: how many elements, from which creators."""
    counts: dict[int, int] = {}
    creators: dict[int, list[str]] = {}
    for element in ds.iterall():  # through nested sequences too
        if not element.tag.is_private:
            continue
        group = element.tag.group
        counts[group] = counts.get(group, 0) + 1
        if element.tag.element < 0x0100 and element.tag.element >= 0x0010:
            creators.setdefault(group, []).append(str(element.value))
    return [
        DeidentificationRow(
            tag=f"({group:04X},xxxx)",
            keyword=f"private: {', '.join(creators.get(group, ['unknown creator']))}",
            action="X",
            old_value=f"{count} elements",
            new_value="",
        )
        for group, count in sorted(counts.items())
    ]
