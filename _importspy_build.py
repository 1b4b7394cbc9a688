"""Build step that puts the start-up files at the root of the wheel.

``importspy_hook.pth`` (and the PEP 829 ``importspy_hook.start``) must land directly in
site-packages, beside the package, not inside it: setuptools has no declarative way to do that, so
``build_py`` copies them next to the package in the build tree, and the wheel lists them in RECORD
(which is what lets ``pip uninstall`` remove them).

The editable trap: for ``pip install -e .`` (PEP 660) setuptools runs ``build_py`` with
``editable_mode`` set and then discards ``build_lib``; only what lands in the ``install`` command's
``install_lib`` (the unpacked editable wheel) reaches site-packages. So in editable mode the files are
copied there instead. The JSON Schema of contracts lives in ``contracts/`` (§2) and is copied into the
package so that installed users have it too.

This file is referenced from ``setup.cfg`` (``[options.cmdclass]``), resolved relative to the project
root, and listed in ``MANIFEST.in`` so that a wheel built from the sdist has it.
"""

from __future__ import annotations

import os

from setuptools.command.build_py import build_py

_HERE = os.path.dirname(os.path.abspath(__file__))
_STARTUP_FILES = ("importspy_hook.pth", "importspy_hook.start")
_SCHEMA = os.path.join("contracts", "contract.schema.json")


class BuildPyWithStartupFiles(build_py):  # type: ignore[misc]
    """``build_py`` plus the start-up files at the wheel root and the schema in the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            target_root = self.get_finalized_command("install").install_lib
        else:
            target_root = self.build_lib
        os.makedirs(target_root, exist_ok=True)
        for name in _STARTUP_FILES:
            self.copy_file(os.path.join(_HERE, name), os.path.join(target_root, name))
        if getattr(self, "editable_mode", False):
            self._point_startup_line_at_checkout(os.path.join(target_root, "importspy_hook.pth"))
        if not getattr(self, "editable_mode", False):
            schema = os.path.join(_HERE, _SCHEMA)
            if os.path.exists(schema):
                self.copy_file(schema, os.path.join(self.build_lib, "importspy_hook", "contract.schema.json"))

    @staticmethod
    def _point_startup_line_at_checkout(pth: str) -> None:
        """An editable install's package is in the checkout, not in site-packages.

        The start-up line checks that the start-up module still exists before importing it (a
        ``.pth`` left behind must not print errors at every start); for an editable install that
        check must look at the checkout.
        """
        with open(pth, encoding="ascii") as stream:
            line = stream.read()
        in_site_packages = "sitedir+'/_importspy_hook_startup.py'"
        in_checkout = ascii(os.path.join(_HERE, "_importspy_hook_startup.py"))  # stays one ASCII line
        if in_site_packages not in line:
            raise RuntimeError("importspy_hook.pth does not have the expected existence check")
        with open(pth, "w", encoding="ascii") as stream:
            stream.write(line.replace(in_site_packages, in_checkout))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs: list[str] = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            outputs.extend(os.path.join(self.build_lib, name) for name in _STARTUP_FILES)
        return outputs


__all__ = ["BuildPyWithStartupFiles"]
