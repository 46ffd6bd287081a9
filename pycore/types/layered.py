"""Types from BTF first and from a vmlinux's DWARF only for what BTF lacks, for commands whose output
depends only on the values read (``ps``, ``log``, ``bt -a``: their text is crash's without a vmlinux).
BTF (4.18+ kernels built with CONFIG_DEBUG_INFO_BTF) is ready in milliseconds; DWARF costs a scan of
~160 MB of .debug_info the first time and a type build per lookup after, so it is loaded on a miss.
"""
from typing import Callable, List, Optional, Tuple

from ..errors import MissingDebugInfoError
from .model import Type, TypeIndex, TypeIndexBase


class LayeredIndex(TypeIndexBase):
    """A :class:`~pycore.types.model.TypeIndex` answering from ``first`` (BTF) and, for a type
    ``first`` does not have, from ``then()`` (the vmlinux's DWARF index), called once, on the first
    miss.  ``variable_type`` and ``function_type`` are ``first``'s: BTF types only per-CPU
    variables, and the other globals' types come from pycore's tables before the DWARF is asked
    (:func:`pycore.types.btf_globals.deferred_global_type`)."""

    def __init__(self, first: TypeIndex, then: Callable[[], TypeIndex], then_source: str):
        self.first = first
        self._then = then
        self._loaded: Optional[TypeIndex] = None
        self._error: Optional[MissingDebugInfoError] = None
        self.source = f"{first.source}; {then_source} for what it lacks"
        self.pointer_size = getattr(first, "pointer_size", 8)

    @property
    def loaded(self) -> bool:
        """Whether a miss has loaded the second index (the vmlinux's DWARF)."""
        return self._loaded is not None

    def then(self) -> TypeIndex:
        """The second index, loaded now if no miss loaded it yet; a failure to load it (a vmlinux
        without DWARF) is kept and raised again, as MissingDebugInfoError."""
        if self._loaded is None:
            if self._error is not None:
                raise self._error
            try:
                self._loaded = self._then()
            except MissingDebugInfoError as error:
                self._error = error
                raise
        return self._loaded

    def _lookup(self, namespace: str, name: str) -> Optional[Type]:
        found = self.first._lookup(namespace, name)  # type: ignore[attr-defined]
        if found is not None:
            return found
        try:
            return self.then()._lookup(namespace, name)  # type: ignore[attr-defined]
        except MissingDebugInfoError:
            return None  # find() then says the type is not in this index's sources

    def variable_type(self, name: str) -> Optional[Type]:
        return self.first.variable_type(name)

    def then_variable_type(self, name: str) -> Optional[Type]:
        """The variable's type from the second index (loading it), None when it has none or cannot load."""
        try:
            return self.then().variable_type(name)
        except MissingDebugInfoError:
            return None

    def function_type(self, name: str) -> Optional[Type]:
        lookup = getattr(self.first, "function_type", None)
        return lookup(name) if lookup is not None else None

    def names(self) -> List[Tuple[str, str]]:
        return self.first.names()  # type: ignore[attr-defined]
