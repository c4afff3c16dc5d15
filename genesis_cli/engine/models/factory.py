"""Building models and diffusions from settings: the guide's ``ModelFactory``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from genesis_cli.engine.detector import Geometry, icecube86_geometry
from genesis_cli.engine.diffusion.gaussian import GaussianDiffusion
from genesis_cli.engine.models.base import GenesisModel
from genesis_cli.engine.models.cnn import cnn_trunk
from genesis_cli.engine.models.dit import dit_trunk
from genesis_cli.engine.models.hybrid import HybridTrunk
from genesis_cli.engine.models.layout import resolve_patch
from genesis_cli.engine.models.mlp import mlp_trunk
from genesis_cli.engine.models.resnet import resnet_trunk
from genesis_cli.engine.runtime.device import resolve_device
from genesis_cli.settings import DiffusionConfig, ModelConfig

#: Architecture name -> trunk builder (config -> nn.Module with forward(h, c, layout)).
TRUNKS: dict[str, Callable[[ModelConfig], nn.Module]] = {
    "dit": dit_trunk, "cnn": cnn_trunk, "mlp": mlp_trunk, "hybrid": HybridTrunk, "resnet": resnet_trunk,
}
GeometryLike = Geometry | np.ndarray | torch.Tensor


def geometry_array(geometry: GeometryLike | None) -> np.ndarray:
    """(3, L) positions of a geometry (default: the built-in IceCube-86 detector)."""
    if geometry is None:
        return icecube86_geometry().positions
    if isinstance(geometry, Geometry):
        return geometry.positions
    array = geometry.detach().cpu().numpy() if isinstance(geometry, torch.Tensor) else np.asarray(geometry)
    return array[0] if array.ndim == 3 else array


def build_model(config: ModelConfig, geometry: GeometryLike | None = None, channels: int | None = None) -> GenesisModel:
    """A model for ``config`` producing ``channels`` per DOM (default: the default diffusion's event
    channels); ``geometry`` (default IceCube) fixes what patch_size 'string' means and the metres per
    normalised unit of the label-relative features."""
    positions = geometry_array(geometry)
    patch = resolve_patch(config.resolved_patch_size(), positions)
    channels = DiffusionConfig().event_channels if channels is None else channels
    return GenesisModel(config, TRUNKS[config.architecture](config), patch, channels, Geometry(*positions).half_size)


class ModelFactory:
    """``ModelFactory.create_model_and_diffusion(config.model, config.diffusion, device="cuda")``."""

    @staticmethod
    def create_model(model_cfg: ModelConfig, *, device: str | torch.device | None = "cpu",
                     geometry: GeometryLike | None = None, channels: int | None = None) -> GenesisModel:
        return build_model(model_cfg, geometry, channels).to(resolve_device(device))

    @staticmethod
    def create_model_and_diffusion(model_cfg: ModelConfig, diffusion_cfg: DiffusionConfig, *,
                                   device: str | torch.device | None = "cpu",
                                   geometry: GeometryLike | None = None) -> tuple[GenesisModel, GaussianDiffusion]:
        model = ModelFactory.create_model(model_cfg, device=device, geometry=geometry,
                                          channels=diffusion_cfg.event_channels)
        diffusion = GaussianDiffusion(model, diffusion_cfg).to(resolve_device(device))
        return model, diffusion
