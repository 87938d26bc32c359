"""Generate an ImageNet-1k -> CIFAR-10 or Fashion-MNIST class map from WordNet 3.0.

``--target cifar10`` (the default) writes ``configs/class_maps/imagenet2cifar.yaml``,
``--target fashion_mnist`` writes ``configs/class_maps/imagenet2fashion.yaml``:
the ImageNet-1k wnids making up each class of the target dataset.

Method: for each target class, take the WordNet 3.0 noun synset(s) naming the
class (``Target.roots``), collect the ImageNet-1k (ILSVRC-2012) synsets whose
hypernym closure (``@`` hypernym and ``@i`` instance-hypernym pointers of
``data.noun``) contains a root, and remove the documented manual exclusions
(``Target.excluded``). An ImageNet wnid is ``"n"`` + the 8-digit WordNet 3.0
noun synset offset, so the WordNet files resolve every wnid directly. A class
left with no wnid must have a reason in ``Target.unmapped_reasons``; the map's
policy (``drop``) is that such a class is left out on both sides.

Inputs (both given as arguments; nothing is fetched):

* the WordNet 3.0 database directory holding ``data.noun`` (Debian package
  ``wordnet-base``: ``/usr/share/wordnet``);
* the ImageNet-1k wnid list, one wnid per line (e.g. ``timm/data/_info/imagenet_synsets.txt``
  from the ``timm`` wheel on PyPI).

Human names are the synset's WordNet lemmas. All decisions are constants below
(one :class:`Target` per target dataset, in ``TARGETS``), so the output is a
pure function of the two input files and ``--target``::

    python benchmarks/tools/make_imagenet2cifar_map.py \\
        --wordnet-dir /usr/share/wordnet --wnids imagenet_synsets.txt \\
        --output configs/class_maps/imagenet2cifar.yaml
    python benchmarks/tools/make_imagenet2cifar_map.py --target fashion_mnist \\
        --wordnet-dir /usr/share/wordnet --wnids imagenet_synsets.txt \\
        --output configs/class_maps/imagenet2fashion.yaml

``--check FILE`` exits non-zero if FILE differs from what would be written.
Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

# Where the committed YAMLs' inputs came from (recorded in their headers together
# with the inputs' SHA-256, which the script computes).
WORDNET_SOURCE = (
    "Debian package wordnet-base 1:3.0-37 (Princeton WordNet 3.0), /usr/share/wordnet/data.noun"
)
WNIDS_SOURCE = (
    "PyPI wheel timm 1.0.31, file timm/data/_info/imagenet_synsets.txt (ILSVRC-2012, 1000 wnids)"
)

POLICY = "drop"


@dataclass(frozen=True)
class Target:
    """Every decision behind one class map (ImageNet-1k -> one target dataset)."""

    key: str  # the YAML's `target:` (dabench's dataset name) and the --target value
    title: str  # human name of the dataset, e.g. "CIFAR-10"
    headline: str  # what the first line of the YAML calls the map
    classes: tuple[str, ...]  # the target's label order (torchvision)
    # class -> WordNet 3.0 root synsets whose hyponyms make the class
    roots: dict[str, tuple[str, ...]]
    # class -> why these roots (written into the YAML header)
    notes: dict[str, str]
    # Manual exclusions: class -> {wnid: reason}. Each wnid must be reached from
    # the class's roots (checked), so every exclusion is a deliberate removal.
    excluded: dict[str, dict[str, str]]
    # Classes expected to have no ImageNet-1k counterpart, with the reason.
    unmapped_reasons: dict[str, str]
    policy_text: str
    # Bump when the choice of roots/exclusions changes (records keyed on the map
    # must never mix two versions).
    version: int
    # Date the decisions were made and the committed YAML generated.
    date: str


CIFAR10 = Target(
    key="cifar10",
    title="CIFAR-10",
    headline="class map for the pair `imagenet2cifar`",
    classes=(
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ),
    roots={
        "airplane": ("n02686568",),  # aircraft
        "automobile": ("n02958343",),  # car, auto, automobile
        "bird": ("n01503061",),  # bird
        "cat": ("n02121808",),  # domestic_cat
        "deer": ("n02430045",),  # deer, cervid
        "dog": ("n02084071",),  # dog, domestic_dog
        "frog": ("n01639765",),  # frog, toad, anuran
        "horse": ("n02374451",),  # horse, Equus_caballus
        "ship": ("n04530566",),  # vessel, watercraft
        "truck": ("n04490091",),  # truck, motortruck
    },
    notes={
        "airplane": (
            "Aircraft rather than airplane n02691156 alone, because WordNet files warplane "
            "under heavier-than-air craft, not under airplane; the lighter-than-air craft "
            "(airship, balloon) are excluded."
        ),
        "automobile": (
            "CIFAR-10: 'Automobile includes sedans, SUVs, things of that sort. Truck "
            "includes only big trucks. Neither includes pickup trucks.' Ambulance is excluded "
            "(a van body: neither a car in that sense nor a big truck)."
        ),
        "bird": "Every ImageNet-1k bird (incl. ostrich, poultry, penguin); no exclusion.",
        "cat": (
            "Domestic cat rather than cat/true_cat n02121620, which also covers cougar and "
            "lynx: CIFAR's cat is the house cat. Lion, tiger etc. (big_cat) are never reached."
        ),
        "deer": "No ImageNet-1k synset is a deer, so the class is unmapped (see `unmapped:`).",
        "dog": (
            "The domestic breeds. Wolves, foxes, dingo, dhole and African hunting dog are "
            "other canines, not dogs, and are not reached."
        ),
        "frog": "All ImageNet-1k frogs; no exclusion.",
        "horse": (
            "Only sorrel is a horse in ImageNet-1k (zebra is an equine, not a horse), so "
            "this class has a single source synset."
        ),
        "ship": (
            "Ships, boats and sailing vessels. The CIFAR-10 documentation does not define "
            "'ship'; we take the everyday reading (anything afloat that carries people or "
            "cargo) rather than WordNet's narrow ship n04194289 ('a vessel that carries "
            "passengers or freight'). Wreck is excluded (wreckage, not a vessel)."
        ),
        "truck": (
            "CIFAR-10: 'Truck includes only big trucks'. Pickup (excluded by CIFAR by name), "
            "minivan (a passenger van, kept under automobile) and police van (a van, not a "
            "big truck) are excluded."
        ),
    },
    excluded={
        "airplane": {
            "n02692877": "lighter-than-air craft without wings (airship), not an airplane",
            "n02782093": "lighter-than-air craft (mostly hot-air balloons), not an airplane",
        },
        "automobile": {
            "n02701002": (
                "van-bodied emergency vehicle: neither a car in CIFAR's sense "
                "('sedans, SUVs, things of that sort') nor a big truck"
            ),
        },
        "truck": {
            "n03930630": "CIFAR-10: neither automobile nor truck includes pickup trucks",
            "n03770679": (
                "passenger van; WordNet files it under both car and truck (via van); "
                "kept under automobile only, so the classes stay disjoint"
            ),
            "n03977966": "a van, not a big truck (CIFAR-10: truck includes only big trucks)",
        },
        "ship": {
            "n04606251": "remains of a destroyed ship (sunken or beached wreckage), not a vessel",
        },
    },
    unmapped_reasons={
        "deer": (
            "ImageNet-1k has no hyponym of deer/cervid (n02430045); its nearest classes "
            "(impala, gazelle, hartebeest, ibex, bighorn) are bovids, not deer"
        ),
    },
    policy_text=(
        "unmapped classes are dropped on both sides: the pair trains on the mapped "
        "classes' ImageNet images, evaluates on CIFAR-10 images of the mapped classes "
        "only, and reports the dropped classes"
    ),
    version=1,
    date="2026-11-23",
)

FASHION_MNIST = Target(
    key="fashion_mnist",
    title="Fashion-MNIST",
    headline="class map `imagenet2fashion`",
    classes=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    roots={
        "T-shirt/top": ("n03595614", "n04453666"),  # jersey, T-shirt; top
        "Trouser": ("n04489008",),  # trouser, pant
        "Pullover": ("n04370048",),  # sweater, jumper
        "Dress": ("n03236735",),  # dress, frock
        "Coat": ("n03057021",),  # coat
        "Sandal": ("n04133789",),  # sandal
        "Shirt": ("n04197391",),  # shirt
        "Sneaker": ("n03472535", "n04120489"),  # gym shoe, sneaker; running shoe
        "Bag": ("n02773037",),  # bag (a flexible container with a single opening)
        "Ankle boot": ("n02872752",),  # boot
    },
    notes={
        "T-shirt/top": (
            "WordNet's jersey/T-shirt ('a close-fitting pullover shirt') and top ('a "
            "garment (especially for women) that extends from the shoulders to the waist "
            "or hips'); only jersey/T-shirt is an ImageNet-1k class. Swimwear (maillot, "
            "bikini) and brassiere are not tops in WordNet and are not reached."
        ),
        "Trouser": (
            "Only jean is a trouser in ImageNet-1k. Swimming trunks are swimwear "
            "(WordNet: swimsuit), not trousers in Fashion-MNIST's sense, and pajama is "
            "nightwear; neither is reached from trouser, so neither needs an exclusion."
        ),
        "Pullover": (
            "Sweater ('a crocheted or knitted garment covering the upper part of the "
            "body') rather than its hyponym pullover n04021028 (reaching only sweatshirt): "
            "cardigan is kept, being knitted long-sleeved upper-body wear, nearer to Pullover "
            "than to Coat or Shirt. A strict reading (a pullover has no front opening) would "
            "drop it."
        ),
        "Dress": (
            "Gown is WordNet's 'woman's dress, usually with a close-fitting bodice and a "
            "long flared skirt'. Skirts (miniskirt, overskirt, hoopskirt, sarong) and "
            "robes (kimono, abaya) are not dresses and are not reached."
        ),
        "Coat": (
            "Fur coat, lab coat and trench coat. Academic gown (a gown), bulletproof vest "
            "(a vest and body armor), poncho, kimono, suit and military uniform are not "
            "hyponyms of coat and are not reached."
        ),
        "Sandal": (
            "ImageNet-1k's sandal is the root itself. Clog and Loafer are footwear with no "
            "Fashion-MNIST class (it has no plain-shoe class) and are not reached."
        ),
        "Shirt": (
            "WordNet files jersey/T-shirt under shirt; Fashion-MNIST separates T-shirts "
            "from shirts, so it is excluded here (kept under T-shirt/top), which leaves "
            "the class unmapped (see `unmapped:`)."
        ),
        "Sneaker": (
            "WordNet's sneaker (gym shoe, 'a canvas shoe with a pliable rubber sole') has "
            "no ImageNet-1k hyponym; its sibling running shoe ('a light comfortable shoe "
            "designed for running') is the athletic shoe of ImageNet-1k and the second root."
        ),
        "Bag": (
            "Bag as 'a flexible container with a single opening' (not n02773838, the "
            "traveling bag/suitcase, which reaches nothing). Backpack, mailbag (a shoulder "
            "bag) and purse are kept; sleeping bag and plastic bag are excluded. Wallet is "
            "a case, not a bag, and is not reached."
        ),
        "Ankle boot": (
            "WordNet has no ankle-boot synset and boot's only ImageNet-1k hyponym is "
            "cowboy boot ('a boot with a high arch and fancy stitching'), usually "
            "calf-high: the nearest counterpart, kept as an approximation."
        ),
    },
    excluded={
        "Shirt": {
            "n03595614": (
                "a T-shirt: mapped to T-shirt/top (Fashion-MNIST keeps T-shirts and "
                "shirts apart), so the classes stay disjoint"
            ),
        },
        "Bag": {
            "n04235860": (
                "padded bag to sleep in outdoors: bedding, not a bag for carrying things"
            ),
            "n03958227": (
                "disposable packaging (carrier, bin and food bags), not a fashion article "
                "like Fashion-MNIST's catalogue bags"
            ),
        },
    },
    unmapped_reasons={
        "Shirt": (
            "ImageNet-1k's only hyponym of shirt (n04197391) is jersey/T-shirt "
            "(n03595614), which is Fashion-MNIST's T-shirt/top; it has no collared or "
            "button-up shirt class"
        ),
    },
    policy_text=(
        "unmapped classes are dropped on both sides: a pair using this map trains on the "
        "mapped classes' ImageNet images, evaluates on Fashion-MNIST images of the mapped "
        "classes only, and reports the dropped classes"
    ),
    version=1,
    date="2026-11-23",
)

TARGETS: dict[str, Target] = {t.key: t for t in (CIFAR10, FASHION_MNIST)}

_WNID = re.compile(r"^n\d{8}$")
# Class names written as plain YAML scalars; any other name is double-quoted.
_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Synset:
    words: tuple[str, ...]
    hypernyms: tuple[str, ...]  # wnids

    @property
    def name(self) -> str:
        return ", ".join(w.replace("_", " ") for w in self.words)


def read_wordnet_nouns(wordnet_dir: Path) -> dict[str, Synset]:
    """Parse WordNet 3.0 ``data.noun`` into ``{wnid: Synset}``."""
    path = wordnet_dir / "data.noun"
    text = path.read_text(encoding="utf-8")
    if "WordNet 3.0 Copyright" not in text[:4000]:
        raise SystemExit(f"{path}: not a WordNet 3.0 data.noun (no 'WordNet 3.0' header)")
    nouns: dict[str, Synset] = {}
    for line in text.splitlines():
        if line.startswith("  "):  # license header
            continue
        fields = line.partition(" | ")[0].split()
        # offset lex_filenum ss_type w_cnt (word lex_id)* p_cnt (sym offset pos src/tgt)*
        w_cnt = int(fields[3], 16)
        words = tuple(fields[4 + 2 * i] for i in range(w_cnt))
        i = 4 + 2 * w_cnt
        p_cnt = int(fields[i])
        i += 1
        hyper = []
        for _ in range(p_cnt):
            sym, offset, pos = fields[i : i + 3]
            i += 4
            if sym in ("@", "@i") and pos == "n":
                hyper.append("n" + offset)
        nouns["n" + fields[0]] = Synset(words, tuple(hyper))
    return nouns


def read_wnids(path: Path, nouns: dict[str, Synset]) -> list[str]:
    wnids = [w.strip() for w in path.read_text(encoding="utf-8").split() if w.strip()]
    bad = [w for w in wnids if not _WNID.match(w)]
    if bad:
        raise SystemExit(f"{path}: not wnids: {bad[:5]}")
    if len(wnids) != 1000 or len(set(wnids)) != 1000:
        raise SystemExit(f"{path}: expected 1000 unique ImageNet-1k wnids, got {len(set(wnids))}")
    missing = [w for w in wnids if w not in nouns]
    if missing:
        raise SystemExit(f"{path}: wnids not in WordNet 3.0: {missing[:5]}")
    return sorted(wnids)  # ImageNet-1k class index order


def ancestors(wnid: str, nouns: dict[str, Synset]) -> set[str]:
    seen: set[str] = set()
    stack = [wnid]
    while stack:
        for h in nouns[stack.pop()].hypernyms:
            if h not in seen:
                seen.add(h)
                stack.append(h)
    return seen


def build(nouns: dict[str, Synset], wnids: list[str], target: Target) -> dict[str, list[str]]:
    """Target class -> sorted ImageNet-1k wnids, after exclusions. Checks every invariant."""
    anc = {w: ancestors(w, nouns) for w in wnids}
    inet = set(wnids)
    inner = sorted(w for w in wnids if anc[w] & inet)
    if inner:
        raise SystemExit(f"wnid list has non-leaf synsets (ancestors of others): {inner[:5]}")
    for table in ("roots", "notes"):
        if set(getattr(target, table)) != set(target.classes):
            raise SystemExit(f"{target.key}: {table} must cover exactly the target classes")
    for table in ("excluded", "unmapped_reasons"):
        stray = sorted(set(getattr(target, table)) - set(target.classes))
        if stray:
            raise SystemExit(f"{target.key}: {table} names unknown classes: {stray}")
    for cls, roots in target.roots.items():
        for r in roots:
            if r not in nouns:
                raise SystemExit(f"root {r} of {cls} is not a WordNet 3.0 noun synset")
    mapping: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for cls in target.classes:
        roots = set(target.roots[cls])
        reached = [w for w in wnids if w in roots or anc[w] & roots]
        excl = target.excluded.get(cls, {})
        stale = sorted(set(excl) - set(reached))
        if stale:
            raise SystemExit(f"{cls}: exclusions not reached from its roots: {stale}")
        kept = [w for w in reached if w not in excl]
        for w in kept:
            if w in owner:
                raise SystemExit(f"{w} reached from both {owner[w]} and {cls}: add an exclusion")
            owner[w] = cls
        if bool(kept) == (cls in target.unmapped_reasons):
            state = "has wnids" if kept else "has no wnid"
            raise SystemExit(f"{cls} {state}; unmapped_reasons must list exactly the empty classes")
        mapping[cls] = kept
    return mapping


def _q(s: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(s, ensure_ascii=False)


def _key(s: str) -> str:
    """A class name as a YAML scalar: plain when that is unambiguous, else quoted."""
    return s if _PLAIN.match(s) else _q(s)


def _comment(
    out: list[str], text: str, indent: str = "# ", hang: str | None = None, width: int = 88
) -> None:
    out.extend(
        textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=hang or indent)
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def render(
    nouns: dict[str, Synset],
    mapping: dict[str, list[str]],
    wordnet_sha: str,
    wnids_sha: str,
    target: Target = CIFAR10,
) -> str:
    t = target
    kept = [c for c in t.classes if mapping[c]]
    total = sum(len(mapping[c]) for c in kept)
    option = "" if t is CIFAR10 else f" --target {t.key}"
    out: list[str] = []
    c = out.append
    c(f"# ImageNet-1k (ILSVRC-2012) -> {t.title} {t.headline}.")
    _comment(
        out,
        f"GENERATED by benchmarks/tools/make_imagenet2cifar_map.py{option}: do not edit by "
        "hand; change the script's constants and regenerate (--check verifies this file).",
        width=85,
    )
    c("#")
    c(f"# Date: {t.date} (map decided and generated)")
    c("# Sources:")
    c(f"#   WordNet: {WORDNET_SOURCE}")
    c(f"#            sha256 {wordnet_sha}")
    c(f"#   wnids:   {WNIDS_SOURCE}")
    c(f"#            sha256 {wnids_sha}")
    c("#")
    _comment(
        out,
        "Method: an ImageNet wnid is 'n' + the 8-digit WordNet 3.0 noun synset offset. For "
        f"each {t.title} class, its WordNet roots (below) are closed under hyponymy, i.e. an "
        "ImageNet-1k synset belongs to the class when a root is in its hypernym closure "
        "(data.noun pointers '@' hypernym and '@i' instance hypernym). ImageNet-1k synsets "
        "are leaves (none is an ancestor of another; checked). Then the manual exclusions "
        "are removed. No wnid may land in two classes (checked).",
        width=85,
    )
    c("#")
    c("# Roots, per class (the manual exclusions and their reasons are listed under")
    c("# each class's `excluded:` below):")
    for cls in t.classes:
        roots = ", ".join(f"{r} {nouns[r].words[0]}" for r in t.roots[cls])
        _comment(out, f"{cls}: {roots}. {t.notes[cls]}", indent="#   ", hang="#       ")
    c("#")
    _comment(out, f"Policy '{POLICY}': {t.policy_text}.")
    c(
        f"# Result: {len(kept)} of {len(t.classes)} {t.title} classes mapped, "
        f"{total} ImageNet-1k wnids in all."
    )
    c("")
    c(f"version: {t.version}")
    c("source: imagenet1k")
    c(f"target: {t.key}")
    c(f"policy: {POLICY}")
    c(f"# {t.title} label order (torchvision): index i is target label i.")
    c("target_classes: [" + ", ".join(map(_key, t.classes)) + "]")
    c("classes:")
    for cls in kept:
        n = len(mapping[cls])
        c(f"  {_key(cls)}:  # {n} wnid{'s' if n != 1 else ''}")
        c("    roots:")
        for r in t.roots[cls]:
            c(f"      {r}: {_q(nouns[r].name)}")
        excl = t.excluded.get(cls, {})
        if excl:
            c("    excluded:")
            for w in sorted(excl):
                c(f"      {w}: {_q(nouns[w].name + ': ' + excl[w])}")
        c("    wnids:")
        for w in mapping[cls]:
            c(f"      {w}: {_q(nouns[w].name)}")
    c("unmapped:")
    for cls in t.classes:
        if not mapping[cls]:
            c(f"  {_key(cls)}: {_q(t.unmapped_reasons[cls])}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--target",
        choices=sorted(TARGETS),
        default=CIFAR10.key,
        help="target dataset of the map (default: %(default)s)",
    )
    ap.add_argument(
        "--wordnet-dir", type=Path, required=True, help="dir with WordNet 3.0 data.noun"
    )
    ap.add_argument("--wnids", type=Path, required=True, help="ImageNet-1k wnid list, one a line")
    dest = ap.add_mutually_exclusive_group()
    dest.add_argument("--output", "-o", type=Path, help="write the YAML here (default: stdout)")
    dest.add_argument("--check", type=Path, help="exit 1 if this file differs from the output")
    args = ap.parse_args(argv)
    target = TARGETS[args.target]

    nouns = read_wordnet_nouns(args.wordnet_dir)
    wnids = read_wnids(args.wnids, nouns)
    mapping = build(nouns, wnids, target)
    text = render(
        nouns, mapping, _sha256(args.wordnet_dir / "data.noun"), _sha256(args.wnids), target
    )
    if args.check:
        current = args.check.read_text(encoding="utf-8")
        if current != text:
            other = re.search(r"^target: (\S+)$", current, re.MULTILINE)
            if other and other[1] != target.key and other[1] in TARGETS:
                hint = f"it is the {other[1]} map: check it with --target {other[1]}"
            else:
                hint = f"regenerate it with --target {target.key} --output"
            print(f"{args.check} is out of date: {hint}", file=sys.stderr)
            return 1
        print(f"{args.check} is up to date")
    elif args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        counts = ", ".join(f"{c}={len(mapping[c])}" for c in target.classes)
        print(f"wrote {args.output}: {counts}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
