"""The k-shot protocol: seeded support draws and what a few-shot method may see."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dabench.config import build_config
from dabench.data.base import TensorImageDataset
from dabench.data.fewshot import draw_support, episode_splits
from dabench.data.pairs import PairSplits
from dabench.episode import build_method, check_protocol
from dabench.errors import UserError
from dabench.methods import METHODS, TargetAccess
from dabench.models import build_backbone
from dabench.train import train

LABELS = np.repeat(np.arange(10), 12)  # 12 images per class
FEW_SHOT = [n for n in METHODS.names() if METHODS.get(n).target_access == TargetAccess.FEW_SHOT]


def test_same_episode_same_draw_other_episode_other_draw():
    a = draw_support(LABELS, 10, "p", shots=3, ways=0, episode=4)
    b = draw_support(LABELS, 10, "p", shots=3, ways=0, episode=4)
    assert np.array_equal(a.support, b.support) and np.array_equal(a.rest, b.rest)
    others = [draw_support(LABELS, 10, "p", 3, 0, e).support for e in range(5)]
    assert len({tuple(s) for s in others}) == 5, "every episode is a different draw"
    # The pair, k and n enter the seed too.
    assert not np.array_equal(a.support, draw_support(LABELS, 10, "q", 3, 0, 4).support)


def test_k_per_class_and_the_rest_stays_unlabeled():
    d = draw_support(LABELS, 10, "p", shots=5, ways=0, episode=0)
    assert np.bincount(LABELS[d.support], minlength=10).tolist() == [5] * 10
    assert not set(d.support) & set(d.rest)
    assert len(d.support) + len(d.rest) == len(LABELS)


def test_n_way_draws_n_classes_and_keeps_only_them():
    d = draw_support(LABELS, 10, "p", shots=2, ways=5, episode=1)
    assert len(d.classes) == 5 and set(LABELS[d.support]) == set(d.classes)
    assert set(LABELS[d.rest]) == set(d.classes)
    other = draw_support(LABELS, 10, "p", shots=2, ways=5, episode=2)
    assert d.classes != other.classes or not np.array_equal(d.support, other.support)


@pytest.mark.parametrize(
    "shots,ways,match", [(13, 0, "fewer than"), (1, 1, "ways"), (1, 11, "ways"), (0, 0, "shots")]
)
def test_bad_draws_are_user_errors(shots, ways, match):
    with pytest.raises(UserError, match=match):
        draw_support(LABELS, 10, "p", shots=shots, ways=ways)


def test_protocol_keys_only_for_few_shot_methods():
    with pytest.raises(UserError, match="data.shots to k"):
        check_protocol(METHODS.get("fewshot_proto"), build_config("fewshot_proto", "mnist2digits"))
    cfg = build_config("source_only", "mnist2digits", overrides={"data.shots": 5})
    with pytest.raises(UserError, match="few-shot methods only"):
        check_protocol(METHODS.get("source_only"), cfg)


def test_shots_change_the_config_hash_but_not_older_runs():
    from dabench.config import config_hash

    base = build_config("fewshot_proto", "mnist2digits")
    hashes = {
        config_hash(build_config("fewshot_proto", "mnist2digits", overrides=o), 1, 1)
        for o in ({"data.shots": 1}, {"data.shots": 5}, {"data.shots": 5, "data.episode": 1})
    }
    assert len(hashes) == 3
    assert "shots" not in base.hashed_dict()["data"], "non-few-shot run ids stay as they were"


def _identified(n: int, first_id: int, seed: int) -> TensorImageDataset:
    """Images whose pixel (0, 0, 0) holds a unique id, so what a method sees can be traced."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 28, 28, generator=g) * 0.5
    x[:, 0, 0, 0] = torch.arange(first_id, first_id + n, dtype=torch.float32)
    return TensorImageDataset(x, torch.arange(n) % 10, [str(i) for i in range(10)])


def _ids(x: torch.Tensor) -> set[int]:
    return {int(round(v)) for v in x[:, 0, 0, 0].tolist()}


def _episode():
    splits = PairSplits(
        source_train=_identified(40, 0, 0),
        source_val=_identified(20, 100, 1),
        target_train=_identified(60, 1000, 2),
        target_val=_identified(20, 2000, 3),
        target_test=_identified(30, 3000, 4),
    )
    ep, n = episode_splits(splits, "mnist2digits", 10, shots=2, ways=0, episode=3)
    return splits, ep, n


@pytest.mark.parametrize("name", FEW_SHOT)
def test_a_few_shot_method_sees_support_labels_only_and_never_target_test(name):
    splits, ep, n = _episode()
    support_ids = _ids(ep.target_support.x)
    assert len(support_ids) == 20 and support_ids <= set(range(1000, 1060))
    unlabeled_ids = set(range(1000, 1060)) - support_ids
    cls = METHODS.get(name)
    cfg = build_config(
        name,
        "mnist2digits",
        overrides={"train.steps": 4, "train.eval_every": 2, "train.batch_size": 8, "data.shots": 2},
    )
    torch.manual_seed(0)
    method = cls(build_backbone(cfg.backbone, (1, 28, 28)), n, cfg.hparams, 4)
    seen_labelled: set[int] = set()
    seen_unlabeled: set[int] = set()
    if cls.trainable:
        real = method.loss

        def spy(src, tgt, step):
            assert tgt.y is None, "the unlabeled target batch carries no labels"
            assert tgt.support is not None and tgt.support.y is not None
            seen_unlabeled.update(_ids(tgt.x))
            seen_labelled.update(_ids(tgt.support.x))
            # The labels that come with support images are the true ones.
            lab = ep.target_support.y[[sorted(support_ids).index(i) for i in _ids(tgt.support.x)]]
            assert sorted(tgt.support.y.tolist()) == sorted(lab.tolist())
            return real(src, tgt, step)

        method.loss = spy
    else:
        real_fit = method.fit

        def fit_spy(support):
            seen_labelled.update(_ids(support.x))
            return real_fit(support)

        method.fit = fit_spy
    train(method, ep, cfg, torch.device("cpu"))
    assert seen_labelled and seen_labelled <= support_ids, "labels outside the support set"
    assert seen_unlabeled <= unlabeled_ids, "unlabeled batches come from the rest of the pool"
    for split_ids in (range(2000, 2020), range(3000, 3030)):  # target val (oracle's), test
        assert not (seen_labelled | seen_unlabeled) & set(split_ids)


def test_the_draw_does_not_depend_on_the_method_or_the_training_seed():
    splits, _, _ = _episode()
    drawn = []
    for name, seed in (("fewshot_finetune", 0), ("mme", 0), ("fewshot_finetune", 7)):
        cfg = build_config(
            name, "mnist2digits", seed, overrides={"data.shots": 3, "data.episode": 2}
        )
        backbone = build_backbone(cfg.backbone, (1, 28, 28))
        ep, method = build_method(
            cfg, _pair(), METHODS.get(name), splits, backbone, torch.device("cpu")
        )
        drawn.append(sorted(_ids(ep.target_support.x)))
    assert drawn[0] == drawn[1] == drawn[2]


def test_n_way_episode_relabels_every_split():
    splits, _, _ = _episode()
    ep, n = episode_splits(splits, "mnist2digits", 10, shots=2, ways=4, episode=0)
    assert n == 4 and len(ep.target_support) == 8
    for name in ("source_train", "target_train", "target_test", "target_support"):
        assert set(getattr(ep, name).y.tolist()) <= set(range(4))
    assert len(ep.target_test) < len(splits.target_test)


def _pair():
    from dabench.data import PAIRS

    return PAIRS.get("mnist2digits")
