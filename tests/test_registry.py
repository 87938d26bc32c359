from __future__ import annotations

import pytest

from dabench.data import PAIRS
from dabench.errors import UserError
from dabench.methods import METHODS
from dabench.registry import Registry


def test_register_get_names():
    reg: Registry[int] = Registry("thing")
    reg.add("b_thing", 2)
    reg.register("a_thing")(1)
    assert reg.names() == ["a_thing", "b_thing"]
    assert reg.get("a_thing") == 1
    assert "b_thing" in reg and len(reg) == 2


def test_duplicates_and_bad_names_raise():
    reg: Registry[int] = Registry("thing")
    reg.add("x", 1)
    with pytest.raises(ValueError, match="duplicate"):
        reg.add("x", 2)
    with pytest.raises(ValueError, match="snake"):
        reg.add("Bad Name", 3)


def test_unknown_name_suggests_closest():
    with pytest.raises(UserError, match=r"unknown method 'corla'; did you mean 'coral'"):
        METHODS.get("corla")
    with pytest.raises(UserError, match="mnist2digits"):
        PAIRS.get("mnist2digit")


def test_unknown_name_without_close_match_lists_all():
    with pytest.raises(UserError, match="choose one of: ") as e:
        METHODS.get("zzzzzz")
    # Every registered name is offered (the list grows with every new method).
    listed = str(e.value).split("choose one of: ")[1].split(" (see")[0].split(", ")
    assert listed == METHODS.names() and len(listed) >= 3
