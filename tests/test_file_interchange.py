"""Event files every HDF5 tool can read, self-describing datasets, provenance and label warnings
(issue 13, parts 1, 2 and 4)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from genesis_cli.engine.sampling.provenance import sha256_of
from tests.conftest import CliResult, write_event_file

Cli = Callable[..., CliResult]


@pytest.fixture(scope="module")
def generated(toy_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from typer.testing import CliRunner

    from genesis_cli.cli.app import app
    from genesis_cli.engine.training import session
    from tests.test_training import config_for

    folder = tmp_path_factory.mktemp("gen")
    config = config_for(toy_file, folder, "p", "training.num_epochs=1")
    session.run(session.prepare_new_run(config))
    out = folder / "gen.h5"
    result = CliRunner().invoke(app, ["sample", "--checkpoint", str(folder / "checkpoints" / "p"), "--labels-from",
                                      str(toy_file), "--num-events", "6", "--output", str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    return out


def test_files_are_written_in_hdf5_1_10_formats(toy_file: Path, tmp_path: Path) -> None:
    """libver="latest" under HDF5 2.0 wrote layout messages that HDF5 1.10 and 1.14 cannot read; the
    writer bounds the format to 1.10's (the oldest with SWMR), and files open with that bound."""
    from genesis_cli.engine.data.writer import EventWriter
    from genesis_cli.engine.detector import icecube86_geometry

    with EventWriter(tmp_path / "w.h5", icecube86_geometry()) as writer:
        assert writer._file.libver == ("v110", "v110")
    with open(toy_file, "rb") as handle:
        assert handle.read(9)[8] == 3  # superblock version 3: HDF5 1.10's
    with h5py.File(toy_file, "r", libver=("earliest", "v110")) as handle:
        assert handle["input"][-1:].shape[0] == 1 and handle["label"][-1:].shape == (1, 6)


@pytest.mark.skipif(shutil.which("h5ls") is None, reason="Debian's hdf5-tools (h5ls) is not installed")
def test_h5ls_lists_every_dataset(toy_file: Path, generated: Path) -> None:
    for path, datasets in ((toy_file, ("info", "input", "label", "xpmt", "ypmt", "zpmt")),
                           (generated, ("input", "label", "xpmt", "ypmt", "zpmt"))):
        listing = subprocess.run(["h5ls", "-r", str(path)], capture_output=True, text=True, check=True).stdout
        assert "ERROR" not in listing
        for name in datasets:
            assert f"/{name} " in listing


def test_datasets_describe_themselves(toy_file: Path, generated: Path) -> None:
    for path, no_hit in ((toy_file, "npe 0 and time inf ns"), (generated, "npe 0 and time inf ns")):
        with h5py.File(path) as handle:
            signals = handle["input"].attrs
            assert json.loads(signals["channels"]) == ["npe", "time"] and json.loads(signals["units"]) == ["PE", "ns"]
            assert signals["no_hit"] == no_hit and np.isinf(signals["no_hit_time"])
            assert json.loads(handle["label"].attrs["columns"]) == ["energy", "zenith", "azimuth", "x", "y", "z"]
            assert json.loads(handle["label"].attrs["units"]) == ["GeV", "rad", "rad", "m", "m", "m"]
            assert handle["xpmt"].attrs["unit"] == "m"


def test_generated_files_carry_their_provenance(cli: Cli, toy_file: Path, generated: Path) -> None:
    with h5py.File(generated) as handle:
        attrs = dict(handle.attrs)
    checkpoint = Path(attrs["checkpoint"])
    assert attrs["checkpoint_sha256"] == sha256_of(checkpoint)
    assert json.loads(attrs["training_config"])["experiment_name"] == "p"
    assert len(json.loads(attrs["training_split"])["fingerprint"]) == 64
    assert attrs["training_data"] == str(toy_file)
    assert json.loads(attrs["labels_source"]) == {"file": str(toy_file), "sha256": sha256_of(toy_file)}
    assert (attrs["sampler"], attrs["steps"], attrs["seed"], attrs["batch_size"]) == ("dpm-solver-sde", 20, 3, 256)
    assert (attrs["device"], attrs["precision"]) == ("cpu", "float32")
    for key in ("genesis_version", "torch_version", "h5py_version", "hdf5_version", "checkpoint_step"):
        assert key in attrs
    shown = cli("inspect-data", str(generated))
    assert "Provenance (file attributes)" in shown.stdout and "checkpoint_sha256" in shown.stdout
    assert attrs["checkpoint_sha256"][:40] in shown.stdout.replace("\n", "")


def test_label_ranges_are_the_label_source(cli: Cli, generated: Path, tmp_path: Path) -> None:
    run = Path(h5py.File(generated).attrs["checkpoint"]).parent
    out = tmp_path / "r.h5"
    assert cli("sample", "--checkpoint", str(run), "--num-events", "2", "--energy", "1e4:1e5", "--output",
               str(out)).exit_code == 0
    with h5py.File(out) as handle:
        assert json.loads(handle.attrs["labels_source"])["ranges"] == {"energy": "1e4:1e5"}


def test_inspect_warns_about_labels_that_never_vary(cli: Cli, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    labels = np.column_stack([np.full(40, 1e4), rng.uniform(0, 3, 40), rng.uniform(0, 6, 40), np.zeros((40, 3))])
    result = cli("inspect-data", str(write_event_file(tmp_path / "flat.h5", n=40, label=labels)))
    assert "label: energy is 10000 GeV in every event; a model cannot learn a condition that never varies" in result.stdout
    assert "label: the vertex (x, y, z) is 0 in every event" in result.stdout
    assert "zenith is" not in result.stdout
