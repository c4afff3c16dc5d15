"""ResNet: deep residual convolutions along strings (He et al. 2016), FiLM-conditioned,
with neighbouring-string mixing in every block."""

from __future__ import annotations

from genesis_cli.engine.models.base import GridTrunk
from genesis_cli.engine.models.convolution import ResidualConvBlock
from genesis_cli.settings import ModelConfig


def resnet_trunk(config: ModelConfig) -> GridTrunk:
    return GridTrunk([ResidualConvBlock(config.hidden, config.hidden, config.kernel_size, config.dropout)
                      for _ in range(config.depth)], config.gradient_checkpointing)
