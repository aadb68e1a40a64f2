"""De-identification of DICOM headers, for teaching.

A DICOM file carries, next to the pixels, a header that names the patient, the hospital,
the staff, the dates of the visit and identifiers that link the image to the hospital's
records. Before images leave the hospital for research (or a course), those attributes must
be removed or replaced. DICOM PS3.15 Annex E defines how: the *Basic Application Level
Confidentiality Profile* lists, in Table E.1-1, every attribute that may identify someone,
with an action code:

====  ====================================================================================
code  action
====  ====================================================================================
X     remove the attribute
Z     replace it with an empty value (for attributes the IOD requires to be present)
D     replace it with a dummy value that identifies nobody
U     replace the UID with a new one, the same new UID everywhere the old one appears
K     keep (used here only for dates, with ``keep_dates=True``)
====  ====================================================================================

Where the standard allows several actions (``"X/Z/D"``), :data:`PROFILE` records the
standard's code and the single action this module takes.

What this module does
---------------------
- :func:`find_identifying_elements` lists the attributes of :data:`PROFILE` that a dataset
  holds with a value, and its private elements;
- :func:`deidentify` applies :data:`PROFILE` to a deep copy of a dataset, at every level of
  nesting: removes or empties the listed attributes, replaces Patient ID with a pseudonym
  and every listed UID with a new one derived from a secret salt (so the files of one
  series stay one series, and references between files still match), removes all private
  elements, overlays and curves, and records what it did in a report. It sets
  PatientIdentityRemoved to ``"YES"`` and says how in DeidentificationMethod.

What it does NOT do (teaching honesty)
--------------------------------------
- It is a *subset* of Table E.1-1 (about 100 of its several hundred attributes), chosen for
  the images of this course; it does not claim conformance to the profile, so it does not
  add the profile's code (DCM 113100) to DeidentificationMethodCodeSequence.
- It does not look at the pixels. Ultrasound, screenshots, secondary captures and scanned
  documents often have names, dates and the hospital *burned into the image*;
  :func:`deidentify` warns (:class:`BurnedInTextWarning`) for such images but cannot clean
  them. Removing burned-in text needs OCR or a per-device mask, and a human check.
- Free text in attributes not listed (e.g. a sequence the profile does not name, a private
  element a vendor misuses as a public one, a structured report's content) is left as is.
- A face can be rendered from a head CT or MRI and recognised; defacing is a separate step.
- Rare diagnoses, implants, ages over 89 and the combination of remaining attributes can
  still single a person out; de-identification lowers the risk of re-identification, it
  does not remove it. Research use also needs the legal basis (consent, ethics approval).
- The options of the profile that keep useful information (Retain Patient Characteristics,
  Retain Device Identity, Clean Descriptors, Retain Safe Private, ...) are not implemented,
  except dates (``keep_dates`` and ``date_shift_days``).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import pydicom

__all__ = [
    "ACTIONS",
    "PROFILE",
    "BurnedInTextWarning",
    "DeidentificationRow",
    "IdentifyingElement",
    "Rule",
    "deidentify",
    "find_identifying_elements",
]

#: The action codes of PS3.15 Table E.1-1 used here, and what they do.
ACTIONS: dict[str, str] = {
    "X": "remove",
    "Z": "replace with an empty value",
    "D": "replace with a dummy value",
    "U": "replace the UID consistently",
    "K": "keep",
}


class BurnedInTextWarning(UserWarning):
    """The pixels of the image may show names or dates that header de-identification misses."""


@dataclass(frozen=True)
class Rule:
    """What to do with one attribute.

    Attributes
    ----------
    keyword : str
        DICOM keyword, e.g. ``"PatientName"``.
    standard : str
        The action code(s) PS3.15 Table E.1-1 gives, e.g. ``"X/Z/D"``.
    action : str
        The action this module takes, one of ``"X"``, ``"Z"``, ``"D"``, ``"U"``.
    reveals : str
        What the attribute tells about a person, in a few words.
    date : bool
        A date or time of the visit: kept (and maybe shifted) with ``keep_dates=True``.
    """

    keyword: str
    standard: str
    action: str
    reveals: str
    date: bool = False

    @property
    def tag(self) -> int:
        from pydicom.datadict import tag_for_keyword

        return tag_for_keyword(self.keyword)


# keyword, code in PS3.15 Table E.1-1, action taken here, what it reveals
_TABLE: list[tuple[str, str, str, str]] = [
    # the patient
    ("PatientName", "Z", "Z", "the patient's name"),
    ("PatientID", "Z/D", "D", "the hospital's record number (replaced by a pseudonym)"),
    ("PatientBirthDate", "Z", "Z", "date of birth"),
    ("PatientBirthTime", "X", "X", "time of birth"),
    ("PatientSex", "Z", "Z", "sex (a quasi-identifier)"),
    ("PatientAge", "X", "X", "age (a quasi-identifier)"),
    ("PatientSize", "X", "X", "height (a quasi-identifier)"),
    ("PatientWeight", "X", "X", "weight (a quasi-identifier)"),
    ("OtherPatientIDs", "X", "X", "other record numbers"),
    ("OtherPatientIDsSequence", "X", "X", "other record numbers"),
    ("OtherPatientNames", "X", "X", "other names"),
    ("PatientBirthName", "X", "X", "name at birth"),
    ("PatientMotherBirthName", "X", "X", "the mother's name"),
    ("IssuerOfPatientID", "X", "X", "the hospital that issued the record number"),
    ("MedicalRecordLocator", "X", "X", "where the paper record is"),
    ("MilitaryRank", "X", "X", "rank (a quasi-identifier)"),
    ("PatientAddress", "X", "X", "home address"),
    ("PatientTelephoneNumbers", "X", "X", "telephone number"),
    ("PatientTelecomInformation", "X", "X", "e-mail, telephone"),
    ("CountryOfResidence", "X", "X", "country"),
    ("RegionOfResidence", "X", "X", "region"),
    ("EthnicGroup", "X", "X", "ethnic group (a quasi-identifier)"),
    ("Occupation", "X", "X", "occupation (a quasi-identifier)"),
    ("PatientReligiousPreference", "X", "X", "religion"),
    ("AdditionalPatientHistory", "X", "X", "clinical free text"),
    ("PatientComments", "X", "X", "free text"),
    ("MedicalAlerts", "X", "X", "clinical free text"),
    ("Allergies", "X", "X", "clinical free text"),
    ("PregnancyStatus", "X", "X", "pregnancy"),
    ("SmokingStatus", "X", "X", "smoking"),
    # the visit and the order
    ("AccessionNumber", "Z", "Z", "links the images to the hospital's order"),
    ("StudyID", "Z", "Z", "the scanner's number for the visit"),
    ("AdmissionID", "X", "X", "the hospital stay"),
    ("CurrentPatientLocation", "X", "X", "the ward or room"),
    ("PatientInstitutionResidence", "X", "X", "the ward or home"),
    ("VisitComments", "X", "X", "free text about the visit"),
    ("ReasonForStudy", "X", "X", "free text about the request"),
    ("ReasonForTheRequestedProcedure", "X", "X", "free text about the request"),
    ("RequestedProcedureDescription", "X/Z", "X", "free text about the request"),
    ("RequestedProcedureID", "X", "X", "the order number"),
    ("RequestAttributesSequence", "X", "X", "the order"),
    ("ReferencedPatientSequence", "X", "X", "a link to the patient record"),
    ("ReferencedStudySequence", "X/Z", "X", "a link to the order"),
    ("ReferencedPerformedProcedureStepSequence", "X/Z/D", "X", "a link to the procedure step"),
    ("PerformedProcedureStepID", "X", "X", "the procedure step"),
    ("PerformedProcedureStepDescription", "X", "X", "free text about the procedure"),
    ("PerformedStationName", "X", "X", "the machine"),
    ("PerformedLocation", "X", "X", "the room"),
    # dates and times of the visit (kept with keep_dates=True)
    ("StudyDate", "Z", "Z", "date of the visit"),
    ("StudyTime", "Z", "Z", "time of the visit"),
    ("SeriesDate", "X/D", "X", "date of the visit"),
    ("SeriesTime", "X/D", "X", "time of the visit"),
    ("AcquisitionDate", "X/Z", "X", "date of the visit"),
    ("AcquisitionTime", "X/Z", "X", "time of the visit"),
    ("AcquisitionDateTime", "X/Z/D", "X", "date and time of the visit"),
    ("ContentDate", "Z/D", "Z", "date of the visit"),
    ("ContentTime", "Z/D", "Z", "time of the visit"),
    ("InstanceCreationDate", "X/D", "X", "date of the visit"),
    ("InstanceCreationTime", "X/Z/D", "X", "time of the visit"),
    ("PerformedProcedureStepStartDate", "X", "X", "date of the visit"),
    ("PerformedProcedureStepStartTime", "X", "X", "time of the visit"),
    ("TimezoneOffsetFromUTC", "X", "X", "where in the world"),
    # the hospital, the staff and the machine
    ("InstitutionName", "X/Z/D", "X", "the hospital"),
    ("InstitutionAddress", "X", "X", "the hospital"),
    ("InstitutionalDepartmentName", "X", "X", "the department"),
    ("ReferringPhysicianName", "Z", "Z", "a doctor of the patient"),
    ("ReferringPhysicianAddress", "X", "X", "a doctor of the patient"),
    ("ReferringPhysicianTelephoneNumbers", "X", "X", "a doctor of the patient"),
    ("PhysiciansOfRecord", "X", "X", "doctors of the patient"),
    ("PerformingPhysicianName", "X", "X", "a doctor"),
    ("NameOfPhysiciansReadingStudy", "X", "X", "the radiologist"),
    ("RequestingPhysician", "X", "X", "a doctor of the patient"),
    ("ScheduledPerformingPhysicianName", "X", "X", "a doctor"),
    ("OperatorsName", "X/Z/D", "X", "the radiographer"),
    ("StationName", "X/Z/D", "X", "the machine, hence the hospital"),
    ("DeviceSerialNumber", "X/Z/D", "X", "the machine, hence the hospital"),
    # descriptions that may hold anything
    ("StudyDescription", "X", "X", "free text"),
    ("SeriesDescription", "X", "X", "free text"),
    ("ImageComments", "X", "X", "free text"),
    ("ProtocolName", "X/D", "X", "free text (often named after a doctor or site)"),
    ("AcquisitionContextSequence", "X/Z", "X", "context of the acquisition"),
    ("ContrastBolusAgent", "Z/D", "Z", "free text (typed by hand)"),
    ("DataSetTrailingPadding", "X", "X", "hidden bytes after the data"),
    ("IconImageSequence", "X", "X", "a thumbnail that may show burned-in text"),
    # UIDs: each embeds an organisation's root, often dates and device numbers
    ("StudyInstanceUID", "U", "U", "the visit, world-wide"),
    ("SeriesInstanceUID", "U", "U", "the series, world-wide"),
    ("SOPInstanceUID", "U", "U", "the image, world-wide"),
    ("MediaStorageSOPInstanceUID", "U", "U", "the image, world-wide (file meta)"),
    ("FrameOfReferenceUID", "U", "U", "the patient's position on the table"),
    ("SynchronizationFrameOfReferenceUID", "U", "U", "the acquisition's clock"),
    ("InstanceCreatorUID", "U", "U", "the software that wrote the file"),
    ("ReferencedSOPInstanceUID", "U", "U", "another image of the patient"),
    ("ReferencedFrameOfReferenceUID", "U", "U", "the patient's position on the table"),
    ("IrradiationEventUID", "U", "U", "the exposure"),
    ("DimensionOrganizationUID", "U", "U", "the frames of the image"),
    ("ConcatenationUID", "U", "U", "the parts of the image"),
    ("StorageMediaFileSetUID", "U", "U", "the disc or folder"),
]

#: Dates and times of the visit: kept (and maybe shifted) with ``keep_dates=True``. The
#: birth date is not among them: it is emptied in every case.
_VISIT_DATES = frozenset(
    keyword
    for keyword, *_ in _TABLE
    if keyword.endswith(("Date", "Time", "DateTime")) and not keyword.startswith("Patient")
)

#: The attributes this module treats, with the standard's code and the action taken.
PROFILE: tuple[Rule, ...] = tuple(
    Rule(keyword, standard, action, reveals, date=keyword in _VISIT_DATES)
    for keyword, standard, action, reveals in _TABLE
)

_RULES_BY_TAG: dict[int, Rule] = {}


def _rules_by_tag() -> dict[int, Rule]:
    if not _RULES_BY_TAG:
        for rule in PROFILE:
            tag = rule.tag
            if tag is None:  # a typing error in PROFILE, caught by the tests
                raise KeyError(f"{rule.keyword!r} is not a DICOM keyword")
            _RULES_BY_TAG[tag] = rule
    return _RULES_BY_TAG


# Repeating groups: overlays (60xx) and curves (50xx, retired) can hold drawn text.
_OVERLAY_RULE = Rule("OverlayData", "X", "X", "overlay bitmaps and comments may show text")
_CURVE_RULE = Rule("CurveData", "X", "X", "curves (retired) may hold annotations")


def _rule_for(tag: int) -> Rule | None:
    rule = _rules_by_tag().get(tag)
    if rule is not None:
        return rule
    group, element = tag >> 16, tag & 0xFFFF
    if group & 0xFF00 == 0x6000 and group % 2 == 0 and element in (0x3000, 0x4000):
        return _OVERLAY_RULE
    if group & 0xFF00 == 0x5000 and group % 2 == 0:
        return _CURVE_RULE
    return None


# --------------------------------------------------------------------------------------
# Reporting what is there
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# De-identifying
# --------------------------------------------------------------------------------------


_BURNED_IN_MODALITIES = {"US", "SC", "OT", "XC", "ES", "GM", "DOC"}


def _pseudonym(salt: str, value: str) -> str:
    digest = hashlib.sha256(f"{salt}\x00{value}".encode()).hexdigest()
    return f"ANON-{digest[:10].upper()}"


def _new_uid(salt: str, old: str) -> str:
    from pydicom.uid import generate_uid

    # generate_uid hashes its entropy sources (SHA-512), so the same salt and old UID
    # always give the same new UID, and without the salt the old UID cannot be recovered.
    return str(generate_uid(entropy_srcs=[salt, str(old)]))


def _shift_date(value: str, days: int, vr: str) -> str:
    """Shift a DA (YYYYMMDD) value, or the date part of a DT value, by whole days."""
    text = str(value)
    if len(text) < 8 or not text[:8].isdigit():
        return text  # an empty or partial date: nothing to shift
    shifted = dt.datetime.strptime(text[:8], "%Y%m%d").date() + dt.timedelta(days=days)
    return shifted.strftime("%Y%m%d") + (text[8:] if vr == "DT" else "")


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
    if not isinstance(uid_salt, str) or not uid_salt:
        raise ValueError("uid_salt must be a non-empty string, the secret of your project")
    if date_shift_days and not keep_dates:
        raise ValueError("date_shift_days shifts kept dates: pass keep_dates=True with it")
    date_shift_days = int(date_shift_days)

    new_ds = copy.deepcopy(ds)
    report: list[DeidentificationRow] = []

    def row(tag: int, keyword: str, action: str, old: Any, new: Any) -> None:
        report.append(
            DeidentificationRow(_tag_text(tag), keyword, action, _shorten(old), _shorten(new))
        )

    def apply(dataset: pydicom.Dataset, prefix: str) -> None:
        for tag in list(dataset.keys()):
            element = dataset[tag]
            if element.tag.is_private:
                continue  # removed all at once below
            rule = _rule_for(int(tag))
            keyword = prefix + _keyword(element)
            if rule is None:
                if element.VR == "SQ":
                    for index, item in enumerate(element.value):
                        apply(item, f"{keyword}[{index}].")
                continue
            old = element.value
            action = rule.action
            if rule.date and keep_dates:
                action = "K"
                if date_shift_days and element.VR in ("DA", "DT") and not element.is_empty:
                    element.value = _shift_date(old, date_shift_days, element.VR)
                row(tag, keyword, action, old, element.value)
            elif action == "X":
                del dataset[tag]
                row(tag, keyword, action, old, "")
            elif action == "Z":
                element.value = element.empty_value  # "" for text, [] for a sequence
                row(tag, keyword, action, old, "")
            elif action == "D":
                element.value = (
                    _pseudonym(uid_salt, str(old)) if not element.is_empty else element.empty_value
                )
                row(tag, keyword, action, old, element.value)
            elif action == "U":
                if element.is_empty:
                    new = old
                elif element.VM > 1:
                    new = [_new_uid(uid_salt, uid) for uid in old]
                else:
                    new = _new_uid(uid_salt, old)
                element.value = new
                row(tag, keyword, action, old, element.value)
            else:  # pragma: no cover - PROFILE holds only the actions above
                raise AssertionError(f"unknown action {action!r} for {rule.keyword}")

    file_meta = getattr(new_ds, "file_meta", None)
    if file_meta is not None:
        apply(file_meta, "file_meta.")
    apply(new_ds, "")
    report.extend(_private_rows(new_ds))
    new_ds.remove_private_tags()

    new_ds.PatientIdentityRemoved = "YES"
    if not keep_dates:
        new_ds.LongitudinalTemporalInformationModified = "REMOVED"
        dates = "dates removed"
    elif date_shift_days:
        new_ds.LongitudinalTemporalInformationModified = "MODIFIED"
        dates = f"dates shifted by {date_shift_days} days"
    else:
        new_ds.LongitudinalTemporalInformationModified = "UNMODIFIED"
        dates = "dates kept"
    new_ds.DeidentificationMethod = [  # LO, several values of at most 64 characters
        "medai-edu teaching subset of PS3.15 E.1-1 Basic Profile",
        dates,
        "pixel data not checked for burned-in text",
    ]
    _warn_burned_in(ds)
    return new_ds, report


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
