"""Adaptation methods; importing this package registers every one of them."""

from dabench.methods import (  # noqa: F401  (register)
    coral,
    dann,
    fewshot_finetune,
    fewshot_linear,
    fewshot_proto,
    finetune_partial,
    fixmatch,
    linear_probe,
    mme,
    pseudo_label,
    source_only,
    target_only,
    zeroshot,
    zeroshot_text,
)
from dabench.methods.base import METHODS, HParam, Method, TargetAccess, register

__all__ = ["METHODS", "HParam", "Method", "TargetAccess", "register"]

# Third-party entries of this registry (entry point group dabench.methods).
from dabench.plugins import load_plugins  # noqa: E402

load_plugins(("dabench.methods",))
