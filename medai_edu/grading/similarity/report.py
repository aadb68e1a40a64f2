"""The HTML report of the pairs to review, their code side by side."""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path

from medai_edu.grading.similarity.pairs import PairReport, Skipped
from medai_edu.grading.similarity.winnowing import K

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 90rem;
       padding: 0 1rem; color: #1a1a1a; background: #fff; line-height: 1.5; }
.notice { border-left: 0.4rem solid #1f5fa8; background: #eef4fb; padding: 0.75rem 1rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }
caption { text-align: left; font-weight: bold; padding: 0.25rem 0; }
th, td { border: 1px solid #8a8a8a; padding: 0.4rem 0.6rem; text-align: left;
         vertical-align: top; }
thead th { background: #e8e8e8; }
td.code { width: 45%; }
pre { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere;
      font: 0.85rem/1.4 ui-monospace, monospace; }
a { color: #0b4f9c; }
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _pair_section(rank: int, pair: PairReport) -> str:
    a, b = _e(pair.student_a), _e(pair.student_b)
    where = f" ({_e(pair.notebook)})" if pair.notebook else ""
    rows, unmatched = [], []
    for cell in pair.cells:
        if cell.score <= 0:
            unmatched.append(_e(cell.grade_id))
            continue
        rows.append(
            f'<tr><th scope="row">{_e(cell.grade_id)}<br>cell score {cell.score:.2f}</th>'
            f'<td class="code"><pre>{_e(cell.source_a)}</pre></td>'
            f'<td class="code"><pre>{_e(cell.source_b)}</pre></td></tr>'
        )
    rest = f"<p>No shared code in: {', '.join(unmatched)}.</p>" if unmatched else ""
    return (
        f'<section id="pair-{rank}" aria-labelledby="pair-{rank}-title">'
        f'<h3 id="pair-{rank}-title">{rank}. {a} and {b}{where}: score {pair.score:.2f}</h3>'
        f"<table><caption>The cells of {a} and {b} that share code, side by side, as "
        f"submitted</caption>"
        f'<thead><tr><th scope="col">Cell</th><th scope="col">{a}</th>'
        f'<th scope="col">{b}</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
        f"{rest}</section>"
    )


def _summary(pairs: list[PairReport]) -> str:
    rows = "".join(
        f'<tr><th scope="row"><a href="#pair-{i}">{i}</a></th><td>{_e(p.notebook or "-")}'
        f"</td><td>{_e(p.student_a)}</td><td>{_e(p.student_b)}</td><td>{p.score:.2f}</td></tr>"
        for i, p in enumerate(pairs, start=1)
    )
    return (
        "<table><caption>Pairs to review, most alike first</caption><thead><tr>"
        '<th scope="col">Rank</th><th scope="col">Notebook</th>'
        '<th scope="col">Student</th><th scope="col">Student</th>'
        f'<th scope="col">Score</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _skipped_section(skipped: list[Skipped]) -> str:
    if not skipped:
        return ""
    rows = "".join(
        f'<tr><th scope="row">{_e(s.student)}</th><td>{_e(s.notebook)}</td>'
        f"<td>{_e(s.reason)}</td></tr>"
        for s in skipped
    )
    return (
        "<h2>Submissions not compared</h2>"
        "<table><caption>Skipped submissions and why</caption><thead><tr>"
        '<th scope="col">Student</th><th scope="col">Notebook</th>'
        f'<th scope="col">Reason</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def write_report(
    path: str | Path,
    pairs: list[PairReport],
    assignment: str,
    threshold: float,
    skipped: Iterable[Skipped] = (),
) -> Path:
    """Write the pairs to review as one self-contained, accessible HTML page.

    Parameters
    ----------
    path : str or Path
        The HTML file to write (its folder is created).
    pairs : list of PairReport
        From :func:`compare` or :func:`course_report`, in the order to show.
    assignment : str
        The assignment's name, for the title.
    threshold : float
        The threshold the pairs were chosen with, stated on the page.
    skipped : iterable of Skipped, default ()
        Submissions that could not be compared, listed with their reasons.

    Returns
    -------
    Path
        ``path``. The page has no script and no external resource; every text from a
        submission is escaped with :func:`html.escape`.
    """
    path = Path(path)
    title = f"Code similarity: {assignment}"
    found = (
        f"<p>{len(pairs)} pair(s) of submissions scored {threshold:.2f} or more.</p>"
        + _summary(pairs)
        + "".join(_pair_section(i, p) for i, p in enumerate(pairs, start=1))
        if pairs
        else f"<p>No pair of submissions scored {threshold:.2f} or more.</p>"
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<h1>{_e(title)}</h1>
<p class="notice"><strong>This report is evidence for a person to review, not a penalty.
</strong> A high score says that two submissions contain the same code once names,
comments and layout are set aside; it does not say who wrote it, or whether working
together was allowed. Short answers to a precisely specified question are often alike.
Read the code, and talk with the students, before drawing any conclusion.</p>
<h2>What the score means</h2>
<p>Each solution cell is normalised: the names a student chose are replaced by placeholders
in order of first use, docstrings and comments are removed, functions are sorted, and the
starter code of the assignment is taken out, so that the starter alone never makes two
students alike. The code is then cut into overlapping runs of {K} tokens and a sample of
their hashes is kept (winnowing, as in MOSS). A cell's score is the share of these
fingerprints that the two students have in common, out of all the fingerprints either has
(the Jaccard index): 0 means nothing in common, 1 the same code after normalisation. The
pair's score is the same share over all their solution cells together, so long answers
weigh more than short ones. The threshold of this report is {threshold:.2f}. The cells
below are shown as the students submitted them.</p>
<h2>Pairs to review</h2>
{found}
{_skipped_section(list(skipped))}
</main>
</body>
</html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
