"""Adaptation methods; importing this package registers every one of them."""

from dabench.methods import coral, dann, source_only, zeroshot  # noqa: F401  (register)
from dabench.methods.base import METHODS, HParam, Method, TargetAccess, register

__all__ = ["METHODS", "HParam", "Method", "TargetAccess", "register"]
