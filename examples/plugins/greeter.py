"""A plugin whose contract the example host meets."""


def setup(host: object) -> None:
    host.register("greeter", greet)  # type: ignore[attr-defined]
    host.announce("greeter ready")  # type: ignore[attr-defined]


def greet(name: str) -> str:
    return f"hello, {name}"
