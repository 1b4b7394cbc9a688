"""Fuzzing of the contract parser and checker (not collected by pytest; see conftest.py).

A package only so that pytest imports ``fuzz/conftest.py`` as ``fuzz.conftest``: as a second
top-level ``conftest`` module it would shadow ``tests/conftest.py`` and its helpers.
"""
