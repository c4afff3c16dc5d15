"""Which generated events were made for which real events' labels.

`genesis sample --labels-from test.h5` and the fidelity benchmark generate one event for each real
event's labels, so the two files are paired event by event. The judge must know: a classifier whose
folds split a pair learns from one twin to call the other the opposite class (classifier.py), and a
physics shift measured on pairs (generated minus real at identical labels) is far more precise than
one measured between two samples (shifts.py). Pairs are found by the label vector itself, compared at
the precision event files store (float32), whatever the order of the two files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Shifts are measured on pairs when at least this share of the generated events has a real partner.
PAIRED_SHARE = 0.5


@dataclass(frozen=True)
class Pairing:
    """Group ids of real (N,) and generated (M,) events (equal labels, equal group) and the pairs:
    generated event ``generated_index[k]`` was made for real event ``real_index[k]``'s labels."""

    real_groups: np.ndarray
    generated_groups: np.ndarray
    real_index: np.ndarray
    generated_index: np.ndarray

    @classmethod
    def of(cls, real_labels: np.ndarray, generated_labels: np.ndarray) -> Pairing:
        """Groups by identical float32 label vectors; each generated event is paired with the first real
        event of its group not yet taken (so repeated labels pair one to one, in order)."""
        rows = np.ascontiguousarray(np.concatenate([real_labels, generated_labels]).astype(np.float32))
        _, groups = np.unique(rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel(),
                              return_inverse=True)
        real_groups, generated_groups = groups[:len(real_labels)], groups[len(real_labels):]
        waiting: dict[int, list[int]] = {}
        for i in np.argsort(real_groups, kind="stable")[::-1]:
            waiting.setdefault(int(real_groups[i]), []).append(int(i))
        real_index, generated_index = [], []
        for j, group in enumerate(generated_groups):
            queue = waiting.get(int(group))
            if queue:
                real_index.append(queue.pop())
                generated_index.append(j)
        return cls(real_groups, generated_groups, np.array(real_index, np.int64), np.array(generated_index, np.int64))

    @property
    def pairs(self) -> int:
        return len(self.real_index)

    @property
    def paired(self) -> bool:
        """Whether the generated events were made for the real events' labels (most have a partner)."""
        return self.pairs >= max(1, PAIRED_SHARE * len(self.generated_groups))
