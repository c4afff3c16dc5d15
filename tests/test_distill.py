"""`genesis distill`: the consistency sampler, the distillation objective, the student's settings and the
command end to end on the debug preset (issue 27)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from genesis_cli.engine.diffusion import GaussianDiffusion
from genesis_cli.engine.diffusion.samplers.consistency import (
    boundary_scalings,
    consistency_output,
    grid_timesteps,
    sample_consistency,
    sampling_timesteps,
)
from genesis_cli.engine.diffusion.schedules import make_betas
from genesis_cli.engine.distill.consistency import ConsistencyDistillation
from genesis_cli.engine.distill.teacher import student_config
from genesis_cli.engine.models import ModelFactory
from genesis_cli.engine.runs.reports import RunInfo
from genesis_cli.errors import ConfigError, UsageError
from genesis_cli.settings import ExperimentConfig, derive_config, resolve_config


def _schedule(total: int = 1000) -> torch.Tensor:
    return torch.cumprod(1 - make_betas("linear", total), dim=0)


# -- the sampler ------------------------------------------------------------------------------------------
def test_grid_and_step_spacing_follow_latent_consistency_models() -> None:
    assert grid_timesteps(1000, 50)[:3] == [19, 39, 59] and grid_timesteps(1000, 50)[-1] == 999
    assert sampling_timesteps(1000, 50, 4) == [999, 759, 519, 279]
    assert sampling_timesteps(1000, 50, 2) == [999, 499]
    assert sampling_timesteps(1000, 50, 1) == [999]
    with pytest.raises(ValueError, match="1 to 50 steps"):
        sampling_timesteps(1000, 50, 51)


def test_boundary_condition_holds_at_t_zero_and_vanishes_on_the_grid() -> None:
    c_skip, c_out = boundary_scalings(torch.tensor([0, 19, 999]))
    assert c_skip[0] == 1 and c_out[0] == 0  # f(x, 0) = x
    assert (c_skip[1:] < 1e-5).all() and (c_out[1:] > 1 - 1e-5).all()
    x, x0 = torch.randn(2, 3, 5), torch.randn(2, 3, 5)
    assert torch.equal(consistency_output(x, torch.tensor([0, 0]), x0), x)


@pytest.mark.parametrize("steps", [1, 2, 4])
def test_a_perfect_consistency_function_lands_on_its_clean_point_in_any_number_of_steps(steps: int) -> None:
    ac = _schedule()
    clean = torch.randn(3, 3, 16, generator=torch.Generator().manual_seed(0))

    def eps(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:  # the exact noise of ``clean`` at x_t
        a = ac[t].view(-1, 1, 1).float()
        return (x_t - a.sqrt() * clean) / (1 - a).sqrt()

    out = sample_consistency(eps, torch.randn(3, 3, 16), ac, steps, grid=50, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(out, clean, atol=1e-4)


# -- the objective ----------------------------------------------------------------------------------------
def _tiny_distillation(guidance: float = 2.0) -> tuple[ConsistencyDistillation, torch.Tensor]:
    config = resolve_config("debug", overrides=["model.hidden=32", "model.heads=2", "model.depth=1",
                                                "model.dom_head=8"]).config
    geometry = np.stack([np.repeat(np.arange(3) * 100.0, 4), np.zeros(12), np.tile(np.linspace(-50, 50, 4), 3)])
    teacher_model, teacher = ModelFactory.create_model_and_diffusion(config.model, config.diffusion, geometry=geometry)
    with torch.no_grad():  # a "trained" teacher: adaLN-Zero starts every output at zero, whatever the label
        g = torch.Generator().manual_seed(11)
        for p in teacher_model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    student_model = ModelFactory.create_model(config.model, geometry=geometry, channels=config.diffusion.event_channels)
    student_model.load_state_dict(teacher_model.state_dict())
    distill = config.distill.model_copy(update={"guidance_scale": guidance})
    return ConsistencyDistillation(student_model, config.diffusion, teacher, distill), torch.from_numpy(geometry).float()


def _batch(n_doms: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    hit = torch.rand(4, n_doms, generator=g) < 0.3
    x0 = torch.cat([torch.randn(4, 2, n_doms, generator=g) * hit[:, None], torch.where(hit, 1.0, -1.0)[:, None]], dim=1)
    return x0, torch.randn(4, 6, generator=g)


def test_the_loss_trains_the_student_only_and_is_deterministic_under_a_generator() -> None:
    distillation, geometry = _tiny_distillation()
    x0, label = _batch()
    teacher_before = {k: v.clone() for k, v in distillation.teacher.state_dict().items()}
    loss = distillation.loss(x0, geometry, label, generator=torch.Generator().manual_seed(5))
    again = distillation.loss(x0, geometry, label, generator=torch.Generator().manual_seed(5))
    assert torch.isfinite(loss) and loss.item() > 0 and torch.equal(loss, again)
    loss.backward()
    assert all(p.grad is not None for p in distillation.model.parameters() if p.requires_grad)
    assert all(p.grad is None and not p.requires_grad for p in distillation.teacher.parameters())
    assert all(torch.equal(v, teacher_before[k]) for k, v in distillation.teacher.state_dict().items())


def test_the_teacher_stays_frozen_in_evaluation_mode_and_travels_with_a_wrapped_model() -> None:
    distillation, _ = _tiny_distillation()
    distillation.train()
    assert distillation.model.training and not distillation.teacher.training
    wrapped = distillation.with_model(torch.nn.Identity())
    assert isinstance(wrapped, ConsistencyDistillation) and wrapped.teacher is distillation.teacher


def test_the_teacher_step_folds_guidance_into_the_target() -> None:
    distillation, geometry = _tiny_distillation(guidance=1.0)
    guided, _ = _tiny_distillation(guidance=3.0)
    guided.teacher.load_state_dict(distillation.teacher.state_dict())
    x0, label = _batch()
    t, s = torch.full((4,), 499), torch.full((4,), 479)
    x_t = distillation.q_sample(x0, t, torch.randn(x0.shape, generator=torch.Generator().manual_seed(0)))
    plain = distillation.teacher_step(x_t, t, s, label, geometry)
    expected_eps = distillation.teacher.project(x_t, t, distillation.teacher.guided_eps(x_t, t, label, geometry, 3.0))
    a_t, a_s = distillation.alphas_cumprod[499].float(), distillation.alphas_cumprod[479].float()
    clean = (x_t - (1 - a_t).sqrt() * expected_eps) / a_t.sqrt()
    assert torch.allclose(guided.teacher_step(x_t, t, s, label, geometry),
                          a_s.sqrt() * clean + (1 - a_s).sqrt() * expected_eps, atol=1e-5)
    assert not torch.allclose(plain, guided.teacher_step(x_t, t, s, label, geometry))


# -- settings ---------------------------------------------------------------------------------------------
def test_consistency_sampling_belongs_to_students_and_students_to_it() -> None:
    with pytest.raises(ConfigError, match="this run is no student"):
        derive_config(ExperimentConfig(), {"diffusion.sampler": "consistency"}, "x")
    student = derive_config(ExperimentConfig(), {"distill.teacher": "t.pt", "diffusion.sampler": "consistency",
                                                 "diffusion.sampling_steps": 4}, "x")
    with pytest.raises(ConfigError, match="cannot sample a distilled student"):
        derive_config(student, {"diffusion.sampler": "ddim"}, "x")
    with pytest.raises(ConfigError, match="folded in"):
        derive_config(student, {"diffusion.guidance_scale": 2.0}, "x")
    with pytest.raises(ConfigError, match="1 to 10 steps"):
        derive_config(student, {"diffusion.sampling_steps": 11}, "x")


def test_student_settings_come_from_the_teacher_and_the_distill_section(trained_run: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    teacher = trained_run / "model_best.pt"
    config = student_config(teacher, {"distill.guidance_scale": 2.0, "distill.steps": 2}, {})
    assert config.distill.teacher == str(teacher.resolve()) and config.distill.guidance_scale == 2.0
    assert (config.diffusion.sampler, config.diffusion.sampling_steps, config.diffusion.guidance_scale) == \
        ("consistency", 2, 1.0)
    assert config.training.max_steps == config.distill.max_steps  # no budget given: the distill default
    assert config.training.learning_rate == config.distill.learning_rate
    assert str(config.checkpoint_dir) == "checkpoints" and config.experiment_name == "student"  # written here
    from genesis_cli.engine.runs.checkpoint import load_checkpoint

    assert config.model == load_checkpoint(teacher).settings().model  # the teacher's network
    timed = student_config(teacher, {"training.time_budget": "90s"}, {})
    assert timed.training.max_steps is None and timed.training.time_budget == 90


def test_dashboard_leaves_out_an_epoch_total_that_does_not_bound_the_run() -> None:
    info = RunInfo("s", "d", "cpu", "dit", 1, 10, 2, 500, 100, 1_000_000, 0, None, None, student=True)
    assert info.epochs_text == "" and info.activity == "Distilling"
    assert RunInfo("t", "d", "cpu", "dit", 1, 10, 2, 500, 1000, 2, 0, None, None).epochs_text == "/2"


# -- the command, end to end --------------------------------------------------------------------------------
def _distil(cli, teacher: Path, *args: str):  # type: ignore[no-untyped-def]
    return cli("distill", str(teacher), "--max-steps", "3", "--batch-size", "4", "--seed", "3", *args)


@pytest.mark.slow
def test_distill_then_sample_in_four_and_one_steps(cli, trained_run: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   monkeypatch: pytest.MonkeyPatch, toy_file: Path) -> None:
    monkeypatch.chdir(tmp_path)
    result = _distil(cli, trained_run, "--steps", "4", "--guidance-scale", "2")
    assert result.exit_code == 0, result.output
    assert "into a consistency student: guidance 2 folded in" in result.output and "Distilling student" in result.output
    assert "distillation reached its budget: checkpoints in checkpoints/student" in result.output
    run = tmp_path / "checkpoints" / "student"
    assert (run / "model_final.pt").exists()
    from genesis_cli.engine.sampling.generator import TrainedGenerator

    loaded = TrainedGenerator.load(run / "model_final.pt", "cpu", compile=False)
    assert type(loaded.diffusion) is GaussianDiffusion  # a student samples without its teacher
    written = {}
    for steps, seed in (("4", "1"), ("1", "1"), ("4", "1"), ("4", "2")):
        out = tmp_path / f"s{steps}-{seed}-{len(written)}.h5"
        sampled = cli("sample", "--checkpoint", str(run), "--steps", steps, "--seed", seed, "--labels-from",
                      str(toy_file), "-n", "6", "-o", str(out))
        assert sampled.exit_code == 0, sampled.output
        with h5py.File(out) as handle:
            events = handle["input"][:]
            attrs = dict(handle.attrs)
        npe, time = events[:, 0], events[:, 1]
        assert events.shape == (6, 2, 5160)
        assert np.isinf(time[npe == 0]).all() and (npe[npe != 0] > 0).all()  # exact zeros: a DOM is hit or empty
        assert (attrs["sampler"], int(attrs["steps"]), attrs["distillation"]) == ("consistency", int(steps), "consistency")
        assert attrs["guidance_scale"] == 2.0 and attrs["distilled_from"].endswith("model_best.pt")
        written[(steps, seed, len(written))] = events
    four = [v for (s, seed, _), v in written.items() if s == "4" and seed == "1"]
    assert np.array_equal(four[0], four[1])  # deterministic under a seed
    other = next(v for (s, seed, _), v in written.items() if seed == "2")
    assert not np.array_equal(four[0], other)


@pytest.mark.slow
def test_a_student_resumes_and_refuses_what_it_cannot_do(cli, trained_run: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _distil(cli, trained_run, "--experiment-name", "s").exit_code == 0
    resumed = cli("resume", "checkpoints/s", "--max-steps", "5")
    assert resumed.exit_code == 0, resumed.output
    assert "resuming" in resumed.output and "Distilling s" in resumed.output
    from genesis_cli.engine.runs.checkpoint import load_checkpoint

    assert load_checkpoint(tmp_path / "checkpoints" / "s" / "model_final.pt").global_step == 5
    refused = cli("distill", "checkpoints/s")
    assert refused.exit_code == 2 and "is a distilled student" in refused.output
    wrong = cli("sample", "--checkpoint", "checkpoints/s", "--sampler", "dpm-solver", "-n", "2", "-o", "x.h5")
    assert wrong.exit_code == 2 and "cannot sample a distilled student" in wrong.output
    assert not (tmp_path / "x.h5").exists()


def test_a_missing_teacher_is_named_with_what_to_do(trained_run: Path, tmp_path: Path) -> None:
    from genesis_cli.engine.distill.teacher import load_teacher

    config = student_config(trained_run / "model_best.pt", {}, {})
    gone = derive_config(config, {"distill.teacher": str(tmp_path / "gone.pt")}, "x")
    with pytest.raises(UsageError, match="gone.pt: the teacher of student 'student' is not there"):
        load_teacher(gone, torch.device("cpu"))
    differing = derive_config(config, {"model.depth": 3}, "x")
    with pytest.raises(UsageError, match="model.depth differ"):
        load_teacher(differing, torch.device("cpu"))


def test_the_last_step_draws_each_hit_bit_from_its_estimate() -> None:
    from genesis_cli.engine.diffusion.hits import draw_hits

    x0 = torch.zeros(2000, 3, 3)
    x0[:, 0] = 5.0
    x0[:, 2] = torch.tensor([1.0, -1.0, 0.0])  # certain hit, certain empty, a coin
    drawn = draw_hits(x0, torch.Generator().manual_seed(0))
    assert torch.equal(drawn, draw_hits(x0, torch.Generator().manual_seed(0)))
    assert (drawn[:, 2, 0] == 1).all() and (drawn[:, 2, 1] == -1).all()
    assert abs(float((drawn[:, 2, 2] == 1).float().mean()) - 0.5) < 0.05
    assert set(drawn[:, 2].unique().tolist()) == {-1.0, 1.0} and torch.equal(drawn[:, :2], x0[:, :2])
