"""Diffusion mathematics: schedules, the Gaussian diffusion (loss, guidance), samplers."""

from genesis_cli.engine.diffusion.gaussian import GaussianDiffusion
from genesis_cli.engine.diffusion.schedules import make_betas

__all__ = ["GaussianDiffusion", "make_betas"]
