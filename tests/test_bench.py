"""`genesis bench` on the CPU with the debug preset and a tiny step count (as CI runs it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch

from genesis_cli.engine.bench import PEAK_BF16_TFLOPS, peak_flops
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_bench_all_on_cpu(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = cli("bench", "--config", "debug", "--steps", "2", "--device", "cpu", "--data-path", str(toy_file),
                 "--json", str(out))
    assert result.exit_code == 0, result.output
    rows = {r["what"]: r for r in json.loads(out.read_text())}
    assert set(rows) == {"train", "sample", "data"}
    assert all(r["events_per_second"] > 0 for r in rows.values())
    assert rows["train"]["flops_per_second"] > 0 and rows["train"]["mfu"] is None  # CPU: FLOP/s only
    assert "dpm-solver, 20 steps" in rows["sample"]["detail"]
    assert "GENESIS bench (debug)" in result.stdout


def test_bench_data_needs_a_file(cli: Cli) -> None:
    result = cli("bench", "--config", "debug", "--what", "data")
    assert result.exit_code == 2 and "--data-path" in result.stderr


def test_peak_table_is_for_gpus_only() -> None:
    assert peak_flops(torch.device("cpu")) is None
    assert PEAK_BF16_TFLOPS["H100"] == 989.0
