"""Reading the caller's structure statically, merged with the live module (SPEC §5)."""

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

import pytest

from importspy_hook import _structure
from importspy_hook._structure import (
    UNKNOWN,
    Argument,
    Attribute,
    ModuleStructure,
    normalise_annotation,
    read_structure,
)


class FakeCaller:
    """Stands in for ``_caller.Caller`` (same attributes)."""

    def __init__(self, name: str | None, file: str | None, module: types.ModuleType | None) -> None:
        self.name = name
        self.file = file
        self.module = module


def write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def read_file(path: Path, module: types.ModuleType | None = None) -> ModuleStructure:
    return read_structure(FakeCaller(path.stem, str(path), module))


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
    captured: ModuleStructure = plugin.CAPTURED
    assert captured.has_source
    assert captured.name == "l1_host" and captured.filename == "l1_host.py"
    assert captured.version == "0.3.1"
    assert captured.variables["TIMEOUT"].value == 30
    assert captured.variables["TIMEOUT"].annotation == "int"
    handler = captured.classes["Handler"]
    assert [m.name for m in handler.methods] == ["__init__", "handle"]
    assert Attribute("retries", "class", 3, None) in handler.attributes
    assert Attribute("name", "instance", UNKNOWN, None) in handler.attributes
    assert captured.functions["run"].arguments == (Argument("config", "'Config | None'", "None"),)
    assert captured.functions["run"].return_annotation == "int"
    assert "l1_plugin" not in captured.variables  # imported names are not the caller's variables


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
    assert structure.variables["VALUE"].value == 1
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
    functions = read_file(path).functions
    assert functions["plain"].arguments == (
        Argument("a", None, None),
        Argument("b", "int", None),
        Argument("c", "'str'", "'x'"),
        Argument("args", "float", None),
        Argument("d", None, None),
        Argument("e", "bool", "False"),
        Argument("kwargs", "object", None),
    )
    assert functions["plain"].return_annotation == "None"
    assert not functions["plain"].is_async
    assert functions["positional"].arguments == (
        Argument("x", None, None),
        Argument("y", None, "1"),
        Argument("z", "int", "2"),
    )
    assert functions["positional"].return_annotation is None
    assert functions["fetch"].is_async
    assert functions["fetch"].arguments[1] == Argument("timeout", "float", "5.0")
    assert functions["decorated"].arguments == (Argument("n", "int", None),)


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
    plugin = read_file(path).classes["Plugin"]
    assert plugin.superclasses == ("base.Plugin", "Generic[T]")
    assert plugin.superclass_names() == ("Plugin", "Generic")
    by_key = {(a.kind, a.name): a for a in plugin.attributes}
    assert by_key[("class", "kind")].value == "demo"
    assert by_key[("class", "ratio")] == Attribute("ratio", "class", 0.5, "float")
    assert by_key[("class", "limit")] == Attribute("limit", "class", UNKNOWN, "int")
    assert by_key[("class", "computed")].value is UNKNOWN
    assert (by_key[("class", "first")].value, by_key[("class", "second")].value) == (1, 2)
    assert by_key[("class", "registry")].value == {}
    assert by_key[("instance", "name")].value is UNKNOWN
    assert by_key[("instance", "count")].value == 0  # the first assignment (in __init__) gives the value
    assert by_key[("instance", "level")] == Attribute("level", "instance", UNKNOWN, "int")
    assert by_key[("instance", "state")].value == "ready"
    assert by_key[("instance", "nested")].value == 42
    assert by_key[("instance", "extra")].value == [1, 2]
    assert by_key[("instance", "ran")].value is True
    assert by_key[("instance", "stored_size")].value is UNKNOWN
    names = {a.name for a in plugin.attributes}
    assert "not_mine" not in names and "not_an_attribute" not in names and "fh" not in names
    assert [m.name for m in plugin.methods] == ["__init__", "bump", "create", "helper", "size", "run"]
    size = next(m for m in plugin.methods if m.name == "size")
    assert size.arguments[-1] == Argument("value", "int", None)  # the setter, defined last
    assert next(m for m in plugin.methods if m.name == "run").is_async


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
    assert "OnlyForTypes" in structure.classes
    assert structure.functions["dumps"].arguments == (
        Argument("obj", None, None),
        Argument("indent", None, "None"),
    )
    assert structure.variables["FAST"].value is True and structure.variables["LOADED"].value is True
    assert structure.variables["MODE"].value == "b"
    assert "Thing" in structure.classes and "Thing" not in structure.variables
    assert structure.variables["later"].value == 5 and "later" not in structure.functions
    assert "Mapping" not in structure.variables


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
    assert structure.has_source
    assert structure.version == "2.0.1"
    assert structure.variables["COMPUTED"].value == 42
    assert structure.variables["LITERAL"].value == "from source"  # the source is primary
    assert structure.variables["STILL_UNKNOWN"].value is UNKNOWN
    assert structure.variables["DYNAMIC"].value == {"via": "globals()"}
    assert "sep" not in structure.variables and "json" not in structure.variables
    assert "some_callable" not in structure.variables
    assert "foreign" not in structure.functions
    assert structure.functions["made_at_runtime"].arguments == (
        Argument("a", "int", None),
        Argument("rest", "str", None),
        Argument("flag", "bool", "True"),
        Argument("extra", "int", None),
    )
    assert structure.functions["made_at_runtime"].return_annotation == "str"
    config = structure.classes["Config"]
    assert config.attributes == (Attribute("timeout", "class", 10, None),)
    generated = structure.classes["Generated"]
    assert generated.superclasses == ("dict",)
    assert generated.attributes == (Attribute("size", "class", 3, None),)
    # Dunders: those the source assigns, never the interpreter's (__name__, __file__, ...).
    assert structure.variables["__version__"].value == "2.0.1"
    assert {name for name in structure.variables if name.startswith("__")} == {"__version__"}


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
    assert touched == []
    assert structure.version is None
    level, mode = structure.variables["LEVEL"].value, structure.variables["MODE"].value
    assert (type(level), level, type(mode), mode) == (int, 3, str, "fast")
    assert structure.variables["DB"].value is UNKNOWN
    assert structure.variables["LAZY"].value is UNKNOWN
    shown = structure.variables["HUGE"].value
    assert isinstance(shown, _structure.TooLarge)
    assert shown == huge and huge == shown and shown != huge + 1
    assert repr(shown) == "<an int of about 5001 digits>"
    assert pickle.loads(pickle.dumps(shown)) == huge
    rows = structure.variables["ROWS"].value
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
    assert not structure.has_source
    assert structure.filename == "compiled_only.pyc"
    assert structure.version == "4.5"
    assert structure.variables["LEVEL"].value == 3
    assert "os" not in structure.variables and "annotations" not in structure.variables
    worker = structure.classes["Worker"]
    assert worker.superclasses == ("dict",)
    assert worker.attributes == (Attribute("name", "class", "w", None),)
    assert worker.methods[0].arguments == (
        Argument("self", None, None),
        Argument("item", "str", None),
        Argument("retries", "int", "2"),
    )
    assert worker.methods[0].return_annotation == "bool"
    assert structure.functions["serve"].is_async
    assert structure.functions["serve"].arguments == (Argument("port", "int", "8080"),)


def test_source_from_the_loader_when_there_is_no_file(importable: Path) -> None:
    archive = importable / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped_host.py", "MARK = 'zipped'\n\ndef later(x: int) -> int:\n    return x\n")
    sys.path.insert(0, str(archive))
    try:
        module = importlib.import_module("zipped_host")
        del module.later  # as if the import ran before the function existed
        structure = read_structure(FakeCaller("zipped_host", module.__file__, module))
    finally:
        sys.path.remove(str(archive))
    assert structure.has_source
    assert structure.variables["MARK"].value == "zipped"
    assert structure.functions["later"].arguments == (Argument("x", "int", None),)


def test_syntax_error_is_not_fatal(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.py", "def oops(:\n    pass\nVALUE = 1\n")
    assert not read_file(path).has_source
    module = types.ModuleType("broken")
    vars(module)["VALUE"] = 1
    structure = read_file(path, module)
    assert not structure.has_source
    assert structure.variables["VALUE"].value == 1


def test_no_file_and_no_module() -> None:
    structure = read_structure(FakeCaller("__main__", None, None))
    assert not structure.has_source
    assert structure.path is None and structure.filename is None and structure.version is None
    assert not structure.variables and not structure.functions and not structure.classes


def test_source_encoding_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes("# -*- coding: latin-1 -*-\nGREETING = 'déjà vu'\n".encode("latin-1"))
    assert read_file(path).variables["GREETING"].value == "déjà vu"


def test_pycache_file_is_read_through_its_source(tmp_path: Path) -> None:
    path = write(tmp_path / "cached_host.py", "X = 1\n")
    compiled = py_compile.compile(str(path), doraise=True)
    structure = read_structure(FakeCaller("cached_host", compiled, None))
    assert structure.has_source and structure.path == str(path)
    assert structure.variables["X"].value == 1


# --------------------------------------------------------------------------- cache


def test_cache_is_invalidated_when_the_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parses = []
    original = _structure._parse_module

    def counting(source: str, filename: str) -> _structure._Parsed:
        parses.append(filename)
        return original(source, filename)

    monkeypatch.setattr(_structure, "_parse_module", counting)
    path = write(tmp_path / "changing.py", "VALUE = 1\n")
    os.utime(path, ns=(10**18, 10**18))
    assert read_file(path).variables["VALUE"].value == 1
    assert read_file(path).variables["VALUE"].value == 1
    assert len(parses) == 1  # unchanged file: parsed once

    write(path, "VALUE = 2222\n")
    os.utime(path, ns=(2 * 10**18, 2 * 10**18))
    assert read_file(path).variables["VALUE"].value == 2222
    assert len(parses) == 2

    write(path, "VALUE = 3333\n")  # same size: the mtime alone must be enough
    os.utime(path, ns=(3 * 10**18, 3 * 10**18))
    assert read_file(path).variables["VALUE"].value == 3333
    assert len(parses) == 3


def test_concurrent_reads_agree(tmp_path: Path) -> None:
    _structure._clear_cache()
    path = write(tmp_path / "shared.py", "".join(f"V{i} = {i}\n" for i in range(300)))
    results: list[ModuleStructure] = []

    def worker() -> None:
        for _ in range(20):
            results.append(read_file(path))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 80
    assert all(r.variables["V299"].value == 299 and len(r.variables) == 300 for r in results)


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


def test_unknown_is_a_readable_singleton() -> None:
    assert repr(UNKNOWN) == "UNKNOWN"
    assert pickle.loads(pickle.dumps(UNKNOWN)) is UNKNOWN
    assert UNKNOWN != None  # noqa: E711 - an unknown value is not None
