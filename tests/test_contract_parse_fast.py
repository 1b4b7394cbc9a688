"""The contract reader's usual-shape path (``_contract_parse._usual_shape``) against ruamel.yaml.

A first contracted import reads a contract in the usual shape without importing ruamel.yaml (§11:
≤ 30 ms for a first import ever). What a user must not notice is which reader read the file: for
every text the usual-shape path accepts, its nodes carry the tags, texts and positions ruamel.yaml
gives the same text (so the contract, its errors and their lines are the same); every other text it
declines, and ruamel.yaml reads it.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_python, write_files
from ruamel.yaml import YAML

from importspy_hook import _contract_parse
from importspy_hook._contract_parse import _usual_shape, contract_errors, parse_plain

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted(
    path
    for folder in ("contracts", "examples", "tests")
    for path in (ROOT / folder).rglob("*.y*ml")
    if path.suffix in (".yml", ".yaml")
)

BENCHMARK = """\
filename: host.py
variables:
  - name: stage
    value: live
    annotation: str
functions:
  - name: run
    arguments:
      - name: data
        annotation: dict
    return_annotation: str
classes:
  - name: Extension
    attributes:
      - type: class
        name: kind
        value: plugin
    methods:
      - name: start
        arguments:
          - name: self
deployments:
  - arch: x86_64
    systems:
      - os: linux
        environment:
          variables:
            - name: BENCH_STAGE
              value: ci
        pythons:
          - version: "3.11.7"
            interpreter: CPython
            modules:
              - filename: host.py
                variables:
                  - name: limit
                    value: 5
                    annotation: int
"""
"""The contract of ``benchmarks/contracted.py``: the usual shape."""

USUAL = [
    BENCHMARK,
    "runtime:\n  python: '>=3.10'\n  environment:\n    STAGE: ci\n",
    "variables:\n- name: LIMIT\n  value: 5\n  annotation: Optional[int]\nfunctions:\n- name: f\n",
    "# a comment\nvariables:   # trailing\n  - name: A  # why\n    value: 'it''s'\n\n    annotation:\n",
    'functions:\n  - name: run\n    return_annotation: "dict[str, int | None]"\n',
    "deployments:\n  - arch: x86_64\n    systems:\n      - os: linux\n"
    "        pythons:\n          - version: 3.10\n",
    "dependencies:\n  - name: packaging\n    version: '>=21'\n  - name: attrs\n",
    "variables:\n  - name: PATH_LIKE\n    value: /usr/local/bin\n  - name: URL\n    value: http://x/y#z\n",
    "variables:\n  - name: N\n    value: 0\n  - name: T\n    value: true\n  - name: Z\n    value: ~\n",
    "variables:\n  - name: V\n    value: 3.11.7\n  - name: W\n    value: null\n  - name: E\n    value: ''\n",
]
"""Contracts the usual-shape path must read itself (no ruamel.yaml)."""

SCALARS = [
    "a", "abc def", "x86_64", "3", "03", "3.10", "3.", ".5", "1_000", "0x1F", "0o17", "1e3", "-1",
    "+1", "2024-01-01", "1.2.3", "1..2", "true", "True", "TRUE", "tRue", "false", "yes", "no", "on",
    "off", "y", "n", "null", "Null", "NULL", "nULL", "~", "~x", "<<", "=", ".inf", ".nan", "-.inf",
    "Optional[int]", "dict[str, int]", "a,b", "x{y}", "a#b", "a #b", "a: b", "a:b", "a:", "'q'",
    "'it''s'", "'a' b", '"q"', '"a\\"b"', '"a\\nb"', "'a #b'", '"a" # c', "&anchor x", "*alias",
    "!!str 1", "!tag x", "|", ">", "- x", "-x", "?x", "? x", "%x", "@x", "`x", "(a)", "/p", "a'b",
    'a"b', "[a]", "{a: 1}", "''", '""', "a  b", "a\tb", "é", "int | None",
]  # fmt: skip
"""Scalars written as a value, a list item and a key: read the same, or declined."""


def tree(node: Any) -> Any:
    """A node as plain data: kind, tag, position and children (or text)."""
    tag = node.tag
    tag = str(getattr(tag, "value", tag))
    where = (node.start_mark.line, node.start_mark.column)
    if node.id == "scalar":
        return ("scalar", tag, where, node.value)
    if node.id == "sequence":
        return ("sequence", tag, where, [tree(child) for child in node.value])
    return ("mapping", tag, where, [(tree(key), tree(value)) for key, value in node.value])


def ruamel_tree(text: str) -> Any:
    node = YAML(typ="safe", pure=True).compose(text)
    return None if node is None else tree(node)


def same_or_declined(text: str) -> bool:
    """True when the usual-shape path read ``text`` (and then as ruamel.yaml does); False when it
    declined. Fails when it read it differently, or read a text ruamel.yaml refuses."""
    ours = _usual_shape(text)
    if ours is None:
        return False
    try:
        theirs = ruamel_tree(text)
    except Exception as exc:  # ruamel.yaml refuses it: the usual-shape path must have declined
        pytest.fail(f"read a text ruamel.yaml refuses ({exc!r}):\n{text}")
    assert tree(ours) == theirs, text
    return True


@pytest.mark.parametrize("text", USUAL)
def test_the_usual_shape_is_read_as_ruamel_yaml_reads_it(text: str) -> None:
    assert same_or_declined(text), f"declined:\n{text}"


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_contract_in_the_repository_is_read_the_same_or_declined(path: Path) -> None:
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    same_or_declined(text)


@pytest.mark.parametrize("scalar", SCALARS)
def test_scalars_are_tagged_as_ruamel_yaml_tags_them_or_declined(scalar: str) -> None:
    forms = [
        f"variables:\n  - name: V\n    value: {scalar}\n",
        f"variables:\n  - {scalar}\n",
        f"variables:\n  {scalar}: 1\n",
        f"{scalar}:\n  - x\n",
    ]
    for text in forms:
        same_or_declined(text)


SHAPES = [
    "a:\n  b: 1\n c: 2\n",  # an indentation no block has
    "a:\n  - x\n   - y\n",
    "a: x\n  y\n",  # a multi-line plain scalar
    "a:\n  - x\n    y\n",
    "a:\n-\n  b: 1\n",  # an empty item
    "a:\n  - - x\n",
    "a:\n  -  b: 1\n",
    "a:\n- b: 1\n  c: 2\n- d\nz: 3\n",  # indentless lists
    "a:\n  b:\n  c:\n",
    "a: 1\na: 2\n",  # a duplicate key: the builder refuses it, at the same line
    "---\na: 1\n",
    "a: 1\n...\n",
    "a: 1\r\nb: 2\r\n",
    " a: 1\n",
    "- a\n",
    "a\n",
    "",
    "# only\n",
    "a:\n\tb: 1\n",
    "a: [x, y]\n",
    "a: {b: 1}\n",
    "a: &x 1\nb: *x\n",
    "a: |\n  text\n",
    "a:\n  b: 1\n  - c\n",
    "a:\n  - b: 1\n    - c\n",
    "a:\n  - b\n  c: 1\n",
    "a: b: c\n",
    "a:    \n  b: 1   \n",
    "a: 1 # x\n# y\n  # z\nb: 2\n",
    "a:\n  - b: 1\n\n\n  - c: 2\n",
]
"""Shapes near the edge of the usual one."""


@pytest.mark.parametrize("text", SHAPES)
def test_shapes_at_the_edge_are_read_the_same_or_declined(text: str) -> None:
    same_or_declined(text)


def test_combinations_of_lines_are_read_the_same_or_declined() -> None:
    # Every sequence of three lines from a small alphabet, at three indentations: a brute-force
    # search for a structure the usual-shape path builds differently.
    lines = ["a:", "b: 1", "- c", "- d: 2", "- e:", "f", "'g': 3", "h: 'i' # j"]
    indents = ["", "  ", "    "]
    read = 0
    for chosen in itertools.product(lines, repeat=3):
        for spaces in itertools.product(indents, repeat=2):
            text = (
                chosen[0]
                + "\n"
                + "".join(s + line + "\n" for s, line in zip(spaces, chosen[1:], strict=True))
            )
            read += same_or_declined(text)
    assert read > 100  # the search did exercise the usual-shape path


def test_errors_and_their_lines_do_not_depend_on_the_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [
        "variables:\n  - name: A\n    valu: 1\n",  # an unknown key, with a suggestion
        "variables:\n  - value: 1\n",  # a missing name
        "functions:\n  - name: f\n    arguments: x\n",
        "runtime:\n  python: 3.10\n  os: 5\n",
        "deployments:\n  - arch: x86_64\n    systems: linux\n",
        "schema_version: 2\n",
        "a: 1\na: 2\n",
    ]
    ours = [[str(e) for e in contract_errors(text, "c.yml")] for text in texts]
    plains = [parse_plain(BENCHMARK, "c.yml")]
    monkeypatch.setattr(_contract_parse, "_usual_shape", lambda source: None)
    assert [[str(e) for e in contract_errors(text, "c.yml")] for text in texts] == ours
    assert all(ours)
    assert [parse_plain(BENCHMARK, "c.yml")] == plains


def test_a_first_contracted_import_of_the_usual_shape_imports_no_yaml_typing_or_re(tmp_path: Path) -> None:
    # What a first contracted import ever loads (§11: ≤ 30 ms): the contract is read without
    # ruamel.yaml (and so without the typing and re it imports), no attrs, no packaging, and no
    # structlog (no event is emitted); the caller's source is parsed (ast).
    lib = write_files(
        tmp_path,
        {
            "plugin.py": "RAN = True\n",
            "plugin.contract.yml": "variables:\n  - name: LIMIT\n    value: 5\n    annotation: int\n"
            "runtime:\n  python: '>=3.8'\n",
            "host.py": "LIMIT: int = 5\nimport plugin\n",
        },
    )
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(lib)!r})\n"
        "import importspy_hook\nimportspy_hook.install()\n"
        "heavy = ('attr', 'attrs', 'ruamel', 'packaging', 'structlog', 'typing', 're', 'ast')\n"
        "before = {m for m in heavy if m in sys.modules}\n"  # an editable install's finder loads re
        "import host\n"
        "loaded = [m for m in heavy if m in sys.modules and m not in before]\n"
        "print(json.dumps({'ran': host.plugin.RAN, 'heavy': loaded}))\n"
    )
    done = run_python(code, env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done
    assert json.loads(done.stdout.splitlines()[-1]) == {"ran": True, "heavy": ["ast"]}
