"""Run the benchmarks and write their reports to ``docs/benchmarks/<name>.md``.

    python3 scripts/dev.py bench            # every benchmark
    python3 scripts/dev.py bench floor      # only the named ones
    python3 scripts/dev.py bench --quick    # shorter runs, for a smoke test
    python3 scripts/dev.py bench --replot   # redraw the plots from the saved data only

Each ``benchmarks/bench_<name>.py`` module defines ``TITLE`` and ``run(quick) -> str``,
which returns the markdown body of its report; ``docs/benchmarks.md`` includes them. A
module with a plot also defines ``plot(data)``, and its run saves that data as
``docs/benchmarks/<name>.json``, so that ``--replot`` redraws the figure without
measuring again.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "example_project")]

from benchmarks import common  # noqa: E402


def _available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def _replot(names: list[str]) -> int:
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        if not hasattr(module, "plot"):
            continue  # a report without a plot
        data = common.load_data(name)
        if data is None:
            print(f"== {name}: no saved plot data; run the benchmark first", flush=True)
            continue
        module.plot(data)
        print(f"== {name}: redrawn from {common.data_path(name).relative_to(common.ROOT)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {', '.join(_available())}")
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    parser.add_argument(
        "--replot",
        action="store_true",
        help="redraw the plots from the saved data, measure nothing",
    )
    opts = parser.parse_args(argv)
    names = opts.names or _available()
    unknown = sorted(set(names) - set(_available()))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    if opts.replot:
        return _replot(names)
    common.ensure_services()
    common.REPORTS.mkdir(parents=True, exist_ok=True)
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"== {name}: {module.TITLE}", flush=True)
        started = time.monotonic()
        body = module.run(quick=opts.quick)
        elapsed = time.monotonic() - started
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        command = common.rerun(name) + (" --quick" if opts.quick else "")
        report = (
            f"<!-- written by benchmarks/run.py; rerun: {command} -->\n\n"
            f"_Measured {stamp} on {common.machine()}, in {elapsed:.0f} s, "
            f"with `{command}`._\n\n{body.strip()}\n"
        )
        (common.REPORTS / f"{name}.md").write_text(report)
        print(body, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
