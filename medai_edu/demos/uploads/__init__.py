"""Read what a student uploads into the demo app, and say clearly what is wrong with it.

Two kinds of upload:

- a breast MRI case for MOME-mini: NIfTI files named by sequence (``dce.nii.gz``,
  ``t2.nii.gz``, ``dwi.nii.gz``, ``adc.nii.gz``), or one ``.zip`` of such files or of DICOM
  series (:func:`read_mri_upload`, then :func:`model_inputs`);
- a whole-slide image for mSTAR-mini: ``.tif``, ``.tiff`` or ``.svs``
  (:func:`read_slide_upload`, then :func:`slide_tiles`).

Every problem raises :class:`UploadError`, whose message is shown to the student in the web
page: it says what was wrong and what to upload instead. :func:`write_case_nifti` and
:func:`write_case_dicom_zip` write a synthetic case in the accepted formats, as examples to
upload and for the tests.

Modules, one step each:

- :mod:`.limits`: the limits, :class:`UploadError`, the file-size check;
- :mod:`.volumes`: :class:`MRIUpload` and the checks every MRI volume passes;
- :mod:`.nifti`, :mod:`.dicom`: reading each format; :mod:`.dicom_writer`: writing DICOM;
- :mod:`.mri`: :func:`read_mri_upload`, the entry point (and zip unpacking);
- :mod:`.inputs`: :func:`model_inputs`, MOME-mini's tensors;
- :mod:`.whole_slide`: slides.

Axis conventions: arrays are (Z, Y, X) as in :mod:`medai_edu.data.breast_mri`, with the
phases or b-values first for 4D volumes, (P, Z, Y, X). Spacings are (z, y, x) in
millimetres. This package does not import gradio.
"""

from medai_edu.demos.uploads.dicom_writer import write_case_dicom_zip
from medai_edu.demos.uploads.inputs import model_inputs
from medai_edu.demos.uploads.limits import (
    MAX_SLIDE_PIXELS,
    MAX_UPLOAD_MB,
    MAX_VOXELS,
    UploadError,
    check_file_size,
)
from medai_edu.demos.uploads.mri import read_mri_upload
from medai_edu.demos.uploads.nifti import write_case_nifti
from medai_edu.demos.uploads.volumes import MRI_NAMES, MRIUpload
from medai_edu.demos.uploads.whole_slide import UploadedSlideTiles, read_slide_upload, slide_tiles

__all__ = [
    # limits and errors
    "MAX_SLIDE_PIXELS",
    "MAX_UPLOAD_MB",
    "MAX_VOXELS",
    "UploadError",
    "check_file_size",
    # breast MRI
    "MRI_NAMES",
    "MRIUpload",
    "model_inputs",
    "read_mri_upload",
    "write_case_dicom_zip",
    "write_case_nifti",
    # whole-slide images
    "UploadedSlideTiles",
    "read_slide_upload",
    "slide_tiles",
]
