"""Run DevSync's own tests of its batcher against ``slack_batcher.compat.devsync``.

``DEVSYNC_ORIGINAL=<dir> python -m benchmarks.devsync_tests`` (``<dir>`` holds the
original's ``tests/``, extracted outside this tree; see ``benchmarks/original.py``). An
import shim makes ``devsync_ai.core.message_batcher`` *our* compat module, so the tests
import ours, never the original's code; nothing of the original is copied here.

The tests of its public API are counted (33); the four that reach into private members
(``_channel_batch_groups``, ``_create_batched_message``) are run and reported apart.
"""

from __future__ import annotations

import os
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import pytest

import slack_batcher.compat.devsync as compat

FILES = [
    "tests/test_message_batcher.py",
    "tests/test_message_batcher_fixes.py",
    "tests/test_enhanced_batch_group.py",
    "tests/test_batch_config.py",
]
#: The tests that read private members of DevSync's batcher.
PRIVATE = {
    "test_channel_specific_data_structures",
    "test_resource_cleanup",
    "test_multi_channel_independence",
    "test_pagination",
}


class _Tally:
    """A pytest plugin counting outcomes of the test calls."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" or report.outcome != "passed":
            name = f"{Path(str(report.fspath)).name}::{report.location[2]}"
            self.outcomes.setdefault(name, report.outcome)


def _shim() -> None:
    """Make ``devsync_ai.core.message_batcher`` resolve to our compat module."""
    for name in ("devsync_ai", "devsync_ai.core"):
        package = types.ModuleType(name)
        package.__path__ = []
        sys.modules[name] = package
    sys.modules["devsync_ai.core.message_batcher"] = compat
    sys.modules["devsync_ai"].core = sys.modules["devsync_ai.core"]  # type: ignore[attr-defined]
    sys.modules["devsync_ai.core"].message_batcher = compat  # type: ignore[attr-defined]


def main() -> int:
    """Run the tests; print the pass counts; return 0 when all 33 public ones pass."""
    root = os.environ.get("DEVSYNC_ORIGINAL")
    if not root or not (Path(root) / "tests").is_dir():
        print("set DEVSYNC_ORIGINAL=<dir> (the original, holding tests/) to run its tests")
        return 2
    _shim()
    tally = _Tally()
    with tempfile.TemporaryDirectory() as scratch:
        ini = Path(scratch) / "pytest.ini"
        ini.write_text("[pytest]\n")
        args = [str(Path(root) / name) for name in FILES]
        args += ["-q", "-p", "no:cacheprovider", "--import-mode=importlib"]
        args += ["--rootdir", scratch, "-c", str(ini), "-W", "ignore::pytest.PytestWarning"]
        pytest.main(args, plugins=[tally])
    public = {k: v for k, v in tally.outcomes.items() if k.rsplit("::", 1)[-1] not in PRIVATE}
    private = {k: v for k, v in tally.outcomes.items() if k not in public}
    passed = sum(v == "passed" for v in public.values())
    print(
        f"\nDevSync's public-API tests against slack_batcher.compat.devsync: "
        f"{passed} of {len(public)} pass"
    )
    for node, outcome in sorted(public.items()):
        if outcome != "passed":
            print(f"  {outcome}: {node}")
    print(
        f"private-member tests (not counted): "
        f"{sum(v == 'passed' for v in private.values())} of {len(private)} pass"
    )
    return 0 if passed == len(public) == 33 else 1


if __name__ == "__main__":
    sys.exit(main())
