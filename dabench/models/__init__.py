"""Backbones (feature extractors) and classification heads."""

from dabench.models.backbones import BACKBONES, Backbone, BackboneSpec, build_backbone
from dabench.models.heads import mlp_head

__all__ = ["BACKBONES", "Backbone", "BackboneSpec", "build_backbone", "mlp_head"]
