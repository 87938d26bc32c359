"""base+regulariser composition (``dann+mcc``) and the regulariser methods."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dabench.config import build_config, search_space
from dabench.data.base import Batch
from dabench.errors import UserError
from dabench.losses.regularizers import bsp_loss, mcc_loss
from dabench.methods import METHODS, Method, TargetAccess
from dabench.methods.base import MethodRegistry
from dabench.methods.compose import compose
from dabench.methods.regularized import OutputRegularizer
from dabench.models import build_backbone


def _batches(seed: int = 0) -> tuple[Batch, Batch]:
    g = torch.Generator().manual_seed(seed)
    src = Batch(torch.rand(8, 1, 28, 28, generator=g), torch.arange(8) % 10)
    return src, Batch(torch.rand(8, 1, 28, 28, generator=g))


def _method(name: str, overrides: dict | None = None) -> Method:
    cfg = build_config(name, "mnist2digits", overrides=overrides or {})
    torch.manual_seed(0)
    return METHODS.get(name)(build_backbone(cfg.backbone, (1, 28, 28)), 10, cfg.hparams, 100)


def test_dann_plus_mcc_loss_is_danns_plus_the_weighted_mcc_term():
    both = _method("dann+mcc", {"hparams.mcc.weight": 0.7, "hparams.mcc.temperature": 2.0})
    dann = _method("dann")
    dann.load_state_dict(both.state_dict())  # the same network, built independently
    src, tgt = _batches()
    total, parts = both.loss(src, tgt, step=40)
    d_total, _ = dann.loss(src, tgt, step=40)
    z_t = dann(tgt.x)[1]
    expected = d_total + 0.7 * mcc_loss(z_t, 2.0)
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    assert parts["mcc"] == pytest.approx(mcc_loss(z_t, 2.0).item(), rel=1e-5)
    assert {"cls", "domain", "grl"} <= set(parts), "the base method's parts are kept"


def test_composition_name_hparams_search_and_access():
    cls = METHODS.get("dann+bsp")
    assert cls is METHODS.get("dann+bsp"), "built once"
    assert cls.name == "dann+bsp" and issubclass(cls, METHODS.get("dann"))
    assert set(cls.hparams) == set(METHODS.get("dann").hparams) | {"bsp.weight", "bsp.k"}
    assert {"hparams.bsp.weight", "hparams.bsp.k", "hparams.weight"} <= set(search_space(cls))
    drawn = build_config("dann+bsp", "mnist2digits", hparams_seed=2).hparams
    assert drawn["bsp.weight"] != 1e-4 and 1e-5 <= drawn["bsp.weight"] <= 1e-3
    # A regulariser on a source-only base makes it see unlabeled target batches.
    assert METHODS.get("source_only+entmin").target_access == TargetAccess.UNLABELED
    with pytest.raises(UserError, match="no hyperparameter 'bsp.nope'"):
        build_config("dann+bsp", "mnist2digits", overrides={"hparams.bsp.nope": 1})


def test_chained_composition_adds_both_terms():
    m = _method("source_only+mcc+bsp", {"hparams.bsp.weight": 1e-3})
    src, tgt = _batches(1)
    total, parts = m.loss(src, tgt, 0)
    f, z = m(torch.cat([src.x, tgt.x]))
    ce = F.cross_entropy(z[:8], src.y)
    expected = ce + 1.0 * mcc_loss(z[8:], 2.5) + 1e-3 * bsp_loss(f[:8], f[8:], 1)
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    assert {"mcc", "bsp"} <= set(parts)


@pytest.mark.parametrize(
    "name,msg",
    [
        ("dann+coral", "'coral' is not a regulariser"),
        ("dann+mcx", "did you mean .*'mcc'"),
        ("dann+mcc+mcc", "appears twice"),
        ("fewshot_proto+mcc", "fitted without SGD"),
        ("+mcc", "base\\+regulariser"),
        ("shot+mcc", "target data alone"),
    ],
)
def test_bad_compositions_are_user_errors(name, msg):
    with pytest.raises(UserError, match=msg):
        METHODS.get(name)


def test_a_base_with_its_own_train_step_does_not_compose():
    class TwoStep(Method):
        name = "two_step"
        description = "test only"

        def train_step(self, src, tgt, step, opts):  # pragma: no cover - never run
            raise AssertionError

    reg = MethodRegistry("method")
    reg.add("two_step", TwoStep)
    reg.add("mcc", METHODS.get("mcc"))
    with pytest.raises(UserError, match="steps its own optimizers"):
        compose(reg, "two_step+mcc")


def test_composed_method_runs_through_the_contract(tiny_splits):
    from test_method_contract import test_method_contract

    for name in ("dann+mcc", "dann+bsp"):
        test_method_contract(name, tiny_splits)


def test_every_regulariser_term_is_on_its_own_inputs():
    """Each term reads what its paper says: MCC/BNM/entmin only target logits,
    BSP/AFN features; swapping the other inputs leaves it unchanged."""
    g = torch.Generator().manual_seed(0)
    f_s, f_t, z_s, z_t = (torch.randn(6, 5, generator=g) for _ in range(4))
    for name, reads in {
        "mcc": "z_t",
        "bnm": "z_t",
        "entmin": "z_t",
        "afn": "f",
        "bsp": "f",
    }.items():
        cls = METHODS.get(name)
        assert issubclass(cls, OutputRegularizer)
        hp = {k: v.default for k, v in cls.hparams.items()}
        base = cls.term(hp, f_s, f_t, z_s, z_t)
        other = torch.randn(6, 5, generator=g)
        if reads == "z_t":
            assert torch.equal(cls.term(hp, other, other, other, z_t), base)
            assert not torch.equal(cls.term(hp, f_s, f_t, z_s, other), base)
        else:
            assert torch.equal(cls.term(hp, f_s, f_t, other, other), base)


def test_composed_run_is_recorded_under_its_name(tmp_path):
    from dabench import api

    cfg = build_config(
        "dann+mcc",
        "mnist2digits",
        overrides={"train.steps": 4, "train.eval_every": 2, "hparams.mcc.weight": 0.5},
    )
    rec, _ = api.run(cfg, tmp_path)
    assert rec.method == "dann+mcc"
    assert rec.config["hparams"]["mcc.weight"] == 0.5
