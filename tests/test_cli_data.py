"""`genesis simulate` and `genesis inspect-data` through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.conftest import CliResult, write_event_file

Cli = Callable[..., CliResult]


def test_simulate_writes_a_file_that_inspects_as_ready(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "sim.h5"
    result = cli("simulate", str(out), "--events", "64", "--seed", "2", "--kind", "track",
                 "--energy-range", "1e4", "1e5")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"✓ wrote 64 events to {out}")
    assert "\x1b" not in result.output
    with h5py.File(out) as handle:
        assert handle["input"].shape == (64, 2, 5160)
        assert handle["input"].chunks[0] == 32 and handle["input"].compression == "gzip"
        settings = json.loads(handle.attrs["simulation_config"])
        assert (settings["seed"], settings["kind"], settings["energy_min_gev"]) == (2, "track", 1e4)
        assert json.loads(handle["info"].attrs["columns"])[0] == "kind"
        energies = handle["label"][:, 0]
        assert energies.min() >= 1e4 * 0.999 and energies.max() <= 1e5 * 1.001
    report = cli("inspect-data", str(out))
    assert report.exit_code == 0
    assert "✓ ready for training" in report.stdout
    assert not list(tmp_path.glob("*.partial"))


def test_simulate_is_reproducible(cli: Cli, tmp_path: Path) -> None:
    for name in ("a.h5", "b.h5"):
        assert cli("simulate", str(tmp_path / name), "--events", "20", "--seed", "9").exit_code == 0
    with h5py.File(tmp_path / "a.h5") as a, h5py.File(tmp_path / "b.h5") as b:
        assert np.array_equal(a["input"][:], b["input"][:], equal_nan=True)


def test_simulate_refuses_to_overwrite(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "x.h5"
    out.write_text("precious")
    result = cli("simulate", str(out), "--events", "4")
    assert result.exit_code == 2
    assert f"Error: {out}: already exists" in result.stderr
    assert out.read_text() == "precious"
    assert cli("simulate", str(out), "--events", "4", "--overwrite").exit_code == 0


@pytest.mark.parametrize("args,message", [
    (["--kind", "cascde"], "--kind: kind: unknown kind 'cascde'; choose cascade, track or mixed; did you mean cascade?"),
    (["--energy-range", "1e6", "1e3"], "--energy-range: energy_min_gev: 1000000.0 must not exceed energy_max_gev (1000.0)"),
    (["--events", "0"], "--events: events: input should be greater than 0 (got 0)"),
])
def test_simulate_rejects_bad_flags(cli: Cli, tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "x.h5"
    result = cli("simulate", str(out), *args)
    assert result.exit_code == 2
    assert f"Error: {message}" in result.stderr
    assert not out.exists()


def test_simulate_with_geometry_csv(cli: Cli, tmp_path: Path) -> None:
    csv = tmp_path / "geo.csv"
    rows = [f"{x},{y},{z}" for x in (0, 120) for y in (0, 120) for z in range(-200, 201, 50)]
    csv.write_text("x,y,z\n" + "\n".join(rows) + "\n")
    out = tmp_path / "small.h5"
    assert cli("simulate", str(out), "--events", "8", "--geometry", str(csv)).exit_code == 0
    with h5py.File(out) as handle:
        assert handle["input"].shape == (8, 2, 36)
        assert h5py.File(out).attrs["geometry_source"] == str(csv)


def test_simulate_labels_from_another_file(cli: Cli, tmp_path: Path) -> None:
    """The perfect generator: the simulator on another file's labels, detector and detector response."""
    from genesis_cli.engine.detector import icecube86_geometry
    from genesis_cli.engine.simulation.runner import simulate_to_file
    from genesis_cli.settings.simulation import SimulationConfig

    source = tmp_path / "r.h5"
    shuffled = icecube86_geometry().shuffled(3)  # the built-in detector in another DOM order
    simulate_to_file(source, SimulationConfig(events=30, seed=1, noise=False, kind="cascade"), shuffled)
    out = tmp_path / "p.h5"
    result = cli("simulate", str(out), "--labels-from", str(source), "--seed", "12")
    assert result.exit_code == 0, result.output
    assert "wrote 30 events" in result.stdout
    with h5py.File(source) as a, h5py.File(out) as b:
        assert np.array_equal(a["label"][:], b["label"][:]) and np.array_equal(a["xpmt"][:], b["xpmt"][:])
        assert not np.array_equal(a["input"][:], b["input"][:])  # a new seed: new photons
        config = json.loads(b.attrs["simulation_config"])
        assert config["noise"] is False and config["kind"] == "cascade"  # the source's simulation, carried over
        assert (b["info"][:, 0] == 0).all() and b.attrs["labels_from"] == str(source)
        assert np.array_equal(a["rde"][:], b["rde"][:]) and (b["rde"][:] == 1.35).sum() == 401  # HQE DOMs kept
    first = cli("simulate", str(tmp_path / "q.h5"), "--labels-from", str(source), "--events", "10", "--kind", "track")
    assert first.exit_code == 0, first.output
    with h5py.File(tmp_path / "q.h5") as q:
        assert q["label"].shape == (10, 6) and (q["info"][:, 0] == 1).all()


@pytest.mark.parametrize("args,message", [
    (["--energy-range", "1", "2"], "--energy-range: the energies come from --labels-from; give one or the other"),
    (["--events", "99"], "--events 99: SRC holds 30 labels"),
])
def test_simulate_labels_from_refuses_what_it_cannot_honour(cli: Cli, tmp_path: Path, args: list[str],
                                                            message: str) -> None:
    source = tmp_path / "r.h5"
    assert cli("simulate", str(source), "--events", "30").exit_code == 0
    result = cli("simulate", str(tmp_path / "p.h5"), "--labels-from", str(source), *args)
    assert result.exit_code == 2 and f"Error: {message.replace('SRC', str(source))}" in result.stderr
    assert not (tmp_path / "p.h5").exists()
    onto_itself = cli("simulate", str(source), "--labels-from", str(source), "--overwrite")
    assert onto_itself.exit_code == 2 and "is also the input --labels-from" in onto_itself.stderr


def test_simulate_into_missing_directory(cli: Cli, tmp_path: Path) -> None:
    result = cli("simulate", str(tmp_path / "no" / "x.h5"), "--events", "4")
    assert result.exit_code == 2
    assert "output directory does not exist" in result.stderr


def test_inspect_json_and_plot(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    plot = tmp_path / "toy.png"
    result = cli("inspect-data", str(toy_file), "--json", "--plot", str(plot))
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["ready_for_training"] is True
    assert (report["n_events"], report["n_doms"]) == (400, 5160)
    assert report["detector"]["n_strings"] == 86
    assert [row["name"] for row in report["labels"]] == ["energy", "zenith", "azimuth", "x", "y", "z"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_inspect_report_contents(cli: Cli, toy_file: Path) -> None:
    text = cli("inspect-data", str(toy_file)).stdout
    for expected in ["400 events", "5,160 DOMs", "86 strings, 60-60 DOMs each", "hit DOMs per event",
                     "npe of hit DOMs", "hit-time range", "non-finite times", "gzip"]:
        assert expected in text


def test_inspect_not_ready_lists_the_reasons(cli: Cli, tmp_path: Path) -> None:
    labels = np.column_stack([np.full(8, 1e4), np.full(8, 120.0), np.zeros(8), np.zeros((8, 3))])
    labels[3, 4] = np.nan
    path = write_event_file(tmp_path / "bad.h5", label=labels)
    result = cli("inspect-data", str(path))
    assert result.exit_code == 2
    assert "label: 1 non-finite y value(s) (first in event 3)" in result.stdout
    assert "expected radians in [0, pi] (they look like degrees)" in result.stdout
    assert "not ready for training: 2 problem(s)" in result.stdout


def test_inspect_negative_npe(cli: Cli, tmp_path: Path) -> None:
    signals = np.zeros((8, 2, 12), np.float32)
    signals[:, 0, 0] = 1.0
    signals[2, 0, 5] = -1.0
    result = cli("inspect-data", str(write_event_file(tmp_path / "neg.h5", input=signals)))
    assert result.exit_code == 2
    assert "input: 1 negative, 0 NaN and 0 infinite npe values (first in event 2)" in result.stdout


def test_infinite_npe_is_not_ready_and_train_refuses_it(cli: Cli, tmp_path: Path) -> None:
    signals = np.zeros((40, 2, 12), np.float32)
    signals[:, 0, 0] = 1.0
    signals[7, 0, 3] = np.inf
    path = write_event_file(tmp_path / "inf.h5", n=40, input=signals)
    result = cli("inspect-data", str(path))
    assert result.exit_code == 2
    assert "input: 0 negative, 0 NaN and 1 infinite npe values (first in event 7)" in result.stdout
    result = cli("train", "--config", "debug", "--data-path", str(path), "--set", f"checkpoint_dir={tmp_path / 'c'}",
                 "--max-steps", "1")
    assert result.exit_code == 2
    assert "has npe inf (event 7)" in result.stderr


@pytest.mark.parametrize("make,message", [
    (lambda p: p.write_text("not hdf5"), "is not an HDF5 file"),
    (lambda p: write_event_file(p, input=np.zeros((8, 12, 2), np.float32)), "the last two axes are swapped"),
    (lambda p: write_event_file(p, label=None), "missing dataset 'label'"),
])
def test_inspect_unusable_files_one_line_exit_2(cli: Cli, tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "f.h5"
    make(path)
    result = cli("inspect-data", str(path))
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in result.output
