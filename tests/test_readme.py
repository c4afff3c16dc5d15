"""The README's Python API block runs as written (on a CPU, in a folder holding toy.h5)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_the_readme_training_loop_runs(toy_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    shutil.copy(toy_file, tmp_path / "toy.h5")
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), "README.md", "exec"), {})  # noqa: S102 - the README's own example
    out = capsys.readouterr().out
    assert re.findall(r"epoch \d+: loss \d+\.\d{4}", out) == [line for line in out.splitlines() if line]
    assert len(out.splitlines()) == 2  # the debug preset's two epochs
