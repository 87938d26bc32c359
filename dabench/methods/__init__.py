"""Adaptation methods; importing this package registers every one of them."""

from dabench.methods import (  # noqa: F401  (register)
    adda,
    cdan,
    cdan_e,
    coral,
    dann,
    fewshot_finetune,
    fewshot_linear,
    fewshot_proto,
    finetune_partial,
    fixmatch,
    jan,
    linear_probe,
    mcd,
    mdd,
    mmd,
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
