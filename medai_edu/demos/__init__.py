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
    SlideTiles,
    UploadError,
    model_inputs,
    read_mri_upload,
    read_slide_upload,
    slide_tiles,
    write_case_dicom_zip,
    write_case_nifti,
)

__all__ = [
    # the app (Gradio, imported on first use)
    "build_app",
    "load_demo_models",
    "load_examples",
    "serve",
    # uploads
    "MRIUpload",
    "SlideTiles",
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
    "build_app": "medai_edu.demos.app",
    "serve": "medai_edu.demos.app",
    "load_demo_models": "medai_edu.demos.bundle",
    "load_examples": "medai_edu.demos.bundle",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'medai_edu.demos' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
