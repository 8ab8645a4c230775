"""The README's examples run as written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_quickstart_prints_one_batched_message() -> None:
    assert run_example("quickstart.py").splitlines()[0] == "C0DEV 2 updates in acme/api"


def test_the_runtime_example_posts_one_batch_to_fake_slack() -> None:
    assert run_example("runtime.py").strip() == "C0DEV | 3 updates in acme/api"


def test_the_readme_library_example_runs_as_written(tmp_path: Path) -> None:
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    first_python_block = readme.split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "readme_example.py"
    script.write_text(first_python_block, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("C0DEV 2 updates in acme/api")


def test_the_readme_shows_the_quickstart_as_it_is_and_what_it_prints() -> None:
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    code, rest = readme.split("```python\n", 1)[1].split("```", 1)
    shown = rest.split("```text\n", 1)[1].split("```", 1)[0]
    example = (EXAMPLES / "quickstart.py").read_text(encoding="utf-8")
    assert code == example.split('"""', 2)[2].lstrip("\n")
    assert shown == run_example("quickstart.py")
