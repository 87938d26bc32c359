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
    jan,
    mcd,
    mdd,
    mmd,
    mme,
    source_only,
    zeroshot,
    zeroshot_text,
)
from dabench.methods.base import METHODS, HParam, Method, TargetAccess, register

__all__ = ["METHODS", "HParam", "Method", "TargetAccess", "register"]
