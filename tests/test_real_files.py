"""Issue 23 on GraphNeT's own files (tests/data/graphnet, see tests/data/README.md): its geometry tables
as --geometry, IceCube Upgrade frames, its Prometheus test file, and event identities, rde and
pmt_area kept from the source through convert, subset, simulate and export."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from genesis_cli.engine.data.eventfile import EventFile
from genesis_cli.engine.detector import icecube86_geometry, load_geometry
from genesis_cli.errors import UsageError
from tests.conftest import CliResult

pytest.importorskip("pyarrow")

Cli = Callable[..., CliResult]
GRAPHNET = Path(__file__).parent / "data" / "graphnet"
TABLES = GRAPHNET / "geometry_tables"
OSCNEXT_DB = GRAPHNET / "oscNext_genie_level7_v02_first_5_frames.db"
UPGRADE_DB = GRAPHNET / "upgrade_genie_step4_140028_000998_first_5_frames.db"
ID_COLUMNS = ("event_no", "RunID", "SubrunID", "EventID", "SubEventID")


def test_graphnets_icecube86_table_is_the_builtin_detector_in_ice() -> None:
    """GraphNeT's icecube86.parquet: 5,083 in-ice DOMs (its table lacks 77) at the built-in positions
    with the same rde; the 324 IceTop modules on the surface are left out."""
    table, builtin = load_geometry(TABLES / "icecube86.parquet"), icecube86_geometry()
    assert table.n_doms == 5083 and "324 surface modules left out" in table.source
    index = {tuple(ids): k for k, ids in enumerate(builtin.ids)}
    at = np.array([index[tuple(ids)] for ids in table.ids])
    np.testing.assert_allclose(table.positions, builtin.positions[:, at], atol=1e-3)
    known = np.isfinite(table.efficiency)
    assert known.sum() == 5081  # two in-ice DOMs have no rde in GraphNeT's table
    np.testing.assert_allclose(table.efficiency[known], builtin.efficiency[at][known], atol=1e-6)
    np.testing.assert_allclose(table.pmt_area, 0.0444, atol=1e-6)
    assert table.relative_efficiency[~known].tolist() == [1.0, 1.0]  # unknown counts as a standard DOM


def test_upgrade_pmts_merge_into_modules() -> None:
    """An Upgrade mDOM's 24 PMTs and a D-Egg's 2 are one GENESIS DOM each, with their summed area."""
    import pyarrow.parquet as pq

    rows = pq.read_table(TABLES / "icecube_upgrade.parquet").to_pandas()
    in_ice = rows[~rows["dom_type"].isin([30, 40, 50])]
    geometry = load_geometry(TABLES / "icecube_upgrade.parquet")
    modules = in_ice.groupby(["string", "dom_number"])
    assert geometry.n_doms == modules.ngroups == 5087 + 14 + 278 + 402
    index = {tuple(ids): k for k, ids in enumerate(geometry.ids)}
    for (string, dom), pmts in list(modules)[::97]:
        k = index[(string, dom)]
        assert geometry.pmt_area[k] == pytest.approx(pmts["pmt_area"].sum())
        assert geometry.x[k] == pytest.approx(pmts["dom_x"].mean()) and geometry.z[k] == pytest.approx(pmts["dom_z"].mean())
    mdom = in_ice[in_ice["dom_type"] == 130].iloc[0]
    assert geometry.pmt_area[index[(mdom["string"], mdom["dom_number"])]] == pytest.approx(24 * mdom["pmt_area"])
    assert geometry.strings is not None and geometry.strings.n_strings == 93


def _per_module(db: Path) -> tuple[list[int], np.ndarray, list[dict[tuple[int, int], tuple[float, float]]], np.ndarray]:
    """Event numbers, labels, per (string, DOM) (charge sum, earliest time) and ids of a GraphNeT database."""
    with sqlite3.connect(db) as connection:
        truth = connection.execute("SELECT event_no, energy, zenith, azimuth, position_x, position_y, position_z, "
                                   "RunID, SubrunID, EventID, SubEventID FROM truth ORDER BY event_no").fetchall()
        pulses = connection.execute("SELECT event_no, string, dom_number, charge, dom_time FROM SplitInIcePulses").fetchall()
    doms: list[dict[tuple[int, int], tuple[float, float]]] = []
    for row in truth:
        per: dict[tuple[int, int], tuple[float, float]] = {}
        for event, string, dom, charge, time in pulses:
            if event == row[0]:
                total, first = per.get((int(string), int(dom)), (0.0, np.inf))
                per[(int(string), int(dom))] = (total + charge, min(first, time))
        doms.append(per)
    ids = np.array([[row[0], *row[7:]] for row in truth], dtype=np.int64)
    return [row[0] for row in truth], np.array([row[1:7] for row in truth]), doms, ids


@pytest.mark.parametrize("match", ["position", "id"])
def test_upgrade_frames_convert_exactly_with_graphnets_upgrade_geometry(cli: Cli, tmp_path: Path, match: str) -> None:
    out = tmp_path / "upgrade.h5"
    result = cli("convert", str(UPGRADE_DB), str(out), "--geometry", str(TABLES / "icecube_upgrade.parquet"),
                 "--match", match)
    assert result.exit_code == 0, result.output
    numbers, labels, doms, ids = _per_module(UPGRADE_DB)
    with EventFile(out) as converted:
        np.testing.assert_allclose(converted.labels(), labels, rtol=1e-6)
        got = converted.ids()
        assert got is not None and got.columns == ID_COLUMNS and (got.values == ids).all()
        signals = converted.signals(0, converted.n_events)
    geometry = load_geometry(TABLES / "icecube_upgrade.parquet")  # the file's DOMs, in the file's order
    for event, want in zip(signals, doms):
        hit = np.flatnonzero(event[0] > 0)
        have = {tuple(int(v) for v in geometry.ids[d]): (float(event[0, d]), float(event[1, d])) for d in hit}
        assert have.keys() == want.keys()
        for key, (charge, first) in want.items():
            assert have[key][0] == pytest.approx(charge, rel=1e-5) and have[key][1] == pytest.approx(first, rel=1e-7)


def test_upgrade_frames_name_the_geometry_they_need(cli: Cli, tmp_path: Path) -> None:
    result = cli("convert", str(UPGRADE_DB), str(tmp_path / "x.h5"))
    assert result.exit_code == 2 and "matches no DOM of built-in IceCube-86" in result.stderr
    assert "--geometry FILE" in result.stderr and not (tmp_path / "x.h5").exists()


def test_event_ids_rde_and_pmt_area_survive_convert_subset_simulate_and_export(cli: Cli, tmp_path: Path) -> None:
    """Issue 23 items 6 and 7: the source's event_no, RunID, ... and its pulses' rde come through every step."""
    import pyarrow.parquet as pq

    from genesis_cli.engine.data.subset import write_subset

    converted = tmp_path / "real.h5"
    assert cli("convert", str(OSCNEXT_DB), str(converted)).exit_code == 0
    with sqlite3.connect(OSCNEXT_DB) as connection:
        source = np.array(connection.execute(f"SELECT {', '.join(ID_COLUMNS)} FROM truth ORDER BY event_no").fetchall(),
                          dtype=np.int64)
        rde = dict(((round(x), round(y), round(z)), r) for x, y, z, r in
                   connection.execute("SELECT dom_x, dom_y, dom_z, rde FROM SRTInIcePulses"))
    with EventFile(converted) as events:
        ids, geometry = events.ids(), events.geometry
        assert ids is not None and ids.columns == ID_COLUMNS and (ids.values == source).all()
        for (x, y, z), value in rde.items():
            k = int(np.argmin(np.abs(geometry.x - x) + np.abs(geometry.y - y) + np.abs(geometry.z - z)))
            assert geometry.efficiency[k] == pytest.approx(value)
    subset = write_subset(converted, np.array([3, 1]), tmp_path / "subset.h5")
    with EventFile(subset) as events:
        assert (events.ids().values == source[[1, 3]]).all()
        assert events.geometry.efficiency is not None and events.geometry.pmt_area is not None
    simulated = tmp_path / "sim.h5"
    assert cli("simulate", str(simulated), "--events", "5", "--labels-from", str(converted)).exit_code == 0
    with EventFile(simulated) as events:
        assert (events.ids().values == source).all()
    exported = tmp_path / "export"
    assert cli("convert", str(subset), str(exported)).exit_code == 0
    truth = pq.read_table(exported / "truth" / "truth_0.parquet").to_pandas()
    assert truth[list(ID_COLUMNS)].to_numpy().tolist() == source[[1, 3]].tolist()
    back = tmp_path / "back.h5"
    assert cli("convert", str(exported), str(back)).exit_code == 0
    with EventFile(back) as events:
        assert (events.ids().values == source[[1, 3]]).all()


def test_graphnets_prometheus_test_file_converts_with_its_geometry_table(cli: Cli, tmp_path: Path) -> None:
    """GraphNeT's Prometheus test file (ARCA, in Prometheus' own frame) with GraphNeT's ARCA table: each
    photon is one PE on its sensor; directions become where the neutrino comes from; event_no = row."""
    import pyarrow.parquet as pq

    photons = GRAPHNET / "prometheus" / "22980001_photons.parquet"
    out = tmp_path / "arca.h5"
    result = cli("convert", str(photons), str(out), "--geometry", str(TABLES / "arca_prometheus.parquet"))
    assert result.exit_code == 0, result.output
    rows = pq.read_table(photons).to_pylist()
    with EventFile(out) as events:
        signals, labels, geometry = events.signals(0, events.n_events), events.labels(), events.geometry
        assert list(events.ids().column("event_no")) == list(range(len(rows)))
        assert events.attributes()["z_offset_m"] == 0.0
    for event, label, row in zip(signals, labels, rows):
        truth, hits = row["mc_truth"], row["photons"]
        assert event[0].sum() == len(hits["t"])
        assert label[1] == pytest.approx(np.pi - truth["initial_state_zenith"])
        assert 0 <= label[2] < 2 * np.pi
        if hits["t"]:
            k = int(np.argmin(np.abs(geometry.x - hits["sensor_pos_x"][0]) + np.abs(geometry.z - hits["sensor_pos_z"][0])
                              + np.abs(geometry.y - hits["sensor_pos_y"][0])))
            assert event[1, k] <= min(t for t, x, z in zip(hits["t"], hits["sensor_pos_x"], hits["sensor_pos_z"])
                                      if (x, z) == (hits["sensor_pos_x"][0], hits["sensor_pos_z"][0])) + 1e-3


def test_geometry_tables_that_cannot_be_read_are_named(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"a": [1.0], "b": [2.0]}), bad)
    with pytest.raises(UsageError, match=r"lacks column\(s\) x, y, z \(columns: a, b\)"):
        load_geometry(bad)
    surface = tmp_path / "icetop.parquet"
    pq.write_table(pa.table({"dom_x": [0.0], "dom_y": [0.0], "dom_z": [1950.0], "string": [1], "dom_number": [61],
                             "dom_type": [30]}), surface)
    with pytest.raises(UsageError, match="surface modules only"):
        load_geometry(surface)
    text = tmp_path / "not.parquet"
    text.write_text("x,y,z\n")
    with pytest.raises(UsageError, match="not a readable Parquet table"):
        load_geometry(text)
    csv = tmp_path / "g.csv"
    csv.write_text("dom_x,dom_y,dom_z,rde,pmt_area\n0,0,1,1.35,0.0444\n0,0,-1,1.0,0.0444\n")
    geometry = load_geometry(csv)
    assert geometry.efficiency.tolist() == [1.35, 1.0] and geometry.pmt_area.tolist() == [0.0444, 0.0444]


def test_inspect_data_shows_ids_rde_and_area(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "real.h5"
    assert cli("convert", str(OSCNEXT_DB), str(out)).exit_code == 0
    shown = cli("inspect-data", str(out))
    assert "event_no, RunID, SubrunID, EventID, SubEventID; event_no 0 .. 4" in shown.stdout
    assert "1 .. 1.35" in shown.stdout and "0.0444 m^2" in shown.stdout


PROMETHEUS_TABLES = GRAPHNET / "prometheus_tables"


def _photon_tables(kind: str) -> tuple[list[dict], list[dict]]:
    """GraphNeT's Prometheus example (mc_truth, total) as rows, read directly."""
    if kind == "sqlite":
        with sqlite3.connect(PROMETHEUS_TABLES / "prometheus-events.db") as connection:
            connection.row_factory = sqlite3.Row
            truth = [dict(r) for r in connection.execute("SELECT * FROM mc_truth ORDER BY event_no")]
            photons = [dict(r) for r in connection.execute("SELECT * FROM total")]
        return truth, photons
    import pyarrow.parquet as pq

    return (pq.read_table(PROMETHEUS_TABLES / "merged" / "mc_truth" / "mc_truth_0.parquet").to_pylist(),
            pq.read_table(PROMETHEUS_TABLES / "merged" / "total" / "total_0.parquet").to_pylist())


@pytest.mark.parametrize("kind", ["sqlite", "parquet"])
def test_graphnets_prometheus_tables_convert_with_prometheus_conventions(cli: Cli, tmp_path: Path, kind: str) -> None:
    """Issue 23 item 5: GraphNeT's converted Prometheus tables (injection_*, sensor_pos_*, t; one photon a row)
    convert like Prometheus' own files: 1 PE a photon, the earliest photon's time, source directions."""
    source = PROMETHEUS_TABLES / ("prometheus-events.db" if kind == "sqlite" else "merged")
    out = tmp_path / "photons.h5"
    geometry = TABLES / "orca_150_prometheus.parquet"  # the example's detector: its sensors sit exactly on it
    result = cli("convert", str(source), str(out), "--geometry", str(geometry))
    assert result.exit_code == 0, result.output
    truth, photons = _photon_tables(kind)
    with EventFile(out) as events:
        labels, signals, doms = events.labels(), events.signals(0, events.n_events), events.geometry
        assert list(events.ids().column("event_no")) == [row["event_no"] for row in truth]
        assert events.attributes()["z_offset_m"] == 0.0 and "direction of travel" in events.attributes()["direction"]
    for row, label, event in zip(truth, labels, signals):
        want = [row["injection_energy"], np.pi - row["injection_zenith"], np.mod(row["injection_azimuth"] + np.pi, 2 * np.pi),
                row["injection_position_x"], row["injection_position_y"], row["injection_position_z"]]
        np.testing.assert_allclose(label, want, rtol=1e-6, atol=1e-4)
        mine = [p for p in photons if p["event_no"] == row["event_no"]]
        assert event[0].sum() == len(mine)  # one PE per photon
        first = min(mine, key=lambda p: p["t"])
        k = int(np.argmin(np.abs(doms.x - first["sensor_pos_x"]) + np.abs(doms.y - first["sensor_pos_y"])
                          + np.abs(doms.z - first["sensor_pos_z"])))
        assert event[1, k] == pytest.approx(first["t"], rel=1e-6) and event[1, k] == event[1][event[0] > 0].min()


def test_graphnets_prometheus_tables_name_the_detector_they_need(cli: Cli, tmp_path: Path) -> None:
    refused = cli("convert", str(PROMETHEUS_TABLES / "merged"), str(tmp_path / "x.h5"))
    assert refused.exit_code == 2 and "sensors sit on no DOM of built-in IceCube-86" in refused.stderr
    assert "--geometry FILE" in refused.stderr
    wrong = cli("convert", str(OSCNEXT_DB), str(tmp_path / "y.h5"), "--z-offset", "3")
    assert wrong.exit_code == 2 and "--z-offset applies to Prometheus photons only" in wrong.stderr
