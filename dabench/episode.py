"""From a run's splits to the method it trains: the k-shot episode, the
frozen-feature cache and the n-way relabelling, in one place.

``api.run`` calls :func:`build_method` instead of constructing the method
itself. For most methods that is the same thing; for the others:

* a ``few_shot`` method needs ``data.shots >= 1``: target train is split into
  the episode's labelled support (``splits.target_support``) and the rest of
  the pool, which stays unlabeled (:mod:`dabench.data.fewshot`); any other
  method with ``data.shots`` set is a user error, so a record never claims a
  protocol it did not run;
* a head on a frozen backbone (``frozen_features = True``) gets its splits as
  cached feature vectors (:mod:`dabench.data.feature_cache`); the splits it
  does not read are left empty;
* a head that learns from source labels without SGD (``use_source``) receives
  the source training split, and nothing of the target; it may cap the images
  per class it reads from a split (``per_class_limits``), which also caps the
  backbone passes spent on it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from dabench.config import RunConfig
from dabench.data.base import dataset_targets
from dabench.data.feature_cache import FeatureDataset, cached_features
from dabench.data.fewshot import episode_splits
from dabench.data.pairs import Pair, PairSplits, _subset
from dabench.errors import UserError
from dabench.methods.base import Method, TargetAccess

log = logging.getLogger(__name__)

SPLITS = ("source_train", "source_val", "target_train", "target_val", "target_test")


def check_protocol(method_cls: type[Method], cfg: RunConfig) -> None:
    """Few-shot methods need shots; nothing else may claim them."""
    few = method_cls.target_access == TargetAccess.FEW_SHOT
    if few and cfg.data.shots < 1:
        raise UserError(
            f"{cfg.method} is a few-shot method: set data.shots to k >= 1 "
            f"(e.g. --set data.shots=5), or use `dabench curve`"
        )
    if not few and (cfg.data.shots or cfg.data.ways or cfg.data.episode):
        raise UserError(
            f"{cfg.method} sees no target labels; data.shots, data.ways and data.episode "
            f"apply to few-shot methods only"
        )


def featurize(
    splits: PairSplits,
    pair: Pair,
    backbone_name: str,
    backbone: torch.nn.Module,
    device: torch.device,
    wanted: tuple[str, ...],
) -> PairSplits:
    """Replace the ``wanted`` splits by their (cached) frozen features, the
    others by empty feature sets."""
    backbone.to(device)
    dim = int(getattr(backbone, "out_features", 0))
    out: dict[str, Any] = {}
    hits = 0
    for name in SPLITS:
        ds = getattr(splits, name)
        if name in wanted and len(ds):
            domain = (pair.source if name.startswith("source") else pair.target).name
            out[name], hit = cached_features(backbone_name, backbone, domain, name, ds, device)
            hits += hit
        else:
            out[name] = FeatureDataset(
                torch.zeros(0, dim), torch.zeros(0, dtype=torch.long), list(pair.classes)
            )
    log.info("frozen features: %d of %d splits from the cache", hits, len(wanted))
    return replace(splits, **out)


def first_per_class(ds: Any, k: int) -> Any:
    """The first ``k`` images of each class, in split order (deterministic)."""
    y = dataset_targets(ds).numpy()
    idx = np.sort(np.concatenate([np.flatnonzero(y == c)[:k] for c in np.unique(y)]))
    return _subset(ds, idx)


def build_method(
    cfg: RunConfig,
    pair: Pair,
    method_cls: type[Method],
    splits: PairSplits,
    backbone: torch.nn.Module,
    device: torch.device,
) -> tuple[PairSplits, Method]:
    """The splits the method trains and is scored on, and the method itself."""
    check_protocol(method_cls, cfg)
    if getattr(method_cls, "frozen_features", False):
        wanted = tuple(getattr(method_cls, "feature_splits", SPLITS))
        limits = getattr(method_cls, "per_class_limits", None)
        for name, k in (limits(cfg.hparams) if limits else {}).items():
            if k:
                splits = replace(splits, **{name: first_per_class(getattr(splits, name), k)})
        splits = featurize(splits, pair, cfg.backbone, backbone, device, wanted)
    num_classes = len(pair.classes)
    if cfg.data.shots:
        splits, num_classes = episode_splits(
            splits, pair.name, num_classes, cfg.data.shots, cfg.data.ways, cfg.data.episode
        )
    method = method_cls(backbone, num_classes, cfg.hparams, cfg.train.steps, pair=pair)
    use_source = getattr(method, "use_source", None)
    if use_source is not None:
        use_source(splits.source_train)
    return splits, method


def extra_metrics(method: Method, splits: PairSplits, device: torch.device) -> dict[str, Any]:
    """Metrics a head reports beyond accuracy and F1 (e.g. zero-shot's
    seen/unseen accuracies), scored on target test once, after fitting."""
    fn = getattr(method, "extra_metrics", None)
    return dict(fn(splits.target_test, device)) if fn is not None else {}
