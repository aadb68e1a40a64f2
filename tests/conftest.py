"""Shared test set-up: figures render off-screen."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
