"""Run configuration: dataclasses are the schema, YAML the file format.

Merge order: dataclass defaults < ``configs/defaults.yaml`` < a suite file's
``set:`` block < ``--set key=value``. Unknown keys, wrong types and values out
of range are :class:`UserError` s. The config hash covers everything that can
change a result and nothing that cannot (device, paths, worker counts).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dabench.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "configs"

LR_SCHEDULES = ("anneal", "constant", "cosine")
# Spellings accepted for the same key.
ALIASES = {"backbone.pretrained": "backbone_pretrained"}


@dataclass
class TrainConfig:
    """The one budget and optimizer every method on a pair is trained with."""

    steps: int = 1000
    batch_size: int = 64
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_schedule: str = "anneal"  # DANN paper: lr / (1 + 10 p)^0.75
    eval_every: int = 100
    selection: str = "source_val"


@dataclass
class DataConfig:
    split_seed: int = 0
    # k-shot protocol (dabench/data/fewshot.py): k labelled target-train images
    # per class, an optional n-way class subset and the episode (one seeded
    # draw); 0 shots = not few-shot, 0 ways = all classes.
    shots: int = 0
    ways: int = 0
    episode: int = 0
    root: str | None = None  # not hashed: where data lives does not change it
    download: bool = False  # not hashed


@dataclass
class RunConfig:
    method: str
    pair: str
    seed: int = 0
    backbone: str = ""  # empty: the pair's default backbone
    backbone_pretrained: bool = True  # for backbones that have pretrained weights
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
    hparams: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"  # not hashed

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def hashed_dict(self) -> dict[str, Any]:
        """The part of the config that determines the result."""
        d = self.to_dict()
        d.pop("device")
        d["data"] = {"split_seed": self.data.split_seed}
        if self.data.shots:  # only few-shot runs carry these, so older hashes stay valid
            d["data"].update(shots=self.data.shots, ways=self.data.ways, episode=self.data.episode)
        return d


def config_hash(cfg: RunConfig, pair_version: int) -> str:
    payload = dict(cfg.hashed_dict(), pair_version=pair_version)
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


# ---------------------------------------------------------------- validation

_RANGES: dict[str, tuple[float | None, float | None, bool]] = {
    # key: (low, high, low_exclusive)
    "seed": (0, None, False),
    "train.steps": (1, None, False),
    "train.batch_size": (2, None, False),
    "train.lr": (0.0, None, True),
    "train.momentum": (0.0, 0.999, False),
    "train.weight_decay": (0.0, None, False),
    "train.eval_every": (1, None, False),
    "data.split_seed": (0, None, False),
    "data.shots": (0, None, False),
    "data.ways": (0, None, False),
    "data.episode": (0, None, False),
}


def _coerce(key: str, value: Any, like: Any) -> Any:
    """Coerce ``value`` to the type of ``like`` or raise a UserError."""
    if isinstance(value, str) and not isinstance(like, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            pass
    if isinstance(like, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(like, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif isinstance(like, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(like, str) or like is None:
        if value is None or isinstance(value, (str, int, float)):
            return None if value is None else str(value)
    raise UserError(f"{key} must be {type(like).__name__}, got {value!r}")


def _check_range(
    key: str, value: Any, low: float | None, high: float | None, low_excl: bool = False
) -> None:
    if low is not None and (value <= low if low_excl else value < low):
        raise UserError(f"{key} must be {'>' if low_excl else '>='} {low}, got {value}")
    if high is not None and value > high:
        raise UserError(f"{key} must be <= {high}, got {value}")


def _section_fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def apply_overrides(cfg: RunConfig, overrides: dict[str, Any], origin: str = "--set") -> None:
    """Apply ``{"train.lr": 0.01, "hparams.weight": 0.5, ...}`` in place."""
    for key, raw in overrides.items():
        key = ALIASES.get(key, key)
        parts = key.split(".")
        if parts[0] == "hparams" and len(parts) == 2:
            cfg.hparams[parts[1]] = raw  # checked against the method in resolve()
            continue
        if len(parts) == 1 and parts[0] in ("seed", "backbone", "backbone_pretrained", "device"):
            setattr(cfg, parts[0], _coerce(key, raw, getattr(cfg, parts[0])))
            continue
        if len(parts) == 2 and parts[0] in ("train", "data"):
            section = getattr(cfg, parts[0])
            fields = _section_fields(section)
            if parts[1] in fields:
                like = fields[parts[1]]
                if parts[1] == "root":
                    like = ""
                setattr(section, parts[1], _coerce(key, raw, like))
                continue
        raise UserError(
            f"unknown config key {key!r} in {origin}; valid keys: {', '.join(settable_keys())}"
        )


def settable_keys() -> list[str]:
    keys = ["seed", "backbone", "backbone_pretrained", "device"]
    keys += [f"train.{f.name}" for f in dataclasses.fields(TrainConfig)]
    keys += [f"data.{f.name}" for f in dataclasses.fields(DataConfig)]
    return keys + ["hparams.<name>"]


def parse_set(items: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Parse ``key=value`` strings (values stay strings until coerced by type)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise UserError(f"file not found: {path}") from None
    except yaml.YAMLError as e:
        raise UserError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a mapping at the top level")
    return data


def load_defaults(config_dir: Path = CONFIG_DIR) -> dict[str, Any]:
    """Shared defaults from ``configs/defaults.yaml`` (flattened), if present."""
    path = config_dir / "defaults.yaml"
    return flatten(load_yaml(path)) if path.exists() else {}


def build_config(
    method: str,
    pair: str,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    suite_overrides: dict[str, Any] | None = None,
    config_dir: Path = CONFIG_DIR,
) -> RunConfig:
    """Merge defaults, ``configs/``, suite overrides and ``--set``; validate."""
    cfg = RunConfig(method=method, pair=pair, seed=seed)
    apply_overrides(cfg, load_defaults(config_dir), origin=str(config_dir / "defaults.yaml"))
    apply_overrides(cfg, flatten(suite_overrides or {}), origin="the suite file")
    apply_overrides(cfg, overrides or {})
    return resolve(cfg)


def resolve(cfg: RunConfig) -> RunConfig:
    """Check names and ranges, fill the pair's backbone and the method's
    hyperparameter defaults. Raises UserError on anything invalid."""
    from dabench.data import PAIRS
    from dabench.methods import METHODS
    from dabench.models import BACKBONES
    from dabench.selection import SELECTORS

    method_cls = METHODS.get(cfg.method)
    if cfg.pair.endswith((".yaml", ".yml")):
        from dabench.data.user_pairs import register_user_pair

        cfg.pair = register_user_pair(Path(cfg.pair))
    pair = PAIRS.get(cfg.pair)
    if not cfg.backbone:
        cfg.backbone = pair.default_backbone
    BACKBONES.get(cfg.backbone)
    SELECTORS.get(cfg.train.selection)
    if cfg.train.lr_schedule not in LR_SCHEDULES:
        raise UserError(
            f"train.lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {cfg.train.lr_schedule!r}"
        )
    flat = flatten(
        {"seed": cfg.seed, "train": _section_fields(cfg.train), "data": _section_fields(cfg.data)}
    )
    for key, (low, high, excl) in _RANGES.items():
        _check_range(key, flat[key], low, high, excl)
    hp: dict[str, Any] = {}
    for name, spec in method_cls.hparams.items():
        value = _coerce(f"hparams.{name}", cfg.hparams.get(name, spec.default), spec.default)
        if spec.choices is not None and value not in spec.choices:
            raise UserError(
                f"hparams.{name} must be one of {', '.join(map(str, spec.choices))}, got {value!r}"
            )
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            _check_range(f"hparams.{name}", value, spec.low, spec.high)
        hp[name] = value
    unknown = sorted(set(cfg.hparams) - set(method_cls.hparams))
    if unknown:
        valid = ", ".join(method_cls.hparams) or "none"
        raise UserError(
            f"method {cfg.method!r} has no hyperparameter {unknown[0]!r}; its hyperparameters: {valid}"
        )
    cfg.hparams = hp
    return cfg
