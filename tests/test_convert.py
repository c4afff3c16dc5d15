"""`genesis convert` from GraphNeT SQLite (issue 13, part 3): exact per-DOM sums, position matching,
label mapping, event selection, streaming, and the end-to-end route to training."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from genesis_cli.engine.data.eventfile import EventFile
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
#: GraphNeT's FEATURES.ICECUBE86 and TRUTH.ICECUBE86 column names (graphnet/data/constants.py).
FEATURES = ("dom_x", "dom_y", "dom_z", "dom_time", "charge", "rde", "pmt_area")
TRUTH = ("energy", "position_x", "position_y", "position_z", "azimuth", "zenith", "pid", "elasticity", "sim_type",
         "interaction_type")


def graphnet_database(source: Path, out: Path, *, pulse_table: str = "SRTInIcePulses", shift_m: float = 0.0) -> Path:
    """A GraphNeT-style SQLite database made from a GENESIS file: each hit DOM's charge split over up to
    three pulses, the first at the DOM's first-hit time, later ones after it; truth columns by name."""
    rng = np.random.default_rng(5)
    with EventFile(source) as events:
        signals, labels, positions = events.signals(0, events.n_events), events.labels(), events.geometry.positions
    db = sqlite3.connect(out)
    db.execute(f"CREATE TABLE {pulse_table} ({', '.join(f'{c} REAL' for c in FEATURES)}, event_no INTEGER)")
    db.execute(f"CREATE TABLE truth ({', '.join(f'{c} REAL' for c in TRUTH)}, event_no INTEGER)")
    rows, truth = [], []
    for n, (event, label) in enumerate(zip(signals, labels)):
        event_no = 1000 + 3 * n  # GraphNeT's event numbers need not start at 0 or be contiguous
        for dom in np.flatnonzero(event[0] > 0):
            parts = rng.integers(1, 4)
            charges = event[0, dom] * rng.dirichlet(np.ones(parts))
            times = event[1, dom] + np.concatenate([[0.0], rng.uniform(1, 500, parts - 1)])
            x, y, z = positions[:, dom] + shift_m
            rows += [(x, y, z, t, q, 1.0, 0.0765, event_no) for q, t in zip(charges, times)]
        pid = 14.0 if n % 2 else 12.0
        truth.append((label[0], label[3], label[4], label[5], label[2], label[1], pid, 0.5, 0.0, 1.0, event_no))
    db.executemany(f"INSERT INTO {pulse_table} VALUES ({', '.join('?' * (len(FEATURES) + 1))})", rows)
    db.executemany(f"INSERT INTO truth VALUES ({', '.join('?' * (len(TRUTH) + 1))})", truth)
    db.execute(f"CREATE INDEX event_no_{pulse_table} ON {pulse_table} (event_no)")
    db.commit()
    db.close()
    return out


@pytest.fixture(scope="module")
def database(toy_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return graphnet_database(toy_file, tmp_path_factory.mktemp("graphnet") / "events.db")


def test_conversion_sums_pulses_per_dom_exactly(cli: Cli, toy_file: Path, database: Path, tmp_path: Path) -> None:
    out = tmp_path / "converted.h5"
    result = cli("convert", str(database), str(out))
    assert result.exit_code == 0, result.output
    assert "wrote 400 events" in result.stdout
    with EventFile(toy_file) as original, EventFile(out) as converted:
        a, b = original.signals(0, 400), converted.signals(0, 400)
        assert np.allclose(a[:, 0], b[:, 0], rtol=1e-5, atol=1e-4)  # total charge per DOM
        assert np.array_equal(np.isinf(a[:, 1]), np.isinf(b[:, 1]))
        assert np.allclose(a[:, 1][np.isfinite(a[:, 1])], b[:, 1][np.isfinite(b[:, 1])])  # earliest pulse
        assert np.allclose(original.labels(), converted.labels(), rtol=1e-6)
    with h5py.File(out) as handle:
        assert handle.attrs["source_format"] == "graphnet-sqlite" and handle.attrs["pulse_table"] == "SRTInIcePulses"


def test_event_selection_and_label_mapping(cli: Cli, database: Path, tmp_path: Path) -> None:
    out = tmp_path / "numu.h5"
    result = cli("convert", str(database), str(out), "--where", "pid == 14", "--label", "x=position_y")
    assert result.exit_code == 0, result.output
    with EventFile(out) as converted:
        assert converted.n_events == 200
        labels = converted.labels()
    assert np.allclose(labels[:, 3], labels[:, 4])  # x now reads position_y


@pytest.mark.parametrize("args,message", [
    (["--where", "pid = 14"], "expected COLUMN OP NUMBER"),
    (["--where", "flavour == 14"], "the truth table has no column 'flavour'"),
    (["--pulse-table", "Nope"], "no pulse table 'Nope'"),
    (["--label", "energy=energy_track"], "table 'truth' lacks column 'energy_track'"),
    (["--label", "colour=energy"], "--label colour: not a GENESIS label"),
    (["--tolerance", "0"], "--tolerance 0.0: must be > 0"),
])
def test_bad_requests_are_one_line(cli: Cli, database: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = cli("convert", str(database), str(tmp_path / "x.h5"), *args)
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not (tmp_path / "x.h5").exists()


def test_unmatched_dom_positions_are_named(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    shifted = graphnet_database(toy_file, tmp_path / "shifted.db", shift_m=30.0)
    result = cli("convert", str(shifted), str(tmp_path / "x.h5"))
    assert result.exit_code == 2
    assert "matches no DOM of" in result.stderr and "--geometry FILE " in result.stderr
    assert cli("convert", str(shifted), str(tmp_path / "y.h5"), "--tolerance", "60").exit_code == 0


def test_kaggle_sensor_geometry_is_a_geometry(cli: Cli, database: Path, tmp_path: Path) -> None:
    from genesis_cli.engine.detector import icecube86_geometry

    geometry = icecube86_geometry()
    csv = tmp_path / "sensor_geometry.csv"  # the Kaggle IceCube competition's layout
    csv.write_text("sensor_id,x,y,z\n" + "".join(f"{i},{x},{y},{z}\n" for i, (x, y, z) in
                                                enumerate(geometry.positions.T)))
    assert cli("convert", str(database), str(tmp_path / "k.h5"), "--geometry", str(csv)).exit_code == 0


@pytest.mark.slow
def test_a_graphnet_database_of_2000_events_trains(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("simulate", "sim.h5", "--events", "2000", "--seed", "4").exit_code == 0
    database = graphnet_database(tmp_path / "sim.h5", tmp_path / "events.db")
    assert cli("convert", str(database), "events.h5").exit_code == 0
    inspected = cli("inspect-data", "events.h5")
    assert inspected.exit_code == 0 and "ready for training" in inspected.stdout
    trained = cli("train", "--config", "debug", "--data-path", "events.h5", "--epochs", "1", "--batch-size", "64",
                  "--set", "model.hidden=32", "--set", "model.depth=1", "--set", "model.heads=2",
                  "--experiment-name", "g")
    assert trained.exit_code == 0, trained.output
    assert "Epoch 1 completed" in trained.stdout
    assert cli("sample", "--checkpoint", "checkpoints/g", "--labels-from", "events.h5", "--num-events", "50",
               "--output", "generated.h5").exit_code == 0
    assert cli("convert", "generated.h5", "generated_parquet").exit_code == 0
    import pandas as pd

    truth = pd.read_parquet(tmp_path / "generated_parquet" / "truth")
    pulses = pd.read_parquet(tmp_path / "generated_parquet" / "SRTInIcePulses")
    assert len(truth) == 50 and set(pulses["event_no"]) <= set(truth["event_no"])
    assert {"dom_x", "dom_y", "dom_z", "dom_time", "charge", "rde", "pmt_area"} <= set(pulses.columns)
    # Issue 23 item 7: each generated event carries the source event_no of the label it answers, back into GraphNeT
    with EventFile(tmp_path / "events.h5") as source, EventFile(tmp_path / "generated.h5") as generated:
        want, got = source.ids(0, 50), generated.ids()
        assert got is not None and want is not None and got.columns == ("event_no",)
        assert list(got.column("event_no")) == [1000 + 3 * n for n in range(50)] == list(want.column("event_no"))
    assert sorted(truth["event_no"]) == [1000 + 3 * n for n in range(50)]


# -- GraphNeT Parquet ----------------------------------------------------------------------------------
def test_hdf5_to_parquet_to_hdf5_is_exact(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    import pandas as pd

    folder = tmp_path / "parquet"
    exported = cli("convert", str(toy_file), str(folder))
    assert exported.exit_code == 0, exported.output
    assert (folder / "truth" / "truth_0.parquet").exists() and (folder / "SRTInIcePulses" / "SRTInIcePulses_0.parquet").exists()
    truth = pd.read_parquet(folder / "truth")
    assert list(truth.columns) == ["energy", "zenith", "azimuth", "position_x", "position_y", "position_z", "event_no"]
    back = tmp_path / "back.h5"
    assert cli("convert", str(folder), str(back)).exit_code == 0
    with EventFile(toy_file) as original, EventFile(back) as converted:
        assert np.array_equal(original.signals(0, 400), converted.signals(0, 400))
        assert np.array_equal(original.labels(), converted.labels())


def test_parquet_export_refuses_an_existing_folder_and_names_a_missing_extra(cli: Cli, toy_file: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "out").mkdir()
    result = cli("convert", str(toy_file), str(tmp_path / "out"))
    assert result.exit_code == 2 and f"{tmp_path / 'out'}: already exists" in result.stderr
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # as if pyarrow were not installed
    result = cli("convert", str(toy_file), str(tmp_path / "new"))
    assert result.exit_code == 2
    assert "Parquet needs the pyarrow package" in result.stderr and "genesis-icecube[convert]" in result.stderr
    assert not (tmp_path / "new").exists()


def test_unknown_routes_are_named(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    result = cli("convert", str(tmp_path / "x.txt"), str(tmp_path / "y.h5"))
    assert result.exit_code == 2 and "cannot tell its format" in result.stderr and "graphnet-sqlite -> genesis-hdf5" in result.stderr


# -- Prometheus ----------------------------------------------------------------------------------------
PROMETHEUS_DEPTH = 1948.07  # Prometheus' IceCube frame: origin at the ice surface
def prometheus_file(source: Path, out: Path) -> Path:
    """A Prometheus-style Parquet file (mc_truth and photons structs, one row per event) made from a
    GENESIS file: round(npe) photons (at least one) per hit DOM, the first at its first-hit time; in
    Prometheus' conventions, 1948.07 m lower in z and with the direction of travel."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2)
    with EventFile(source) as events:
        signals, labels, positions = events.signals(0, events.n_events), events.labels(), events.geometry.positions
    truth, photons = [], []
    for event, label in zip(signals, labels):
        dom = np.flatnonzero(event[0] > 0)
        count = np.maximum(np.rint(event[0, dom]), 1).astype(int)
        owner = np.repeat(dom, count)
        first = np.r_[0, np.cumsum(count)[:-1]]
        t = event[1, owner].astype(np.float64) + rng.uniform(1, 300, len(owner))
        t[first] = event[1, dom]
        photons.append({"sensor_pos_x": positions[0, owner].tolist(), "sensor_pos_y": positions[1, owner].tolist(),
                        "sensor_pos_z": (positions[2, owner] - PROMETHEUS_DEPTH).tolist(), "t": t.tolist(),
                        "string_id": (owner // 60).tolist(), "sensor_id": (owner % 60).tolist()})
        travel_azimuth = float(np.arctan2(np.sin(label[2] + np.pi), np.cos(label[2] + np.pi)))  # in (-pi, pi], as Prometheus
        truth.append({"initial_state_energy": float(label[0]), "initial_state_zenith": float(np.pi - label[1]),
                      "initial_state_azimuth": travel_azimuth, "initial_state_x": float(label[3]),
                      "initial_state_y": float(label[4]), "initial_state_z": float(label[5]) - PROMETHEUS_DEPTH,
                      "initial_state_type": 14})
    pq.write_table(pa.table({"mc_truth": truth, "photons": photons}), out)
    return out


def test_prometheus_photons_become_npe_and_first_times(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    source = prometheus_file(toy_file, tmp_path / "events.parquet")
    out = tmp_path / "prometheus.h5"
    result = cli("convert", str(source), str(out))
    assert result.exit_code == 0, result.output
    with EventFile(toy_file) as original, EventFile(out) as converted:
        a, b = original.signals(0, 400), converted.signals(0, 400)
        hit = a[:, 0] > 0
        assert np.array_equal(b[:, 0][hit], np.maximum(np.rint(a[:, 0][hit]), 1)) and (b[:, 0][~hit] == 0).all()
        assert np.array_equal(a[:, 1][hit], b[:, 1][hit])
        assert np.allclose(original.labels(), converted.labels(), atol=1e-4)  # frame and direction converted back
    assert h5py.File(out).attrs["source_format"] == "prometheus-parquet"
    assert "z shifted by +1948.07 m" in result.stderr


def test_a_prometheus_track_keeps_its_direction(cli: Cli, tmp_path: Path) -> None:
    """A muon travelling down-going towards +x (zenith of travel 150 deg, azimuth of travel 0): GENESIS's
    labels say where it comes from (zenith 30 deg, azimuth 180 deg), and its light arrives along its travel."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from genesis_cli.engine.detector import icecube86_geometry

    geometry = icecube86_geometry()
    zenith_travel, azimuth_travel = np.radians(150.0), 0.0
    travel = np.array([np.sin(zenith_travel) * np.cos(azimuth_travel), np.sin(zenith_travel) * np.sin(azimuth_travel),
                       np.cos(zenith_travel)])
    vertex = np.array([-300.0, 0.0, 300.0])
    offset = geometry.positions.T - vertex
    along = offset @ travel
    across = np.linalg.norm(offset - along[:, None] * travel, axis=1)
    lit = np.flatnonzero((across < 60) & (along > 0))
    t = along[lit] / 0.2998 + across[lit] / 0.22  # muon at c, light slower
    photons = {"sensor_pos_x": geometry.x[lit].tolist(), "sensor_pos_y": geometry.y[lit].tolist(),
               "sensor_pos_z": (geometry.z[lit] - PROMETHEUS_DEPTH).tolist(), "t": t.tolist()}
    truth = {"initial_state_energy": 1e3, "initial_state_zenith": zenith_travel, "initial_state_azimuth": azimuth_travel,
             "initial_state_x": vertex[0], "initial_state_y": vertex[1], "initial_state_z": vertex[2] - PROMETHEUS_DEPTH}
    pq.write_table(pa.table({"mc_truth": [truth], "photons": [photons]}), tmp_path / "track.parquet")
    out = tmp_path / "track.h5"
    assert cli("convert", str(tmp_path / "track.parquet"), str(out)).exit_code == 0
    with EventFile(out) as events:
        (label,), (signal,) = events.labels(), events.signals(0, 1)
    assert np.degrees(label[1]) == pytest.approx(30.0, abs=1e-3) and np.degrees(label[2]) == pytest.approx(180.0, abs=1e-3)
    assert np.allclose(label[3:], vertex, atol=1e-3)
    source = np.array([np.sin(label[1]) * np.cos(label[2]), np.sin(label[1]) * np.sin(label[2]), np.cos(label[1])])
    hit = signal[0] > 0
    assert hit.sum() == len(lit)
    first_along_travel = np.corrcoef(signal[1, hit], -(geometry.positions.T[hit] @ source))[0, 1]
    assert first_along_travel > 0.9  # light arrives in the order the muon passes: away from where it comes from


def test_prometheus_own_example_converts_with_the_documented_command(cli: Cli, tmp_path: Path) -> None:
    """Prometheus' examples/output/example_photons.parquet (4 of its 10 events, tests/data/prometheus)."""
    import pyarrow.parquet as pq

    source = REAL / "prometheus" / "example_photons_4_events.parquet"
    out = tmp_path / "example.h5"
    result = cli("convert", str(source), str(out))
    assert result.exit_code == 0, result.output
    truth = pq.read_table(source).column("mc_truth").combine_chunks()
    with EventFile(out) as events:
        labels, signals = events.labels(), events.signals(0, events.n_events)
    assert ((labels[:, 2] >= 0) & (labels[:, 2] < 2 * np.pi)).all()
    np.testing.assert_allclose(labels[:, 1], np.pi - np.asarray(truth.field("initial_state_zenith")), rtol=1e-6)
    np.testing.assert_allclose(labels[:, 5], np.asarray(truth.field("initial_state_z")) + PROMETHEUS_DEPTH, rtol=1e-5)
    photons = pq.read_table(source).column("photons").combine_chunks()
    counts = [len(t) for t in photons.field("t").to_pylist()]
    assert signals[:, 0].sum(axis=1).tolist() == counts  # every photon on a DOM, one PE each


def test_an_export_named_like_a_file_is_refused_before_work(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    result = cli("convert", str(toy_file), str(tmp_path / "out.h5"))  # once wrote a Parquet folder named out.h5
    assert result.exit_code == 2
    assert f"OUT {tmp_path / 'out.h5'}: an event file converts into a GraphNeT Parquet folder, not a .h5 file" in result.stderr
    assert not (tmp_path / "out.h5").exists()


def test_a_given_z_offset_is_used_and_checked(cli: Cli, tmp_path: Path) -> None:
    source = REAL / "prometheus" / "example_photons_4_events.parquet"
    wrong = cli("convert", str(source), str(tmp_path / "a.h5"), "--z-offset", "0")
    assert wrong.exit_code == 2 and "matches no DOM" in wrong.stderr and "--z-offset" in wrong.stderr
    assert "would put hits on wrong DOMs" in wrong.stderr  # never the advice to widen the tolerance by 1,948 m
    assert cli("convert", str(source), str(tmp_path / "b.h5"), "--z-offset", "1948.07").exit_code == 0
    assert "--z-offset applies to Prometheus photons only" in cli(
        "convert", str(MERGED), str(tmp_path / "c.h5"), "--z-offset", "1").stderr


def test_a_parquet_file_without_prometheus_columns_is_named(cli: Cli, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "other.parquet")
    result = cli("convert", str(tmp_path / "other.parquet"), str(tmp_path / "x.h5"))
    assert result.exit_code == 2 and "not a Prometheus file" in result.stderr


@pytest.mark.slow
def test_matching_by_string_and_dom_number(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    """GraphNeT's string and dom_number columns locate pulses even when positions are off (shifted here)."""
    database = graphnet_database(toy_file, tmp_path / "ids.db", shift_m=30.0)
    db = sqlite3.connect(database)
    db.execute("ALTER TABLE SRTInIcePulses ADD COLUMN string INTEGER")
    db.execute("ALTER TABLE SRTInIcePulses ADD COLUMN dom_number INTEGER")
    from genesis_cli.engine.detector import icecube86_geometry

    geometry = icecube86_geometry()
    with EventFile(toy_file) as events:
        positions = events.geometry.positions  # as the file stores them (float32)
    db.execute("CREATE INDEX position ON SRTInIcePulses (dom_x, dom_y, dom_z)")  # 5,160 updates, each a lookup
    for i, (string, dom) in enumerate(geometry.ids):
        x, y, z = positions[:, i] + 30.0
        db.execute("UPDATE SRTInIcePulses SET string = ?, dom_number = ? WHERE dom_x = ? AND dom_y = ? AND dom_z = ?",
                   (int(string), int(dom), x, y, z))
    db.commit()
    db.close()
    out = tmp_path / "ids.h5"
    result = cli("convert", str(database), str(out), "--match", "id")
    assert result.exit_code == 0, result.output
    with EventFile(toy_file) as original, EventFile(out) as converted:
        assert np.allclose(original.signals(0, 400)[:, 0], converted.signals(0, 400)[:, 0], atol=1e-4)
    csv = tmp_path / "no_ids.csv"
    csv.write_text("x,y,z\n" + "".join(f"{x},{y},{z}\n" for x, y, z in geometry.positions.T))
    result = cli("convert", str(database), str(tmp_path / "n.h5"), "--match", "id", "--geometry", str(csv))
    assert result.exit_code == 2 and "has no string and DOM numbers to match pulses by" in result.stderr


# -- real GraphNeT files (tests/data, see its README) -------------------------------------------------
REAL = Path(__file__).parent / "data"
MERGED = REAL / "graphnet" / "oscNext_genie_level7_v02_merged"


def _source_events(folder: Path) -> tuple[list[int], np.ndarray, list[dict[tuple[float, float, float], tuple[float, float]]]]:
    """Event numbers, labels and per-DOM (charge sum, earliest time) of a GraphNeT Parquet folder, read directly."""
    import pyarrow.parquet as pq

    numbers, labels, doms = [], [], []
    for i in range(5):
        truth = pq.read_table(folder / "truth" / f"truth_{i}.parquet").to_pylist()
        pulses = pq.read_table(folder / "SRTInIcePulses" / f"SRTInIcePulses_{i}.parquet").to_pylist()
        for row in truth:
            numbers.append(row["event_no"])
            labels.append([row[c] for c in ("energy", "zenith", "azimuth", "position_x", "position_y", "position_z")])
            per: dict[tuple[float, float, float], tuple[float, float]] = {}
            for p in (p for p in pulses if p["event_no"] == row["event_no"]):
                key = (round(p["dom_x"], 2), round(p["dom_y"], 2), round(p["dom_z"], 2))
                charge, first = per.get(key, (0.0, np.inf))
                per[key] = (charge + p["charge"], min(first, p["dom_time"]))
            doms.append(per)
    return numbers, np.array(labels), doms


def _genesis_doms(path: Path) -> list[dict[tuple[float, float, float], tuple[float, float]]]:
    with EventFile(path) as events:
        signals, geometry = events.signals(0, events.n_events), events.geometry
        return [{(round(float(geometry.x[d]), 2), round(float(geometry.y[d]), 2), round(float(geometry.z[d]), 2)):
                 (float(s[0, d]), float(s[1, d])) for d in np.nonzero(s[0] > 0)[0]} for s in signals]


def _same_doms(got: dict, want: dict) -> bool:  # type: ignore[type-arg]
    """The same DOMs (positions within 1 m), charge sums and earliest times (float32 precision)."""
    if len(got) != len(want):
        return False
    for key, (charge, first) in want.items():
        near = [k for k in got if max(abs(a - b) for a, b in zip(k, key)) < 1.0]
        if len(near) != 1 or not np.isclose(got[near[0]][0], charge, rtol=1e-6) or not np.isclose(got[near[0]][1], first, rtol=1e-7):
            return False
    return True


@pytest.mark.parametrize("layout", ["merged", "per file"])
def test_graphnets_own_parquet_layouts_convert_exactly(cli: Cli, tmp_path: Path, layout: str) -> None:
    import shutil

    folder = MERGED
    if layout == "per file":  # GraphNeT's ParquetWriter before merging: <file>_<table>.parquet per input file
        folder = tmp_path / "per_file"
        for table in ("truth", "SRTInIcePulses"):
            (folder / table).mkdir(parents=True)
            for i in range(5):
                shutil.copy(MERGED / table / f"{table}_{i}.parquet", folder / table / f"frames{i}_{table}.parquet")
    out = tmp_path / "real.h5"
    result = cli("convert", str(folder), str(out))  # the built-in detector: IceCube-86's real positions
    assert result.exit_code == 0, result.output
    numbers, labels, doms = _source_events(MERGED)
    with EventFile(out) as converted:
        assert converted.n_events == 5
        np.testing.assert_allclose(converted.labels(), labels, rtol=1e-6)  # in the source's order
        assert list(converted.ids().column("event_no")) == numbers  # with the source's event numbers
    got = _genesis_doms(out)
    assert all(_same_doms(g, w) for g, w in zip(got, doms))


def test_merged_files_are_read_in_number_order_not_name_order(tmp_path: Path) -> None:
    from genesis_cli.engine.convert.graphnet_parquet import truth_files

    (tmp_path / "truth").mkdir()
    for i in (0, 1, 2, 10, 11):
        (tmp_path / "truth" / f"truth_{i}.parquet").touch()
    assert [p.name for p in truth_files(tmp_path)] == [f"truth_{i}.parquet" for i in (0, 1, 2, 10, 11)]


def test_export_writes_the_files_graphnets_parquet_dataset_opens(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    """GraphNeT's ParquetDataset lists truth/*.parquet, then opens <table>/<table>_<i>.parquet for i = 0..n-1,
    sorts each by event_no and pairs the grouped pulses with the truth rows by position."""
    import pyarrow.parquet as pq

    folder = tmp_path / "export"
    assert cli("convert", str(toy_file), str(folder)).exit_code == 0
    n_files = len(list((folder / "truth").glob("*.parquet")))
    events = []
    for i in range(n_files):  # exactly GraphNeT's paths (parquet_dataset.py, _calculate_sizes and _load_table)
        truth = pq.read_table(folder / "truth" / f"truth_{i}.parquet").to_pandas().sort_values("event_no")
        pulses = pq.read_table(folder / "SRTInIcePulses" / f"SRTInIcePulses_{i}.parquet").to_pandas()
        grouped = pulses.sort_values("event_no").groupby("event_no")
        assert list(grouped.groups) == list(truth["event_no"])  # every event has pulses: row pairing holds
        events += list(truth["event_no"])
    assert events == list(range(400))


@pytest.mark.parametrize("match", ["position", "id"])
def test_graphnets_sqlite_and_parquet_of_the_same_events_convert_alike(cli: Cli, tmp_path: Path, match: str) -> None:
    """Issue 23: with the built-in detector, position and id matching put every real oscNext hit on the
    DOM at its pulses' dom_x/y/z (within 1 m: _same_doms), the same as the Parquet route."""
    db, pq_out = tmp_path / "db.h5", tmp_path / "pq.h5"
    result = cli("convert", str(REAL / "graphnet" / "oscNext_genie_level7_v02_first_5_frames.db"), str(db),
                 "--match", match)
    assert result.exit_code == 0, result.output
    assert cli("convert", str(MERGED), str(pq_out)).exit_code == 0
    numbers, labels, doms = _source_events(MERGED)
    with EventFile(db) as from_db:
        order = np.argsort(numbers)  # the database lists its events by event_no
        np.testing.assert_allclose(from_db.labels(), labels[order], rtol=1e-6)
    got = _genesis_doms(db)
    assert all(_same_doms(got[k], doms[i]) for k, i in enumerate(np.argsort(numbers)))


def test_a_converted_real_file_exports_the_rde_and_pmt_area_of_real_pulses(cli: Cli, tmp_path: Path) -> None:
    """Issue 23: rde (1.35 on high-QE DOMs) and pmt_area (0.0444 m^2) come from the detector, as in real pulses."""
    import pyarrow.parquet as pq

    converted, exported = tmp_path / "real.h5", tmp_path / "export"
    assert cli("convert", str(MERGED), str(converted)).exit_code == 0
    assert cli("convert", str(converted), str(exported)).exit_code == 0
    want: dict[tuple[float, float, float], tuple[float, float]] = {}
    hits = set()
    for i in range(5):
        source = pq.read_table(MERGED / "SRTInIcePulses" / f"SRTInIcePulses_{i}.parquet").to_pylist()
        want.update({(round(p["dom_x"]), round(p["dom_y"]), round(p["dom_z"])): (p["rde"], p["pmt_area"]) for p in source})
        hits |= {(p["event_no"], round(p["dom_x"]), round(p["dom_y"]), round(p["dom_z"])) for p in source}
    got = [p for i in range(len(list((exported / "truth").glob("*.parquet"))))
           for p in pq.read_table(exported / "SRTInIcePulses" / f"SRTInIcePulses_{i}.parquet").to_pylist()]
    assert len(got) == len(hits)  # one pulse per hit DOM of each event
    for pulse in got:
        rde, area = want[(round(pulse["dom_x"]), round(pulse["dom_y"]), round(pulse["dom_z"]))]
        assert pulse["rde"] == pytest.approx(rde, abs=1e-6) and pulse["pmt_area"] == pytest.approx(area, abs=1e-6)


def test_a_pulse_column_of_another_name_is_named_and_mapped(cli: Cli, tmp_path: Path) -> None:
    """Issue 23 item 8: the hint names the pulse columns and --pulse-column, not --label."""
    import shutil

    import pyarrow.parquet as pq

    db = tmp_path / "renamed.db"
    shutil.copy(REAL / "graphnet" / "oscNext_genie_level7_v02_first_5_frames.db", db)
    with sqlite3.connect(db) as connection:
        connection.execute('ALTER TABLE "SRTInIcePulses" RENAME COLUMN dom_time TO t')
    refused = cli("convert", str(db), str(tmp_path / "a.h5"), "--pulse-table", "SRTInIcePulses")
    assert refused.exit_code == 2 and "lacks column 'dom_time'" in refused.stderr
    assert "--pulse-column NAME=COLUMN" in refused.stderr and "--label" not in refused.stderr
    assert cli("convert", str(db), str(tmp_path / "a.h5"), "--pulse-table", "SRTInIcePulses",
               "--pulse-column", "dom_time=t").exit_code == 0

    folder = tmp_path / "renamed_parquet"
    shutil.copytree(MERGED, folder)
    for path in (folder / "SRTInIcePulses").glob("*.parquet"):
        table = pq.read_table(path)
        pq.write_table(table.rename_columns(["q" if c == "charge" else c for c in table.column_names]), path)
    refused = cli("convert", str(folder), str(tmp_path / "b.h5"))
    assert refused.exit_code == 2 and "lacks column 'charge'" in refused.stderr and "--pulse-column" in refused.stderr
    assert cli("convert", str(folder), str(tmp_path / "b.h5"), "--pulse-column", "charge=q").exit_code == 0
    with EventFile(tmp_path / "a.h5") as a, EventFile(tmp_path / "b.h5") as b:
        assert a.n_events == b.n_events == 5
    assert "not a pulse field" in cli("convert", str(folder), str(tmp_path / "c.h5"), "--pulse-column", "foo=q").stderr


def test_export_leaves_out_events_without_hits_so_graphnet_pairs_the_rest(cli: Cli, tmp_path: Path) -> None:
    """GraphNeT pairs truth rows and grouped pulses by position: an event without pulses would shift the rest."""
    import pyarrow.parquet as pq

    from tests.conftest import write_event_file

    signals = np.stack([np.ones((6, 12), np.float32), np.full((6, 12), 1000.0, np.float32)], axis=1)
    signals[[1, 4], 0], signals[[1, 4], 1] = 0.0, np.inf  # two events light no DOM
    source = write_event_file(tmp_path / "gaps.h5", n=6, input=signals)
    result = cli("convert", str(source), str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "2 events without any hit DOM left out" in result.stderr and "wrote 4 events" in result.stdout
    truth = pq.read_table(tmp_path / "out" / "truth" / "truth_0.parquet").to_pandas()
    pulses = pq.read_table(tmp_path / "out" / "SRTInIcePulses" / "SRTInIcePulses_0.parquet").to_pandas()
    assert list(truth["event_no"]) == [0, 2, 3, 5] == sorted(pulses["event_no"].unique())
