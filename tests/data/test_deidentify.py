"""DICOM de-identification on the real samples: what is removed, replaced and kept."""

from __future__ import annotations

import copy
import io
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.datadict import tag_for_keyword

from medai_edu.data.deidentification import (
    ACTIONS,
    PROFILE,
    BurnedInTextWarning,
    DeidentificationRow,
    deidentify,
    find_identifying_elements,
)
from medai_edu.data.public import load_dicom_series
from medai_edu.data.samples import load_dicom_sample

SALT = "medai-edu tests"
RULES = {rule.keyword: rule for rule in PROFILE}


@pytest.fixture
def ct() -> pydicom.Dataset:
    return load_dicom_sample("ct")


def _deidentify(ds, **kwargs):
    """deidentify() without the burned-in warning of ultrasound (tested on its own)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BurnedInTextWarning)
        return deidentify(ds, uid_salt=kwargs.pop("uid_salt", SALT), **kwargs)


def _roundtrip(ds: pydicom.Dataset) -> pydicom.Dataset:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    buffer.seek(0)
    return pydicom.dcmread(buffer)


# --------------------------------------------------------------------------------------
# The profile
# --------------------------------------------------------------------------------------


def test_profile_uses_real_keywords_and_the_standards_action_codes():
    assert len(PROFILE) == len(RULES) > 80
    for rule in PROFILE:
        assert tag_for_keyword(rule.keyword) is not None, rule.keyword
        assert rule.action in ACTIONS and rule.action in rule.standard.split("/"), rule
        assert rule.reveals
    for keyword in (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientAddress",
        "OtherPatientIDs",
        "InstitutionName",
        "InstitutionAddress",
        "ReferringPhysicianName",
        "PerformingPhysicianName",
        "OperatorsName",
        "AccessionNumber",
        "StudyID",
        "StudyDate",
        "DeviceSerialNumber",
        "StationName",
    ):
        assert keyword in RULES, keyword
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        assert RULES[keyword].action == "U"
    assert RULES["FrameOfReferenceUID"].action == "U"
    assert RULES["PatientName"].standard == "Z" and RULES["InstitutionName"].standard == "X/Z/D"


# --------------------------------------------------------------------------------------
# Finding what identifies
# --------------------------------------------------------------------------------------


def test_find_lists_the_identifying_elements_of_ct_small(ct):
    found = find_identifying_elements(ct, include_private=False)
    by_keyword = {f.keyword: f for f in found}
    assert by_keyword["PatientName"].value == "CompressedSamples^CT1"
    assert by_keyword["PatientName"].tag == "(0010,0010)"
    assert by_keyword["InstitutionName"].value == "JFK IMAGING CENTER"
    assert by_keyword["OtherPatientIDsSequence"].value == "<sequence of 2 items>"
    assert "file_meta.MediaStorageSOPInstanceUID" in by_keyword
    assert "AccessionNumber" not in by_keyword  # present but empty: identifies nobody
    assert "PixelSpacing" not in by_keyword
    tag, keyword, value = found[0]  # plain (tag, keyword, value) tuples
    assert isinstance(tag, str) and isinstance(value, str)
    with_private = find_identifying_elements(ct)
    private = [f for f in with_private if f.keyword.startswith("private:")]
    assert len(private) == len(with_private) - len(found) == 179
    assert any("GEMS_IDEN_01" in f.keyword for f in private)


def test_find_searches_nested_sequences():
    seg = load_dicom_sample("seg")
    nested = [f.keyword for f in find_identifying_elements(seg) if "[" in f.keyword]
    assert "ReferencedSeriesSequence[0].SeriesInstanceUID" in nested
    assert any(k.endswith("SourceImageSequence[0].ReferencedSOPInstanceUID") for k in nested)


def test_a_name_field_saying_anonymous_is_not_anonymous():
    ecg = load_dicom_sample("ecg")
    found = {f.keyword: f.value for f in find_identifying_elements(ecg)}
    assert found["PatientName"] == "Anonymous"
    assert found["PatientBirthDate"] == "19710123" and found["AdmissionID"] == "13002689"


def test_bad_input_is_a_type_error(tmp_path):
    for bad in (None, "CT_small.dcm", tmp_path, {"PatientName": "x"}):
        with pytest.raises(TypeError, match="pydicom Dataset"):
            find_identifying_elements(bad)
        with pytest.raises(TypeError, match="pydicom Dataset"):
            deidentify(bad, uid_salt=SALT)


# --------------------------------------------------------------------------------------
# De-identifying
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ct", "mr", "us", "seg", "ecg"])
def test_every_listed_element_that_was_present_is_treated(name):
    ds = load_dicom_sample(name)
    before = {f.keyword: f.value for f in find_identifying_elements(ds, include_private=False)}
    assert before, "every sample carries identifying elements"
    new, report = _deidentify(ds)
    after = {f.keyword: f.value for f in find_identifying_elements(new)}
    for keyword, old in before.items():
        rule = RULES[keyword.rsplit(".", 1)[-1]]
        if rule.action in ("X", "Z"):
            assert keyword not in after, keyword  # removed, or present but empty
        else:  # D and U: replaced by a different, non-empty value
            assert after[keyword] and after[keyword] != old, keyword
    for rule in PROFILE:
        if rule.action == "X":
            assert rule.keyword not in new, rule.keyword
    assert not any(element.tag.is_private for element in new.iterall())
    assert new.PatientIdentityRemoved == "YES"
    assert "PS3.15" in new.DeidentificationMethod[0]
    assert new.LongitudinalTemporalInformationModified == "REMOVED"
    # the report has one row per treated element, in the file's order
    assert all(isinstance(row, DeidentificationRow) for row in report)
    reported = {row.keyword for row in report}
    assert set(before) <= reported


def test_ct_report_rows_say_what_was_done(ct):
    new, report = _deidentify(ct)
    rows = {row.keyword: row for row in report}
    assert rows["PatientName"] == DeidentificationRow(
        "(0010,0010)", "PatientName", "Z", "CompressedSamples^CT1", ""
    )
    assert rows["InstitutionName"].action == "X" and "InstitutionName" not in new
    assert rows["PatientID"].action == "D" and rows["PatientID"].new_value.startswith("ANON-")
    assert new.PatientID == rows["PatientID"].new_value
    assert new.PatientName == "" and "PatientName" in new  # type 2: kept, empty
    assert rows["StudyDate"].action == "Z" and new.StudyDate == ""
    assert rows["AccessionNumber"].old_value == ""  # present but empty: still reported
    private = [row for row in report if row.keyword.startswith("private:")]
    assert len(private) == 9 and sum(int(r.old_value.split()[0]) for r in private) == 179


def test_the_input_and_its_pixels_are_not_changed(ct):
    original = copy.deepcopy(ct)
    new, _ = _deidentify(ct)
    assert ct == original and ct.PatientName == "CompressedSamples^CT1"
    assert ct.file_meta == original.file_meta
    assert new.PixelData == ct.PixelData
    np.testing.assert_array_equal(new.pixel_array, ct.pixel_array)


def test_the_result_is_written_and_read_back(ct):
    new, _ = _deidentify(ct)
    back = _roundtrip(new)
    assert back.PatientIdentityRemoved == "YES" and back.PatientName == ""
    assert back.SOPInstanceUID == new.SOPInstanceUID == back.file_meta.MediaStorageSOPInstanceUID
    assert back.StudyInstanceUID.is_valid and len(back.StudyInstanceUID) <= 64
    np.testing.assert_array_equal(back.pixel_array, ct.pixel_array)
    assert list(back.DeidentificationMethod) == list(new.DeidentificationMethod)
    assert all(len(v) <= 64 for v in back.DeidentificationMethod)  # LO


def _two_slices(ct: pydicom.Dataset) -> tuple[pydicom.Dataset, pydicom.Dataset]:
    """CT_small and a second slice of the same series, 5 mm further along."""
    second = copy.deepcopy(ct)
    second.SOPInstanceUID = pydicom.uid.generate_uid()
    second.file_meta.MediaStorageSOPInstanceUID = second.SOPInstanceUID
    second.InstanceNumber = 2
    second.ImagePositionPatient = [*ct.ImagePositionPatient[:2], ct.ImagePositionPatient[2] + 5]
    return ct, second


def test_uids_are_replaced_consistently_across_a_series(ct):
    first, second = _two_slices(ct)
    new_first, _ = _deidentify(first)
    new_second, _ = _deidentify(second)
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        assert new_first[keyword].value == new_second[keyword].value  # same old -> same new
        assert new_first[keyword].value != first[keyword].value
    assert new_first.SOPInstanceUID != new_second.SOPInstanceUID  # different old -> different
    assert new_first.PatientID == new_second.PatientID  # one patient, one pseudonym
    # another salt gives other UIDs: the mapping is the project's secret
    other, _ = _deidentify(first, uid_salt="another project")
    assert other.StudyInstanceUID != new_first.StudyInstanceUID
    assert other.PatientID != new_first.PatientID


def test_a_deidentified_series_still_loads_as_one_volume(ct, tmp_path):
    for k, ds in enumerate(_two_slices(ct)):
        new, _ = _deidentify(ds)
        new.save_as(tmp_path / f"slice{k}.dcm", enforce_file_format=True)
    volume = load_dicom_series(tmp_path)
    assert volume.voxels.shape == (2, 128, 128)
    assert volume.spacing_mm[0] == pytest.approx(5.0)


def test_references_between_objects_stay_consistent():
    seg = load_dicom_sample("seg")
    new, _ = _deidentify(seg)
    referenced = new.ReferencedSeriesSequence[0].ReferencedInstanceSequence
    per_frame = new.PerFrameFunctionalGroupsSequence
    for frame, ref in zip(per_frame, referenced, strict=True):
        source = frame.DerivationImageSequence[0].SourceImageSequence[0]
        assert source.ReferencedSOPInstanceUID == ref.ReferencedSOPInstanceUID
    old_ref = seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0]
    assert referenced[0].ReferencedSOPInstanceUID != old_ref.ReferencedSOPInstanceUID


def test_dates_can_be_kept_or_shifted(ct):
    kept, report = _deidentify(ct, keep_dates=True)
    assert kept.StudyDate == "20040119" and kept.SeriesTime == "112749"
    assert kept.LongitudinalTemporalInformationModified == "UNMODIFIED"
    assert {row.keyword: row.action for row in report}["StudyDate"] == "K"
    assert kept.PatientBirthDate == "" and "InstitutionName" not in kept  # still removed
    shifted, _ = _deidentify(ct, keep_dates=True, date_shift_days=-100)
    assert shifted.StudyDate == "20031011"  # 19 January 2004 minus 100 days
    assert shifted.SeriesDate == "19970120"  # intervals between dates are kept
    assert shifted.LongitudinalTemporalInformationModified == "MODIFIED"
    ecg, _ = _deidentify(load_dicom_sample("ecg"), keep_dates=True, date_shift_days=1)
    assert ecg.AcquisitionDateTime == "20130126105919"  # DT: the date part moves
    with pytest.raises(ValueError, match="keep_dates=True"):
        deidentify(ct, uid_salt=SALT, date_shift_days=10)


def test_the_salt_is_required_and_not_empty(ct):
    with pytest.raises(TypeError):
        deidentify(ct)  # the salt is the project's secret: no default
    with pytest.raises(ValueError, match="uid_salt"):
        deidentify(ct, uid_salt="")


def test_ultrasound_warns_about_burned_in_text():
    us = load_dicom_sample("us")
    with pytest.warns(BurnedInTextWarning, match="burned-in"):
        new, _ = deidentify(us, uid_salt=SALT)
    # the header no longer names the hospital, but the pixels still show it
    assert "InstitutionName" not in new
    np.testing.assert_array_equal(new.pixel_array, us.pixel_array)
    flagged = copy.deepcopy(load_dicom_sample("ct"))
    flagged.BurnedInAnnotation = "YES"
    with pytest.warns(BurnedInTextWarning, match="says it has"):
        deidentify(flagged, uid_salt=SALT)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BurnedInTextWarning)
        deidentify(load_dicom_sample("ct"), uid_salt=SALT)  # CT: no warning


def test_overlays_are_removed(ct):
    drawn = copy.deepcopy(ct)
    drawn.add_new(0x60000010, "US", 128)  # OverlayRows
    drawn.add_new(0x60003000, "OW", bytes(128 * 128 // 8))  # OverlayData
    drawn.add_new(0x60004000, "LT", "Dr Smith was here")  # OverlayComments
    new, report = _deidentify(drawn)
    assert 0x60003000 not in new and 0x60004000 not in new and 0x60000010 in new
    assert {"(6000,3000)", "(6000,4000)"} <= {row.tag for row in report}
