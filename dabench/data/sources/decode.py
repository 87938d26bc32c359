"""Decoding one image file to a tensor, and what to do with files that do not decode.

How each PIL mode becomes the requested layout (``channels`` 1 = grey,
3 = RGB, ``None`` = native, grey staying grey):

* 8-bit modes go through PIL's ``convert``: grey (``L``, ``1``) to RGB repeats
  the grey value; RGB to grey uses PIL's ITU-R 601-2 luma weights; palette
  (``P``, ``PA``), CMYK and YCbCr images become RGB.
* Alpha (``RGBA``, ``LA``, ``PA``) is dropped, as ``convert("RGB")`` does and
  as torchvision's ``ImageFolder`` loader does: each pixel keeps its stored
  colour whatever its transparency.
* 16-bit grey (``I;16``, ``I;16B``, ``I;16L``, and ``I`` as older Pillow opens
  16-bit PNGs) is scaled by 1/65535 to [0, 1] and resized in floating point;
  PIL's ``convert("L")`` would clip every value above 255 to white. 32-bit
  float (``F``) is clipped to [0, 1].

A file PIL cannot decode (not an image, truncated, corrupted) raises
:class:`BadImageError`, a one-line user error naming the file and the fix,
unless ``data.bad_images`` is ``skip``: then :func:`screen_images` decodes
every image once when the domain loads, leaves the undecodable ones out and
logs how many (the run record's ``extra`` holds the count).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dabench.config import BAD_IMAGE_POLICIES
from dabench.errors import DataCorruptError, UserError

log = logging.getLogger(__name__)

_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_GREY = ("1", "L", "LA", "F", *_SIXTEEN_BIT)


class BadImageError(DataCorruptError):
    """An image file that PIL cannot decode."""


def check_policy(policy: str) -> str:
    if policy not in BAD_IMAGE_POLICIES:
        raise UserError(
            f"data.bad_images must be one of {', '.join(BAD_IMAGE_POLICIES)}, got {policy!r}"
        )
    return policy


def _pil_mode(image: Image.Image, channels: int | None) -> str:
    if channels == 1:
        return "L"
    if channels == 3:
        return "RGB"
    # Native: grey stays grey; palette, alpha and CMYK images become RGB so a
    # folder of mixed files still yields one of two layouts.
    return "L" if image.mode in _GREY else "RGB"


def _wide_grey(image: Image.Image, size: int | None, channels: int | None) -> torch.Tensor:
    """16-bit or float grey -> float32 (C, H, W) in [0, 1]."""
    scale = 65535.0 if image.mode in _SIXTEEN_BIT else 1.0
    array = np.clip(np.asarray(image, dtype=np.float32) / scale, 0.0, 1.0)
    if size is not None and array.shape != (size, size):
        wide = Image.fromarray(array, mode="F").resize((size, size), Image.Resampling.BILINEAR)
        array = np.clip(np.asarray(wide, dtype=np.float32), 0.0, 1.0)
    out = torch.from_numpy(array.copy())[None]
    return out.expand(3, -1, -1).contiguous() if channels == 3 else out


def decode_image(path: Path, size: int | None = None, channels: int | None = None) -> torch.Tensor:
    """Decode one image file to a float32 (C, H, W) tensor in [0, 1], resized
    to ``size`` x ``size`` (bilinear) when given; raises :class:`BadImageError`."""
    try:
        with Image.open(path) as image:
            if image.mode in _SIXTEEN_BIT or image.mode == "F":
                image.load()
                return _wide_grey(image, size, channels)
            image = image.convert(_pil_mode(image, channels))
            if size is not None and image.size != (size, size):
                image = image.resize((size, size), Image.Resampling.BILINEAR)
            array = np.asarray(image, dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        # PIL's errors for unreadable, truncated or corrupted files.
        raise BadImageError(
            f"cannot decode image {path} ({' '.join(str(e).split())}); replace or delete the file, "
            "or set data.bad_images=skip to leave undecodable images out"
        ) from e
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.transpose(2, 0, 1).copy()).float().div_(255.0)


def screen_images(
    paths: Sequence[Path],
    targets: Sequence[int],
    policy: str,
    what: str,
    size: int | None = None,
    channels: int | None = None,
) -> tuple[list[Path], list[int], list[Path]]:
    """``(paths, targets, skipped)``: under ``skip``, every image is decoded
    once and those that fail are left out, with a warning naming how many;
    under ``error``, nothing is decoded here (a bad file fails when it is read)."""
    check_policy(policy)
    if policy == "error":
        return list(paths), list(targets), []
    kept_paths: list[Path] = []
    kept_targets: list[int] = []
    skipped: list[Path] = []
    for path, target in zip(paths, targets, strict=True):
        try:
            decode_image(path, size, channels)
        except BadImageError:
            skipped.append(Path(path))
            continue
        kept_paths.append(Path(path))
        kept_targets.append(target)
    if skipped:
        log.warning(
            "%s: skipped %d of %d images that do not decode (data.bad_images=skip): %s",
            what,
            len(skipped),
            len(paths),
            ", ".join(str(p) for p in skipped[:5]) + (" ..." if len(skipped) > 5 else ""),
        )
    return kept_paths, kept_targets, skipped
