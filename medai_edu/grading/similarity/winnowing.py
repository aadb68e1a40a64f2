"""Fingerprints of a normalised cell: hashed k-grams of its tokens, winnowed (the method of
MOSS), without those of the starter code; and the Jaccard index of two sets."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from medai_edu.grading.similarity.syntax import names_defined, parse_cell
from medai_edu.grading.similarity.tokens import normal_form, token_form

#: Tokens per fingerprinted run (a k-gram): short enough to see a line, long enough that
#: ``x = np.asarray(x)`` alone is not a match.
K = 5
#: Winnowing window: of every ``WINDOW`` consecutive k-gram hashes the smallest is kept, so
#: about ``2 / (WINDOW + 1)`` of them; any shared run of ``K + WINDOW - 1`` tokens is found.
WINDOW = 4


def _hash(gram: Iterable[str]) -> int:
    # a stable hash: Python's hash() of a str changes from one process to the next
    digest = hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def kgram_hashes(tokens: tuple[str, ...], k: int = K) -> list[int]:
    if not tokens:
        return []
    if len(tokens) < k:
        return [_hash(tokens)]
    return [_hash(tokens[i : i + k]) for i in range(len(tokens) - k + 1)]


def winnow(hashes: list[int], window: int = WINDOW) -> set[int]:
    """The smallest hash of every ``window`` consecutive ones (all of them when fewer)."""
    if len(hashes) <= window:
        return set(hashes)
    return {min(hashes[i : i + window]) for i in range(len(hashes) - window + 1)}


def starter_hashes(starter: str) -> frozenset[int]:
    """Every k-gram of the starter code, in the two forms a student's cell may take:
    normalised (what is left of it in a cell with the student's code, such as the
    ``def`` line) and as tokens (for a student's cell that does not parse)."""
    if not starter.strip():
        return frozenset()
    forms = [
        normal_form(starter, starter, remove=False).tokens,
        tuple(token_form(starter, names_defined(parse_cell(starter)))),
    ]
    return frozenset(h for tokens in forms for h in kgram_hashes(tokens))


def fingerprints(source: str, starter: str = "") -> frozenset[int]:
    """The winnowed fingerprints of a cell's normalised code, less the starter code's.

    Parameters
    ----------
    source : str
        The code of one cell.
    starter : str, default ""
        The release version of the cell; its k-grams are removed.

    Returns
    -------
    frozenset of int
        64-bit hashes of runs of :data:`K` normalised tokens, about ``2 / (WINDOW + 1)`` of
        them kept. Empty when the cell holds nothing of the student's own.
    """
    form = normal_form(source, starter)
    return frozenset(winnow(kgram_hashes(form.tokens)) - starter_hashes(starter))


def jaccard(a: frozenset, b: frozenset) -> float:
    """``|a & b| / |a | b|`` in [0, 1]; 0 for two empty sets (nothing to be similar in)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0
