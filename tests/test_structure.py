"""Reading the caller's structure statically, merged with the live module (SPEC §5).

The structure is one tuple in ``_structure``'s record layout, the one the contract engine reads:
``(who, filename, version, has_source, variables, functions, classes, norms)``; a variable is
``(name, known, value, annotation)``, an argument ``(name, annotation, default text, default is a
literal, default value)``, a function ``(name, arguments, return annotation, is async)``, an
attribute ``(name, kind, known, value, annotation)``, a class ``(name, attributes, methods, bases)``.
"""

from __future__ import annotations

import importlib
import os
import pickle
import py_compile
import sys
import textwrap
import threading
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from importspy_hook import _cache, _structure
from importspy_hook._annotations import normalise_annotation
from importspy_hook._structure import read_structure

Structure = tuple[Any, ...]
WHO, FILENAME, VERSION, HAS_SOURCE, VARIABLES, FUNCTIONS, CLASSES, NORMS = range(8)


class FakeCaller:
    """Stands in for ``_caller.Caller`` (same attributes)."""

    def __init__(self, name: str | None, file: str | None, module: types.ModuleType | None) -> None:
        self.name = name
        self.file = file
        self.module = module


def write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def read_file(path: Path, module: types.ModuleType | None = None) -> Structure:
    return read_structure(FakeCaller(path.stem, str(path), module))


def signature(function: tuple[Any, ...]) -> tuple[tuple[Any, ...], ...]:
    """``(name, annotation, default text)`` of each argument of a function record."""
    return tuple(argument[:3] for argument in function[1])


def value(record: tuple[Any, ...]) -> object:
    """The value of a variable or attribute record; ``UNKNOWN`` when it is not known."""
    known, found = record[-3], record[-2]
    return found if known else UNKNOWN


UNKNOWN = object()  # what value() gives for a value the structure does not know


@pytest.fixture
def importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A sys.path directory whose modules are forgotten after the test."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]
    importlib.invalidate_caches()


# --------------------------------------------------------------------------- the line-1 import


def test_import_on_line_one_still_sees_the_whole_caller(importable: Path) -> None:
    write(
        importable / "l1_plugin.py",
        """
        import sys
        from importspy_hook._structure import read_structure

        class _Caller:
            name = "l1_host"
            module = sys.modules["l1_host"]
            file = module.__file__

        # What the hook sees: the host is only partially initialised at this point.
        PARTIAL_NAMES = set(vars(_Caller.module))
        CAPTURED = read_structure(_Caller())
        """,
    )
    write(
        importable / "l1_host.py",
        """
        import l1_plugin
        __version__ = "0.3.1"
        TIMEOUT: int = 30

        class Handler(l1_plugin.Base if False else object):
            retries = 3

            def __init__(self, name: str) -> None:
                self.name = name

            def handle(self, event: dict) -> bool:
                return True

        def run(config: "Config | None" = None) -> int:
            return 0
        """,
    )
    importlib.import_module("l1_host")
    plugin = sys.modules["l1_plugin"]
    assert "Handler" not in plugin.PARTIAL_NAMES and "run" not in plugin.PARTIAL_NAMES
    captured: Structure = plugin.CAPTURED
    assert captured[HAS_SOURCE]
    assert captured[WHO] == "l1_host" and captured[FILENAME] == "l1_host.py"
    assert captured[VERSION] == "0.3.1"
    assert captured[VARIABLES]["TIMEOUT"] == ("TIMEOUT", True, 30, "int")
    _, attributes, methods, _ = captured[CLASSES]["Handler"]
    assert [m[0] for m in methods] == ["__init__", "handle"]
    assert ("retries", "class", True, 3, None) in attributes
    assert ("name", "instance", False, None, None) in attributes  # not a literal: not known
    run = captured[FUNCTIONS]["run"]
    assert run[1] == (("config", "'Config | None'", "None", True, None),)  # a literal default: None
    assert run[2] == "int"
    assert "l1_plugin" not in captured[VARIABLES]  # imported names are not the caller's variables


def test_reading_never_executes_the_caller(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = write(
        tmp_path / "dangerous.py",
        f"""
        open({str(marker)!r}, "w").close()
        raise SystemExit("must not run")
        VALUE = 1
        """,
    )
    structure = read_file(path)
    assert value(structure[VARIABLES]["VALUE"]) == 1
    assert not marker.exists()
    assert "dangerous" not in sys.modules


# --------------------------------------------------------------------------- functions


def test_function_signatures(tmp_path: Path) -> None:
    path = write(
        tmp_path / "sigs.py",
        """
        import functools

        def plain(a, b: int, c: "str" = "x", *args: float, d, e: bool = False, **kwargs: object) -> None:
            pass

        def positional(x, /, y=1, *, z: int = 2):
            pass

        async def fetch(url: str, *, timeout: float = 5.0) -> bytes:
            return b""

        @functools.lru_cache(maxsize=None)
        @some.decorator(1)
        def decorated(n: int) -> int:
            return n
        """,
    )
    functions = read_file(path)[FUNCTIONS]
    assert signature(functions["plain"]) == (
        ("a", None, None),
        ("b", "int", None),
        ("c", "'str'", "'x'"),
        ("args", "float", None),
        ("d", None, None),
        ("e", "bool", "False"),
        ("kwargs", "object", None),
    )
    assert functions["plain"][1][2][3:] == (True, "x")  # the default's literal value, for the default rule
    assert functions["plain"][2] == "None"
    assert not functions["plain"][3]
    assert signature(functions["positional"]) == (
        ("x", None, None),
        ("y", None, "1"),
        ("z", "int", "2"),
    )
    assert functions["positional"][2] is None
    assert functions["fetch"][3]  # async
    assert functions["fetch"][1][1] == ("timeout", "float", "5.0", True, 5.0)
    assert signature(functions["decorated"]) == (("n", "int", None),)


# --------------------------------------------------------------------------- classes


def test_class_and_instance_attributes(tmp_path: Path) -> None:
    path = write(
        tmp_path / "classes.py",
        """
        import base
        from typing import Generic, TypeVar
        T = TypeVar("T")

        class Plugin(base.Plugin, Generic[T], metaclass=Meta):
            kind = "demo"
            ratio: float = 0.5
            limit: int
            computed = len("abc")
            first, second = 1, 2

            def __init__(this, name: str, debug: bool = False) -> None:
                this.name = name
                this.count = 0
                if debug:
                    for i in range(3):
                        with open("x") as fh:
                            this.level: int = i
                try:
                    this.state = "ready"
                except Exception:
                    pass

                def later():
                    this.nested = 42

                def shadowed(this):
                    this.not_mine = 1

            def bump(self):
                self.count += 1
                self.count = 99
                self.extra = [1, 2]

            @classmethod
            def create(cls):
                cls.registry = {}

            @staticmethod
            def helper(obj):
                obj.not_an_attribute = True

            @property
            def size(self) -> int:
                return 0

            @size.setter
            def size(self, value: int) -> None:
                self.stored_size = value

            async def run(self) -> None:
                self.ran = True
        """,
    )
    _, attributes, methods, bases = read_file(path)[CLASSES]["Plugin"]
    assert bases == ("base.Plugin", "Generic[T]")
    assert tuple(map(_structure.last_dotted_part, bases)) == ("Plugin", "Generic")
    by_key = {(a[1], a[0]): a for a in attributes}
    assert value(by_key[("class", "kind")]) == "demo"
    assert by_key[("class", "ratio")] == ("ratio", "class", True, 0.5, "float")
    assert by_key[("class", "limit")] == ("limit", "class", False, None, "int")
    assert value(by_key[("class", "computed")]) is UNKNOWN
    assert (value(by_key[("class", "first")]), value(by_key[("class", "second")])) == (1, 2)
    assert value(by_key[("class", "registry")]) == {}
    assert value(by_key[("instance", "name")]) is UNKNOWN
    assert value(by_key[("instance", "count")]) == 0  # the first assignment (in __init__) gives the value
    assert by_key[("instance", "level")] == ("level", "instance", False, None, "int")
    assert value(by_key[("instance", "state")]) == "ready"
    assert value(by_key[("instance", "nested")]) == 42
    assert value(by_key[("instance", "extra")]) == [1, 2]
    assert value(by_key[("instance", "ran")]) is True
    assert value(by_key[("instance", "stored_size")]) is UNKNOWN
    names = {a[0] for a in attributes}
    assert "not_mine" not in names and "not_an_attribute" not in names and "fh" not in names
    assert [m[0] for m in methods] == ["__init__", "bump", "create", "helper", "size", "run"]
    size = next(m for m in methods if m[0] == "size")
    assert signature(size)[-1] == ("value", "int", None)  # the setter, defined last
    assert next(m for m in methods if m[0] == "run")[3]  # async


def test_conditional_definitions_count_and_the_last_one_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path / "conditional.py",
        """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from collections.abc import Mapping
            class OnlyForTypes: ...
        try:
            from ujson import dumps
        except ImportError:
            def dumps(obj, *, indent=None):
                return ""
        else:
            FAST = True
        finally:
            LOADED = True
        if False:
            MODE = "a"
        else:
            MODE = "b"
        Thing = 1
        class Thing: ...
        def later(): ...
        later = 5
        """,
    )
    structure = read_file(path)
    variables = structure[VARIABLES]
    assert "OnlyForTypes" in structure[CLASSES]
    assert signature(structure[FUNCTIONS]["dumps"]) == (("obj", None, None), ("indent", None, "None"))
    assert value(variables["FAST"]) is True and value(variables["LOADED"]) is True
    assert value(variables["MODE"]) == "b"
    assert "Thing" in structure[CLASSES] and "Thing" not in variables
    assert value(variables["later"]) == 5 and "later" not in structure[FUNCTIONS]
    assert "Mapping" not in variables


# --------------------------------------------------------------------------- live module merge


def test_live_module_adds_what_the_source_cannot_say(tmp_path: Path) -> None:
    path = write(
        tmp_path / "livehost.py",
        """
        from os import sep
        import json
        __version__ = compute_version()
        COMPUTED = 6 * 7
        STILL_UNKNOWN = object()
        LITERAL = "from source"

        class Config:
            timeout = default_timeout()
        """,
    )

    def made_at_runtime(a: int, *rest: str, flag: bool = True, **extra: int) -> str:
        return ""

    made_at_runtime.__module__ = "livehost"
    foreign = types.FunctionType(made_at_runtime.__code__, {}, "foreign")
    foreign.__module__ = "elsewhere"
    json = importlib.import_module("json")
    module = types.ModuleType("livehost")
    vars(module).update(
        __file__=str(path),
        sep="/",
        json=json,
        __version__="2.0.1",
        COMPUTED=42,
        LITERAL="changed at run time",
        STILL_UNKNOWN=object(),
        DYNAMIC={"via": "globals()"},
        some_callable=json.dumps,
        made_at_runtime=made_at_runtime,
        foreign=foreign,
        Config=type("Config", (), {"timeout": 10, "__module__": "livehost"}),
        Generated=type("Generated", (dict,), {"size": 3, "__module__": "livehost"}),
    )

    structure = read_file(path, module)
    variables = structure[VARIABLES]
    assert structure[HAS_SOURCE]
    assert structure[VERSION] == "2.0.1"
    assert value(variables["COMPUTED"]) == 42
    assert value(variables["LITERAL"]) == "from source"  # the source is primary
    assert value(variables["STILL_UNKNOWN"]) is UNKNOWN
    assert value(variables["DYNAMIC"]) == {"via": "globals()"}
    assert "sep" not in variables and "json" not in variables
    assert "some_callable" not in variables
    assert "foreign" not in structure[FUNCTIONS]
    made = structure[FUNCTIONS]["made_at_runtime"]
    assert signature(made) == (
        ("a", "int", None),
        ("rest", "str", None),
        ("flag", "bool", "True"),
        ("extra", "int", None),
    )
    assert made[1][2][3:] == (True, True)  # a live default that is plain data compares by value
    assert made[2] == "str"
    assert structure[CLASSES]["Config"][1] == (("timeout", "class", True, 10, None),)
    _, generated_attributes, _, generated_bases = structure[CLASSES]["Generated"]
    assert generated_bases == ("dict",)
    assert generated_attributes == (("size", "class", True, 3, None),)
    # Dunders: those the source assigns, never the interpreter's (__name__, __file__, ...).
    assert value(variables["__version__"]) == "2.0.1"
    assert {name for name in variables if name.startswith("__")} == {"__version__"}


def test_live_values_are_read_raw_and_never_evaluated(tmp_path: Path) -> None:
    """Enum members stand for their base value; a proxy (whose ``__class__``, ``__eq__`` and
    ``repr`` would run host code) is an unknown value, a module ``__getattr__`` is never called,
    and an int too large to print compares by value and shows by size."""
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    class Mode(str, enum.Enum):
        FAST = "fast"

    touched: list[str] = []

    class Proxy:
        def __getattribute__(self, name: str) -> object:
            touched.append(name)
            raise RuntimeError("evaluated")

    path = write(tmp_path / "rawhost.py", "LEVEL = level()\nMODE = mode()\nDB = connect()\n")
    module = types.ModuleType("rawhost")
    huge = 10**5000

    def module_getattr(name: str) -> object:
        touched.append(name)
        raise RuntimeError("module __getattr__ ran")

    vars(module).update(
        __file__=str(path),
        __getattr__=module_getattr,
        LEVEL=Level.HIGH,
        MODE=Mode.FAST,
        DB=Proxy(),
        LAZY=Proxy(),
        HUGE=huge,
        ROWS=[1, huge],
    )
    structure = read_file(path, module)
    variables = structure[VARIABLES]
    assert touched == []
    assert structure[VERSION] is None
    level, mode = value(variables["LEVEL"]), value(variables["MODE"])
    assert (type(level), level, type(mode), mode) == (int, 3, str, "fast")
    assert value(variables["DB"]) is UNKNOWN
    assert value(variables["LAZY"]) is UNKNOWN
    shown = value(variables["HUGE"])
    assert isinstance(shown, _structure.TooLarge)
    assert shown == huge and huge == shown and shown != huge + 1
    assert repr(shown) == "<an int of about 5001 digits>"
    assert pickle.loads(pickle.dumps(shown)) == huge
    rows = value(variables["ROWS"])
    assert rows == [1, huge] and repr(rows) == "<a list holding an int of about 5001 digits>"


def test_sourceless_module_gives_what_the_live_module_holds(importable: Path) -> None:
    source = write(
        importable / "compiled_only.py",
        """
        from __future__ import annotations
        import os
        __version__ = "4.5"
        LEVEL = 3

        class Worker(dict):
            name = "w"
            def work(self, item: str, *, retries: int = 2) -> bool:
                return True

        async def serve(port: int = 8080) -> None:
            pass
        """,
    )
    py_compile.compile(str(source), cfile=str(importable / "compiled_only.pyc"), doraise=True)
    source.unlink()
    module = importlib.import_module("compiled_only")
    assert str(module.__file__).endswith(".pyc")
    structure = read_structure(FakeCaller("compiled_only", module.__file__, module))
    assert not structure[HAS_SOURCE]
    assert structure[FILENAME] == "compiled_only.pyc"
    assert structure[VERSION] == "4.5"
    assert value(structure[VARIABLES]["LEVEL"]) == 3
    assert "os" not in structure[VARIABLES] and "annotations" not in structure[VARIABLES]
    _, attributes, methods, bases = structure[CLASSES]["Worker"]
    assert bases == ("dict",)
    assert attributes == (("name", "class", True, "w", None),)
    assert signature(methods[0]) == (("self", None, None), ("item", "str", None), ("retries", "int", "2"))
    assert methods[0][2] == "bool"
    assert structure[FUNCTIONS]["serve"][3]  # async
    assert signature(structure[FUNCTIONS]["serve"]) == (("port", "int", "8080"),)


def test_source_from_the_loader_when_there_is_no_file(
    importable: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses = []
    original = _structure.parse_source

    def counting(source: str, filename: str) -> Any:
        parses.append(filename)
        return original(source, filename)

    monkeypatch.setattr(_structure, "parse_source", counting)
    archive = importable / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped_host.py", "MARK = 'zipped'\n\ndef later(x: int) -> int:\n    return x\n")
    sys.path.insert(0, str(archive))
    try:
        module = importlib.import_module("zipped_host")
        del module.later  # as if the import ran before the function existed
        structure = read_structure(FakeCaller("zipped_host", module.__file__, module))
        again = read_structure(FakeCaller("zipped_host", module.__file__, module))
    finally:
        sys.path.remove(str(archive))
    assert structure[HAS_SOURCE]
    assert value(structure[VARIABLES]["MARK"]) == "zipped"
    assert signature(structure[FUNCTIONS]["later"]) == (("x", "int", None),)
    assert again == structure and len(parses) == 1  # the same source is parsed once


def test_syntax_error_is_not_fatal(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.py", "def oops(:\n    pass\nVALUE = 1\n")
    assert not read_file(path)[HAS_SOURCE]
    module = types.ModuleType("broken")
    vars(module)["VALUE"] = 1
    structure = read_file(path, module)
    assert not structure[HAS_SOURCE]
    assert value(structure[VARIABLES]["VALUE"]) == 1


def test_no_file_and_no_module() -> None:
    structure = read_structure(FakeCaller("__main__", None, None))
    assert structure == ("__main__", None, None, False, {}, {}, {}, {})
    assert read_structure(FakeCaller(None, None, None))[WHO] == "the importer"  # how messages name it


def test_source_encoding_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes("# -*- coding: latin-1 -*-\nGREETING = 'déjà vu'\n".encode("latin-1"))
    assert value(read_file(path)[VARIABLES]["GREETING"]) == "déjà vu"


def test_pycache_file_is_read_through_its_source(tmp_path: Path) -> None:
    path = write(tmp_path / "cached_host.py", "X = 1\n")
    compiled = py_compile.compile(str(path), doraise=True)
    structure = read_structure(FakeCaller("cached_host", compiled, None))
    assert structure[HAS_SOURCE] and structure[FILENAME] == "cached_host.py"
    assert value(structure[VARIABLES]["X"]) == 1


def test_an_unknown_value_is_not_none_and_a_structure_pickles(tmp_path: Path) -> None:
    """Not known (``known`` False) is not ``None``; a structure (a live huge int included) survives
    pickling, as a ``Context`` handed to another process may need it."""
    path = write(tmp_path / "pickled.py", "NOTHING = None\nCOMPUTED = compute()\n")
    module = types.ModuleType("pickled")
    vars(module).update(__file__=str(path), HUGE=10**5000)
    structure = read_file(path, module)
    assert structure[VARIABLES]["NOTHING"] == ("NOTHING", True, None, None)
    assert structure[VARIABLES]["COMPUTED"] == ("COMPUTED", False, None, None)
    assert value(structure[VARIABLES]["COMPUTED"]) is UNKNOWN
    assert pickle.loads(pickle.dumps(structure)) == structure


# --------------------------------------------------------------------------- cache


def test_cache_is_invalidated_when_the_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parses = []
    original = _structure.parse_source

    def counting(source: str, filename: str) -> Any:
        parses.append(filename)
        return original(source, filename)

    monkeypatch.setattr(_structure, "parse_source", counting)
    path = write(tmp_path / "changing.py", "VALUE = 1\n")
    os.utime(path, ns=(10**18, 10**18))
    assert value(read_file(path)[VARIABLES]["VALUE"]) == 1
    assert value(read_file(path)[VARIABLES]["VALUE"]) == 1
    assert len(parses) == 1  # unchanged file: parsed once

    write(path, "VALUE = 2222\n")
    os.utime(path, ns=(2 * 10**18, 2 * 10**18))
    assert value(read_file(path)[VARIABLES]["VALUE"]) == 2222
    assert len(parses) == 2

    write(path, "VALUE = 3333\n")  # same size: the mtime alone must be enough
    os.utime(path, ns=(3 * 10**18, 3 * 10**18))
    assert value(read_file(path)[VARIABLES]["VALUE"]) == 3333
    assert len(parses) == 3


def test_admitting_and_explaining_share_one_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The records the admitting run reads (``source_of``) are the ones the full structure merges."""
    parses = []
    original = _structure.parse_source

    def counting(source: str, filename: str) -> Any:
        parses.append(filename)
        return original(source, filename)

    monkeypatch.setattr(_structure, "parse_source", counting)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    path = write(tmp_path / "shared_parse.py", "LIMIT: int = 5\n")
    found = _cache.source_of(str(path), _structure.records_of)
    assert found is not None and found[0] == str(path) and found[2] is not None
    structure = read_file(path)
    assert structure[VARIABLES]["LIMIT"] == found[2][0]["LIMIT"] == ("LIMIT", True, 5, "int")
    assert len(parses) == 1


def test_concurrent_reads_agree(tmp_path: Path) -> None:
    _cache.forget_sources()
    path = write(tmp_path / "shared.py", "".join(f"V{i} = {i}\n" for i in range(300)))
    results: list[Structure] = []

    def worker() -> None:
        for _ in range(20):
            results.append(read_file(path))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 80
    assert all(value(r[VARIABLES]["V299"]) == 299 and len(r[VARIABLES]) == 300 for r in results)


# --------------------------------------------------------------------------- annotations


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("int", "int"),
        ("  dict[ str ,int ]  ", "dict[str, int]"),
        ("'int'", "int"),
        ('"list[int]"', "list[int]"),
        ("Optional[int]", "int | None"),
        ("typing.Optional[int]", "int | None"),
        ("Union[int, None]", "int | None"),
        ("int | None", "int | None"),
        ("None | int", "int | None"),
        ("Union[None, str, int]", "str | int | None"),
        ("Union[str, int]", "str | int"),
        ("typing.Union[int, str]", "int | str"),
        ("Union[int]", "int"),
        ("Union[int, int]", "int"),
        ("Optional[Union[A, B]]", "A | B | None"),
        ("Optional[int | None]", "int | None"),
        ("typing.List[typing.Optional['Foo']]", "List[Foo | None]"),
        ('Dict[str, Optional["Foo"]]', "Dict[str, Foo | None]"),
        ("typing_extensions.Self", "Self"),
        ("Literal['a  b', None]", "Literal['a  b', None]"),
        ("Annotated['int', 'meta data']", "Annotated[int, 'meta data']"),
        ("Callable[[int], Optional[str]]", "Callable[[int], str | None]"),
        ("pkg.typing.X", "pkg.typing.X"),
        ("not  valid ((", "not valid (("),
        ("'unparsable ('", "'unparsable ('"),
    ],
)
def test_normalise_annotation(written: str, expected: str) -> None:
    assert normalise_annotation(written) == expected


@pytest.mark.parametrize(
    ("left", "right"),
    [("Optional[int]", "str | None"), ("list[int]", "List[int]"), ("int | str", "str | int"), ("A", "B")],
)
def test_different_annotations_stay_different(left: str, right: str) -> None:
    assert normalise_annotation(left) != normalise_annotation(right)
