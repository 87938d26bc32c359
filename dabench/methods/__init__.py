"""Adaptation methods; importing this package registers every one of them."""

from dabench.methods import (  # noqa: F401  (register)
    adabn,
    adda,
    afn,
    bnm,
    bsp,
    cdan,
    cdan_e,
    coral,
    dann,
    entmin,
    fewshot_finetune,
    fewshot_linear,
    fewshot_proto,
    finetune_partial,
    fixmatch,
    jan,
    linear_probe,
    mcc,
    mcd,
    mdd,
    mmd,
    mme,
    pseudo_label,
    shot,
    source_only,
    target_only,
    tent,
    zeroshot,
    zeroshot_text,
)
from dabench.methods.base import METHODS, HParam, Method, TargetAccess, register

__all__ = ["METHODS", "HParam", "Method", "TargetAccess", "register"]

# Third-party entries of this registry (entry point group dabench.methods).
from dabench.plugins import load_plugins  # noqa: E402

load_plugins(("dabench.methods",))
