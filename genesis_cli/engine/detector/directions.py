"""Directions from labels. IceCube convention: (zenith, azimuth) is where the particle comes FROM."""

from __future__ import annotations

import numpy as np


def travel_direction(zenith: np.ndarray, azimuth: np.ndarray) -> np.ndarray:
    """(N, 3) unit vectors along which the particle travels (opposite to where it comes from)."""
    return -np.stack([np.sin(zenith) * np.cos(azimuth), np.sin(zenith) * np.sin(azimuth), np.cos(zenith)], axis=1)
