"""Adaptation methods; importing this package registers every one of them."""

from dabench.methods import (  # noqa: F401  (register)
    adabn,
    afn,
    bnm,
    bsp,
    coral,
    dann,
    entmin,
    fewshot_finetune,
    fewshot_linear,
    fewshot_proto,
    mcc,
    mme,
    shot,
    source_only,
    tent,
    zeroshot,
    zeroshot_text,
)
from dabench.methods.base import METHODS, HParam, Method, TargetAccess, register

__all__ = ["METHODS", "HParam", "Method", "TargetAccess", "register"]
