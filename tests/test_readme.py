"""The README's Python examples run as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_readme_example_runs(number, tmp_path, capsys):
    previous = os.getcwd()
    os.chdir(tmp_path)  # examples write files relative to the working directory
    try:
        exec(compile(BLOCKS[number], f"README.md python block {number + 1}", "exec"), {})
    finally:
        os.chdir(previous)
