"""The SimBench disk cache gives the very network SimBench builds, and a cache file that is not
exactly that network (corrupt, truncated, foreign, hostile) is ignored for a fresh load."""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path

import pandapower as pp
import pandas as pd
import pytest

from planner.inputs import simbench_cache
from planner.inputs.network import load_network, network_sha256

simbench = pytest.importorskip("simbench")

CODE = "1-LV-rural1--0-sw"  # a small grid (15 buses) with SimBench's profiles
SOURCE = f"simbench:{CODE}"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache under `tmp_path` (never the user's), and a count of SimBench's own builds."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("PLANNER_CACHE", raising=False)
    return tmp_path / "planner" / "simbench"


@pytest.fixture(scope="module")
def built():  # type: ignore[no-untyped-def]
    """SimBench's own build of CODE, made once: SimBench reads its whole data set for any grid
    (seconds even for a small one)."""
    return simbench.get_simbench_net(CODE)


@pytest.fixture
def builds(built, monkeypatch: pytest.MonkeyPatch) -> list[str]:  # type: ignore[no-untyped-def]
    """SimBench's builds counted; each gives a copy of the one real build."""
    made: list[str] = []

    def counted(code: str):  # type: ignore[no-untyped-def]
        assert code == CODE
        made.append(code)
        return copy.deepcopy(built)

    monkeypatch.setattr(simbench, "get_simbench_net", counted)
    return made


def _load():  # type: ignore[no-untyped-def]
    return load_network(SOURCE, Path("."), file="case.toml")


def _assert_same_net(a, b) -> None:  # type: ignore[no-untyped-def]
    """Every table (values bit for bit, dtypes, index, columns), profile and setting equal."""
    keys = {k for k in a if not k.startswith("_")}
    assert keys == {k for k in b if not k.startswith("_")}
    for key in sorted(keys):
        x, y = a[key], b[key]
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True, obj=key)
        elif key == "profiles":
            assert sorted(x) == sorted(y)
            for name in x:
                pd.testing.assert_frame_equal(x[name], y[name], check_exact=True, obj=name)
        elif key != "std_types":
            assert x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y)), key
    assert a.std_types.keys() == b.std_types.keys()


@pytest.fixture(scope="module")
def good(built) -> str:  # type: ignore[no-untyped-def]
    """The cache file of the real build, as the cache writes it."""
    return simbench_cache.file_text(CODE, built, network_sha256(built))


def test_a_fresh_load_writes_the_cache_file(cache: Path, builds: list[str], good: str) -> None:
    network = _load()
    assert builds == [CODE]
    files = list(cache.iterdir())
    assert files == [simbench_cache.cache_path(CODE)]  # no temporary file left behind
    assert files[0].read_text(encoding="utf-8") == good
    header = json.loads(good.partition("\n")[0])
    assert header == {
        "key": {
            "format": simbench_cache.FORMAT,
            "code": CODE,
            "simbench": simbench.__version__,
            "pandapower": pp.__version__,
        },
        "sha256": network.sha256,
    }


def test_the_cache_gives_the_network_simbench_builds(
    cache: Path, builds: list[str], built, good: str
) -> None:  # type: ignore[no-untyped-def]
    cache.mkdir(parents=True)
    simbench_cache.cache_path(CODE).write_text(good, encoding="utf-8")  # type: ignore[union-attr]
    network = _load()
    assert builds == []  # read from the cache, not built
    assert network.sha256 == network_sha256(built) == network_sha256(network.net)
    _assert_same_net(built, network.net)


def test_floats_are_written_exactly() -> None:
    table = pd.DataFrame(
        {"x": [0.47100000000000003, 1.0952380952380953, float("nan")], "n": ["a", None, "c"]}
    )
    text = simbench_cache._split_text(table)
    assert text == (
        '{"columns": ["x", "n"], "index": [0, 1, 2], '
        '"data": [[0.47100000000000003, "a"], [1.0952380952380953, null], [null, "c"]]}'
    )
    back = pd.read_json(__import__("io").StringIO(text), orient="split", precise_float=True)
    assert back.x[0] == 0.47100000000000003 and back.x[1] == 1.0952380952380953


def _garbage(text: str) -> str:
    return "\x00\xff not json"


def _truncated(text: str) -> str:
    return text[: len(text) // 2]


def _other_code(text: str) -> str:
    head, _, body = text.partition("\n")
    header = json.loads(head)
    header["key"]["code"] = "1-LV-rural2--0-sw"
    return json.dumps(header) + "\n" + body


def _other_version(text: str) -> str:
    head, _, body = text.partition("\n")
    header = json.loads(head)
    header["key"]["simbench"] = "0.0.1"
    return json.dumps(header) + "\n" + body


def _changed_value(text: str) -> str:
    """A load's power edited, the header's fingerprint left: the fingerprint no longer fits."""
    head, _, body = text.partition("\n")
    net = json.loads(body)
    table = json.loads(net["_object"]["load"]["_object"])
    column = table["columns"].index("p_mw")
    table["data"][0][column] = 99.0
    net["_object"]["load"]["_object"] = json.dumps(table)
    return head + "\n" + json.dumps(net)


def _object_in_a_cell(text: str) -> str:
    """What the allow-list refuses in any network file is refused in the cache too."""
    head, _, body = text.partition("\n")
    net = json.loads(body)
    table = json.loads(net["_object"]["bus"]["_object"])
    table["data"][0][0] = {"_module": "os", "_class": "system", "_object": "echo owned"}
    net["_object"]["bus"]["_object"] = json.dumps(table)
    return head + "\n" + json.dumps(net)


def _no_header(text: str) -> str:
    return text.partition("\n")[2]


def _someone_elses_header(text: str) -> str:
    """A file of the user's that merely starts with a JSON object with a `key`."""
    return '{"key": {}}\nmy notes, not a cache\n'


# how a cache file is spoiled, and whether it is still the planner's (its header there): the
# planner replaces its own broken file, and leaves alone a file it did not write
BROKEN = {
    "garbage": (_garbage, False),
    "truncated": (_truncated, True),
    # a header whose key is not the one the file is named by: not a file the planner wrote
    "another code": (_other_code, False),
    "another simbench version": (_other_version, False),
    "a changed value": (_changed_value, True),
    "an object in a table cell": (_object_in_a_cell, True),
    "no header": (_no_header, False),
    "someone else's header": (_someone_elses_header, False),
}


@pytest.mark.parametrize(("spoil", "ours"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_cache_file_is_ignored(
    spoil, ours: bool, cache: Path, builds: list[str], built, good: str
) -> None:  # type: ignore[no-untyped-def]
    path = simbench_cache.cache_path(CODE)
    assert path is not None
    cache.mkdir(parents=True)
    path.write_text(spoil(good), encoding="utf-8")
    network = _load()
    assert builds == [CODE]  # built afresh
    assert network.sha256 == network_sha256(built)
    _assert_same_net(built, network.net)
    # the planner's own broken file replaced; one it did not write left as it was
    assert path.read_text(encoding="utf-8") == (good if ours else spoil(good))


def test_the_cache_can_be_turned_off(
    cache: Path, builds: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_CACHE", "off")
    _load()
    assert builds == [CODE]
    assert not cache.exists()


def test_an_unwritable_cache_costs_nothing_but_time(
    tmp_path: Path, builds: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file: no folder can be made in it
    monkeypatch.delenv("PLANNER_CACHE", raising=False)
    network = _load()
    assert builds == [CODE]
    assert network.sha256 == network_sha256(network.net)
    assert list(tmp_path.iterdir()) == [blocker]


def test_a_relative_xdg_cache_home_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    monkeypatch.delenv("PLANNER_CACHE", raising=False)
    assert simbench_cache.cache_dir() == Path.home() / ".cache" / "planner" / "simbench"


def test_another_users_cache_file_is_ignored(
    cache: Path, builds: list[str], good: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not hasattr(os, "getuid"):
        pytest.skip("file owners are POSIX")
    path = simbench_cache.cache_path(CODE)
    assert path is not None
    cache.mkdir(parents=True)
    path.write_text(good, encoding="utf-8")
    me = os.getuid()
    monkeypatch.setattr(simbench_cache.os, "getuid", lambda: me + 1)  # the file is not "mine"
    _load()
    assert builds == [CODE]
