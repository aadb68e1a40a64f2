"""The new values that replace identifying ones: pseudonyms, UIDs and shifted dates.

Pseudonyms and UIDs are hashed with the project's secret salt, so one old value always
gets the same new value, and nobody without the salt can compute it.
"""

from __future__ import annotations

import datetime as dt
import hashlib


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
