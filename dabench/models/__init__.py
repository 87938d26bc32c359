"""Backbones (feature extractors) and classification heads."""

from dabench.models import pretrained  # noqa: F401  (registers resnet18, resnet50, efficientnet_lite0)
from dabench.models.backbones import BACKBONES, Backbone, BackboneSpec, build_backbone
from dabench.models.heads import mlp_head

__all__ = ["BACKBONES", "Backbone", "BackboneSpec", "build_backbone", "mlp_head"]

# Third-party entries of this registry (entry point group dabench.backbones).
from dabench.plugins import load_plugins  # noqa: E402

load_plugins(("dabench.backbones",))
