"""``@final`` for public classes that, as in trio, refuse to be subclassed at run time."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

_C = TypeVar("_C", bound=type)

if TYPE_CHECKING:
    from typing import final as final
else:

    def final(cls: _C) -> _C:
        """Mark ``cls`` final: defining a subclass of it raises TypeError."""

        def refuse_subclass(subclass: type, /, **kwargs: object) -> None:
            raise TypeError(
                f"{cls.__module__}.{cls.__qualname__} does not support subclassing; "
                f"wrap an instance of it instead of defining {subclass.__qualname__}"
            )

        cls.__init_subclass__ = classmethod(refuse_subclass)
        return cls
