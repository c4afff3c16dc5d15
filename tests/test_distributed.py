"""Launches (issue 12, items 7-8): torchrun's and srun's variables, refusals, one EMA per run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from genesis_cli.engine.runtime.distributed import Distributed, first_host
from genesis_cli.errors import UsageError

SRUN = {"SLURM_JOB_ID": "4242117", "SLURM_NTASKS": "4", "SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "2",
        "SLURM_LOCALID": "0", "SLURM_STEP_NODELIST": "gpu[017-018]", "SLURM_JOB_NODELIST": "gpu[017-018]"}


def test_srun_tasks_know_their_rank_and_the_rendezvous(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.setenv(key, "")  # recorded, so that what from_environment exports is undone afterwards
        monkeypatch.delenv(key)
    for key, value in SRUN.items():
        monkeypatch.setenv(key, value)
    found = Distributed.from_environment()
    assert (found.rank, found.world, found.local_rank, found.launcher, found.is_main) == (2, 4, 0, "slurm", False)
    assert (os.environ["RANK"], os.environ["WORLD_SIZE"], os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"]) == \
        ("2", "4", "gpu017", "17117")


def test_torchrun_wins_over_slurm() -> None:
    env = {**SRUN, "WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"}
    assert Distributed.from_environment(env) == Distributed(1, 2, 1, "torchrun")


def test_the_batch_script_itself_is_one_process() -> None:
    """sbatch --ntasks=4 sets SLURM_NTASKS and SLURM_PROCID in the batch script, which runs once."""
    env = {key: value for key, value in SRUN.items() if not key.startswith("SLURM_STEP")}
    assert Distributed.from_environment(env) == Distributed()


@pytest.mark.parametrize("drop,message", [("SLURM_LOCALID", "SLURM_LOCALID is not set"),
                                          ("nodes", "SLURM_STEP_NODELIST is not set")])
def test_incomplete_srun_steps_are_refused_pointing_to_torchrun(drop: str, message: str) -> None:
    env = {key: value for key, value in SRUN.items() if key != drop and not (drop == "nodes" and "NODELIST" in key)}
    with pytest.raises(UsageError, match=message) as info:
        Distributed.from_environment(env)
    assert "torchrun" in (info.value.hint or "")


def test_unreadable_node_list_is_refused() -> None:
    with pytest.raises(UsageError, match="cannot read its first host"):
        Distributed.from_environment({**SRUN, "SLURM_STEP_NODELIST": "[bad"})


@pytest.mark.parametrize("nodes,first", [("gpu[003-005,010]", "gpu003"), ("a01,b02", "a01"), ("node7", "node7"),
                                         ("n[1-2]-ib", "n1-ib")])
def test_first_host_of_a_node_list(nodes: str, first: str) -> None:
    assert first_host(nodes) == first


def _ema_of_rank(rank: int, world: int, port: int, config: dict, out: str) -> None:  # type: ignore[type-arg]
    import torch

    from genesis_cli.engine.training.trainer import Trainer
    from genesis_cli.settings import ExperimentConfig

    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    trainer = Trainer(ExperimentConfig.model_validate(config), Path(out) / "run")
    torch.save(trainer.ema.shadow, Path(out) / f"ema{rank}.pt")
    torch.distributed.destroy_process_group()


def test_every_rank_starts_its_ema_from_rank_0s_weights(toy_file: Path, tmp_path: Path) -> None:
    import socket

    import torch
    import torch.multiprocessing as mp

    from tests.test_training import config_for

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = config_for(toy_file, tmp_path, "ddp", "device=cpu").to_dict()
    mp.spawn(_ema_of_rank, args=(2, port, config, str(tmp_path)), nprocs=2, join=True)
    first, second = (torch.load(tmp_path / f"ema{rank}.pt", weights_only=True) for rank in (0, 1))
    assert all(torch.equal(first[name], second[name]) for name in first)
