"""Grading nbgrader assignments safely: sandboxed, parallel, hard to fool."""
