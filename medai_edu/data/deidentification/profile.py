"""The teaching subset of DICOM PS3.15 Table E.1-1: which attributes identify, and the action."""

from __future__ import annotations

from dataclasses import dataclass

#: The action codes of PS3.15 Table E.1-1 used here, and what they do.
ACTIONS: dict[str, str] = {
    "X": "remove",
    "Z": "replace with an empty value",
    "D": "replace with a dummy value",
    "U": "replace the UID consistently",
    "K": "keep",
}


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
        The action :func:`deidentify` takes, one of ``"X"``, ``"Z"``, ``"D"``, ``"U"``.
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

#: The attributes de-identification treats, with the standard's code and the action taken.
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
