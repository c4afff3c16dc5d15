"""Denoising networks: one interface, five architectures (dit, cnn, mlp, hybrid, resnet)."""

from genesis_cli.engine.models.base import GenesisModel
from genesis_cli.engine.models.factory import ModelFactory, build_model
from genesis_cli.engine.models.profile import ModelCost, count_parameters, model_cost

__all__ = ["GenesisModel", "ModelCost", "ModelFactory", "build_model", "count_parameters", "model_cost"]
