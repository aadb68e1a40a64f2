"""Gradio demos of the course's four models, in one app (``medai-edu demo``).

- :mod:`.uploads`: reading what a user uploads, with clear errors;
- :mod:`.bundle`: the models, archives and example cases, ready without waiting;
- :mod:`.breast_mri`, :mod:`.slides`, :mod:`.chat`, :mod:`.explanations`: what each tab
  does, without Gradio;
- :mod:`.app`: the page (``build_app``, ``serve``).

Importing this package does not import Gradio (an optional extra, ``medai-edu[demo]``).
"""
