"""The three ways a real sample can fail: not in the cache, wrong bytes, not fetched."""


class SampleNotFoundError(FileNotFoundError):
    """A sample is not in the cache and cannot be made without fetching it."""


class ChecksumError(ValueError):
    """A file's SHA-256 differs from the one recorded for its sample."""


class SampleFetchError(RuntimeError):
    """:func:`fetch_samples` could not put one or more samples in the cache."""
