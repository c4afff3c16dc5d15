"""Outputs never replace inputs, one overwrite rule, and bad input named in one line (issue 12,
items 3, 16, 18, 19 and 20)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from genesis_cli.engine.outputs import Output, check_outputs
from genesis_cli.errors import UsageError
from tests.conftest import CliResult, write_event_file

Cli = Callable[..., CliResult]


@pytest.fixture(scope="module")
def run_dir(toy_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from genesis_cli.engine.training import session
    from tests.test_training import config_for

    config = config_for(toy_file, tmp_path_factory.mktemp("run"), "o", "training.num_epochs=1")
    session.run(session.prepare_new_run(config))
    return Path(config.checkpoint_dir) / "o"


def _error(result: CliResult) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 2 and len(errors) == 1 and "Traceback" not in result.stderr, result.output
    return errors[0]


# -- 3. an output is never an input; one overwrite rule ---------------------------------------------
def test_evaluate_refuses_to_write_onto_its_inputs(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    generated = tmp_path / "gen.h5"
    generated.write_bytes(toy_file.read_bytes())
    before = generated.read_bytes()
    for args in (["-o", str(generated)], ["--json", str(toy_file)], ["-o", str(generated), "--overwrite"]):
        error = _error(cli("evaluate", "--real-data", str(toy_file), "--generated-data", str(generated), *args))
        assert "is also the input" in error
    assert generated.read_bytes() == before


def test_sample_refuses_its_label_source_even_with_overwrite(cli: Cli, run_dir: Path, toy_file: Path,
                                                            tmp_path: Path) -> None:
    labels = tmp_path / "lab.h5"
    labels.write_bytes(toy_file.read_bytes())
    error = _error(cli("sample", "--checkpoint", str(run_dir), "--labels-from", str(labels), "--output", str(labels),
                       "--overwrite"))
    assert error == f"Error: --output {labels}: is also the input --labels-from; an output never replaces one of the " \
                    "command's inputs"
    assert labels.read_bytes() == toy_file.read_bytes()


def test_sample_output_naming_a_directory_fails_before_sampling(cli: Cli, run_dir: Path, tmp_path: Path) -> None:
    assert _error(cli("sample", "--checkpoint", str(run_dir), "--num-events", "2", "--output", str(tmp_path),
                      "--overwrite")) == f"Error: --output {tmp_path}: is a directory"


@pytest.mark.parametrize("command", ["inspect", "evaluate", "demo"])
def test_existing_outputs_need_overwrite(cli: Cli, toy_file: Path, tmp_path: Path, command: str) -> None:
    existing = tmp_path / "out.png"
    existing.write_bytes(b"keep me")
    if command == "inspect":
        args = ["inspect-data", str(toy_file), "--plot", str(existing)]
    elif command == "evaluate":
        args = ["evaluate", "--real-data", str(toy_file), "--generated-data", str(toy_file), "-o", str(existing)]
    else:
        (tmp_path / "demo").mkdir()
        existing = tmp_path / "demo" / "evaluation.png"
        existing.write_bytes(b"keep me")
        args = ["demo", "--directory", str(tmp_path / "demo"), "--events", "100"]
    assert _error(cli(*args)) == f"Error: {existing}: already exists"
    assert existing.read_bytes() == b"keep me"


def test_inspect_plot_overwrites_with_the_flag(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    plot = tmp_path / "p.png"
    plot.write_bytes(b"old")
    assert cli("inspect-data", str(toy_file), "--plot", str(plot), "--overwrite").exit_code == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_outputs_of_one_command_are_different_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is also --output"):
        check_outputs([Output(tmp_path / "a", "--output"), Output(tmp_path / "a", "--json")], {}, overwrite=True)


def test_a_link_to_an_input_is_the_input(tmp_path: Path) -> None:
    source = tmp_path / "in.h5"
    source.write_bytes(b"x")
    (tmp_path / "link.h5").symlink_to(source)
    with pytest.raises(UsageError, match="is also the input IN"):
        check_outputs([Output(tmp_path / "link.h5", "--output")], {"IN": source}, overwrite=True)


# -- 19. figures in the format their extension names ---------------------------------------------------
@pytest.mark.parametrize("suffix,magic", [(".pdf", b"%PDF"), (".svg", b"<?xml"), (".png", b"\x89PNG")])
def test_figures_honour_their_extension(cli: Cli, toy_file: Path, tmp_path: Path, suffix: str, magic: bytes) -> None:
    plot = tmp_path / f"figure{suffix}"
    assert cli("inspect-data", str(toy_file), "--plot", str(plot)).exit_code == 0
    assert plot.read_bytes().startswith(magic)


def test_unknown_figure_extensions_are_refused_before_work(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    error = _error(cli("evaluate", "--real-data", str(toy_file), "--generated-data", str(toy_file),
                       "--output", str(tmp_path / "report.docx")))
    assert error == f"Error: --output {tmp_path / 'report.docx'}: cannot write a figure as .docx"


# -- 16. named exit-2 errors instead of "unexpected ..." -------------------------------------------------
def test_training_on_a_file_without_hits(cli: Cli, tmp_path: Path) -> None:
    signals = np.zeros((40, 2, 12), np.float32)
    signals[:, 1] = np.inf
    path = write_event_file(tmp_path / "nohit.h5", n=40, input=signals)
    error = _error(cli("train", "--config", "debug", "--data-path", str(path), "--max-steps", "1",
                       "--set", f"checkpoint_dir={tmp_path / 'c'}"))
    assert error == f"Error: {path}: the training events hold no hit DOM (npe > 0); there is nothing to learn from"


def test_evaluate_files_of_different_detectors(cli: Cli, tmp_path: Path) -> None:
    a = write_event_file(tmp_path / "a.h5", n=20)
    b = write_event_file(tmp_path / "b.h5", n=20, n_doms=15, xpmt=np.zeros(15), ypmt=np.zeros(15), zpmt=np.zeros(15))
    assert _error(cli("evaluate", "--real-data", str(a), "--generated-data", str(b))) == \
        f"Error: {b}: has 15 DOMs per event, {a} has 12"


@pytest.mark.parametrize("damage,message", [
    ("normalizer", "lacks 'normalizer'; it cannot be used to generate events"),
    ("hidden", "its weights do not fit the model its config describes"),
])
def test_inconsistent_checkpoints_are_named(cli: Cli, run_dir: Path, tmp_path: Path, damage: str, message: str) -> None:
    payload = torch.load(run_dir / "model_final.pt", weights_only=True)
    if damage == "normalizer":
        del payload["normalizer"]
    else:
        payload["config"]["model"]["hidden"] = 64
    broken = tmp_path / "broken.pt"
    torch.save(payload, broken)
    assert message in _error(cli("sample", "--checkpoint", str(broken), "--num-events", "2",
                                 "--output", str(tmp_path / "g.h5")))
    resumed = cli("resume", str(broken), "--epochs", "5")  # training left: the checkpoint is read
    assert resumed.exit_code == 2 and message.split(";")[0].replace("generate events", "") in resumed.stderr


@pytest.mark.parametrize("args,message", [(["--events", "0"], "--events: events: input should be greater than 0"),
                                          (["--test-events", "0"], "--test-events 0: must be > 0")])
def test_demo_checks_its_numbers_first(cli: Cli, tmp_path: Path, args: list[str], message: str) -> None:
    assert message in _error(cli("demo", "--directory", str(tmp_path / "d"), *args))
    assert not (tmp_path / "d").exists()


# -- 18. truncated files -------------------------------------------------------------------------------
def test_a_truncated_file_is_not_ready(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    data = toy_file.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[:-1000])
    error = _error(cli("inspect-data", str(cut)))
    assert "the file is truncated or corrupt" in error


# -- 20. an interrupted sample never replaces a complete file ------------------------------------------
def test_interrupted_sample_with_overwrite_keeps_the_old_file(cli: Cli, run_dir: Path, toy_file: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from genesis_cli.engine.sampling.generator import TrainedGenerator

    output = tmp_path / "gen.h5"
    assert cli("sample", "--checkpoint", str(run_dir), "--num-events", "4", "--output", str(output)).exit_code == 0
    before = output.read_bytes()
    original, calls = TrainedGenerator.generate, {"n": 0}

    def interrupted_after_one_batch(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TrainedGenerator, "generate", interrupted_after_one_batch)
    result = cli("sample", "--checkpoint", str(run_dir), "--num-events", "6", "--batch-size", "3",
                 "--output", str(output), "--overwrite")
    assert result.exit_code == 130
    assert output.read_bytes() == before
    partial = tmp_path / "gen.interrupted.h5"
    assert f"{output} is kept unchanged; {partial} holds the 3 events generated so far" in result.stderr
    with h5py.File(partial) as handle:
        assert handle["input"].shape[0] == 3 and bool(handle.attrs["interrupted"])
    inspected = cli("inspect-data", str(partial))
    assert "written by an interrupted `genesis sample`" in inspected.stdout
    evaluated = cli("evaluate", "--real-data", str(toy_file), "--generated-data", str(partial))
    assert f"{partial}: written by an interrupted `genesis sample`" in evaluated.stderr


def test_the_guides_comparison_file_names_find_what_compare_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genesis_cli.engine.outputs import locate_compare_output

    monkeypatch.chdir(tmp_path)
    (tmp_path / "compare").mkdir()
    (tmp_path / "compare" / "dit_samples.h5").write_bytes(b"")
    path, notice = locate_compare_output(Path("dit_samples.h5"))
    assert path == Path("compare/dit_samples.h5") and "written by genesis compare" in (notice or "")
    assert locate_compare_output(Path("cnn_samples.h5")) == (Path("cnn_samples.h5"), None)  # fails as usual later
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "dit_samples.h5").write_bytes(b"")
    with pytest.raises(UsageError, match="2 files of that name are in subfolders"):
        locate_compare_output(Path("dit_samples.h5"))
    (tmp_path / "dit_samples.h5").write_bytes(b"")
    assert locate_compare_output(Path("dit_samples.h5")) == (Path("dit_samples.h5"), None)  # as given, when it exists


def test_overwrite_on_a_terminal_asks_first(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from genesis_cli.cli.app import app

    out = tmp_path / "out.h5"
    out.write_bytes(b"a user's file")
    monkeypatch.setattr("genesis_cli.cli.prompts.interactive", lambda: True)
    args = ["simulate", str(out), "--events", "10", "--overwrite"]
    declined = CliRunner().invoke(app, args, input="n\n")
    assert declined.exit_code == 130 and f"Replace {out}?" in declined.stdout  # a cancel: 130
    assert out.read_bytes() == b"a user's file"
    accepted = CliRunner().invoke(app, args, input="y\n")
    assert accepted.exit_code == 0 and out.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    monkeypatch.setattr("genesis_cli.cli.prompts.interactive", lambda: False)
    assert cli(*args).exit_code == 0  # scripts: --overwrite is the answer
