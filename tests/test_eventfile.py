"""Event-file validation: one clear message per problem, naming file and dataset."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from genesis_cli.engine.data.eventfile import EventFile, check_labels, check_signals
from genesis_cli.errors import DataError
from tests.conftest import write_event_file


def error_of(path: Path) -> DataError:
    with pytest.raises(DataError) as info:
        EventFile(path)
    assert info.value.exit_code == 2
    return info.value


def test_valid_file_opens_with_its_own_L(tmp_path: Path) -> None:
    path = write_event_file(tmp_path / "ok.h5", n=8, n_doms=12)
    with EventFile(path) as events:
        assert (events.n_events, events.n_doms) == (8, 12)
        assert events.signals(0, 3).shape == (3, 2, 12)
        assert events.signals(0, 3).dtype == np.float32
        assert events.geometry.strings is not None and events.geometry.strings.n_strings == 3


def test_text_file_is_not_hdf5(tmp_path: Path) -> None:
    path = tmp_path / "notes.h5"
    path.write_text("hello\n")
    assert error_of(path).message == f"{path}: is not an HDF5 file"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.h5"
    path.touch()
    assert error_of(path).message == f"{path}: is empty"


def test_missing_file(tmp_path: Path) -> None:
    assert error_of(tmp_path / "nope.h5").message == f"{tmp_path / 'nope.h5'}: file not found"


def test_truncated_file_fails_on_open_or_read(toy_file: Path, tmp_path: Path) -> None:
    data = toy_file.read_bytes()
    path = tmp_path / "truncated.h5"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(DataError, match="truncated or corrupt"):
        with EventFile(path) as events:
            for start in range(0, events.n_events, 64):
                events.signals(start, start + 64)


def test_missing_dataset(tmp_path: Path) -> None:
    path = write_event_file(tmp_path / "f.h5", label=None)
    assert error_of(path).message == f"{path}: missing dataset 'label'"


def test_several_missing_datasets(tmp_path: Path) -> None:
    path = write_event_file(tmp_path / "f.h5", xpmt=None, ypmt=None)
    assert error_of(path).message == f"{path}: missing datasets 'xpmt', 'ypmt'"


def test_swapped_axes_are_named(tmp_path: Path) -> None:
    path = write_event_file(tmp_path / "f.h5", input=np.zeros((8, 12, 2), np.float32))
    error = error_of(path)
    assert error.message == (f"{path}: dataset 'input' has shape (8, 12, 2); expected (N, 2, L) — "
                             "the last two axes are swapped")
    assert "transpose" in (error.hint or "")


def test_wrong_rank_and_channels(tmp_path: Path) -> None:
    assert "expected (N, 2, L)" in error_of(write_event_file(tmp_path / "a.h5", input=np.zeros((8, 24)))).message
    assert "2 channels" in error_of(write_event_file(tmp_path / "b.h5", input=np.zeros((8, 3, 12)))).message


def test_label_shape(tmp_path: Path) -> None:
    message = error_of(write_event_file(tmp_path / "f.h5", label=np.zeros((6, 8)))).message
    assert message == f"{tmp_path / 'f.h5'}: dataset 'label' has shape (6, 8); expected (N, 6) — the axes are swapped"


def test_event_count_mismatch(tmp_path: Path) -> None:
    path = write_event_file(tmp_path / "f.h5", label=np.ones((7, 6)))
    assert error_of(path).message == f"{path}: 'input' holds 8 events but 'label' holds 7"


def test_geometry_length_must_match_L(tmp_path: Path) -> None:
    path = write_event_file(tmp_path / "f.h5", zpmt=np.zeros(11))
    assert error_of(path).message == (f"{path}: dataset 'zpmt' has shape (11,); expected (12,), one "
                                      "position per DOM of input's L = 12")


def test_non_finite_geometry(tmp_path: Path) -> None:
    x = np.zeros(12)
    x[3] = np.nan
    assert "'xpmt' holds 1 non-finite" in error_of(write_event_file(tmp_path / "f.h5", xpmt=x)).message


def test_zero_events(tmp_path: Path) -> None:
    path = write_event_file(tmp_path / "f.h5", input=np.zeros((0, 2, 12), np.float32), label=np.zeros((0, 6)))
    assert error_of(path).message == f"{path}: holds no events (input has N = 0)"


def test_non_numeric_dataset(tmp_path: Path) -> None:
    path = write_event_file(tmp_path / "f.h5", label=np.array([[b"a"] * 6] * 8))
    assert "dataset 'label' has dtype" in error_of(path).message


def test_info_must_have_one_row_per_event(tmp_path: Path) -> None:
    path = write_event_file(tmp_path / "f.h5", info=np.zeros((5, 9)))
    assert error_of(path).message == f"{path}: dataset 'info' has shape (5, 9); expected (8, K), one row per event"


def test_negative_npe_and_bad_labels_name_the_event() -> None:
    signals = np.zeros((3, 2, 4), np.float32)
    signals[2, 0, 1] = -1
    with pytest.raises(DataError, match=r"npe -1.0 \(event 12\)"):
        check_signals(Path("f.h5"), signals, 10)
    labels = np.ones((3, 6))
    labels[1, 4] = np.inf
    with pytest.raises(DataError, match="non-finite y .* at event 11"):
        check_labels(Path("f.h5"), labels, np.array([10, 11, 12]))
    labels[1, 4] = 0
    labels[0, 0] = 0
    with pytest.raises(DataError, match="energy 0.0 GeV at event 3"):  # rows of a split: the file's numbering
        check_labels(Path("f.h5"), labels, np.array([3, 9, 4]))


def test_file_open_by_a_writer_in_another_process_is_readable(tmp_path: Path) -> None:
    """SWMR-style reading: no HDF5 file lock is taken, so a live writer does not block readers."""
    path = tmp_path / "live.h5"
    writer = textwrap.dedent(f"""
        import sys, time, numpy as np, h5py
        sys.path.insert(0, {str(Path(__file__).parent.parent)!r})
        from tests.conftest import write_event_file
        write_event_file(__import__("pathlib").Path({str(path)!r}))
        handle = h5py.File({str(path)!r}, "a")
        print("open", flush=True)
        time.sleep(30)
    """)
    process = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "open"
        with EventFile(path) as events:
            assert events.signals(0, 2).shape == (2, 2, 12)
    finally:
        process.kill()
        process.wait()
