"""The Python example of README.md runs as written (so it cannot rot)."""
import pathlib
import re

import pytest

import infoest

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def python_blocks():
    text = README.read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)


def test_readme_python_example_runs():
    blocks = python_blocks()
    assert blocks, "README.md has no ```python block"
    for code in blocks:
        try:
            # One host thread: on a loaded machine a call that waits for a
            # descheduled helper thread (MAUVE's k-means) can take seconds.
            with infoest.Context(backend="cpu", threads=1):
                exec(compile(code, str(README), "exec"), {"__name__": "readme"})
        except ModuleNotFoundError as e:      # an optional package (torch, ...) not here
            pytest.skip(f"the README example needs {e.name}")
