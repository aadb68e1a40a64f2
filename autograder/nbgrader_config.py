"""nbgrader configuration of the medai-edu course (nbgrader 0.9.6).

Run nbgrader from this folder (``cd autograder && nbgrader generate_assignment
data-and-metrics``), or from anywhere with ``--CourseDirectory.root=/path/to/autograder``.
Source assignments live in ``source/<assignment>/``; nbgrader writes ``release/``,
``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db`` beside them.

Students are added to the gradebook on the command line, not here (nbgrader 0.9.6 ignores a
``db_students`` list in the configuration)::

    nbgrader db student add alice --first-name=Alice --last-name=Liddell
    nbgrader db student import students.csv   # columns: id, first_name, last_name, email
"""

from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

# nbgrader 0.9.6 wants an absolute root; this folder, wherever the repository is checked out.
c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.course_id = "medai-edu"
c.CourseDirectory.source_directory = "source"

# The exchange (where students fetch and submit) keeps nbgrader's default,
# /srv/nbgrader/exchange; on the hub set c.Exchange.root to a folder shared by all users.
# c.Exchange.root = "/srv/nbgrader/exchange"

# What replaces a solution region in the student version (nbgrader's default for Python,
# spelled out because tests/autograder/test_assignment_sources.py assumes it).
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
