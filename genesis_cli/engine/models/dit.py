"""DiT: a transformer over string segments with adaLN-Zero conditioning (Peebles & Xie 2023).

Tokens are patches of P DOMs along a string (default: a whole string, 86 tokens for IceCube).
Attention over all tokens mixes information across strings as well as along them.
"""

from __future__ import annotations

from genesis_cli.engine.models.attention import AdaLNBlock
from genesis_cli.engine.models.base import TokenTrunk
from genesis_cli.settings import ModelConfig


def dit_trunk(config: ModelConfig) -> TokenTrunk:
    return TokenTrunk([AdaLNBlock(config.hidden, config.heads, config.mlp_ratio, config.dropout)
                       for _ in range(config.depth)], config.gradient_checkpointing)
