"""Experiments that reproduce the shape of the seed papers' comparisons."""
