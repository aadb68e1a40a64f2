"""medai-edu benchmarks: one JSON line per figure on standard output.

    python benchmarks/run.py            # every benchmark
    python benchmarks/run.py --only data  # those whose name contains "data"

Each line: {"benchmark", "value", "unit", "target" (or null), "met" (or null), ...details}.
Speed and memory targets live here, never as timed assertions in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

BENCHMARKS: dict[str, Callable[[], Iterator[dict]]] = {}


def benchmark(name: str):
    def register(fn):
        BENCHMARKS[name] = fn
        return fn

    return register


def figure(name, value, unit, target=None, higher_is_better=True, **details) -> dict:
    met = None
    if target is not None:
        met = bool(value >= target) if higher_is_better else bool(value <= target)
    return {
        "benchmark": name,
        "value": round(float(value), 4),
        "unit": unit,
        "target": target,
        "met": met,
        **details,
    }


@benchmark("data.breast_mri")
def bench_breast_mri() -> Iterator[dict]:
    from medai_edu.data.breast_mri import BreastMRIConfig, make_breast_mri_cohort

    n = 500
    make_breast_mri_cohort(2, seed=0)  # warm caches and imports
    start = time.perf_counter()
    cohort = make_breast_mri_cohort(n, seed=0)
    seconds = time.perf_counter() - start
    shape = "x".join(map(str, BreastMRIConfig().shape))
    yield figure(
        "data.breast_mri.cases_per_s",
        n / seconds,
        "cases/s",
        target=50,
        n=n,
        seconds=round(seconds, 2),
        shape=shape,
        modalities_channels=9,
    )
    yield figure("data.breast_mri.megabytes", cohort.dce.nbytes * 9 / 5 / 1e6, "MB", n=n)


@benchmark("data.slides")
def bench_slides() -> Iterator[dict]:
    from medai_edu.data.pathology import SlideConfig, make_slide, write_slide

    config = SlideConfig()
    n = 3
    make_slide(0, SlideConfig(width=512, height=512))  # warm imports
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        size = 0
        for seed in range(n):
            path = write_slide(make_slide(seed, config), Path(tmp) / f"slide{seed}.tiff")
            size += path.stat().st_size
        seconds = time.perf_counter() - start
    yield figure(
        "data.slides.slides_per_s",
        n / seconds,
        "slides/s",
        target=0.2,
        n=n,
        seconds=round(seconds, 2),
        size=f"{config.width}x{config.height}",
        megabytes_per_slide=round(size / n / 1e6, 2),
    )


def environment() -> dict:
    return {
        "benchmark": "environment",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run benchmarks whose name contains this text")
    args = parser.parse_args(argv)
    print(json.dumps(environment()), flush=True)
    for name, fn in BENCHMARKS.items():
        if args.only and args.only not in name:
            continue
        for line in fn():
            print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
