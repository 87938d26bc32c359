"""zeroshot_text: generalised zero-shot metrics, held-out classes, the real encoder."""

from __future__ import annotations

import pytest
import torch

import dabench.methods.zeroshot_text as zt
from dabench.data import PAIRS
from dabench.data.feature_cache import FeatureDataset
from dabench.methods import METHODS
from dabench.models import build_backbone


def test_zsl_metrics_against_hand_computed_values():
    # Classes 0, 1 seen; 2, 3 unseen. Rows: logits; comments: argmax (all) / argmax (unseen).
    logits = torch.tensor(
        [
            [5.0, 0, 0, 0],  # y=0: 0 right
            [0, 0, 5, 0],  # y=0: 2 wrong
            [0, 5, 0, 0],  # y=1: 1 right
            [0, 0, 5, 1],  # y=2: 2 right / 2 right
            [5, 0, 1, 2],  # y=2: 0 wrong / 3 wrong
            [0, 5, 1, 2],  # y=3: 1 wrong / 3 right
            [0, 0, 1, 5],  # y=3: 3 right / 3 right
            [0, 0, 5, 1],  # y=3: 2 wrong / 2 wrong
        ]
    )
    y = torch.tensor([0, 0, 1, 2, 2, 3, 3, 3])
    m = zt.zsl_metrics(logits, y, unseen=[2, 3])
    acc_s = (1 / 2 + 1 / 1) / 2  # per-class mean over seen classes
    acc_u = (1 / 2 + 1 / 3) / 2
    assert m["gzsl_seen_acc"] == pytest.approx(0.75) == pytest.approx(acc_s)
    assert m["gzsl_unseen_acc"] == pytest.approx(acc_u)
    assert m["gzsl_h"] == pytest.approx(2 * 0.75 * acc_u / (0.75 + acc_u))
    assert m["gzsl_h"] == pytest.approx(0.5357142857)
    assert m["zsl_unseen_acc"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert m["zsl_chance"] == pytest.approx(0.5)


def _head(monkeypatch, emb: torch.Tensor, unseen: str = ""):
    monkeypatch.setattr(zt, "embed_texts", lambda texts: emb)
    pair = PAIRS.get("mnist2digits")
    bb = build_backbone("dann_digits", (1, 28, 28))
    hp = {"alpha": 1e-4, "scale": 10.0, "unseen": unseen}
    return METHODS.get("zeroshot_text")(bb, 10, hp, 1, pair=pair)


def _synthetic(emb: torch.Tensor, n_per_class: int, seed: int) -> FeatureDataset:
    """Features that are a fixed linear function of the class embedding, plus noise."""
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(emb.shape[1], 24, generator=torch.Generator().manual_seed(99))
    y = torch.arange(10).repeat_interleave(n_per_class)
    x = emb[y] @ mix + 0.01 * torch.randn(len(y), 24, generator=g)
    return FeatureDataset(x, y, [str(i) for i in range(10)])


def test_unseen_classes_are_recognised_and_never_trained_on(monkeypatch):
    g = torch.Generator().manual_seed(0)
    emb = torch.nn.functional.normalize(torch.randn(10, 5, generator=g), dim=1)
    head = _head(monkeypatch, emb)
    assert head.unseen == [2, 5, 8], "default held-out classes come from configs/class_text"
    source = _synthetic(emb, 30, 1)
    head.use_source(source)
    head.fit(None)
    m = head.extra_metrics(_synthetic(emb, 20, 2), torch.device("cpu"))
    assert m["zsl_unseen_acc"] > 0.9 and m["gzsl_h"] > 0.5, m
    # Unseen classes' source images play no part: scrambling them changes nothing.
    proj = head.proj.clone()
    x = source.x.clone()
    unseen = torch.isin(source.y, torch.tensor(head.unseen))
    x[unseen] = 1e3 * torch.randn(int(unseen.sum()), x.shape[1])
    head.use_source(FeatureDataset(x, source.y, source.classes))
    head.fit(None)
    assert torch.allclose(head.proj, proj)


def test_unseen_must_be_a_proper_subset_of_the_classes(monkeypatch):
    from dabench.errors import UserError

    with pytest.raises(UserError, match="some but not all"):
        _head(monkeypatch, torch.eye(10), unseen="2,eleven")


def test_the_packaged_sentence_encoder_runs_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts, unseen = zt.class_texts(PAIRS.get("mnist2digits").classes)
    assert len(texts) == 10 and "seven" in texts[7] and unseen == ["2", "5", "8"]
    emb = zt.embed_texts(tuple(texts[:3]))
    assert emb.shape == (3, 384)
    assert torch.allclose(emb.norm(dim=1), torch.ones(3), atol=1e-4)
    sim = emb @ emb.T
    off = sim - 2 * torch.eye(3)
    assert (sim.diagonal() > off.max(1).values).all(), "distinct texts, distinct embeddings"


def test_source_per_class_caps_what_is_featurised(tiny_splits, tmp_path, monkeypatch):
    from dabench.config import build_config
    from dabench.episode import build_method

    monkeypatch.setenv("DABENCH_FEATURE_CACHE", str(tmp_path))
    monkeypatch.setattr(zt, "embed_texts", lambda texts: torch.eye(len(texts), 16))
    cfg = build_config("zeroshot_text", "mnist2digits", overrides={"hparams.source_per_class": 2})
    bb = build_backbone("dann_digits", (1, 28, 28))
    cls = METHODS.get("zeroshot_text")
    splits, head = build_method(
        cfg, PAIRS.get("mnist2digits"), cls, tiny_splits, bb, torch.device("cpu")
    )
    assert torch.bincount(splits.source_train.y, minlength=10).tolist() == [2] * 10
    assert splits.source_train.x.shape == (20, bb.out_features), "features, not images"
    assert len(splits.target_train) == 0, "zero-shot reads no target-train images"
    assert head.source is splits.source_train
