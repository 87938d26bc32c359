"""Run configuration: dataclasses are the schema, YAML the file format.

Merge order: dataclass defaults < ``configs/defaults.yaml`` (found as
:mod:`dabench.home` says; a missing one is an error) < the method's own
``train_defaults`` < the values drawn for trial ``hparams_seed`` (none for trial
0) < a suite file's ``set:`` block < its ``set_for:`` block for the method (or
``method@pair``) < ``--set key=value``. Unknown keys, wrong types and values out
of range are :class:`UserError` s.

The config hash covers everything that can change a result and nothing that
cannot: not the device, paths or worker counts, not ``train.selection`` (every
rule is scored on every run), not ``hparams_seed`` itself (only the values it
drew), not ``train.log_every`` or ``train.channels_last`` (a memory layout).
``train.amp`` enters it only when bf16 autocast resolves on for the run's
device, so keys of fp32 runs are the same as before the flag existed. The method's, the pair's and the trainer's versions are part of it, so
a changed method reruns instead of reusing stale records.
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
from dabench.home import expand_path
from dabench.search import Distribution, LogUniform, draw_trial

LR_SCHEDULES = ("anneal", "constant", "cosine")
BAD_IMAGE_POLICIES = ("error", "skip")  # data.bad_images; see dabench/data/sources/decode.py
# Bumped whenever the shared training loop changes what a run produces
# (v2: collapse detection with early stop).
TRAINER_VERSION = 2

# Search distributions of the trainer's optimizer settings, shared by every
# method: each method's trials draw its own values from the same ranges.
# Batch size is not searched: it sets the compute of every run, and the
# search budget is counted in runs of equal cost.
TRAIN_SEARCH: dict[str, Distribution] = {
    "lr": LogUniform(1e-3, 1e-1),
    "weight_decay": LogUniform(1e-5, 1e-3),
}
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
    selection: str = "source_val"  # the headline rule; not hashed: every rule is scored
    # Stop a run at the evaluation that finds it collapsed (see dabench.monitor);
    # the run is recorded as collapsed either way.
    collapse_stop: bool = True
    # Loss parts are read back from the device (and the deferred NaN check
    # runs) every log_every steps and at evaluations; not hashed.
    log_every: int = 50
    # auto|true|false. amp: bf16 autocast; auto = on for CUDA, off for CPU.
    # Hashed only when it resolves on (it changes numerics), so CPU keys stay.
    amp: str = "auto"
    # channels_last memory layout; auto = on for CPU and CUDA (measured faster
    # on both for the digit CNN). A layout, not a result: not hashed.
    channels_last: str = "auto"


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
    # Image files that do not decode: "error" stops the run with the file's
    # name; "skip" leaves them out (count in the record's extra). Hashed when
    # "skip", since the data then differs.
    bad_images: str = "error"
    # Set by resolve() for pairs read from a YAML file, never by --set: the
    # file's resolved path and sha256, so reports and later runs find the pair.
    pair_file: str | None = None  # not hashed (the pair's version is)
    pair_sha256: str | None = None  # not hashed


@dataclass
class RunConfig:
    method: str
    pair: str
    seed: int = 0
    hparams_seed: int = 0  # trial: 0 = the defaults, k > 0 = draw k of the search space
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
        d.pop("hparams_seed")
        d["train"].pop("selection")
        d["train"].pop("log_every")
        d["train"].pop("channels_last")
        d["train"].pop("amp")
        if amp_enabled(self.train, device_type(self.device)):
            d["train"]["amp"] = "bf16"
        d["data"] = {"split_seed": self.data.split_seed}
        if self.data.shots:  # only few-shot runs carry these, so older hashes stay valid
            d["data"].update(shots=self.data.shots, ways=self.data.ways, episode=self.data.episode)
        if (
            self.data.bad_images != "error"
        ):  # likewise: the default leaves older hashes as they were
            d["data"]["bad_images"] = self.data.bad_images
        return d


FLAG_VALUES = ("auto", "true", "false")


def device_type(device: str) -> str:
    """``cpu`` or ``cuda``: what ``device`` (``auto``, ``cpu``, ``cuda:N``) resolves to here."""
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device.split(":")[0]


def amp_enabled(train: TrainConfig, device_kind: str) -> bool:
    """Whether bf16 autocast is on: ``auto`` means on CUDA only."""
    return train.amp == "true" or (train.amp == "auto" and device_kind == "cuda")


def channels_last_enabled(train: TrainConfig, device_kind: str) -> bool:
    """Whether models and image batches use channels_last: ``auto`` means on
    (measured faster on CPU with oneDNN as well as on CUDA)."""
    return train.channels_last != "false"


def config_hash(
    cfg: RunConfig,
    pair_version: int,
    method_version: int,
    quiet_defaults: dict[str, Any] | None = None,
) -> str:
    """The run key's hash. ``quiet_defaults`` names hyperparameters that enter
    it only when set to another value than the one given (see
    ``HParam.hash_default``), so adding one to a method keeps its old keys."""
    d = cfg.hashed_dict()
    for name, default in (quiet_defaults or {}).items():
        if name in d["hparams"] and d["hparams"][name] == default:
            del d["hparams"][name]
    payload = dict(
        d,
        pair_version=pair_version,
        method_version=method_version,
        trainer_version=TRAINER_VERSION,
    )
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


# ---------------------------------------------------------------- validation

_RANGES: dict[str, tuple[float | None, float | None, bool]] = {
    # key: (low, high, low_exclusive)
    # numpy and torch seed from 32 bits; a larger seed would crash the run.
    "seed": (0, 2**32 - 1, False),
    "hparams_seed": (0, 2**32 - 1, False),
    "train.steps": (1, None, False),
    "train.batch_size": (2, None, False),
    "train.lr": (0.0, None, True),
    "train.momentum": (0.0, 0.999, False),
    "train.weight_decay": (0.0, None, False),
    "train.eval_every": (1, None, False),
    "train.log_every": (1, None, False),
    "data.split_seed": (0, 2**32 - 1, False),
    "data.shots": (0, None, False),
    "data.ways": (0, None, False),
    "data.episode": (0, None, False),
}


def _coerce(key: str, value: Any, like: Any, nullable: bool = False) -> Any:
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
        if value is None and (like is None or nullable):
            return None
        if isinstance(value, (str, int, float)) and value is not None:
            return str(value)
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
        if parts[0] == "hparams" and len(parts) >= 2:
            # A composed method's regulariser hparams are prefixed: hparams.mcc.weight.
            cfg.hparams[".".join(parts[1:])] = raw  # checked against the method in resolve()
            continue
        if len(parts) == 1 and parts[0] in TOP_LEVEL_KEYS:
            setattr(cfg, parts[0], _coerce(key, raw, getattr(cfg, parts[0])))
            continue
        if len(parts) == 2 and parts[0] in ("train", "data") and key not in RESOLVED_KEYS:
            section = getattr(cfg, parts[0])
            fields = _section_fields(section)
            if parts[1] in fields:
                like = fields[parts[1]]
                nullable = parts[1] == "root"  # None: the default data root
                if nullable:
                    like = ""
                setattr(section, parts[1], _coerce(key, raw, like, nullable))
                continue
        raise UserError(
            f"unknown config key {key!r} in {origin}; valid keys: {', '.join(settable_keys())}"
        )


TOP_LEVEL_KEYS = ("seed", "hparams_seed", "backbone", "backbone_pretrained", "device")
# Filled in by resolve(), not settable.
RESOLVED_KEYS = ("data.pair_file", "data.pair_sha256")


def settable_keys() -> list[str]:
    keys = list(TOP_LEVEL_KEYS)
    keys += [f"train.{f.name}" for f in dataclasses.fields(TrainConfig)]
    keys += [f"data.{f.name}" for f in dataclasses.fields(DataConfig)]
    keys = [k for k in keys if k not in RESOLVED_KEYS]
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


def defaults_path(config_dir: Path | None = None) -> Path:
    """``defaults.yaml`` in ``config_dir``, or as :mod:`dabench.home` finds it."""
    if config_dir is None:
        from dabench.home import require_file

        return require_file("configs", "defaults.yaml")
    return Path(config_dir) / "defaults.yaml"


def load_defaults(config_dir: Path | None = None) -> dict[str, Any]:
    """Shared defaults from ``configs/defaults.yaml`` (flattened). A missing
    file is a UserError: silently falling back to the dataclass defaults would
    change every run's budget."""
    return flatten(load_yaml(defaults_path(config_dir)))


def search_space(method_cls: Any) -> dict[str, Distribution]:
    """Every searched name of a method: the trainer's optimizer settings
    (``train.*``) and the method's own hyperparameters (``hparams.*``)."""
    space: dict[str, Distribution] = {f"train.{k}": d for k, d in TRAIN_SEARCH.items()}
    for name, spec in method_cls.hparams.items():
        if spec.search is not None:
            space[f"hparams.{name}"] = spec.search
    return space


def build_config(
    method: str,
    pair: str,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    suite_overrides: dict[str, Any] | None = None,
    config_dir: Path | None = None,
    hparams_seed: int = 0,
) -> RunConfig:
    """Merge defaults, ``configs/``, the method's defaults, trial draws, suite
    overrides and ``--set``; validate."""
    from dabench.methods import METHODS

    method_cls = METHODS.get(method)
    cfg = RunConfig(method=method, pair=pair, seed=seed)
    apply_overrides(cfg, load_defaults(config_dir), origin=str(defaults_path(config_dir)))
    apply_overrides(
        cfg,
        {f"train.{k}": v for k, v in method_cls.train_defaults.items()},
        origin=f"{method}'s train_defaults",
    )
    overrides = dict(overrides or {})
    # The trial may be chosen by argument, by the suite or by --set; --set wins.
    suite_flat = flatten(suite_overrides or {})
    k = overrides.get("hparams_seed", suite_flat.get("hparams_seed", hparams_seed))
    k = _coerce("hparams_seed", k, 0)
    _check_range("hparams_seed", k, 0, None)
    cfg.hparams_seed = k
    apply_overrides(cfg, draw_trial(k, method, search_space(method_cls)), origin=f"trial {k}")
    apply_overrides(cfg, suite_flat, origin="the suite file")
    apply_overrides(cfg, overrides)
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

        root = expand_path(cfg.data.root) if cfg.data.root else None
        cfg.pair = register_user_pair(Path(cfg.pair), data_root=root)
    pair = PAIRS.get(cfg.pair)
    cfg.data.pair_file, cfg.data.pair_sha256 = pair.origin, pair.origin_sha256
    if not cfg.backbone:
        cfg.backbone = pair.default_backbone
    BACKBONES.get(cfg.backbone)
    SELECTORS.get(cfg.train.selection)
    if cfg.data.bad_images not in BAD_IMAGE_POLICIES:
        raise UserError(
            f"data.bad_images must be one of {', '.join(BAD_IMAGE_POLICIES)}, got {cfg.data.bad_images!r}"
        )
    if cfg.train.lr_schedule not in LR_SCHEDULES:
        raise UserError(
            f"train.lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {cfg.train.lr_schedule!r}"
        )
    for key in ("amp", "channels_last"):
        value = str(getattr(cfg.train, key)).lower()
        if value not in FLAG_VALUES:
            raise UserError(f"train.{key} must be one of {', '.join(FLAG_VALUES)}, got {value!r}")
        setattr(cfg.train, key, value)
    flat = flatten(
        {
            "seed": cfg.seed,
            "hparams_seed": cfg.hparams_seed,
            "train": _section_fields(cfg.train),
            "data": _section_fields(cfg.data),
        }
    )
    for key, (low, high, excl) in _RANGES.items():
        _check_range(key, flat[key], low, high, excl)
    tc = cfg.train
    if method_cls.trainable and tc.steps < tc.eval_every:
        # The trainer would evaluate once, at the last step: every selection
        # rule would silently pick the final checkpoint.
        raise UserError(
            f"train.steps ({tc.steps}) is less than train.eval_every ({tc.eval_every}): the run "
            f"would be evaluated only once; set train.eval_every <= {tc.steps} "
            f"(e.g. --set train.eval_every={max(tc.steps // 2, 1)}) or more steps"
        )
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
