"""Gradio demos of the course's four models, in one app (``medai-edu demo``).

- :mod:`.uploads`: reading what a user uploads, with clear errors;
- :mod:`.bundle`: the models, archives and example cases, ready without waiting;
- :mod:`.breast_mri`, :mod:`.slides`, :mod:`.chat`, :mod:`.explanations`: what each tab
  does, without Gradio;
- :mod:`.app`: the page (:func:`build_app`, :func:`serve`);
- :mod:`.load`: the app under a class's load (:func:`measure_load`).

Importing this package does not import Gradio (an optional extra, ``medai-edu[demo]``):
the page and the models load on first use of their names (see :data:`_LAZY`).
"""

from medai_edu.demos.load import TAB_CALLS, free_port, measure_load, start_server, stop_server
from medai_edu.demos.uploads import (
    MRIUpload,
    UploadedSlideTiles,
    UploadError,
    model_inputs,
    read_mri_upload,
    read_slide_upload,
    slide_tiles,
    write_case_dicom_zip,
    write_case_nifti,
)
from medai_edu.lazy import lazy_exports

__all__ = [
    # the app (Gradio, imported on first use)
    "build_app",
    "load_demo_models",
    "load_examples",
    "serve",
    # uploads
    "MRIUpload",
    "UploadedSlideTiles",
    "UploadError",
    "model_inputs",
    "read_mri_upload",
    "read_slide_upload",
    "slide_tiles",
    "write_case_dicom_zip",
    "write_case_nifti",
    # the app under load
    "TAB_CALLS",
    "free_port",
    "measure_load",
    "start_server",
    "stop_server",
]

#: Name -> the module that defines it, imported when the name is first used: the page needs
#: Gradio, the models a few seconds.
_LAZY = {
    "build_app": "app",
    "serve": "app",
    "load_demo_models": "bundle",
    "load_examples": "bundle",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
