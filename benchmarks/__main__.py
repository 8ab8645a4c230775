"""Run the benchmarks and print their figures: `python -m benchmarks [name ...]`."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

ORDER = ["core", "formatting", "store", "runtime", "http"]


def main(argv: list[str]) -> int:
    available = sorted(
        p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py")
    )
    names = argv or [n for n in ORDER if n in available] + [n for n in available if n not in ORDER]
    for name in names:
        if name not in available:
            print(f"unknown benchmark {name!r}; available: {', '.join(available)}")
            return 2
        print(f"\n=== {name} " + "=" * (60 - len(name)), flush=True)
        started = time.perf_counter()
        importlib.import_module(f"benchmarks.bench_{name}").main()
        print(f"--- {name}: {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
