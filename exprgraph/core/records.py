"""`Record`: the base of exprgraph's small immutable value classes.

They were frozen dataclasses. A dataclass writes and compiles its methods
(`__init__`, `__eq__`, `__hash__`, `__repr__`, `__setattr__`, ...) when its
class is defined, about 0.6 ms a class, and a one-shot `exprgraph eval`
defined fourteen of them before it printed anything (issue 17's start-up
goal). A Record subclass writes its own `__init__`, setting its fields with
`object.__setattr__`, and names its fields in `_fields`, in the order its
`__init__` takes them. This base gives it, from that list and with no code
generated at import:

- equality and hashing by the fields, as a frozen dataclass has them: two
  records are equal when they are of the same class and their fields are
  equal (a record with a dict or list field is not hashable);
- immutability: assigning or deleting an attribute raises
  `dataclasses.FrozenInstanceError`, as it did;
- pickling and copying: `__reduce__` rebuilds a record from its fields.

Each class writes its own short `__repr__`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Record:
    """Equality, hashing, immutability and pickling by the fields named in `_fields`."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    # dataclasses is imported where the error is raised: importing this module
    # (as `import exprgraph` does) should not import it and `inspect` with it.
    def __setattr__(self, name: str, value: object) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__class__, self._values()
