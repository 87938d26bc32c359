"""Registered feature extractors.

A backbone maps images to a flat feature vector of size ``out_features``. It
also says which classifier head suits it (``head_hidden``) and how much its
learning rate is scaled relative to new layers (``lr_mult``; 1.0 when trained
from scratch, smaller for pretrained weights).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from dabench.errors import UserError
from dabench.registry import Registry


class Backbone(nn.Module):
    out_features: int
    head_hidden: tuple[int, ...] = ()
    lr_mult: float = 1.0
    # Inference batch size: large for small digit nets; small for 224-px
    # ImageNet nets, which run several times faster per image on CPU in small
    # batches (cache-resident activations).
    eval_batch_size: int = 512

    def blocks(self) -> list[nn.Module]:
        """The backbone's trainable blocks, input to output (for partial fine-tuning).

        Default: a new block starts at every convolution or linear layer; the
        normalisation and other parameterised layers after it belong to it. So
        ``dann_digits`` has two (its conv layers) and a BatchNorm variant two
        as well (conv + its BN). Pretrained nets override this with their stages.
        """
        out: list[list[nn.Module]] = []
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                out.append([m])
            elif out and not list(m.children()) and any(True for _ in m.parameters(False)):
                out[-1].append(m)
        return [nn.ModuleList(ms) for ms in out]


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    description: str
    build: Callable[[tuple[int, int, int]], Backbone]
    pretrained: str = "none"


BACKBONES: Registry[BackboneSpec] = Registry("backbone")


def _flat_size(module: nn.Module, input_shape: tuple[int, int, int]) -> int:
    with torch.no_grad():
        return int(module(torch.zeros(1, *input_shape)).flatten(1).shape[1])


class DannDigitsCNN(Backbone):
    """The MNIST feature extractor of Ganin et al. (JMLR 2016, Fig. 4 / App.):
    conv5x5(32) - maxpool2 - ReLU - conv5x5(48) - maxpool2 - ReLU, flattened
    (768 features at 28x28). Its label head is 100-100-C."""

    head_hidden = (100, 100)
    batchnorm = False

    def __init__(self, input_shape: tuple[int, int, int]) -> None:
        super().__init__()
        c = input_shape[0]

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            norm = [nn.BatchNorm2d(c_out)] if self.batchnorm else []
            return [nn.Conv2d(c_in, c_out, 5), *norm, nn.MaxPool2d(2), nn.ReLU(inplace=True)]

        self.net = nn.Sequential(*block(c, 32), *block(32, 48), nn.Flatten())
        self.out_features = _flat_size(self.net.eval(), input_shape)
        self.net.train()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class DannDigitsBNCNN(DannDigitsCNN):
    """:class:`DannDigitsCNN` with BatchNorm after each convolution (before the
    pooling and ReLU), so that methods which adapt normalisation statistics
    (AdaBN, Tent, SHOT) have some to adapt. Same 768 features at 28x28; the
    label head is the same 100-100-C. The flattened features carry no extra
    BatchNorm: they feed the heads directly, as in the plain network."""

    batchnorm = True


class LeNet(Backbone):
    """LeNet-5 as used by ADDA (Tzeng et al., CVPR 2017): conv5x5(20) - pool -
    conv5x5(50) - pool - fc500, ReLU; dropout before the 500-d features."""

    head_hidden = ()

    def __init__(self, input_shape: tuple[int, int, int]) -> None:
        super().__init__()
        c = input_shape[0]
        conv = nn.Sequential(
            nn.Conv2d(c, 20, 5),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
            nn.Conv2d(20, 50, 5),
            nn.Dropout2d(0.5),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
            nn.Flatten(),
        )
        self.net = nn.Sequential(
            conv,
            nn.Linear(_flat_size(conv, input_shape), 500),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
        )
        self.out_features = 500

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


BACKBONES.add(
    "dann_digits",
    BackboneSpec(
        "dann_digits", "DANN paper digit CNN, 2 conv layers, 768-d features", DannDigitsCNN
    ),
)
BACKBONES.add(
    "dann_digits_bn",
    BackboneSpec(
        "dann_digits_bn",
        "DANN paper digit CNN with BatchNorm after each conv, 768-d features",
        DannDigitsBNCNN,
    ),
)
BACKBONES.add(
    "lenet", BackboneSpec("lenet", "LeNet-5 (ADDA's digit network), 500-d features", LeNet)
)


def build_backbone(
    name: str, input_shape: tuple[int, int, int], pretrained: bool = True
) -> Backbone:
    """Build a registered backbone; ``pretrained`` only matters for those that have weights."""
    spec = BACKBONES.get(name)
    try:
        if spec.pretrained != "none":
            return spec.build(input_shape, pretrained=pretrained)  # type: ignore[call-arg]
        return spec.build(input_shape)
    except RuntimeError as e:  # e.g. an input too small for the conv stack
        raise UserError(
            f"backbone {name!r} cannot take inputs of shape {input_shape}: {e}"
        ) from None
