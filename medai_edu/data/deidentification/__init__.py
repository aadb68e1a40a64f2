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
standard's code and the single action this package takes.

What this package does
----------------------
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

Layout
------
- :mod:`.profile`: :data:`ACTIONS`, :class:`Rule`, :data:`PROFILE`;
- :mod:`.elements`: :class:`IdentifyingElement`, :class:`DeidentificationRow`;
- :mod:`.find`: :func:`find_identifying_elements`;
- :mod:`.values`: pseudonyms, new UIDs, shifted dates;
- :mod:`.burned_in`: :class:`BurnedInTextWarning`;
- :mod:`.apply`: :func:`deidentify`.
"""

from medai_edu.data.deidentification.apply import deidentify
from medai_edu.data.deidentification.burned_in import BurnedInTextWarning
from medai_edu.data.deidentification.elements import DeidentificationRow, IdentifyingElement
from medai_edu.data.deidentification.find import find_identifying_elements
from medai_edu.data.deidentification.profile import ACTIONS, PROFILE, Rule

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
