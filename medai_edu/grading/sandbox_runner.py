"""Run one notebook inside the grading sandbox; started by :mod:`medai_edu.grading.sandbox`.

``python -I -m medai_edu.grading.sandbox_runner [options]`` reads the notebook's JSON on
stdin, executes it with :class:`nbclient.NotebookClient` (kernel ``python3``, errors allowed,
a per-cell timeout) in the current directory, and writes exactly one JSON object on the
stdout it was started with::

    {"status": "ok" | "timeout" | "kernel_died" | "sandbox_error",
     "reason": "...", "notebook": {...} | null}

Student code runs in the kernel, a child of this process, so this process protects itself:

* it is made non-dumpable first (``prctl(PR_SET_DUMPABLE, 0)``): the kernel, although it runs
  as the same user, cannot read its memory, environment or file descriptors through /proc;
* the notebook (with the hidden tests) only ever lives in its memory: it is read from stdin,
  which is then replaced by /dev/null, and never written to a file;
* the stdout that carries the result is moved to a private descriptor that the kernel does
  not inherit; the kernel's stdout and stderr go to this process's stderr, which the grader
  reads only for diagnostics, so nothing the student prints can forge the result.

The first line on stderr is :data:`STARTED_MARKER`: the grader uses it to tell "the sandbox
could not start" (an installation problem) from "the notebook broke things" (a grade).

Outputs are capped as they arrive, so a huge print is graded rather than fatal: the text of one
cell's outputs is cut at ``--max-text`` characters with the note :data:`TRUNCATION_NOTE`, and
all outputs together stay under ``--max-output-bytes`` (later outputs are replaced by the note;
error outputs, which grading looks at, are always kept, shortened).

When the kernel dies or a cell times out, the notebook comes back with the outputs gathered so
far; the cell that was running gets an error output saying what happened, and every code cell
that did not run gets an error output ``CellNotExecuted``. Outputs stored in the submission are
cleared before execution. So no output a student stored can pass for a result.

This module imports only the standard library, nbformat, nbclient and the standard-library
helpers of :mod:`medai_edu.sandboxing`.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import sys
import traceback
import uuid
from time import monotonic
from typing import Any

from medai_edu.sandboxing import PR_SET_DUMPABLE, _prctl, drop_privileges  # noqa: F401 - stdlib only

STARTED_MARKER = "medai-edu-sandbox-runner: started"
#: The MIME type of the checks' records and probes (medai_edu.grading.checks.MIME): taken out
#: of the messages here and returned beside the notebook, never stored in it.
CHECKS_MIME = "application/vnd.medai-edu.check+json"
#: The MIME type of the audit cell's findings.
AUDIT_MIME = "application/vnd.medai-edu.audit+json"
AUDIT_KEY = "medai_edu_audit"  # marks the appended audit cell
MAX_CHECK_MESSAGES = 200_000
MAX_CHECK_BYTES = 64 * 1024 * 1024

# Run by the runner before the student's notebook and after it: what the kernel looks like,
# as evidence for the instructor (flags: what changed between the two). It runs in the
# student's process, so a student may hide from it; the grade never depends on it.
AUDIT_CELL = r"""
def _medai_audit():
    import json, sys, builtins
    from IPython import get_ipython
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import publish_display_data
    import os, ipykernel
    kernel_files = os.path.dirname(ipykernel.__file__) + os.sep  # cells run as ipykernel_*.py
    found = []
    shell = get_ipython()
    if getattr(shell, "custom_exceptions", ()):
        found.append("a custom exception handler silences errors (set_custom_exc)")
    for name in ("showtraceback", "showsyntaxerror", "run_cell", "run_code", "run_ast_nodes",
                 "_showtraceback", "run_cell_async"):
        mine = getattr(InteractiveShell, name, None)
        here = getattr(type(shell), name, None)
        code = getattr(getattr(here, "__code__", None), "co_filename", "")
        if name in vars(shell) or here is not mine and not code.startswith(kernel_files):
            found.append(f"the shell's {name} was replaced")
    from ipykernel.ipkernel import IPythonKernel
    for name in ("do_execute", "execute_request", "send_response"):
        method = getattr(IPythonKernel, name, None)
        code = getattr(getattr(method, "__code__", None), "co_filename", "")
        if method is not None and not code.startswith(kernel_files):
            found.append(f"the kernel's {name} was replaced (its replies may lie)")
    # counted, so that the grader sees what changed since the first audit
    count = len(shell.ast_transformers)
    found.append(f"cells are rewritten before they run ({count} ast_transformers)")
    count = len(shell.input_transformers_post) + len(shell.input_transformers_cleanup)
    found.append(f"cell sources are rewritten before they run ({count} input transformers)")
    for event in ("pre_run_cell", "post_run_cell", "pre_execute", "post_execute"):
        count = len(shell.events.callbacks.get(event, []))
        found.append(f"code runs around every cell ({count} {event} callbacks)")
    if sys.gettrace() is not None or sys.getprofile() is not None:
        found.append("a trace or profile function watches the cells")
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if type(stream).__module__ != "ipykernel.iostream":
            found.append(f"sys.{name} was replaced ({type(stream).__name__})")
    checks = sys.modules.get("medai_edu.grading.checks")
    if checks is not None and type(checks).__name__ != "ReadOnlyModule":
        found.append("the grading helpers' module was replaced")
    loader = sys.modules.get("medai_edu.grading._loader")
    if loader is not None:
        for key, value in loader.BUILTINS.items():
            if key.startswith("_") or key in ("input", "exit", "quit", "get_ipython",
                                                  "display", "help"):
                continue  # IPython and ipykernel set these for each cell
            if getattr(builtins, key, value) is not value:
                found.append(f"the builtin {key} was rebound")
    publish_display_data({"application/vnd.medai-edu.audit+json": json.dumps(found)})
_medai_audit()
"""
TRUNCATION_NOTE = "[output truncated by the grader]"
MAX_EVALUE_CHARS = 10_000


def make_non_dumpable() -> None:
    """``prctl(PR_SET_DUMPABLE, 0)``: children of the same user cannot read our /proc files."""
    _prctl(PR_SET_DUMPABLE, 0, "PR_SET_DUMPABLE, 0")


def describe_cell(nb: Any, index: int) -> str:
    """``cell 3 of 7 (grade_id 'q1_tests'): `first line```, numbered from 1 over all cells."""
    cell = nb.cells[index]
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    if len(first) > 80:
        first = first[:77] + "..."
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    total = len([c for c in nb.cells if not c.get("metadata", {}).get(AUDIT_KEY)])
    audited = nb.cells[0].get("metadata", {}).get(AUDIT_KEY) if nb.cells else False
    label = f"cell {index + (0 if audited else 1)} of {total}"
    if grade_id:
        label += f" (grade_id {grade_id!r})"
    return f"{label}: `{first}`"


def _clip(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    return text[: max(limit, 0)] + f"\n{TRUNCATION_NOTE}\n", True


def _json_size(value: Any) -> int:
    return len(json.dumps(value))


class _GradingBehaviour:
    """What :class:`GradingClient` adds to nbclient's ``NotebookClient``: it takes the checks'
    records out of the messages, keeps a per-cell timeout and a notebook deadline, tracks the
    running cell, and caps outputs. A mixin, so that nbclient is imported only when a client
    is made (inside the sandbox); ``super()`` reaches ``NotebookClient``.
    """

    def setup_limits(
        self, *, max_text: int, max_output_bytes: int, cell_timeout: int, deadline: float
    ) -> None:
        self.max_text = max_text
        self.max_output_bytes = max_output_bytes
        self.cell_timeout = cell_timeout
        self.deadline = deadline
        self.current_index: int | None = None
        self.timeout_cause = "cell"
        self.kernel_process: Any = None
        self._cell_text: dict[int, int] = {}
        self._cell_bytes: dict[int, int] = {}
        self._cell_clipped: set[int] = set()
        self._cell_dropped: set[int] = set()
        self.timeout_func = self._timeout_for
        self.check_messages: dict[int, list[str]] = {}
        self.check_bytes = 0
        self.check_overflow = False
        self.audit: list[str] = []
        self.replies: dict[int, str] = {}

    # -- what the grader reads beside the outputs ----------------------------------------
    def _take_check_message(self, cell_index: int, data: dict) -> bool:
        """Keep a record or probe of the checks (or the audit's findings) for the
        grader; True when ``data`` was one, so it is not stored as an output."""
        if AUDIT_MIME in data:
            self.audit.append(str(data[AUDIT_MIME])[:100_000])
            return True
        if CHECKS_MIME not in data:
            return False
        message = str(data[CHECKS_MIME])
        count = sum(len(v) for v in self.check_messages.values())
        if count >= MAX_CHECK_MESSAGES or self.check_bytes + len(message) > MAX_CHECK_BYTES:
            self.check_overflow = True  # a flood: the grader fails the cells it spoils
            return True
        self.check_bytes += len(message)
        self.check_messages.setdefault(cell_index, []).append(message)
        return True

    def _check_raise_for_error(self, cell, cell_index, exec_reply):
        if exec_reply is not None:  # "ok" or "error", whatever the outputs show
            status = exec_reply.get("content", {}).get("status")
            self.replies[cell_index] = str(status)
        return super()._check_raise_for_error(cell, cell_index, exec_reply)

    # -- time --------------------------------------------------------------------------
    def _timeout_for(self, cell: Any) -> int:
        remaining = self.deadline - monotonic()
        if remaining < self.cell_timeout:
            self.timeout_cause = "notebook"
            return max(1, int(remaining))
        self.timeout_cause = "cell"
        return self.cell_timeout

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        await super().async_start_new_kernel(**kwargs)
        provisioner = getattr(self.km, "provisioner", None)
        self.kernel_process = getattr(provisioner, "process", None)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, **kw):
        runs = cell.cell_type == "code" and cell.source.strip()
        if runs:
            self.current_index = cell_index
            if monotonic() >= self.deadline:
                from nbclient.exceptions import CellTimeoutError

                self.timeout_cause = "notebook"
                raise CellTimeoutError("the notebook's time budget is spent")
        return await super().async_execute_cell(cell, cell_index, execution_count, **kw)

    # -- outputs -----------------------------------------------------------------------
    def _reset_cell(self, cell_index: int) -> None:
        for table in (self._cell_text, self._cell_bytes):
            table.pop(cell_index, None)
        self._cell_clipped.discard(cell_index)
        self._cell_dropped.discard(cell_index)

    def _room(self) -> int:
        return self.max_output_bytes - sum(self._cell_bytes.values())

    def _account(self, cell_index: int, size: int) -> None:
        self._cell_bytes[cell_index] = self._cell_bytes.get(cell_index, 0) + size

    def _drop(self, outs: list, cell_index: int) -> None:
        """Outputs beyond the notebook's budget: one short note per cell instead."""
        if cell_index not in self._cell_dropped:
            from nbformat.v4 import new_output

            self._cell_dropped.add(cell_index)
            note = (
                f"{TRUNCATION_NOTE} (the notebook's outputs exceeded "
                f"{self.max_output_bytes // 1024} kB)\n"
            )
            outs.append(new_output("stream", name="stdout", text=note))

    def output(self, outs, msg, display_id, cell_index):
        if self.clear_before_next_output:
            self._reset_cell(cell_index)
        parent = msg["parent_header"].get("msg_id")
        if self.output_hook_stack[parent]:  # ipywidgets Output: nbclient's own handling
            return super().output(outs, msg, display_id, cell_index)
        msg_type = msg["msg_type"]
        content = msg["content"]
        if msg_type == "error":  # always kept: grading looks for it
            self._shorten_error(content)
        elif msg_type == "stream":
            if not self._fit_stream(outs, content, cell_index):
                return None
        elif msg_type in ("display_data", "execute_result"):  # shrunk in process_message
            size = _json_size(content.get("data") or {}) + 64
            size += _json_size(content.get("metadata") or {})
            if cell_index in self._cell_dropped or size > self._room():
                self._drop(outs, cell_index)
                return None
            self._account(cell_index, size)
        return super().output(outs, msg, display_id, cell_index)

    def _shorten_error(self, content: dict) -> None:
        """Clip an error's name, value and traceback (kept to ``max_text`` characters)."""
        content["ename"] = _clip(str(content.get("ename", "")), 200)[0]
        content["evalue"] = _clip(str(content.get("evalue", "")), MAX_EVALUE_CHARS)[0]
        kept: list[str] = []
        budget = self.max_text
        for line in (str(line) for line in content.get("traceback", [])):
            if len(line) > budget:
                kept.append(_clip(line, budget)[0])
                break
            kept.append(line)
            budget -= len(line)
        content["traceback"] = kept

    def _fit_stream(self, outs: list, content: dict, cell_index: int) -> bool:
        """Clip a stream's text to the cell's and the notebook's budgets; False: drop it."""
        if cell_index in self._cell_clipped or cell_index in self._cell_dropped:
            return False
        text = str(content.get("text", ""))
        used = self._cell_text.get(cell_index, 0)
        text, clipped = _clip(text, self.max_text - used)
        if clipped:
            self._cell_clipped.add(cell_index)
        size = _json_size(text) + 64
        if size > self._room():
            self._drop(outs, cell_index)
            return False
        content["text"] = text
        self._cell_text[cell_index] = used + len(text)
        self._account(cell_index, size)
        return True

    def process_message(self, msg, cell, cell_index):
        # before nbclient copies display data into earlier outputs (display_id updates)
        msg_type = msg.get("msg_type")
        if msg_type == "display_data":
            data = (msg.get("content") or {}).get("data") or {}
            if isinstance(data, dict) and self._take_check_message(cell_index, data):
                return None
        if msg_type in ("display_data", "execute_result", "update_display_data"):
            content = msg.get("content") or {}
            data = content.get("data") or {}
            for mime, value in list(data.items()):
                if isinstance(value, str) and mime.startswith("text/"):
                    data[mime] = _clip(value, self.max_text)[0]
            size = _json_size(data) + _json_size(content.get("metadata") or {})
            if size > self._room():
                note = f"{TRUNCATION_NOTE} (the notebook's outputs exceeded "
                note += f"{self.max_output_bytes // 1024} kB)"
                content["data"] = {"text/plain": note}
                content["metadata"] = {}
            elif msg_type == "update_display_data":  # replaces outputs already counted
                self._account(cell_index, size)
        return super().process_message(msg, cell, cell_index)

    def clear_output(self, outs, msg, cell_index):
        super().clear_output(outs, msg, cell_index)
        if not outs:
            self._reset_cell(cell_index)


def _client_class():
    """``GradingClient``: nbclient's ``NotebookClient`` with :class:`_GradingBehaviour`.
    Made on demand: nbclient is only needed inside the sandbox."""
    from nbclient import NotebookClient

    class GradingClient(_GradingBehaviour, NotebookClient):
        """A NotebookClient that caps outputs, tracks the running cell and keeps a deadline."""

    return GradingClient


def _error_output(ename: str, evalue: str) -> Any:
    from nbformat.v4 import new_output

    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _mark_unfinished(nb: Any, index: int, ename: str, reason: str) -> None:
    """The cell that was running gets ``ename``; later code cells get ``CellNotExecuted``."""
    nb.cells[index].setdefault("outputs", []).append(_error_output(ename, reason))
    for later in nb.cells[index + 1 :]:
        if later.cell_type == "code" and later.source.strip():
            later.outputs = [_error_output("CellNotExecuted", f"not run by the grader: {reason}")]
            later.execution_count = None


def _signal_name(returncode: int | None) -> str:
    if returncode is None:
        return ""
    if returncode < 0:
        try:
            return f"; it was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"; it was killed by signal {-returncode}"
    return f"; it exited with code {returncode}"


def execute(data: bytes, args: argparse.Namespace, started: float) -> dict[str, Any]:
    """Execute the notebook in ``data``; return the result envelope (never raises)."""
    import nbformat

    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as exc:  # anything unreadable is reported, not raised
        return {
            "status": "sandbox_error",
            "reason": f"unreadable notebook: {exc}",
            "notebook": None,
        }
    _prepare(nb, args.audit)
    client = _new_client(nb, args, deadline=started + args.time_budget)
    status, reason = "ok", ""
    try:
        client.execute()
    except Exception as exc:  # every way a run stops is reported, never raised
        status, reason = _why_stopped(exc, client, nb, args)
        if status == "sandbox_error":
            return {"status": status, "reason": reason, "notebook": None}
    shift = 1 if args.audit else 0  # indices as in the notebook the grader sent
    if args.audit:
        nb.cells = [c for c in nb.cells if not c.get("metadata", {}).get(AUDIT_KEY)]
    return {
        "status": status,
        "reason": reason,
        "notebook": nb,
        "checks": {str(i - shift): m for i, m in client.check_messages.items()},
        "check_overflow": client.check_overflow,
        "replies": {str(i - shift): r for i, r in client.replies.items()},
        "audit": client.audit,
    }


def _prepare(nb: Any, audit: bool) -> None:
    """Clear the outputs stored in the submission; with ``audit``, add the audit cell first
    (the baseline, before any student code) and last."""
    for cell in nb.cells:  # nothing stored in the submission survives as an "output"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    if audit:
        from nbformat.v4 import new_code_cell

        # one line that names nothing a line-filtering input transformer would look for
        encoded = base64.b64encode(AUDIT_CELL.encode()).decode()
        line = f"exec(__import__('base64').b64decode('{encoded}').decode())"
        nb.cells.insert(0, new_code_cell(line, metadata={AUDIT_KEY: True}))
        nb.cells.append(new_code_cell(line, metadata={AUDIT_KEY: True}))


def _new_client(nb: Any, args: argparse.Namespace, deadline: float):
    """The grading client for ``nb``, with the limits of ``args`` and the ``deadline``
    (monotonic seconds)."""
    client = _client_class()(
        nb,
        kernel_name="python3",
        timeout=args.cell_timeout,
        startup_timeout=max(5, min(60, int(args.time_budget))),
        allow_errors=True,
        interrupt_on_timeout=False,
        shutdown_kernel="immediate",
        store_widget_state=False,
        # a student cannot skip a cell by tagging it: the tag nobody can guess
        skip_cells_with_tag=f"medai-edu-never-{uuid.uuid4().hex}",
        resources={"metadata": {"path": os.getcwd()}},
        # no history database on disk: a test cell's source is not written anywhere
        extra_arguments=["--HistoryManager.enabled=False"],
    )
    client.setup_limits(
        max_text=args.max_text,
        max_output_bytes=args.max_output_bytes,
        cell_timeout=args.cell_timeout,
        deadline=deadline,
    )
    return client


def _why_stopped(exc: Exception, client, nb: Any, args: argparse.Namespace) -> tuple[str, str]:
    """``(status, reason)`` of a run that ``exc`` stopped; the running cell is marked and the
    ones after it are marked unfinished. ``"sandbox_error"`` when no cell had started."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    index = client.current_index
    if isinstance(exc, CellTimeoutError):
        if index is None:
            return "sandbox_error", "timed out before the first cell ran (kernel start-up)"
        where = describe_cell(nb, index)
        if client.timeout_cause == "notebook":
            reason = f"the notebook ran out of its {args.time_budget:.0f} s time budget in {where}"
        else:
            reason = f"{where} ran longer than the {args.cell_timeout} s cell time limit"
        _mark_unfinished(nb, index, "CellTimeoutError", reason)
        return "timeout", reason
    if isinstance(exc, DeadKernelError):
        return _kernel_died(client, nb)
    # e.g. the kernel never started
    if index is None:
        return "sandbox_error", "".join(traceback.format_exception(exc))[-3000:]
    reason = f"execution stopped in {describe_cell(nb, index)}: {exc!r}"
    _mark_unfinished(nb, index, type(exc).__name__, reason)
    return "kernel_died", reason


def _kernel_died(client, nb: Any) -> tuple[str, str]:
    """``(status, reason)`` when the kernel died: a timeout when it was SIGXCPU."""
    index = client.current_index
    returncode = None
    process = client.kernel_process
    if process is not None:
        try:
            returncode = process.wait(timeout=2)
        except Exception:
            returncode = process.poll()
    if index is None:
        return (
            "sandbox_error",
            f"the kernel died before the first cell ran{_signal_name(returncode)}",
        )
    where = describe_cell(nb, index)
    if returncode == -signal.SIGXCPU:
        status = "timeout"
        reason = f"{where} used up the CPU time limit (the kernel got SIGXCPU)"
    else:
        status = "kernel_died"
        reason = f"the kernel died while running {where}{_signal_name(returncode)}"
    _mark_unfinished(nb, index, "DeadKernelError", reason)
    return status, reason


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m medai_edu.grading.sandbox_runner")
    parser.add_argument("--uid", type=int, default=None, help="drop to this uid first")
    parser.add_argument("--cell-timeout", type=int, default=60)
    parser.add_argument("--time-budget", type=float, default=270.0)
    parser.add_argument("--max-text", type=int, default=100_000)
    parser.add_argument("--max-output-bytes", type=int, default=2 * 1024 * 1024)
    parser.add_argument("--audit", action="store_true", help="append the audit cell")
    return parser.parse_args(argv)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def skip_slow_optional_imports() -> None:
    """Make jsonschema skip its optional IRI format checker. ``rfc3987_syntax`` builds a
    grammar on import (1.3 s on 2 cores, paid on every sandboxed run because nbformat imports
    jsonschema); the runner never checks IRI formats, and jsonschema treats the module as
    absent when its import fails."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    started = monotonic()
    skip_slow_optional_imports()
    result_fd = os.dup(1)  # non-inheritable: the kernel never gets it
    os.dup2(2, 1)  # anything else written to "stdout" (kernel included) goes to stderr
    sys.stderr.write(STARTED_MARKER + "\n")
    sys.stderr.flush()
    try:
        args = _parse_args(argv)
        if args.uid is not None:
            drop_privileges(args.uid)
        make_non_dumpable()
        data = sys.stdin.buffer.read()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        envelope = execute(data, args, started)
    except BaseException as exc:  # report, whatever it is
        tail = "".join(traceback.format_exception(exc))[-3000:]
        envelope = {"status": "sandbox_error", "reason": tail, "notebook": None}
    _write_all(result_fd, json.dumps(envelope).encode("ascii"))
    os.close(result_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
