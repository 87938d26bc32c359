"""Class maps: the committed ImageNet-1k -> CIFAR-10 / Fashion-MNIST maps, their generator's
constants, and the CIFAR/STL shared classes."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from dabench.data.class_maps import (
    CIFAR10_CLASSES,
    FASHION_MNIST_CLASSES,
    KNOWN_TARGET_CLASSES,
    STL10_CLASSES,
    STL_CIFAR_SHARED,
    ClassMap,
    load_class_map,
)
from dabench.errors import UserError
from dabench.home import builtin_dir

# The checkout these tests live in (its README, tools and build inputs).
SOURCE_ROOT = Path(__file__).resolve().parents[1]

MAP_FILE = builtin_dir("configs") / "class_maps" / "imagenet2cifar.yaml"
FASHION_FILE = builtin_dir("configs") / "class_maps" / "imagenet2fashion.yaml"
GENERATOR = SOURCE_ROOT / "benchmarks" / "tools" / "make_imagenet2cifar_map.py"


@pytest.fixture(scope="module")
def cmap() -> ClassMap:
    return load_class_map("imagenet2cifar")


def _wnids_of(cmap: ClassMap, cls: str) -> set[str]:
    idx = cmap.classes.index(cls)
    return {w for w, i in cmap.source_to_class.items() if i == idx}


# --- the committed map -------------------------------------------------------


def test_committed_map_loads(cmap):
    assert cmap.source == "imagenet1k"
    assert cmap.target == "cifar10"
    assert cmap.version >= 1
    assert cmap.classes == tuple(c for c in CIFAR10_CLASSES if c != "deer")
    # every kept class has at least one source wnid
    assert set(cmap.source_to_class.values()) == set(range(len(cmap.classes)))


def test_load_by_path_equals_load_by_name(cmap):
    assert load_class_map(MAP_FILE) == cmap
    assert load_class_map(str(MAP_FILE)) == cmap


def test_wnids_valid_and_unique():
    raw = yaml.safe_load(MAP_FILE.read_text())
    listed = [w for entry in raw["classes"].values() for w in entry["wnids"]]
    assert listed, "no wnids"
    assert all(re.fullmatch(r"n\d{8}", w) for w in listed)
    assert len(listed) == len(set(listed))
    # ImageNet-1k has 1000 classes; a map can use at most that many
    assert len(listed) <= 1000


def test_cat_is_domestic_cats_only(cmap):
    cat = _wnids_of(cmap, "cat")
    assert "n02123045" in cat  # tabby
    assert "n02123597" in cat  # Siamese
    for big_or_wild in (
        "n02129165",
        "n02129604",
        "n02125311",
        "n02127052",
    ):  # lion, tiger, cougar, lynx
        assert big_or_wild not in cmap.source_to_class


def test_dog_is_domestic_breeds(cmap):
    dog = _wnids_of(cmap, "dog")
    assert "n02085620" in dog  # Chihuahua
    assert "n02113978" in dog  # Mexican hairless
    assert "n02114367" not in cmap.source_to_class  # timber wolf: a canine, not a dog
    assert "n02115641" not in cmap.source_to_class  # dingo


def test_automobile_vs_truck(cmap):
    auto = _wnids_of(cmap, "automobile")
    truck = _wnids_of(cmap, "truck")
    assert "n02814533" in auto  # beach wagon
    assert "n04285008" in auto  # sports car
    assert "n03770679" in auto and "n03770679" not in truck  # minivan: passenger vehicle
    assert "n04467665" in truck  # trailer truck
    assert not auto & {"n04467665", "n03417042", "n03345487"}  # no trucks among cars
    assert "n03930630" not in cmap.source_to_class  # pickup: CIFAR excludes it from both


def test_other_classes(cmap):
    assert _wnids_of(cmap, "horse") == {"n02389026"}  # sorrel
    assert "n02391049" not in cmap.source_to_class  # zebra: equine, not horse
    assert {"n02690373", "n04552348"} == _wnids_of(cmap, "airplane")  # airliner, warplane
    ship = _wnids_of(cmap, "ship")
    assert {"n03095699", "n04273569"} <= ship  # container ship, speedboat
    assert "n04606251" not in ship  # wreck
    assert "n01641577" in _wnids_of(cmap, "frog")  # bullfrog
    assert "n01518878" in _wnids_of(cmap, "bird")  # ostrich


def test_deer_unmapped_and_dropped(cmap):
    assert set(cmap.unmapped) == {"deer"}
    assert "deer" in cmap.unmapped["deer"] and len(cmap.unmapped["deer"]) > 20
    assert "deer" not in cmap.classes
    deer = CIFAR10_CLASSES.index("deer")
    assert deer not in cmap.target_index_to_class
    assert sorted(cmap.target_index_to_class) == [i for i in range(10) if i != deer]
    # order kept: new indices increase with the original CIFAR-10 labels
    assert list(cmap.target_index_to_class.values()) == list(range(9))
    for old, new in cmap.target_index_to_class.items():
        assert CIFAR10_CLASSES[old] == cmap.classes[new]


def test_yaml_header_documents_method_and_sources():
    head = MAP_FILE.read_text().split("\nversion:")[0]
    for needle in ("WordNet 3.0", "wordnet-base", "timm", "sha256", "Date:", "Policy 'drop'"):
        assert needle in head


# --- the committed ImageNet-1k -> Fashion-MNIST map --------------------------


@pytest.fixture(scope="module")
def fmap() -> ClassMap:
    return load_class_map("imagenet2fashion")


def test_fashion_classes_match_torchvision_order():
    from torchvision.datasets import FashionMNIST

    assert FASHION_MNIST_CLASSES == tuple(FashionMNIST.classes)
    assert KNOWN_TARGET_CLASSES["fashion_mnist"] == FASHION_MNIST_CLASSES


def test_fashion_map_loads(fmap):
    assert fmap.source == "imagenet1k"
    assert fmap.target == "fashion_mnist"
    assert fmap.version >= 1
    assert fmap.classes == tuple(c for c in FASHION_MNIST_CLASSES if c not in fmap.unmapped)
    assert set(fmap.unmapped) == {"Shirt"}
    assert set(fmap.source_to_class.values()) == set(range(len(fmap.classes)))
    assert load_class_map(FASHION_FILE) == fmap
    # kept classes keep Fashion-MNIST's order; Shirt (label 6) is dropped
    assert list(fmap.target_index_to_class) == [0, 1, 2, 3, 4, 5, 7, 8, 9]
    for old, new in fmap.target_index_to_class.items():
        assert FASHION_MNIST_CLASSES[old] == fmap.classes[new]


def test_fashion_map_contents(fmap):
    assert _wnids_of(fmap, "T-shirt/top") == {"n03595614"}  # jersey, T-shirt
    assert _wnids_of(fmap, "Trouser") == {"n03594734"}  # jean
    assert _wnids_of(fmap, "Pullover") == {"n04370456", "n02963159"}  # sweatshirt, cardigan
    assert _wnids_of(fmap, "Dress") == {"n03450230"}  # gown
    assert {"n03404251", "n04479046"} <= _wnids_of(fmap, "Coat")  # fur coat, trench coat
    assert "n04133789" in _wnids_of(fmap, "Sandal")
    assert "n04120489" in _wnids_of(fmap, "Sneaker")  # running shoe
    bag = _wnids_of(fmap, "Bag")
    assert {"n02769748", "n04026417"} <= bag  # backpack, purse
    assert "n03124043" in _wnids_of(fmap, "Ankle boot")  # cowboy boot
    for not_mapped in (
        "n04235860",  # sleeping bag: bedding
        "n03958227",  # plastic bag: packaging
        "n04371430",  # swimming trunks: swimwear, not trousers
        "n03680355",  # Loafer: no plain-shoe class
        "n02669723",  # academic gown
        "n02916936",  # bulletproof vest
    ):
        assert not_mapped not in fmap.source_to_class


def test_fashion_wnids_valid_and_unique():
    raw = yaml.safe_load(FASHION_FILE.read_text())
    listed = [w for entry in raw["classes"].values() for w in entry["wnids"]]
    assert listed and all(re.fullmatch(r"n\d{8}", w) for w in listed)
    assert len(listed) == len(set(listed))  # no wnid in two classes
    assert raw["target_classes"] == list(FASHION_MNIST_CLASSES)


def test_fashion_unmapped_have_reasons(fmap):
    assert fmap.unmapped
    for cls, reason in fmap.unmapped.items():
        assert cls in FASHION_MNIST_CLASSES and cls not in fmap.classes
        assert len(reason) > 20
    assert "T-shirt" in fmap.unmapped["Shirt"]


def test_fashion_yaml_header_documents_method_and_sources():
    head = FASHION_FILE.read_text().split("\nversion:")[0]
    for needle in ("WordNet 3.0", "wordnet-base", "timm", "sha256", "Date:", "Policy 'drop'"):
        assert needle in head
    assert "--target fashion_mnist" in head
    for cls in FASHION_MNIST_CLASSES:
        assert f"#   {cls}: n" in head  # every class's roots are documented


def test_fashion_target_order_enforced(tmp_path):
    text = FASHION_FILE.read_text().replace('["T-shirt/top", Trouser,', '[Trouser, "T-shirt/top",')
    with pytest.raises(UserError, match="target_classes must be fashion_mnist's classes"):
        load_class_map(_write(tmp_path, text))


# --- the generator -----------------------------------------------------------


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("make_imagenet2cifar_map", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_generator_targets_match_known_target_classes(generator):
    assert set(generator.TARGETS) == {"cifar10", "fashion_mnist"}
    for key, target in generator.TARGETS.items():
        assert target.classes == KNOWN_TARGET_CLASSES[key]


def test_generator_reproduces_committed_maps(generator, capsys):
    """Needs WordNet 3.0 (Debian's wordnet-base; the generator's input, not a
    dabench dependency) and the ImageNet-1k wnid list committed in configs/
    (byte-identical to timm's imagenet_synsets.txt, whose sha256 the maps record)."""
    wordnet = Path("/usr/share/wordnet")
    synsets = os.environ.get("DABENCH_IMAGENET_SYNSETS") or str(
        MAP_FILE.parent / "imagenet1k_wnids.txt"
    )
    if not (wordnet / "data.noun").is_file():
        pytest.skip("needs /usr/share/wordnet/data.noun (apt-get install wordnet-base)")
    common = ["--wordnet-dir", str(wordnet), "--wnids", synsets]
    assert generator.main([*common, "--check", str(MAP_FILE)]) == 0
    assert generator.main([*common, "--target", "fashion_mnist", "--check", str(FASHION_FILE)]) == 0
    assert generator.main([*common, "--check", str(FASHION_FILE)]) == 1
    assert "check it with --target fashion_mnist" in capsys.readouterr().err


# --- strict validation -------------------------------------------------------

GOOD = """\
version: 1
source: imagenet1k
target: cifar10
policy: drop
target_classes: [airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck]
classes:
  airplane: {wnids: {n02690373: airliner}}
  automobile: {wnids: {n02814533: beach wagon}}
  bird: {wnids: {n01518878: ostrich}}
  cat:
    roots: {n02121808: domestic cat}
    excluded: {n02125311: "cougar: not a house cat"}
    wnids: {n02123045: tabby}
  dog: {wnids: {n02085620: Chihuahua}}
  frog: {wnids: {n01641577: bullfrog}}
  horse: {wnids: {n02389026: sorrel}}
  ship: {wnids: {n03095699: container ship}}
  truck: {wnids: {n04467665: trailer truck}}
unmapped:
  deer: no deer in ImageNet-1k
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "map.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_minimal_good_file(tmp_path):
    m = load_class_map(_write(tmp_path, GOOD))
    assert m.classes == tuple(c for c in CIFAR10_CLASSES if c != "deer")
    assert m.source_to_class["n02123045"] == m.classes.index("cat")
    assert m.unmapped == {"deer": "no deer in ImageNet-1k"}


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("policy: drop", "policy: drop\ncolour: blue", "unknown key 'colour' in the top level"),
        ("  bird: {wnids:", "  bird: {note: x, wnids:", "unknown key 'note' in classes.bird"),
        (
            "n02085620: Chihuahua",
            "n02085620: Chihuahua, n02123045: tabby",
            "wnid n02123045 is listed under both 'cat' and 'dog'",
        ),
        (
            "n02085620: Chihuahua",
            "n2085620: Chihuahua",
            "invalid wnid 'n2085620' in classes.dog.wnids: expected 'n' followed by 8 digits",
        ),
        ("n02085620: Chihuahua", "N02085620: Chihuahua", "invalid wnid 'N02085620'"),
        (
            'n02125311: "cougar',
            'n0212531x: "cougar',
            "invalid wnid 'n0212531x' in classes.cat.excluded",
        ),
        (
            "  deer: no deer",
            "  bird: no birds\n  deer: no deer",
            "class 'bird' is both mapped (classes) and unmapped",
        ),
        (
            "  deer: no deer in ImageNet-1k\n",
            "",
            "target class 'deer' is neither in classes nor in unmapped",
        ),
        ("policy: drop", "policy: keep", "policy must be one of drop, got 'keep'"),
        ("version: 1", "version: one", "version must be a positive integer"),
        ("source: imagenet1k\n", "", "missing key source in the top level"),
        (
            "[airplane, automobile,",
            "[automobile, airplane,",
            "target_classes must be cifar10's classes",
        ),
        (
            "  frog: {wnids: {n01641577: bullfrog}}\n  horse: {wnids: {n02389026: sorrel}}",
            "  horse: {wnids: {n02389026: sorrel}}\n  frog: {wnids: {n01641577: bullfrog}}",
            "classes must be listed in target label order",
        ),
        (
            "  ship: {wnids: {n03095699: container ship}}",
            "  ship: {wnids: {n03095699: container ship}}\n  ship: {wnids: {n04273569: speedboat}}",
            "duplicate key 'ship' (line",
        ),
        (
            "{n02085620: Chihuahua}",
            "{n02085620: Chihuahua, n02085620: Chihuahua}",
            "duplicate key 'n02085620'",
        ),
        (
            "  horse: {wnids: {n02389026: sorrel}}",
            "  horse: {wnids: {}}",
            "classes.horse.wnids is empty",
        ),
        (
            "wnids: {n02123045: tabby}",
            "wnids: {n02123045: tabby, n02125311: cougar}",
            "wnid n02125311 is both listed and excluded in classes.cat",
        ),
        (
            "  deer: no deer in ImageNet-1k",
            "  deer: ''",
            "unmapped.deer must be a non-empty string",
        ),
        (
            "  bird: {wnids: {n01518878: ostrich}}",
            "  bird: {wnids: {n01518878: ostrich}\n",
            "not valid YAML",
        ),
    ],
)
def test_malformed_files_raise_user_error(tmp_path, old, new, message):
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(UserError) as exc:
        load_class_map(path)
    text = str(exc.value)
    assert message in text
    assert str(path) in text
    assert "\n" not in text


def test_empty_and_non_mapping_files(tmp_path):
    with pytest.raises(UserError, match="file is empty"):
        load_class_map(_write(tmp_path, ""))
    with pytest.raises(UserError, match="the top level must be a mapping"):
        load_class_map(_write(tmp_path, "- a\n- b\n"))


def test_unknown_name_and_missing_path(tmp_path):
    with pytest.raises(UserError, match=r"unknown class map 'nope' \(known: .*imagenet2cifar"):
        load_class_map("nope")
    with pytest.raises(UserError, match="class map file not found"):
        load_class_map(tmp_path / "absent.yaml")


# --- CIFAR-10 <-> STL-10 shared classes -------------------------------------


def test_stl_cifar_shared():
    shared = STL_CIFAR_SHARED
    assert len(shared.classes) == 9
    assert "frog" not in shared.classes and "monkey" not in shared.classes
    assert shared.dropped == {"cifar10": ("frog",), "stl10": ("monkey",)}
    for side, names in (("cifar10", CIFAR10_CLASSES), ("stl10", STL10_CLASSES)):
        mapping = getattr(shared, side)
        assert sorted(mapping.values()) == list(range(9))  # a bijection onto the shared classes
        aliases = shared.aliases.get(side, {})
        for old, new in mapping.items():
            assert aliases.get(names[old], names[old]) == shared.classes[new]
        dropped = {names[i] for i in range(10) if i not in mapping}
        assert dropped == set(shared.dropped[side])
    car = STL10_CLASSES.index("car")
    assert shared.classes[shared.stl10[car]] == "automobile"
    assert shared.stl10[car] == shared.cifar10[CIFAR10_CLASSES.index("automobile")]
    assert CIFAR10_CLASSES.index("frog") not in shared.cifar10
    assert STL10_CLASSES.index("monkey") not in shared.stl10
