"""The pathology report: a brief surgical pathology report written from a case's concepts.

The facts come from the concepts; the wording (synonyms, order of findings, an optional
immunohistochemistry line) comes from the case's own report generator.

Two styles: ``"morphology"`` describes what is seen (patterns, cytology, mitoses,
necrosis, lymphocytes, immunohistochemistry), may leave findings out, and never names the
tumour type or grade; ``"diagnostic"`` ends with a diagnosis line naming both. A model
pretrained on diagnostic reports has been told the labels it is later tested on (label
leakage); :mod:`medai_edu.experiments.slide_pretraining` lets students measure it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from medai_edu.data.pathology.seeding import _child_rngs
from medai_edu.data.pathology.vocabulary import ADENO, SMALL_CELL, SQUAMOUS

_SITES = (
    "right upper lobe",
    "right middle lobe",
    "right lower lobe",
    "left upper lobe",
    "left lower lobe",
)
_OPENINGS = ("Sections show an infiltrating carcinoma composed of ", "The tumour consists of ")
_OPENINGS = ("Sections show an infiltrating carcinoma composed of ", "The tumour consists of ")
_PROCEDURES = ("core needle biopsy", "transbronchial biopsy", "wedge resection")
_HISTORIES = (
    "Lung mass on CT; rule out malignancy.",
    "Smoker with a spiculated pulmonary nodule.",
    "PET-avid lung lesion.",
    "Enlarging pulmonary mass.",
)
_DIFFERENTIATION = {
    1: "well differentiated",
    2: "moderately differentiated",
    3: "poorly differentiated",
}
_PLEOMORPHISM_WORDS = (("mild",), ("moderate",), ("marked", "severe"))
_INFILTRATE_WORDS = (("minimal", "sparse"), ("moderate",), ("marked", "dense", "brisk"))
_ARCHITECTURE = {
    ADENO: (
        "well-formed malignant glands with open lumina in a desmoplastic stroma",
        "malignant glands admixed with solid nests of tumour cells",
        "solid sheets of tumour cells without gland formation",
    ),
    SQUAMOUS: (
        "nests of large polygonal cells with eosinophilic cytoplasm, intercellular bridges "
        "and abundant keratin pearls",
        "nests of polygonal cells with eosinophilic cytoplasm and focal keratin pearl formation",
        "solid sheets of polygonal cells without keratinisation",
    ),
    SMALL_CELL: (
        "",
        "",
        "sheets of small round to oval cells with scant cytoplasm, finely granular "
        "('salt and pepper') chromatin, inconspicuous nucleoli and nuclear moulding",
    ),
}
_IMMUNOHISTOCHEMISTRY = {
    ADENO: "Tumour cells are positive for TTF-1 and napsin A and negative for p40.",
    SQUAMOUS: "Tumour cells are positive for p40 and CK5/6 and negative for TTF-1.",
    SMALL_CELL: "Tumour cells are positive for synaptophysin, chromogranin and INSM1; "
    "Ki-67 labels most tumour nuclei.",
}


#: Architecture under per-type grading, by (type, pattern score), two wordings each.
_PATTERNS = {
    ADENO: (
        (
            "well-formed glands with open lumina lined by columnar cells",
            "tubular glands with open lumina, lepidic and acinar in pattern",
        ),
        (
            "acinar and papillary glands with some solid nests",
            "glands of varying size admixed with small solid nests",
        ),
        (
            "solid sheets of polygonal cells without glandular lumina",
            "a solid growth pattern with rare glandular spaces",
        ),
    ),
    SQUAMOUS: (
        (
            "nests of large polygonal cells with abundant keratin pearls and intercellular bridges",
            "cohesive nests with extensive keratinisation and keratin pearl formation",
        ),
        (
            "nests of polygonal cells with focal keratinisation",
            "nests of cells with eosinophilic cytoplasm and occasional keratin pearls",
        ),
        (
            "solid sheets of polygonal cells without keratinisation",
            "sheets of cells with eosinophilic cytoplasm and no keratin pearls",
        ),
    ),
    SMALL_CELL: (
        (),
        (),
        (
            "sheets of small round to oval cells with scant cytoplasm, finely granular "
            "('salt and pepper') chromatin and nuclear moulding",
            "densely packed small cells with scant cytoplasm, inconspicuous nucleoli, "
            "nuclear moulding and crush artefact",
        ),
    ),
}
_IASLC_PATTERN = ("lepidic-predominant", "acinar-predominant", "solid-predominant")


def _diagnosis_per_type(tumour_type: int, grade: int) -> str:
    if tumour_type == SMALL_CELL:
        return "Small cell carcinoma (high-grade neuroendocrine carcinoma)"
    if tumour_type == ADENO:
        return (
            f"Invasive non-mucinous adenocarcinoma, {_IASLC_PATTERN[grade - 1]} "
            f"(IASLC grade {grade})"
        )
    return f"Squamous cell carcinoma, {_DIFFERENTIATION[grade]} (grade {grade})"


def _listing(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _marker_line(markers: dict[str, float]) -> str:
    names = [n for n in markers if n != "Ki-67"]
    positive = [n for n in names if markers[n]]
    negative = [n for n in names if not markers[n]]
    parts = []
    if positive:
        parts.append("positive for " + _listing(positive))
    if negative:
        parts.append("negative for " + _listing(negative))
    ki67 = int(5 * round(20 * markers["Ki-67"]))
    return (
        "Immunohistochemistry: tumour cells are "
        + "; ".join(parts)
        + f". Ki-67 labels about {ki67}% of tumour nuclei."
    )


def _diagnosis_line(tumour_type: int, grade: int) -> str:
    if tumour_type == SMALL_CELL:
        # Real small cell carcinoma is high grade by definition; this teaching set grades
        # it anyway (see the dataset card), and calls it a nuclear grade.
        return f"Small cell carcinoma, nuclear grade {grade} of 3"
    name = "Invasive adenocarcinoma" if tumour_type == ADENO else "Squamous cell carcinoma"
    return f"{name}, {_DIFFERENTIATION[grade]} (grade {grade})"


def write_report(
    case_id: str,
    tumour_type: int,
    grade: int,
    concepts: dict[str, float],
    seed: int,
    style: str = "diagnostic",
    markers: dict[str, float] | None = None,
) -> str:
    """Write a brief surgical pathology report that states the case's concepts.

    The wording (synonyms, order of the microscopic findings, optional immunohistochemistry
    line) varies with ``seed``; the facts never do. ``style`` is ``"morphology"`` or
    ``"diagnostic"`` (module docstring); ``markers`` the case's immunohistochemistry. With
    the diagnostic style and no markers, the first generator's report, word for word.

    Returns
    -------
    str
        Several lines: header, specimen, clinical history, microscopic description and,
        in the diagnostic style, the diagnosis.
    """
    if style not in ("morphology", "diagnostic"):
        raise ValueError(f"style must be 'morphology' or 'diagnostic', got {style!r}")
    if markers is not None or style == "morphology":
        return _write_report_per_type(case_id, tumour_type, grade, concepts, seed, style, markers)
    rng = _child_rngs(seed)["report"]

    def pick(options):
        return options[int(rng.integers(len(options)))]

    site, procedure = pick(_SITES), pick(_PROCEDURES)
    findings = _microscopic_findings(pick, concepts)
    architecture = _ARCHITECTURE[tumour_type][int(concepts["architecture_score"])]
    order = rng.permutation(len(findings))
    lines = _opening_lines(
        pick, case_id, site, procedure, architecture, [findings[i] for i in order]
    )
    if rng.random() < 0.5:
        lines.append(_IMMUNOHISTOCHEMISTRY[tumour_type])
    lines += [
        "",
        "Diagnosis:",
        f"Lung, {site}, {procedure}: {_diagnosis_line(tumour_type, grade)}.",
    ]
    return "\n".join(lines)


def _opening_lines(pick, case_id, site, procedure, architecture, findings) -> list[str]:
    """Header, specimen, history and the microscopic description: the ``architecture`` (a
    string, or a tuple of wordings to pick from), then ``findings``. ``pick`` draws from
    the report's generator, so the order of the calls here is part of the output."""
    header = pick(("SURGICAL PATHOLOGY REPORT", "PATHOLOGY REPORT", "HISTOPATHOLOGY REPORT"))
    history = pick(_HISTORIES)
    opening = pick(_OPENINGS)
    if not isinstance(architecture, str):
        architecture = pick(architecture)
    return [
        header,
        f"Case: {case_id}",
        f"Specimen: Lung, {site}, {procedure}.",
        f"Clinical history: {history}",
        "",
        "Microscopic description:",
        opening + architecture + ". " + " ".join(findings),
    ]


def _microscopic_findings(
    pick: Callable[[Sequence[str]], str], concepts: dict[str, float]
) -> list[str]:
    """One sentence each on pleomorphism, mitoses, necrosis, lymphocytes and tumour fraction.

    ``pick`` chooses one wording from a tuple of synonyms (it draws from the report's
    generator, so the order of the calls here is part of the output).
    """
    pleo = pick(_PLEOMORPHISM_WORDS[int(concepts["nuclear_pleomorphism"])])
    infiltrate = pick(_INFILTRATE_WORDS[int(concepts["lymphocytic_infiltrate"])])
    percent = int(5 * round(100 * concepts["tumour_fraction"] / 5))
    mitoses = int(concepts["mitoses_per_2mm2"])
    return [
        f"Nuclei show {pleo} pleomorphism.",
        pick((f"Mitotic count: {mitoses} per 2 mm².", f"There are {mitoses} mitoses per 2 mm².")),
        pick(("Tumour necrosis is present.", "Foci of tumour necrosis are seen."))
        if concepts["necrosis"]
        else pick(("No tumour necrosis is identified.", "Necrosis is absent.")),
        f"There is a {infiltrate} lymphocytic infiltrate"
        + pick((" at the tumour-stroma interface.", " around and within the tumour.")),
        pick(
            (
                f"Viable tumour occupies approximately {percent}% of the tissue.",
                f"Tumour cellularity is estimated at {percent}% of the tissue.",
            )
        ),
    ]


def _write_report_per_type(
    case_id: str,
    tumour_type: int,
    grade: int,
    concepts: dict[str, float],
    seed: int,
    style: str,
    markers: dict[str, float] | None,
) -> str:
    """The report under per-type grading (see :func:`write_report`).

    In the morphology style each microscopic finding is left out with probability 0.2, as
    real reports do not mention everything.
    """
    rng = _child_rngs(seed)["report"]

    def pick(options):
        return options[int(rng.integers(len(options)))]

    site, procedure = pick(_SITES), pick(_PROCEDURES)
    findings = _microscopic_findings(pick, concepts)
    if concepts["tumour_fraction"] < 0.05:
        findings[-1] = pick(
            (
                "Carcinoma forms a small focus, under 5% of the tissue.",
                "Only a small focus of carcinoma is present (under 5% of the tissue).",
            )
        )
    order = rng.permutation(len(findings))
    keep = [i for i in order if style == "diagnostic" or rng.random() > 0.2]
    patterns = _PATTERNS[tumour_type]
    wordings = patterns[int(concepts["architecture_score"])] or patterns[2]
    lines = _opening_lines(pick, case_id, site, procedure, wordings, [findings[i] for i in keep])
    if markers is not None and rng.random() < 0.6:
        lines.append(_marker_line(markers))
    if style == "diagnostic":
        lines += ["", "Diagnosis:", f"Lung, {site}, {procedure}: "
                  f"{_diagnosis_per_type(tumour_type, grade)}."]  # fmt: skip
    return "\n".join(lines)
