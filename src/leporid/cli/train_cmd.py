"""`leporid train` (to be written)."""


def register(sub) -> None:  # noqa: D103
    pass
