"""Frozen lists and signals: callback lists that stop changing once an app or config is set up.

Shared by the application (``on_startup``, ``middlewares``...) and client tracing.
"""

from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableSequence
from typing import Any, Optional, TypeVar, Union, overload

__all__ = ("FrozenList", "Signal")

_T = TypeVar("_T")


class FrozenList(MutableSequence[_T]):
    """A list that refuses changes once ``freeze()`` was called."""

    __slots__ = ("_frozen", "_items")

    def __init__(self, items: Optional[Iterable[_T]] = None) -> None:
        self._frozen = False
        self._items: list[_T] = list(items) if items is not None else []

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> None:
        self._frozen = True

    def _check(self) -> None:
        if self._frozen:
            raise RuntimeError("Cannot modify frozen list.")

    @overload
    def __getitem__(self, index: int) -> _T: ...

    @overload
    def __getitem__(self, index: slice) -> "FrozenList[_T]": ...

    def __getitem__(self, index: Union[int, slice]) -> Union[_T, "FrozenList[_T]"]:
        if isinstance(index, slice):
            return FrozenList(self._items[index])
        return self._items[index]

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check()
        self._items[index] = value

    def __delitem__(self, index: Union[int, slice]) -> None:
        self._check()
        del self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[_T]:
        return iter(self._items)

    def __reversed__(self) -> Iterator[_T]:
        return reversed(self._items)

    def __eq__(self, other: object) -> bool:
        return list(self) == other

    def __hash__(self) -> int:
        if not self._frozen:
            raise RuntimeError("Cannot hash unfrozen list.")
        return hash(tuple(self._items))

    def insert(self, index: int, value: _T) -> None:
        self._check()
        self._items.insert(index, value)

    def __repr__(self) -> str:
        return f"<FrozenList(frozen={self._frozen}, {self._items!r})>"


class Signal(FrozenList[Callable[..., Awaitable[Any]]]):
    """A list of async callbacks; ``send(*args)`` awaits each, in order, once frozen."""

    __slots__ = ("_owner",)

    def __init__(self, owner: Any) -> None:
        super().__init__()
        self._owner = owner

    def __repr__(self) -> str:
        return f"<Signal owner={self._owner!r}, frozen={self._frozen}, {self._items!r}>"

    async def send(self, *args: Any, **kwargs: Any) -> None:
        if not self._frozen:
            raise RuntimeError("Cannot send non-frozen signal.")
        for receiver in self._items:
            await receiver(*args, **kwargs)
