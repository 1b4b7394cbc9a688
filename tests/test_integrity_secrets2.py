"""Third red-team review: secrets copied into the importer's own values, and host code run by annotations.

**A secret under another name (SPEC §6 "Which values may be printed").** The name rule hides the
value of ``API_TOKEN`` and of a caller's variable named like a credential; but an importer copies
secrets into names that say nothing (``DB = os.environ['DATABASE_URL']``, ``SERVERS = [REDIS_URL]``,
``{'X-Api': token}``, a class attribute ``broker``) and into argument defaults, which had no name
rule at all. The one rule now also covers what a violation shows of the caller: a text that
contains the value of a variable whose value may not be shown is not shown, and an argument
default, like a variable or an attribute, is not shown when its own name looks like a credential.
Each case runs a real refused import with the console and JSON log renderers, and looks for the
sentinel in everything printed.

**Annotations of live functions (SPEC §5: a check never runs application code).** A caller with
no source (shipped as bytecode only) is read from its live module: ``repr`` of an
``Annotated[str, Marker()]`` or a ``list[obj]`` ran the host's ``__repr__`` inside the check.

**Names.** ``DB_PW``, ``TWITTER_BEARER``, ``WALLET_MNEMONIC`` now look like credentials.
"""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import pytest
from conftest import Result, run_python, run_script, write_files
from test_integrity_secrets import cli

from importspy_hook._errors import looks_like_credential
from importspy_hook._structure import _annotation_text

SENT = "SENTINELsecret-9f3a-c05"

HOST_TAIL = """\
try:
    import plug
except Exception as exc:
    print("REFUSED", type(exc).__name__)
    print(exc)
else:
    print("ADMITTED")
"""

# (the host's code before its import, the contract, the environment)
CASES: dict[str, tuple[str, str, dict[str, str]]] = {
    "a variable named DB holding DATABASE_URL": (
        "import os\nDB = os.environ['DATABASE_URL']\n",
        "variables:\n  - name: DB\n    value: sqlite:///app.db\n",
        {"DATABASE_URL": f"postgres://app:{SENT}@db/app"},
    ),
    "a list holding REDIS_URL": (
        "import os\nSERVERS = [os.environ['REDIS_URL']]\n",
        "variables:\n  - name: SERVERS\n    value: [redis://localhost]\n",
        {"REDIS_URL": f"redis://:{SENT}@cache:6379"},
    ),
    "a dict with a plain key holding API_TOKEN": (
        "import os\nHEADERS = {'X-Api': os.environ['API_TOKEN']}\n",
        "variables:\n  - name: HEADERS\n    value: {}\n",
        {"API_TOKEN": SENT},
    ),
    "a class attribute holding a broker URL": (
        "import os\nclass Settings:\n    broker = os.environ['CELERY_BROKER_URL']\n",
        "classes:\n  - name: Settings\n    attributes:\n      - name: broker\n        type: class\n"
        "        value: memory://\n",
        {"CELERY_BROKER_URL": f"amqp://u:{SENT}@mq//"},
    ),
    "an exec'd function defaulting to API_TOKEN": (
        "import os\nexec(\"def connect(token=os.environ['API_TOKEN']): pass\")\n",
        "functions:\n  - name: connect\n    arguments:\n      - name: token\n        value: none\n",
        {"API_TOKEN": SENT},
    ),
    "a password default written in the source": (
        f"def login(user, password={SENT!r}):\n    pass\n",
        "functions:\n  - name: login\n    arguments:\n      - name: password\n        value: none\n",
        {},
    ),
    "a function put in globals() defaulting to API_KEY": (
        "import os\ndef _factory():\n    def connect(api_key=os.environ['API_KEY']):\n        pass\n"
        "    return connect\nglobals()['connect'] = _factory()\n",
        "functions:\n  - name: connect\n    arguments:\n      - name: api_key\n        value: none\n",
        {"API_KEY": SENT},
    ),
    "a plain name the contract declares secret": (
        "import os\nMODE = os.environ['INTEG_MODE']\n",
        "variables:\n  - name: MODE\n    value: prod\n"
        "runtime:\n  environment:\n    INTEG_MODE: {secret: true}\n",
        {"INTEG_MODE": SENT},
    ),
    "a secret with quotes and a backslash, escaped by repr": (
        "import os\nVALUES = [os.environ['INTEG_PASSWORD'], 'x\"y']\n",
        "variables:\n  - name: VALUES\n    value: []\n",
        {"INTEG_PASSWORD": f"a'b\"c\\{SENT}"},
    ),
}


def assert_not_printed(result: Result) -> None:
    output = result.stdout + result.stderr
    assert SENT not in output, f"the secret is printed: {output!r:.3000}"
    assert SENT.replace("-", "\\x2d") not in output


@pytest.mark.parametrize("renderer", ["console", "json"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_secret_held_by_the_importer_is_never_printed(project: Path, case: str, renderer: str) -> None:
    host, contract, env = CASES[case]
    write_files(project, {"plug.py": "print('PLUG RAN')\n", "plug.contract.yml": contract})
    (project / "host.py").write_text(host + HOST_TAIL, encoding="utf-8")
    result = run_script(
        project / "host.py",
        cwd=project,
        env={**env, "IMPORTSPY_HOOK_LOG": renderer, "IMPORTSPY_HOOK_LOG_LEVEL": "debug"},
    )
    assert "REFUSED ContractViolation" in result.stdout and "PLUG RAN" not in result.stdout, result
    assert "contract.violation" in result.stderr, result  # the log path ran
    assert "not shown" in result.stdout, result  # reported, without the value
    assert_not_printed(result)


def test_a_value_that_holds_no_secret_is_still_shown(project: Path) -> None:
    # The rule withholds only what it must: a plain value is shown, and a credential's value of
    # under six characters (a flag such as AUTH_ENABLED=1) does not hide every text holding a 1.
    write_files(
        project,
        {
            "plug.py": "",
            "plug.contract.yml": "variables:\n  - name: DB\n    value: sqlite:///app.db\n"
            "  - name: N\n    value: 2\n"
            "functions:\n  - name: connect\n    arguments:\n      - name: retries\n        value: 3\n",
            "host.py": "import os\nDB = os.environ['INTEG_DB']\nN = 1\n"
            "def connect(retries=5):\n    pass\n" + HOST_TAIL,
        },
    )
    result = run_script(
        project / "host.py", cwd=project, env={"INTEG_DB": "postgres://db/app", "AUTH_ENABLED": "1"}
    )
    assert "REFUSED" in result.stdout, result
    assert "found DB = 'postgres://db/app'" in result.stdout, result
    assert "found N = 1" in result.stdout, result
    assert "found retries=5" in result.stdout, result


@pytest.mark.parametrize("fmt", ["human", "json", "sarif"])
def test_check_shows_no_caller_value_holding_a_secret(project: Path, fmt: str) -> None:
    # The caller read statically: a literal default named like a credential, and a literal that is
    # the value of a credential variable (given in the environment, or with --set).
    write_files(
        project,
        {
            "c.contract.yml": "variables:\n  - name: DB\n    value: sqlite:///app.db\n"
            "functions:\n  - name: login\n    arguments:\n      - name: password\n        value: none\n",
            "caller.py": f"DB = 'postgres://app:{SENT}@db/app'\ndef login(password={SENT!r}):\n    pass\n",
        },
    )
    url = f"postgres://app:{SENT}@db/app"
    from_env = cli(
        "check",
        "c.contract.yml",
        "--caller",
        "caller.py",
        "--format",
        fmt,
        env={"DATABASE_URL": url},
        cwd=project,
    )
    given = cli(
        "check",
        "c.contract.yml",
        "--caller",
        "caller.py",
        "--format",
        fmt,
        "--set",
        f"env.DATABASE_URL={url}",
        cwd=project,
    )
    for result in (from_env, given):
        assert result.returncode == 1 and "not shown" in result.stdout, result
        assert_not_printed(result)


def test_context_values_withholds_a_copy_of_a_credentials_value(project: Path) -> None:
    url = f"postgres://app:{SENT}@db/app"
    listed = cli(
        "context",
        "--values",
        env={"DATABASE_URL": url, "INTEG_DB_COPY": url, "INTEG_PLAIN": "plain-1"},
        cwd=project,
    )
    assert listed.returncode == 0 and "INTEG_DB_COPY:" in listed.stdout, listed
    assert '    INTEG_PLAIN: "plain-1"' in listed.stdout, listed
    assert_not_printed(listed)


# ============================================================================== live annotations


class Marker:
    """Stands for the host's objects: any of its methods running inside the check is a failure."""

    ran: typing.ClassVar[list[str]] = []

    def __repr__(self) -> str:
        Marker.ran.append("__repr__")
        return "Marker()"

    def __eq__(self, other: object) -> bool:
        Marker.ran.append("__eq__")
        return False

    def __hash__(self) -> int:
        return 1

    def __getattr__(self, name: str) -> object:
        Marker.ran.append(f"__getattr__ {name}")
        raise AttributeError(name)


class HostMeta(type):
    def __repr__(cls) -> str:
        Marker.ran.append("metaclass __repr__")
        return "HostMeta()"

    def __getattr__(cls, name: str) -> object:
        Marker.ran.append(f"metaclass __getattr__ {name}")
        raise AttributeError(name)


class HostClass(metaclass=HostMeta):
    pass


def test_an_annotation_text_runs_no_host_code() -> None:
    marker = Marker()
    annotations = [
        typing.Annotated[str, marker],
        list[marker],  # type: ignore[valid-type]
        typing.Optional[HostClass],  # noqa: UP045 - the typing object is what is read
        list[HostClass],
        HostClass | None,
        typing.Callable[[HostClass], HostClass],
        typing.Literal[marker],
        marker,
    ]
    Marker.ran.clear()  # building them may have hashed and compared the marker: that is the host's doing
    texts = [_annotation_text(annotation) for annotation in annotations]
    assert Marker.ran == []
    assert all("Marker()" not in text and "HostMeta()" not in text for text in texts), texts
    assert texts[0] == "typing.Annotated[str, <Marker object>]"
    assert texts[1] == "list[<Marker object>]"


T = typing.TypeVar("T")


@pytest.mark.parametrize(
    "annotation",
    [
        int, list[int], dict[str, list[int]], int | None, typing.Optional[int], typing.Union[int, str],  # noqa: UP007, UP045
        typing.List[int], typing.Dict[str, int], typing.Tuple[int, ...], typing.Callable[[int], str],  # noqa: UP006
        typing.Callable[..., int], typing.Literal["a", 1], typing.Annotated[int, 3], typing.Any,
        typing.List, tuple[()], T, list[T], typing.ClassVar[int], type[int], None,  # type: ignore[valid-type]  # noqa: UP006
    ],
)  # fmt: skip
def test_an_annotation_of_the_standard_library_reads_as_typing_writes_it(annotation: object) -> None:
    # The text is compared after normalisation: it must normalise like the object's own repr.
    from importspy_hook._annotations import normalise_annotation

    if annotation is None:
        expected = "None"
    else:  # a plain class is named by its qualified name, as when it is the whole annotation
        expected = annotation.__qualname__ if type(annotation) is type else repr(annotation)
    assert normalise_annotation(_annotation_text(annotation)) == normalise_annotation(expected)


def test_a_sourceless_caller_runs_no_host_code_and_shows_no_default(project: Path) -> None:
    probe = project / "REPR_CALLED"
    write_files(
        project,
        {
            "plug.py": "print('PLUG RAN')\n",
            "plug.contract.yml": "functions:\n  - name: connect\n    arguments:\n      - name: token\n"
            "        value: none\n  - name: handler\n    arguments:\n      - name: request\n"
            "        annotation: str\n",
            "apphost.py": f"""\
                import os
                from typing import Annotated
                class Marker:
                    def __repr__(self):
                        open({str(probe)!r}, "w").write("host __repr__ ran inside the check")
                        return "Marker()"
                def connect(token: str = os.environ["API_TOKEN"]):
                    pass
                def handler(request: Annotated[str, Marker()]):
                    pass
                def load():
                    import plug
                """,
        },
    )
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-b", str(project / "apphost.py")], check=True)
    (project / "apphost.py").unlink()
    result = run_python(
        """\
        import importspy_hook
        importspy_hook.install()
        import apphost
        try:
            apphost.load()
        except Exception as exc:
            print("REFUSED", type(exc).__name__)
            print(exc)
        """,
        cwd=project,
        path=[str(project)],
        env={"API_TOKEN": SENT},
    )
    assert "REFUSED ContractViolation" in result.stdout, result
    assert not probe.exists(), "the host's __repr__ ran inside the check"
    assert_not_printed(result)


def test_a_function_made_at_run_time_shows_its_annotation_without_host_code(project: Path) -> None:
    probe = project / "REPR_CALLED"
    write_files(
        project,
        {
            "plug.py": "print('PLUG RAN')\n",
            "plug.contract.yml": "functions:\n  - name: handler\n    arguments:\n      - name: request\n"
            "        annotation: str\n",
            "host.py": "from typing import Annotated\n"
            "class Marker:\n"
            "    def __repr__(self):\n"
            f"        open({str(probe)!r}, 'w').write('host __repr__ ran inside the check')\n"
            "        return 'Marker()'\n"
            "exec('def handler(request: Annotated[str, Marker()]): pass')\n" + HOST_TAIL,
        },
    )
    result = run_script(project / "host.py", cwd=project)
    assert "REFUSED ContractViolation" in result.stdout, result
    assert "found request: typing.Annotated[str, <Marker object>]" in result.stdout, result
    assert not probe.exists(), "the host's __repr__ ran inside the check"


# ============================================================================== names


@pytest.mark.parametrize(
    "name", ["DB_PW", "pw", "TWITTER_BEARER", "WALLET_MNEMONIC", "BANK_PIN", "MFA_OTP", "WALLET_SEED"]
)
def test_more_credential_names(name: str) -> None:
    assert looks_like_credential(name)


@pytest.mark.parametrize("name", ["PWD", "OLDPWD", "PWM_CHIP", "PINNED", "SHOPPING_LIST", "PYTHONHASHSEED"])
def test_names_that_are_no_credentials(name: str) -> None:
    # PWD and OLDPWD are the shell's working directory, not MYSQL_PWD's password; a part of a word
    # (PWM, PINNED) is not the word.
    assert not looks_like_credential(name)


@pytest.mark.parametrize("name", ["DB_PW", "TWITTER_BEARER", "WALLET_MNEMONIC"])
def test_context_values_and_check_withhold_the_new_names(project: Path, name: str) -> None:
    listed = cli("context", "--values", env={name: SENT}, cwd=project)
    assert listed.returncode == 0 and f"{name}:" in listed.stdout, listed
    write_files(project, {"c.contract.yml": f"runtime:\n  environment:\n    {name}: expected\n"})
    for fmt in ("human", "json", "sarif"):
        checked = cli("check", "c.contract.yml", "--format", fmt, "--set", f"env.{name}={SENT}", cwd=project)
        assert checked.returncode == 1 and "another value" in checked.stdout, checked
        assert_not_printed(checked)
    assert_not_printed(listed)
