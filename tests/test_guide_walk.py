"""The training guide followed literally: every command block, in order, on tiny data.

Commands are the guide's, translated only from ``python scripts/train.py`` (and ``sample.py``,
``evaluate.py``, ``compare_architectures.py``) to ``genesis``, with three stated exceptions:
- the placeholder paths ``/path/to/your/data.h5`` and ``/path/to/data.h5`` are the user's
  ``data.h5``;
- lines that are not GENESIS commands are skipped (``tensorboard``, and ``python -c`` importing
  the original repository's ``dataloader`` module, whose GENESIS spelling the README shows);
- the guide evaluates a ``generated.h5`` it never makes: one ``genesis sample`` writes it first.
The user's ``configs/*.yaml`` are tiny versions of the presets (a user's own files, as the guide
has them), so 200 epochs take seconds. Commands without ``--config`` or ``--data-path`` run as on a
terminal, answering GENESIS's questions as a user would: the debug preset, ``data.h5``, and a new
version when the run name is taken; so do resumes of a checkpoint that several runs hold (the most
recent). The guide lives beside the project; this test skips when it is absent.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genesis_cli.cli.app import app
from genesis_cli.settings.presets import preset_names
from tests.conftest import SHARED, strip_ansi

GUIDE = SHARED / "spec" / "TRAINING_GUIDE.md"
SCRIPTS = {"scripts/train.py": "train", "sample.py": "sample", "evaluate.py": "evaluate",
           "compare_architectures.py": "compare"}
PLACEHOLDERS = {"/path/to/your/data.h5": "data.h5", "/path/to/data.h5": "data.h5"}
TINY = {"model": "{hidden: 16, depth: 1, heads: 2, dom_head: 8}",
        "training": "{num_epochs: 2, batch_size: 8, max_steps_per_epoch: 2, log_interval: 1000, eval_interval: 1000, "
                    "save_interval: 1000, keep_checkpoints: 1000, max_eval_batches: 1, warmup_steps: 1}",
        "diffusion": "{sampling_steps: 2}"}
CONFIGS = {"default": "default", "dit": "default", "cnn": "cnn", "hybrid": "hybrid", "small_model": "small_model",
           "debug": "debug"}


def guide_commands() -> list[list[str]]:
    """The guide's commands in order, each as genesis arguments."""
    if not GUIDE.is_file():
        return []
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if len(words) >= 2 and words[0] == "python" and words[1] in SCRIPTS:
                commands.append([SCRIPTS[words[1]], *(PLACEHOLDERS.get(w, w) for w in words[2:])])
    return commands


def _tiny_configs(folder: Path) -> None:
    (folder / "configs").mkdir()
    for name, preset in CONFIGS.items():
        lines = [f"base: {preset}", f"experiment_name: {name if name != 'dit' else 'default'}"]
        lines += [f"{section}: {values}" for section, values in TINY.items()]
        if preset == "cnn":
            lines[2] = "model: {hidden: 16, depth: 1, dom_head: 8}"
        (folder / "configs" / f"{name}.yaml").write_text("\n".join(lines) + "\n")


@pytest.mark.slow
@pytest.mark.skipif(not GUIDE.is_file(), reason="shared/spec/TRAINING_GUIDE.md not present")
def test_the_guide_followed_literally_works_end_to_end(toy_file: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(toy_file, tmp_path / "data.h5")
    _tiny_configs(tmp_path)
    monkeypatch.chdir(tmp_path)
    runner, debug = CliRunner(), str(preset_names().index("debug") + 1)
    commands = guide_commands()
    assert len(commands) >= 30
    for command in commands:
        if command[:1] == ["evaluate"] and "generated.h5" in command and not Path("generated.h5").exists():
            _run(runner, monkeypatch, ["sample", "--checkpoint", "checkpoints/default", "--num-events", "30",
                                       "--output", "generated.h5"], None)
        answers = None
        if command[0] == "train" and ("--config" not in command or "--data-path" not in command):
            answers = ("" if "--config" in command else f"{debug}\n") + \
                      ("" if "--data-path" in command else "1\n") + "2\n"  # debug preset, data.h5, a new version
        if "--resume-from-checkpoint" in command:
            answers = "1\n"  # the most recent of the runs holding that checkpoint
        _run(runner, monkeypatch, command, answers)
    assert Path("production_samples.h5").exists() and Path("dit_evaluation.png").exists()


def _run(runner: CliRunner, monkeypatch: pytest.MonkeyPatch, command: list[str], answers: str | None) -> None:
    on_terminal = answers is not None
    monkeypatch.setattr("genesis_cli.cli.train.interactive", lambda: on_terminal)
    monkeypatch.setattr("genesis_cli.cli.prompts.interactive", lambda: on_terminal)
    result = runner.invoke(app, command, input=answers, env={"COLUMNS": "200"})
    output = strip_ansi(result.stdout + result.stderr)
    assert result.exit_code == 0, f"genesis {shlex.join(command)}\n{output[-3000:]}"
