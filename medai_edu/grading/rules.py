"""What a solution may import, per assignment, and the solutions that reach further.

Each assignment's source notebook declares, in its metadata::

    "medai_edu": {"grading": {
        "allowed_imports": ["numpy", "math", "collections"],
        "reference_modules": ["medai_edu.metrics"],
        "on_forbidden_import": "zero"
    }}

* ``allowed_imports``: the top-level modules a student's own cells may import. The set-up
  cell (locked) may import more; students use what it gives them.
* ``reference_modules``: modules of ``medai_edu`` that hold this assignment's answers. With
  ``"zero"``, their files are hidden from the student's run (an import of them, direct or
  through another module, fails) and a question whose solution imports them scores 0;
  with ``"flag"`` the instructor is only told.

:func:`forbidden_imports` reads the student's cells statically (imports, ``__import__``,
``importlib.import_module``, and dotted names of reference modules anywhere in the code);
hiding the files is what makes the rule hold however the import is spelled.
"""

from __future__ import annotations

import ast
import importlib.util
import os
from dataclasses import dataclass, field

from medai_edu.grading.repair import grade_id, is_locked

POLICIES = ("zero", "flag")
IMPORTERS = ("__import__", "import_module")


@dataclass
class AssignmentRules:
    allowed_imports: list[str] = field(default_factory=list)
    reference_modules: list[str] = field(default_factory=list)
    on_forbidden_import: str = "zero"

    @classmethod
    def of(cls, notebook) -> AssignmentRules | None:
        """The rules a source notebook declares, or None when it declares none."""
        raw = notebook.metadata.get("medai_edu", {}).get("grading")
        if raw is None:
            return None
        rules = cls(**raw)
        if rules.on_forbidden_import not in POLICIES:
            raise ValueError(
                f"on_forbidden_import must be one of {POLICIES}, not {rules.on_forbidden_import!r}"
            )
        return rules

    def sentence(self) -> str:
        """What students are told."""
        allowed = ", ".join(f"`{m}`" for m in self.allowed_imports) or "nothing"
        return (
            f"**What you may use.** Your code may import {allowed}, and use what the set-up "
            "cell gives you; nothing else, not `medai_edu` (its functions would answer the "
            "questions for you). A solution that imports anything else is flagged for your "
            "instructor"
            + (
                ", and a question whose answer uses the course's reference code scores 0."
                if self.on_forbidden_import == "zero"
                else "."
            )
        )

    def hidden_files(self) -> list[str]:
        """The files of the reference modules (and their compiled copies), to hide."""
        if self.on_forbidden_import != "zero":
            return []
        files = []
        for module in self.reference_modules:
            spec = importlib.util.find_spec(module)
            if spec is None or not spec.origin:
                raise ValueError(f"reference module {module!r} not found")
            files.append(spec.origin)
            cache = os.path.join(os.path.dirname(spec.origin), "__pycache__")
            stem = os.path.splitext(os.path.basename(spec.origin))[0] + "."
            if os.path.isdir(cache):
                files += [os.path.join(cache, f) for f in os.listdir(cache) if f.startswith(stem)]
        return files


@dataclass
class Finding:
    cell: str  # the grade_id of the student's cell, or "cell N"
    what: str

    @property
    def question(self) -> str:
        """``q2`` for ``q2_solution``: the question whose tests the finding concerns."""
        return self.cell.split("_", 1)[0]

    def __str__(self) -> str:
        return f"{self.cell}: {self.what}"


def _imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0] if node.args else None
            if called in IMPORTERS and isinstance(first, ast.Constant):
                names.append(str(first.value))
    return names


def _dotted(tree: ast.AST) -> list[str]:
    """Dotted names (``medai_edu.metrics.auroc``) and strings that appear in the code."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts, current = [node.attr], node.value
            while isinstance(current, ast.Attribute):
                parts.append(current.attr)
                current = current.value
            if isinstance(current, ast.Name):
                found.append(".".join([current.id, *reversed(parts)]))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
    return found


def forbidden_imports(notebook, rules: AssignmentRules) -> list[Finding]:
    """What the student's own cells import (or name) beyond ``rules``, one finding each."""
    findings = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or is_locked(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue  # it fails when it runs; nothing imported
        where = grade_id(cell) or f"cell {index + 1}"
        for name in dict.fromkeys(_imported(tree)):
            top = name.split(".")[0]
            if any(_within(name, r) for r in rules.reference_modules):
                findings.append(Finding(where, f"imports {name}, the course's reference code"))
            elif top not in rules.allowed_imports and top != "__future__":
                allowed = ", ".join(rules.allowed_imports)
                findings.append(Finding(where, f"imports {name} (allowed: {allowed})"))
        for name in dict.fromkeys(_dotted(tree)):
            if any(_within(name, r) for r in rules.reference_modules):
                findings.append(Finding(where, f"reaches {name}, the course's reference code"))
    return _unique(findings)


def _within(name: str, module: str) -> bool:
    return name == module or name.startswith(module + ".")


def _unique(findings: list[Finding]) -> list[Finding]:
    seen, result = set(), []
    for finding in findings:
        if (finding.cell, finding.what) not in seen:
            seen.add((finding.cell, finding.what))
            result.append(finding)
    return result
