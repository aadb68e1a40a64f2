"""Explanations of the course's models (XAIM-mini)."""
