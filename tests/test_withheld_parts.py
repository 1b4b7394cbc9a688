"""Fourth red-team review (d02, d03): a secret withheld everywhere it still is, and in the forms it is copied.

SPEC §6 "Which values may be printed": a text that holds the value of a variable whose value may
not be shown is not shown, whatever name the importer keeps it under. That rule looked for the
secret only in the environment the check judged, and only as the whole value, as written:

1. an importer that scrubs its environment after reading it (``os.environ.pop('API_TOKEN')``,
   recommended hygiene) took the secret out of that environment before the check ran;
2. the pytest plugin's simulation (``env={"API_TOKEN": None}`` or a dummy value) replaced it;
3. a part of a connection string — ``urlsplit(url).netloc``, ``url.split('@')``, the password
   itself — holds the credential but not the whole value;
4. a whitespace-stripped or case-changed copy (``.strip()``, ``.lower()``) is not the value as set.

Each case runs a real refused import (console and JSON log renderers), and looks for the sentinel,
in any case, in everything printed. Assertion messages show the output with the sentinel blanked.

Fifth review (e05, e06), below: a token as a URL's user name, a password holding a raw ``@``, userinfo
without a scheme, ``json.dumps`` copies, camelCase and run-together connection names, and credentials
in a URL held by a variable of any name (``HTTPS_PROXY``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import Result, run_script, write_files
from test_integrity_secrets import cli
from test_integrity_secrets2 import HOST_TAIL

SENT = "SentinelWH-7c2e-B41x"
"""Mixed case, so that a lower- or upper-cased copy differs from it."""

URL = f"postgres://app:{SENT}@db.internal:5432/app"

# (the host's code before its import, the contract, the environment)
CASES: dict[str, tuple[str, str, dict[str, str]]] = {
    # 1. scrubbed after reading
    "API_TOKEN popped from os.environ after reading": (
        "import os\nUPSTREAM = os.environ.pop('API_TOKEN')\n",
        "variables:\n  - name: UPSTREAM\n    value: x\n",
        {"API_TOKEN": SENT},
    ),
    "DATABASE_URL deleted from os.environ after reading": (
        "import os\nDB = os.environ['DATABASE_URL']\ndel os.environ['DATABASE_URL']\n",
        "variables:\n  - name: DB\n    value: sqlite://\n",
        {"DATABASE_URL": URL},
    ),
    # 3. parts of a connection string
    "a URL's netloc": (
        "import os\nfrom urllib.parse import urlsplit\n"
        "NETLOC = urlsplit(os.environ['DATABASE_URL']).netloc\n",
        "variables:\n  - name: NETLOC\n    value: localhost\n",
        {"DATABASE_URL": URL},
    ),
    "a URL split at @": (
        "import os\nPARTS = os.environ['DATABASE_URL'].split('@')\n",
        "variables:\n  - name: PARTS\n    value: []\n",
        {"DATABASE_URL": URL},
    ),
    "a URL's host, user and password": (
        "import os\nfrom urllib.parse import urlsplit\n_u = urlsplit(os.environ['DATABASE_URL'])\n"
        "DB = (_u.hostname, _u.username, _u.password)\n",
        "variables:\n  - name: DB\n    value: []\n",
        {"DATABASE_URL": URL},
    ),
    "a percent-encoded URL password, decoded": (
        "import os\nfrom urllib.parse import unquote, urlsplit\n"
        "DECODED = [unquote(urlsplit(os.environ['DATABASE_URL']).password)]\n",
        "variables:\n  - name: DECODED\n    value: []\n",
        {"DATABASE_URL": f"postgres://app:{SENT}%40@db.internal/app"},
    ),
    # 4. normalised copies
    "a stripped copy": (
        "import os\nUPSTREAM = os.environ['API_TOKEN'].strip()\n",
        "variables:\n  - name: UPSTREAM\n    value: x\n",
        {"API_TOKEN": f"  {SENT}\n"},
    ),
    "a lower-cased copy": (
        "import os\nUPSTREAM = os.environ['API_TOKEN'].lower()\n",
        "variables:\n  - name: UPSTREAM\n    value: x\n",
        {"API_TOKEN": SENT},
    ),
    "an upper-cased copy of a URL": (
        "import os\nDB = os.environ['DATABASE_URL'].upper()\n",
        "variables:\n  - name: DB\n    value: x\n",
        {"DATABASE_URL": URL},
    ),
}


def shown(output: str) -> str:
    """``output`` for an assertion message: the sentinel blanked out in every case."""
    folded = output.casefold()
    needle = SENT.casefold()
    blanked = []
    start = 0
    while (found := folded.find(needle, start)) >= 0:
        blanked.append(output[start:found] + "<SENTINEL>")
        start = found + len(needle)
    return "".join(blanked) + output[start:]


def expect(condition: bool, result: Result) -> None:
    """Assert ``condition`` about ``result`` without pytest's introspection showing its raw output."""
    __tracebackhide__ = True  # its arguments (the raw output) are not shown either
    assert condition, shown(repr(result))[:3000]


def assert_not_printed(result: Result) -> None:
    __tracebackhide__ = True
    output = result.stdout + result.stderr
    # in any case (``.lower()`` copies), and no part of it (the password is the whole sentinel)
    expect(SENT.casefold() not in output.casefold(), result)


def has_startup_environment() -> bool:
    """Whether this platform keeps the environment a process started with where it can be read."""
    return sys.platform == "win32" or os.path.exists("/proc/self/environ")


def refused_without_the_secret(
    project: Path, host: str, contract: str, env: dict[str, str], renderer: str, mode: str | None = "enforce"
) -> Result:
    """Run ``host`` (its import of ``plug`` refused by ``contract``) logging with ``renderer`` at
    debug level, and check what every such run must show: the refusal, its log event, a value
    reported as not shown, and the sentinel nowhere."""
    __tracebackhide__ = True
    write_files(project, {"plug.py": "print('PLUG RAN')\n", "plug.contract.yml": contract})
    (project / "host.py").write_text(host, encoding="utf-8")
    log = {"IMPORTSPY_HOOK_LOG": renderer, "IMPORTSPY_HOOK_LOG_LEVEL": "debug"}
    result = run_script(project / "host.py", mode=mode, cwd=project, env={**env, **log})
    expect("REFUSED ContractViolation" in result.stdout and "PLUG RAN" not in result.stdout, result)
    expect("contract.violation" in result.stderr, result)  # the log path ran
    expect("not shown" in result.stdout, result)  # reported, without the value
    assert_not_printed(result)
    return result


def shown_beside_the_secret(project: Path, variable: str, expression: str, env: dict[str, str]) -> Result:
    """Run a host whose ``variable`` is ``expression`` (of the parsed ``DATABASE_URL``) against a
    contract requiring another value; the sentinel must not be printed."""
    __tracebackhide__ = True
    contract = f"variables:\n  - name: {variable}\n    value: x\n"
    write_files(project, {"plug.py": "", "plug.contract.yml": contract})
    host = f"import os\nfrom urllib.parse import urlsplit\n{variable} = {expression}\n" + HOST_TAIL
    (project / "host.py").write_text(host, encoding="utf-8")
    result = run_script(project / "host.py", cwd=project, env=env)
    assert_not_printed(result)
    return result


@pytest.mark.parametrize("renderer", ["console", "json"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_secret_scrubbed_split_or_normalised_by_the_importer_is_never_printed(
    project: Path, case: str, renderer: str, request: pytest.FixtureRequest
) -> None:
    if "os.environ after reading" in case and not has_startup_environment():
        # SECURITY.md: without /proc (macOS, BSDs), a variable removed before the check is gone
        request.applymarker(pytest.mark.xfail(strict=True, reason="no start-up environment to read"))
    host, contract, env = CASES[case]
    refused_without_the_secret(project, host + HOST_TAIL, contract, env, renderer)


SIMULATED = """\
import os
UPSTREAM = os.environ["API_TOKEN"]  # an innocent name, the real secret
from importspy_hook.pytest_plugin import simulated_imports
try:
    with simulated_imports(env={env}):
        import plug
except Exception as exc:
    print("REFUSED", type(exc).__name__)
    print(exc)
else:
    print("ADMITTED")
"""


@pytest.mark.parametrize("renderer", ["console", "json"])
@pytest.mark.parametrize("simulated", ['{"API_TOKEN": None}', '{"API_TOKEN": "dummy-value-123"}'])
def test_a_simulated_environment_does_not_unhide_the_real_secret(
    project: Path, simulated: str, renderer: str
) -> None:
    # 2. the pytest plugin's simulation hides or replaces the variable the importer read
    contract = (
        "variables:\n  - name: UPSTREAM\n    value: https://api.example\n"
        "runtime:\n  environment:\n    API_TOKEN: null\n"
    )
    host = SIMULATED.format(env=simulated)
    # mode None: the simulation installs the hook
    result = refused_without_the_secret(project, host, contract, {"API_TOKEN": SENT}, renderer, mode=None)
    expect("UPSTREAM" in result.stdout, result)


def test_a_url_host_alone_is_still_shown(project: Path) -> None:
    # Only the credentials of a connection string are withheld on their own: its host and scheme
    # (and a user name beside a password) are what a reader needs to see which server it names.
    result = shown_beside_the_secret(
        project, "HOST", "urlsplit(os.environ['DATABASE_URL']).hostname", {"DATABASE_URL": URL}
    )
    expect("found HOST = 'db.internal'" in result.stdout, result)


def test_the_user_name_beside_a_password_is_still_shown(project: Path) -> None:
    # A user name is withheld alone only when it is the secret (no password: a token as the user
    # name); beside a password it names an account, and withholding "postgres" would hide every
    # text that mentions the word.
    url = f"postgres://postgres:{SENT}@db.internal:5432/app"
    result = shown_beside_the_secret(
        project, "WHO", "urlsplit(os.environ['DATABASE_URL']).username", {"DATABASE_URL": url}
    )
    expect("found WHO = 'postgres'" in result.stdout, result)


def test_context_values_withholds_a_case_changed_copy_of_a_secret(project: Path) -> None:
    # The CLI's ``context --values``: a plain name holding a lower-cased copy of a secret is withheld.
    listed = cli("context", "--values", env={"INTEG_TOKEN": SENT, "INTEG_PLAIN": SENT.lower()}, cwd=project)
    expect(listed.returncode == 0, listed)
    expect("    INTEG_PLAIN:  # value withheld: it holds the value of a secret\n" in listed.stdout, listed)
    assert_not_printed(listed)


# ------------------------------------------------------------------ red team round 5 (e05, e06)

# (the host's code before its import, the contract, the environment)
SHAPES: dict[str, tuple[str, str, dict[str, str]]] = {
    # 0. red team round 7: a password holding a raw "/", "#" or "?", split at "@"; doubly escaped copies
    "a password with a raw slash, kept as the text before the @": (
        "import os\nHEAD = os.environ['DATABASE_URL'].split('@')[0]\n",
        "variables:\n  - name: HEAD\n    value: x\n",
        {"DATABASE_URL": f"postgres://app:Zx8/{SENT}#q?@db.internal:5432/app"},
    ),
    "a token as the user name beside an empty password": (
        "import os\nfrom urllib.parse import urlsplit\nWHO = urlsplit(os.environ['REDIS_URL']).username\n",
        "variables:\n  - name: WHO\n    value: x\n",
        {"REDIS_URL": f"redis://{SENT}:@cache:6379/0"},
    ),
    "a proxy without a scheme holding a password": (
        "import os\nPROXY = os.environ['HTTPS_PROXY']\n",
        "variables:\n  - name: PROXY\n    value: x\n",
        {"HTTPS_PROXY": f"corpuser:{SENT}@proxy:3128"},
    ),
    "a proxy without a scheme whose password holds a raw slash": (
        "import os\nPROXY = os.environ['HTTPS_PROXY']\n",
        "variables:\n  - name: PROXY\n    value: x\n",
        {"HTTPS_PROXY": f"corpuser:Zx8/{SENT}@proxy:3128"},
    ),
    "a token as the user name beside GitHub's filler password": (
        "import os\nfrom urllib.parse import urlsplit\nWHO = urlsplit(os.environ['GIT_REMOTE']).username\n",
        "variables:\n  - name: WHO\n    value: x\n",
        {"GIT_REMOTE": f"https://{SENT}:x-oauth-basic@github.com/org/repo.git"},
    ),
    "a proxy URL whose password holds a raw slash": (
        "import os\nPROXY = os.environ['HTTPS_PROXY']\n",
        "variables:\n  - name: PROXY\n    value: x\n",
        {"HTTPS_PROXY": f"http://corpuser:Zx8/{SENT}@proxy:3128"},
    ),
    "a secret with both quotes inside a dict's text": (
        "import os\nCFG = str({'pw': os.environ['API_TOKEN']})\n",
        "variables:\n  - name: CFG\n    value: x\n",
        {"API_TOKEN": f"a'b\"{SENT}"},
    ),
    "a non-ASCII secret kept as ascii()": (
        "import os\nCFG = ascii(os.environ['API_TOKEN'])\n",
        "variables:\n  - name: CFG\n    value: x\n",
        {"API_TOKEN": f"{SENT}\u00e9\u00e8"},
    ),
    # 1. a URL whose user name is the token: a GitHub PAT, a Sentry DSN's key
    "a token as a URL's user name, kept as the netloc": (
        "import os\nfrom urllib.parse import urlsplit\n"
        "NETLOC = urlsplit(os.environ['GITHUB_REPO_URL']).netloc\n",
        "variables:\n  - name: NETLOC\n    value: github.com\n",
        {"GITHUB_REPO_URL": f"https://{SENT}@github.com/org/repo.git"},
    ),
    "a token as a URL's user name, kept as .username": (
        "import os\nfrom urllib.parse import urlsplit\n"
        "WHO = urlsplit(os.environ['GITHUB_REPO_URL']).username\n",
        "variables:\n  - name: WHO\n    value: git\n",
        {"GITHUB_REPO_URL": f"https://{SENT}@github.com/org/repo.git"},
    ),
    "a Sentry DSN split at @": (
        "import os\nPARTS = os.environ['SENTRY_DSN'].split('@')\n",
        "variables:\n  - name: PARTS\n    value: []\n",
        {"SENTRY_DSN": f"https://{SENT}@o1.ingest.sentry.io/42"},
    ),
    "a percent-encoded user name, decoded": (
        "import os\nfrom urllib.parse import unquote, urlsplit\n"
        "WHO = [unquote(urlsplit(os.environ['GITHUB_REPO_URL']).username)]\n",
        "variables:\n  - name: WHO\n    value: []\n",
        {"GITHUB_REPO_URL": f"https://{SENT}%21@github.com/org/repo.git"},
    ),
    # 2. a raw @ inside the password cuts it in two; userinfo without a scheme
    "a password holding @, split at @": (
        "import os\nPARTS = os.environ['DATABASE_URL'].split('@')\n",
        "variables:\n  - name: PARTS\n    value: []\n",
        {"DATABASE_URL": f"postgres://app:pwA1b2c3@{SENT}@db.internal/app"},
    ),
    "userinfo without a scheme": (
        "import os\nUSERINFO = os.environ['REDIS_URL'].split('@')[0]\n",
        "variables:\n  - name: USERINFO\n    value: x\n",
        {"REDIS_URL": f"default:{SENT}@redis:6379"},
    ),
    # 3. JSON escapes a quote, a backslash and what is not ASCII otherwise than repr does
    "a JSON-dumped value with a quote and a backslash": (
        "import json, os\nCFG = json.dumps({'t': os.environ['API_TOKEN']})\n",
        "variables:\n  - name: CFG\n    value: x\n",
        {"API_TOKEN": f'tok"{SENT}\\77ab'},
    ),
    "a JSON-dumped value with a non-ASCII letter": (
        "import json, os\nCFG = json.dumps({'t': os.environ['API_TOKEN']})\n",
        "variables:\n  - name: CFG\n    value: x\n",
        {"API_TOKEN": f"tök{SENT}"},
    ),
    "a non-ASCII JSON dump, ensure_ascii=False": (
        "import json, os\nCFG = json.dumps([os.environ['API_TOKEN']], ensure_ascii=False)\n",
        "variables:\n  - name: CFG\n    value: x\n",
        {"API_TOKEN": f'tök"{SENT}'},
    ),
    # 4. names the rule missed, and a credential in a variable of any name
    "a camelCase connection string name": (
        "",
        "runtime:\n  environment:\n    databaseUrl: 'sqlite://'\n",
        {"databaseUrl": f"postgres://app:{SENT}@db/app"},
    ),
    "a run-together DSN name": (
        "",
        "runtime:\n  environment:\n    SENTRYDSN: 'x'\n",
        {"SENTRYDSN": f"https://{SENT}@o1.ingest.sentry.io/42"},
    ),
    "a proxy URL with a password": (
        "",
        "runtime:\n  environment:\n    HTTPS_PROXY: 'http://proxy:3128'\n",
        {"HTTPS_PROXY": f"http://corpuser:{SENT}@proxy:3128"},
    ),
    "a contract requiring a proxy URL with a password": (
        "",
        f"runtime:\n  environment:\n    HTTPS_PROXY: 'http://corpuser:{SENT}@proxy:3128'\n",
        {"HTTPS_PROXY": "http://proxy:3128"},
    ),
}


@pytest.mark.parametrize("renderer", ["console", "json"])
@pytest.mark.parametrize("case", list(SHAPES))
def test_a_secret_in_a_url_user_name_json_or_unusual_name_is_never_printed(
    project: Path, case: str, renderer: str
) -> None:
    host, contract, env = SHAPES[case]
    refused_without_the_secret(project, host + HOST_TAIL, contract, env, renderer)


@pytest.mark.parametrize(
    ("name", "shape"),  # the shape's {} is the sentinel: never in a test id or a traceback
    [
        ("databaseUrl", "postgres://app:{}@db/app"),
        ("mongoUri", "mongodb://u:{}@m1,m2/db"),
        ("SENTRYDSN", "https://{}@o1.ingest.sentry.io/42"),
        ("MONGOURI", "mongodb://{}@m1/db"),
        ("HTTPS_PROXY", "http://corpuser:{}@proxy:3128"),
        ("ALL_PROXY", "socks5://u:{}@proxy:1080"),
        ("GIT_REMOTE", "https://{}@github.com/org/repo.git"),
        ("BUILD_ARGS", "--index https://u:{}@pypi.internal/simple"),
    ],
)
def test_context_values_withholds_credential_names_and_urls_carrying_credentials(
    project: Path, name: str, shape: str
) -> None:
    listed = cli("context", "--values", env={name: shape.format(SENT)}, cwd=project)
    expect(listed.returncode == 0, listed)
    expect(f"    {name}:  # value withheld: " in listed.stdout, listed)
    assert_not_printed(listed)


def test_context_values_still_shows_plain_names_and_urls_without_credentials(project: Path) -> None:
    # The wider rules must not hide what a reader needs: a proxy or remote without credentials, a
    # short ssh user name, and names that merely end like URL (CURL_...).
    plain = {
        "HTTPS_PROXY": "http://proxy.internal:3128",
        "GIT_REMOTE": "ssh://git@github.com/org/repo.git",
        "CURL_CA_BUNDLE": "/srv/bundle.pem",  # not under SSL_CERT_DIR, which its CERT hint withholds
        "PYCURL_SSL_LIBRARY": "openssl",
        "INTEG_HURL": "hurled",
        "PYTHONHASHSEED": "0",
        "NPM_REGISTRY": "https://registry.example.org/@scope/package",  # an "@" in a path
    }
    listed = cli("context", "--values", env=plain, cwd=project)
    expect(listed.returncode == 0, listed)
    for name, value in plain.items():
        expect(f"    {name}: " in listed.stdout, listed)
        expect(value in listed.stdout, listed)


@pytest.mark.parametrize(
    "name",
    [
        "databaseUrl", "mongoUri", "redisURL", "SENTRYDSN", "MONGOURI", "DATABASEURL", "sentryDsn", "DB2URL",
        "STRIPE_SK", "WIFI_PSK", "MFA_TOTP", "HMAC_SALT", "STRIPE_SK2", "API_TOKEN2",
    ],
)  # fmt: skip
def test_camel_case_and_run_together_connection_names_look_like_credentials(name: str) -> None:
    from importspy_hook._errors import looks_like_credential

    assert looks_like_credential(name)


COMMON_NAMES = (
    "PATH", "PYTHONPATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "SHELL", "USER", "LOGNAME", "TERM",
    "PWD", "OLDPWD", "TMPDIR", "HOSTNAME", "DISPLAY", "EDITOR", "PAGER", "TZ", "MANPATH",
    "VIRTUAL_ENV", "CONDA_PREFIX", "CURL_CA_BUNDLE", "CURL_HOME", "PYCURL_SSL_LIBRARY",
    "REQUESTS_CA_BUNDLE", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED",
    "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "GOPATH", "JAVA_HOME", "NODE_PATH", "CI",
    "GITHUB_ACTIONS", "RUNNER_OS", "COLUMNS", "LINES", "SOURCE_DATE_EPOCH", "HTTPS_PROXY",
    "HTTP_PROXY", "NO_PROXY", "ALL_PROXY", "GIT_REMOTE", "IMPORTSPY_HOOK", "IMPORTSPY_HOOK_LOG",
    "VIRTUAL_ENV_PROMPT", "PIP_REQUIRE_VIRTUALENV", "HISTFILE", "MAIL", "SHLVL", "PS1",
    "LESSOPEN", "LS_COLORS", "WSL_DISTRO_NAME", "SYSTEMROOT", "PROGRAMFILES", "APPDATA",
    "PROCESSOR_ARCHITECTURE", "NUMBER_OF_PROCESSORS", "homeDir", "logLevel", "maxWorkers",
)  # fmt: skip


@pytest.mark.parametrize("name", COMMON_NAMES)
def test_common_names_do_not_look_like_credentials(name: str) -> None:
    from importspy_hook._errors import looks_like_credential

    assert not looks_like_credential(name)


# --------------------------------------------------------------------------------------------------
# Red team m08: the secret is in the contract's path (a plugin store's URL with its password on
# sys.path, a directory named after a token), not in anything the importer defines.
# --------------------------------------------------------------------------------------------------


def _import_from_a_directory_named_after(
    project: Path, variable: str, value: str, contract: str, renderer: str, before: str = ""
) -> Result:
    """A host imports ``plug`` (sidecar ``contract``) from the directory named after ``variable``'s
    ``value``, with the hook's events at debug level in ``renderer``, and prints the refusal.
    ``before`` runs first."""
    write_files(project / value, {"plug.py": "print('PLUG RAN')\n", "plug.contract.yml": contract})
    host = (
        before + "import os, sys\n"
        "here = os.path.dirname(os.path.abspath(__file__))\n"
        f"sys.path.insert(0, os.path.join(here, os.environ[{variable!r}]))\n"
        "try:\n    import plug\nexcept ValueError as exc:\n    print('REFUSED', type(exc).__name__, exc)\n"
    )
    (project / "host.py").write_text(host, encoding="utf-8")
    log = {"IMPORTSPY_HOOK_LOG": renderer, "IMPORTSPY_HOOK_LOG_LEVEL": "debug"}
    return run_script(project / "host.py", cwd=project, env={variable: value, **log})


@pytest.mark.parametrize("renderer", ["console", "json"])
@pytest.mark.parametrize("contract", ["refusing", "malformed"])
def test_a_contract_whose_path_holds_a_secret_is_named_without_it(
    project: Path, renderer: str, contract: str
) -> None:
    text = "runtime:\n  os: [windows]\n" if contract == "refusing" else "runtime:\n  os: 5\n"
    result = _import_from_a_directory_named_after(project, "PLUGINS_TOKEN", SENT, text, renderer)
    expected = "ContractViolation" if contract == "refusing" else "ContractError"
    expect(f"REFUSED {expected}" in result.stdout and "PLUG RAN" not in result.stdout, result)
    expect("plug.contract.yml" in result.stdout, result)  # still named, by its file name
    expect("contract." in result.stderr, result)  # the log event ran
    assert_not_printed(result)


def _refuse_from(project: Path, directory: str, env: dict[str, str]) -> Result:
    """A host imports ``plug`` (a refusing sidecar) from ``directory``, relative to ``project``, with
    ``env``, and prints the refusal."""
    write_files(
        project / directory,
        {"plug.py": "print('PLUG RAN')\n", "plug.contract.yml": "runtime:\n  os: [windows]\n"},
    )
    host = f"import sys\nsys.path.insert(0, {directory!r})\n"
    host += "try:\n    import plug\nexcept ValueError as exc:\n    print(exc)\n"
    (project / "host.py").write_text(host, encoding="utf-8")
    return run_script(project / "host.py", cwd=project, env=env)


def test_a_contract_path_without_a_secret_is_shown_whole(project: Path) -> None:
    # The working directory, $HOME, $TMPDIR and the like are in every path: only the values of
    # credential-like variables are withheld from one.
    result = _refuse_from(project, "plugins", {"PWD": str(project), "TMPDIR": str(project)})
    expect(f"refused by {project / 'plugins' / 'plug.contract.yml'}" in result.stdout, result)


def test_a_store_error_holding_a_secret_is_not_printed(project: Path) -> None:
    # Red team n02: a plugin store's loader words its PermissionError with the URL it was denied,
    # password included; the refusal names the error by its type and the system's own words only.
    host = (
        "import importlib.abc, importlib.util, os, sys\n"
        "class Loader(importlib.abc.FileLoader, importlib.abc.SourceLoader):\n"
        "    def get_data(self, path):\n"
        "        if path.endswith('.contract.yml'):\n"
        "            raise PermissionError(13, '403 for ' + os.environ['STORE_URL'], path)\n"
        "        if path.endswith('plug.py'):\n"
        "            return b\"print('PLUG RAN')\\n\"\n"
        "        raise OSError(path)\n"
        "class Finder:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name != 'plug':\n            return None\n"
        "        origin = 'store://plugins/plug.py'\n"
        "        return importlib.util.spec_from_file_location(name, origin, loader=Loader(name, origin))\n"
        "sys.meta_path.append(Finder())\n"
        "try:\n    import plug\nexcept ValueError as exc:\n    print('REFUSED', type(exc).__name__, exc)\n"
    )
    (project / "host.py").write_text(host, encoding="utf-8")
    log = {"IMPORTSPY_HOOK_LOG": "json", "IMPORTSPY_HOOK_LOG_LEVEL": "debug"}
    url = f"https://deploy:{SENT}@store.internal/plugins"
    result = run_script(project / "host.py", cwd=project, env={"STORE_URL": url, **log})
    expect("REFUSED ContractError" in result.stdout and "PLUG RAN" not in result.stdout, result)
    expect("PermissionError" in result.stdout, result)
    assert_not_printed(result)


def test_a_refusal_carried_to_another_process_keeps_its_path_withheld(project: Path) -> None:
    # Red team n04: the refusal is pickled (a process pool) to a parent that never had the variable.
    plugins = project / SENT
    write_files(
        plugins, {"plug.py": "print('PLUG RAN')\n", "plug.contract.yml": "runtime:\n  os: [windows]\n"}
    )
    host = (
        "import base64, os, pickle, sys\n"
        "here = os.path.dirname(os.path.abspath(__file__))\n"
        "sys.path.insert(0, os.path.join(here, os.environ['PLUGINS_TOKEN']))\n"
        "try:\n    import plug\nexcept ValueError as exc:\n"
        "    print('PICKLED', base64.b64encode(pickle.dumps(exc)).decode())\n"
    )
    (project / "host.py").write_text(host, encoding="utf-8")
    result = run_script(project / "host.py", cwd=project, env={"PLUGINS_TOKEN": SENT})
    line = next(line for line in result.stdout.splitlines() if line.startswith("PICKLED "))
    import base64
    import pickle

    exc = pickle.loads(base64.b64decode(line.split(" ", 1)[1]))  # here, without PLUGINS_TOKEN
    assert SENT not in str(exc) and SENT not in repr(exc) and SENT not in exc.contract
    assert "plug.contract.yml" in str(exc)


@pytest.mark.parametrize("name", ["DESKTOP_SESSION", "GIT_AUTHOR_NAME", "PASSENGER_APP_ENV"])
def test_an_everyday_value_of_a_credential_like_name_does_not_hide_paths(project: Path, name: str) -> None:
    # Red team n06: DESKTOP_SESSION=ubuntu beside /home/ubuntu would hide the path of every refusal.
    result = _refuse_from(project, "ubuntu", {name: "ubuntu"})
    expect(f"refused by {project / 'ubuntu' / 'plug.contract.yml'}" in result.stdout, result)


def test_a_path_carrying_credentials_of_its_own_is_withheld(project: Path) -> None:
    # Red team n07: a store's address with userinfo, read from a configuration file rather than the
    # environment, so no variable holds it.
    plugins = project / f"deploy:{SENT}@store.internal"
    write_files(
        plugins, {"plug.py": "print('PLUG RAN')\n", "plug.contract.yml": "runtime:\n  os: [windows]\n"}
    )
    host = "import os, sys\n"
    host += f"sys.path.insert(0, {str(plugins)!r})\n"
    host += "try:\n    import plug\nexcept ValueError as exc:\n    print('REFUSED', exc)\n"
    (project / "host.py").write_text(host, encoding="utf-8")
    result = run_script(project / "host.py", cwd=project)
    expect("REFUSED" in result.stdout and "plug.contract.yml" in result.stdout, result)
    assert_not_printed(result)


@pytest.mark.parametrize("renderer", ["console", "json"])
@pytest.mark.parametrize("outcome", ["refused", "admitted", "unfinished"])
def test_a_path_holding_a_value_the_contract_declares_secret_is_withheld(
    project: Path, renderer: str, outcome: str
) -> None:
    # Red team n10, p01, p05: a per-tenant plugin directory named after a variable that the contract
    # declares secret, under a name that looks like no credential: withheld from the refusal, from
    # an admitted import's debug events, and from a check that could not complete.
    tenant = "t3nant-7f3a9c2e1b"
    system = "windows" if outcome == "refused" else sys.platform.replace("win32", "windows")
    contract = (
        "deployments:\n  - systems:\n      - os: " + system + "\n"
        "        environment:\n          secrets: [TENANT_ID]\n"
    )
    before = ""
    if outcome == "unfinished":  # the check fails after the contract was read
        before = "import importspy_hook._validate as v\nv.validate = lambda *args, **kwargs: 1 / 0\n"
    result = _import_from_a_directory_named_after(project, "TENANT_ID", tenant, contract, renderer, before)
    expect("plug.contract.yml" in result.stdout + result.stderr, result)  # the contract is named
    if outcome == "admitted":
        expect("PLUG RAN" in result.stdout and "contract.checked" in result.stderr, result)
    else:
        refusal = "ContractViolation" if outcome == "refused" else "ContractError"
        expect(f"REFUSED {refusal}" in result.stdout and "PLUG RAN" not in result.stdout, result)
        expect("<path withheld>/plug.contract.yml" in result.stdout, result)
    expect(tenant not in result.stdout + result.stderr, result)
