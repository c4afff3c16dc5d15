"""`genesis bench` on the CPU with the debug preset and a tiny step count (as CI runs it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from genesis_cli.engine.bench import (PEAK_BF16_TFLOPS, BenchPlan, Workload, original_configuration, peak_flops,
                                      profile_workload, run_bench)
from genesis_cli.engine.bench.profiling import OTHER, kind_of
from genesis_cli.engine.memory import peak_memory_bytes, reset_peak_memory
from genesis_cli.errors import UsageError
from genesis_cli.settings import resolve_config
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
TINY = ("--set", "model.hidden=32", "--set", "model.heads=2")


def test_bench_all_on_cpu(cli: Cli, toy_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = cli("bench", "--config", "debug", "--what", "all", "--steps", "2", "--device", "cpu",
                 "--data-path", str(toy_file), "--json", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    students = [r for r in report["results"] if r["variant"].startswith("student")]
    rows = {r["what"]: r for r in report["results"] if r not in students}
    assert set(rows) == {"train", "sample", "data"}
    assert all(r["events_per_second"] > 0 for r in rows.values())
    assert rows["train"]["flops_per_second"] > 0 and rows["train"]["mfu"] is None  # CPU: FLOP/s only
    assert "fp32, eager" in rows["train"]["detail"]
    assert "dpm-solver-sde, 20 steps" in rows["sample"]["detail"]
    # a distilled student beside the sampler, at 1, 2 and 4 steps, with its speed-up over it
    assert [r["variant"] for r in students] == ["student, 1 step", "student, 2 steps", "student, 4 steps"]
    assert all("consistency" in r["detail"] and "guidance 1 folded in" in r["detail"] for r in students)
    assert set(report["student_speedup_over_sampler"]) == {f"{r['variant']}, batch 2" for r in students}
    assert "sample, student, 4 steps, batch 2:" in result.output
    assert rows["data"]["detail"].startswith("memory mode")
    assert "GENESIS bench (debug)" in result.stdout


@pytest.mark.slow
def test_baseline_sweep_and_profile(cli: Cli, tmp_path: Path) -> None:
    """Two batch sizes, the original configuration beside ours, the speed-up line and the profile file."""
    out, prof = tmp_path / "bench.json", tmp_path / "prof.txt"
    result = cli("bench", "--config", "debug", "--what", "train", "--batch-size", "1", "--batch-size", "2",
                 "--steps", "1", "--device", "cpu", "--baseline", "--profile", str(prof), "--json", str(out), *TINY)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    runs = {(r["variant"], r["batch_size"]) for r in report["results"]}
    assert runs == {("genesis", 1), ("genesis", 2), ("original", 1), ("original", 2)}
    original = [r for r in report["results"] if r["variant"] == "original"]
    assert all("patch 1" in r["detail"] and "AdamW" in r["detail"] for r in original)
    best = {v: max(r["events_per_second"] for r in report["results"] if r["variant"] == v) for v in ("genesis", "original")}
    assert report["speedup_over_original"]["train"] == pytest.approx(best["genesis"] / best["original"])
    assert report["speedup_over_original"]["train"] > 1  # 86 string tokens beat 5160 DOM tokens, even here
    assert "x the events/s of the original configuration" in result.stdout
    text = prof.read_text()
    assert text.count("== train (genesis) on cpu") == 2 and text.count("== train (original) on cpu") == 2
    assert "share of self time by kind" in text and "aten::" in text


def test_sampling_baseline_is_the_original_ddpm_job_scaled_from_timed_steps(tmp_path: Path) -> None:
    config = resolve_config("debug", overrides=["model.hidden=32", "model.heads=2"]).config
    report = run_bench(config, BenchPlan(("sample",), (2,), 1, device="cpu", baseline=True, student_steps=()),
                       lambda _: None)
    ours, original = report.results
    assert (ours.variant, original.variant) == ("genesis", "original")
    assert original.detail.startswith("ddpm, 1000 steps, 2 guidance passes, patch 1, fp32; timed over 2 steps")
    # 2 of 1000 steps timed: the rate counts 2/1000 of the batch per timed run
    assert original.events_per_second == pytest.approx(2 * 2 / 1000 / original.median_seconds)
    assert report.speedups["sample"] == pytest.approx(ours.events_per_second / original.events_per_second)
    assert report.speedups["sample"] > 100  # 20 steps of 86 tokens against 2 x 1000 passes over 5160 tokens


def test_several_samplers_and_guidance(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = cli("bench", "--config", "debug", "--what", "sample", "--sampler", "ddim", "--sampler", "dpm-solver",
                 "--sampling-steps", "3", "--guidance-scale", "2", "--steps", "1", "--device", "cpu",
                 "--student-steps", "0", "--json", str(out), *TINY)
    assert result.exit_code == 0, result.output
    details = [r["detail"] for r in json.loads(out.read_text())["results"]]
    assert details == ["ddim, 3 steps, guidance 2, fp32, eager", "dpm-solver, 3 steps, guidance 2, fp32, eager"]


@pytest.mark.parametrize(("args", "message"), [
    (("--what", "trian"), "--what trian: choose train, sample, data, loop or all"),
    (("--steps", "0"), "--steps 0: must be > 0"),
    (("--batch-size", "0"), "every batch size must be > 0"),
    (("--what", "sample", "--sampler", "euler"), "diffusion.sampler"),
    (("--what", "data"), "--data-path"),
])
def test_bad_requests_are_one_line_errors(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli("bench", "--config", "debug", "--device", "cpu", *args)
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert "Traceback" not in result.output


def test_out_of_gpu_memory_is_reported_and_the_sweep_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from genesis_cli.engine.bench import suite

    real = suite.train_workload

    def fake(config, batch, device, **kwargs):  # type: ignore[no-untyped-def]
        if batch == 4:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return real(config, batch, device, **kwargs)

    monkeypatch.setattr(suite, "train_workload", fake)
    config = resolve_config("debug", overrides=["model.hidden=32", "model.heads=2"]).config
    report = run_bench(config, BenchPlan(("train",), (4, 1), 1, device="cpu"), lambda _: None)
    assert report.failures == ["train, batch 4: out of GPU memory"]
    assert [r.batch_size for r in report.results] == [1]


def test_original_configuration_changes_only_tokens_precision_compilation_and_representation() -> None:
    config = resolve_config("default").config
    original = original_configuration(config)
    assert original.model.patch_size == 1 and original.training.amp_dtype == "fp16"
    assert original.training.compile is False
    assert (original.model.hidden, original.model.depth, original.model.heads) == (512, 8, 8)
    assert original.diffusion.event_channels == 2 and not original.model.dom_conditioning and original.model.dom_head == 0
    assert original.diffusion.model_copy(update={"hit_channel": True}) == config.diffusion


def test_profile_breakdown_shares_sum_to_one() -> None:
    a, b = torch.randn(64, 64), torch.randn(64, 64)
    workload = Workload("train", "genesis", torch.device("cpu"), 1, lambda: (a @ b).relu_(), 2 * 64**3, "matmul")
    profile = profile_workload(workload, 2)
    assert sum(profile.breakdown.values()) == pytest.approx(1.0)
    assert "matmul" in profile.breakdown


@pytest.mark.parametrize(("name", "kind"), [
    ("aten::mm", "matmul"), ("aten::addmm", "matmul"), ("sm90_xmma_gemm_bf16bf16_bf16f32", "matmul"),
    ("aten::_scaled_dot_product_flash_attention", "attention"), ("aten::convolution", "convolution"),
    ("aten::native_layer_norm", "normalisation"), ("aten::_foreach_lerp_", "optimizer, EMA, clipping"),
    ("aten::_foreach_norm", "optimizer, EMA, clipping"), ("aten::gelu", OTHER),
])
def test_operation_kinds(name: str, kind: str) -> None:
    assert kind_of(name) == kind


def test_peak_table_is_for_gpus_only() -> None:
    assert peak_flops(torch.device("cpu")) is None
    assert PEAK_BF16_TFLOPS["H100"] == 989.0


def test_cpu_peak_memory_resets() -> None:
    cpu = torch.device("cpu")
    block = np.ones(50_000_000)  # 400 MB resident
    del block
    high = peak_memory_bytes(cpu)
    if not reset_peak_memory(cpu):
        pytest.skip("this system cannot reset the resident high-water mark")
    assert peak_memory_bytes(cpu) < high - 300_000_000


def test_plan_rejects_nothing_to_do() -> None:
    with pytest.raises(UsageError):
        BenchPlan((), (1,), 1)
