"""Where this process stands in a multi-process launch: torchrun, or SLURM's ``srun`` without torchrun.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK (and the rendezvous MASTER_ADDR/MASTER_PORT). Under
``srun`` without torchrun, every task would otherwise believe it is rank 0 of 1 and write the same
run directory; so SLURM's own variables are read instead: SLURM_PROCID (rank), SLURM_STEP_NUM_TASKS
(world; set by srun for a job step, unlike SLURM_NTASKS, which the batch script sees too),
SLURM_LOCALID (rank on the node) and the first host of SLURM_STEP_NODELIST as the rendezvous
address, with a port derived from the job id. They are exported in torchrun's names, so
``torch.distributed.init_process_group`` finds them. A SLURM step whose variables are incomplete or
whose node list cannot be read is refused with a message that says to use torchrun.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from genesis_cli.errors import UsageError

#: The rendezvous port under srun: this plus the job id's last four digits (Lightning's convention).
SLURM_PORT_BASE = 15000
TORCHRUN_HINT = "launch with torchrun (srun torchrun --nproc_per_node=N -m genesis_cli train ...), or run one task"


@dataclass(frozen=True)
class Distributed:
    """This process's place in a launch (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    launcher: str = "none"  # none, torchrun or slurm

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Distributed:
        """Read torchrun's variables, else srun's (exporting them as torchrun's for the rendezvous)."""
        env = os.environ if environ is None else environ
        if "WORLD_SIZE" in env:
            world = int(env["WORLD_SIZE"])
            if world <= 1:
                return cls()
            return cls(int(env["RANK"]), world, int(env.get("LOCAL_RANK", "0")), "torchrun")
        if int(env.get("SLURM_STEP_NUM_TASKS", "1") or "1") <= 1:
            return cls()
        found = slurm_launch(env)
        if environ is None:  # the real environment: make it a torchrun-style one for init_process_group
            for key, value in found.torchrun_variables(env).items():
                os.environ.setdefault(key, value)
        return found

    def torchrun_variables(self, env: Mapping[str, str]) -> dict[str, str]:
        """RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT for a SLURM launch."""
        nodes = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST") or ""
        return {"RANK": str(self.rank), "WORLD_SIZE": str(self.world), "LOCAL_RANK": str(self.local_rank),
                "MASTER_ADDR": first_host(nodes),
                "MASTER_PORT": str(SLURM_PORT_BASE + int(env.get("SLURM_JOB_ID", "0")[-4:] or "0"))}


def slurm_launch(env: Mapping[str, str]) -> Distributed:
    """The launch an ``srun`` step with several tasks describes; UsageError when it is incomplete."""
    world = int(env["SLURM_STEP_NUM_TASKS"])
    missing = [key for key in ("SLURM_PROCID", "SLURM_LOCALID") if key not in env]
    nodes = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST")
    if not nodes:
        missing.append("SLURM_STEP_NODELIST")
    if missing:
        raise UsageError(f"running under srun with {world} tasks, but {', '.join(missing)} is not set", hint=TORCHRUN_HINT)
    first_host(nodes)  # refuses a node list it cannot read
    return Distributed(int(env["SLURM_PROCID"]), world, int(env["SLURM_LOCALID"]), "slurm")


_HOST = re.compile(r"^([^\[,]+)(?:\[([^\]]+)\])?([^,]*)")


def first_host(nodes: str) -> str:
    """The first host of a SLURM node list: ``gpu[003-005,010]`` -> ``gpu003``, ``a,b`` -> ``a``."""
    match = _HOST.match(nodes.strip())
    if not match:
        raise UsageError(f"SLURM node list {nodes!r}: cannot read its first host", hint=TORCHRUN_HINT)
    prefix, ranges, suffix = match.groups()
    if ranges is None:
        return prefix + suffix
    first = ranges.split(",")[0].split("-")[0]
    return f"{prefix}{first}{suffix}"
