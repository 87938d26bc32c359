"""The two offline digit pairs: real data, seeded splits that ignore the method."""

from __future__ import annotations

import torch

from dabench.data import PAIRS, DataContext, make_splits


def _ids(ds) -> set[bytes]:
    return {bytes(x.numpy().tobytes()) for x in ds.x}


def test_mnist2digits_splits_are_real_disjoint_and_stratified():
    pair = PAIRS.get("mnist2digits")
    s = make_splits(pair, DataContext.default())
    sizes = s.sizes()
    assert sizes["source_train"] + sizes["source_val"] == 5000
    assert sizes["target_train"] + sizes["target_val"] + sizes["target_test"] == 1797
    for ds in vars(s).values():
        assert ds.x.shape[1:] == (1, 28, 28)
        assert 0.0 <= float(ds.x.min()) and float(ds.x.max()) <= 1.0
        counts = torch.bincount(ds.y, minlength=10)
        assert (counts > 0).all(), "every class appears in every split"
    assert not (_ids(s.target_test) & _ids(s.target_train))
    assert not (_ids(s.source_val) & _ids(s.source_train))


def test_splits_depend_only_on_pair_and_split_seed():
    pair = PAIRS.get("digits2mnist")
    a = make_splits(pair, DataContext.default(), 0)
    b = make_splits(pair, DataContext.default(), 0)
    c = make_splits(pair, DataContext.default(), 1)
    assert torch.equal(a.target_test.x, b.target_test.x)
    assert not torch.equal(a.target_test.y, c.target_test.y) or not torch.equal(
        a.target_test.x, c.target_test.x
    )


def test_digits_sit_in_the_mnist_box():
    """UCI digits are padded into MNIST's central 20x20 box, not stretched to the frame."""
    s = make_splits(PAIRS.get("digits2mnist"), DataContext.default())
    x = s.source_train.x
    assert float(x[:, :, :4, :].abs().max()) == 0.0 and float(x[:, :, -4:, :].abs().max()) == 0.0
    assert float(x[:, :, 4:24, 4:24].mean()) > 0.1
