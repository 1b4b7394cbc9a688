"""A plugin written for a newer host; its contract refuses the example host.

If this code ever ran, it would say so: the demo shows that it does not.
"""

print("exporter: this line must never run under a host that breaks the contract")


def setup(host: object) -> None:
    host.register("exporter", object())  # type: ignore[attr-defined]
