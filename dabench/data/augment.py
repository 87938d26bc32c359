"""In-batch image augmentations for self-training methods (FixMatch).

They run on a batch tensor ``(n, C, H, W)`` with values in [0, 1], on whatever
device it lives, for 1- and 3-channel images alike:

* ``weak``: a random translation of up to ``translate`` of the image size per
  sample (integer pixels, zero fill; vectorised with ``affine_grid``) and, when
  ``flip`` is set, a random horizontal flip per sample (off for digits, whose
  mirror images are other glyphs).
* ``strong``: ``weak``, then torchvision.transforms.v2 ``RandAugment`` (2 ops,
  magnitude 9, its op set: identity, shear, translate, rotate, brightness,
  colour, contrast, sharpness, posterize, solarize, autocontrast, equalize),
  drawn independently for each of ``groups`` slices of the batch (one draw per
  call is per batch in torchvision), then Cutout of a random square of half
  the image side per sample (FixMatch's strong augmentation ends with Cutout).

Randomness comes from torch's global generator, which the trainer seeds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def weak_augment(x: torch.Tensor, translate: float = 0.125, flip: bool = False) -> torch.Tensor:
    n, _, h, w = x.shape
    if flip:
        flips = torch.rand(n, device=x.device) < 0.5
        x = torch.where(flips.view(n, 1, 1, 1), x.flip(3), x)
    if translate <= 0:
        return x
    dx = torch.randint(-int(translate * w), int(translate * w) + 1, (n,), device=x.device)
    dy = torch.randint(-int(translate * h), int(translate * h) + 1, (n,), device=x.device)
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    # affine_grid works in [-1, 1] coordinates: a shift of d pixels is 2d / size.
    theta[:, 0, 2] = -2.0 * dx.to(x.dtype) / w
    theta[:, 1, 2] = -2.0 * dy.to(x.dtype) / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def cutout(x: torch.Tensor, fraction: float = 0.5) -> torch.Tensor:
    """Zero a random square of side ``fraction * min(H, W)`` per sample (it may
    be clipped at the border), as DeVries & Taylor 2017 and FixMatch do."""
    n, _, h, w = x.shape
    side = max(1, int(fraction * min(h, w)))
    cy = torch.randint(0, h, (n, 1, 1), device=x.device)
    cx = torch.randint(0, w, (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    lo, hi = side // 2, side - side // 2  # rows cy - lo .. cy + hi - 1: exactly ``side``
    inside = (ys >= cy - lo) & (ys < cy + hi) & (xs >= cx - lo) & (xs < cx + hi)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def strong_augment(
    x: torch.Tensor,
    translate: float = 0.125,
    flip: bool = False,
    num_ops: int = 2,
    magnitude: int = 9,
    groups: int = 8,
) -> torch.Tensor:
    from torchvision.transforms import v2

    x = weak_augment(x, translate, flip).clamp(0.0, 1.0)
    ra = v2.RandAugment(num_ops=num_ops, magnitude=magnitude)
    x = torch.cat([ra(chunk) for chunk in x.split(max(1, -(-len(x) // groups)))])
    return cutout(x)
