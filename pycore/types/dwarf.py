"""Types and variables from a vmlinux's DWARF (versions 2 to 5), built on demand.

A vmlinux carries ~160 MB of .debug_info (17 M DIEs).  One pass records where each
top-level named struct, union, enum, typedef, base type and variable lives
(dwarf_scan.py, in C or Python); the index is cached on disk by build-id, and only
the DIEs a lookup needs are ever decoded.  vmlinux is ET_EXEC, so its .rela.debug_*
sections need not be applied.
"""
import bisect
import hashlib
import mmap
import os
import struct
import zlib
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from ..cache import cache_root, mark_used, prune
from ..errors import FormatError
from ..progress import Progress
from .dwarf_format import (DW_AT_bit_offset, DW_AT_bit_size, DW_AT_byte_size, DW_AT_const_value, DW_AT_count,
                           DW_AT_data_bit_offset, DW_AT_data_member_location, DW_AT_declaration, DW_AT_encoding,
                           DW_AT_name, DW_AT_specification, DW_AT_str_offsets_base, DW_AT_type,
                           DW_AT_upper_bound, DW_ATE_boolean, DW_ATE_float, DW_ATE_signed, DW_ATE_signed_char,
                           DW_TAG_array_type, DW_TAG_atomic_type, DW_TAG_base_type, DW_TAG_const_type,
                           DW_TAG_enumeration_type, DW_TAG_enumerator, DW_TAG_formal_parameter, DW_TAG_member,
                           DW_TAG_pointer_type, DW_TAG_restrict_type, DW_TAG_structure_type,
                           DW_TAG_subrange_type, DW_TAG_subroutine_type, DW_TAG_typedef, DW_TAG_union_type,
                           DW_TAG_unspecified_parameters, DW_TAG_unspecified_type, DW_TAG_variable,
                           DW_TAG_volatile_type, Sections, Unit, attribute_string, die_children, open_sections,
                           parse_abbrevs, read_die, uleb)
from .dwarf_scan import Entry, build_name_index, scan_names
from .model import (Member, Qualifiers, Type, TypeIndexBase, array_type, bool_type, enum_type, float_type,
                    function_type, int_type, pointer_type, struct_type, typedef_type, union_type, void_type)

__all__ = ["DwarfIndex", "Sections", "load_dwarf", "open_sections", "scan_names", "cache_dir"]

CACHE_FORMAT = 2
# The cache file: this header, then the name slots, the unit offsets and the pool of names.
# magic, format, .debug_info size, slot count (a power of two), entries, units, and where the
# slots, the unit offsets and the pool start, and the pool's size.
_HEADER = struct.Struct("<12sIQIII4xQQQQ")
_MAGIC = b"pycore-dwi\0\0"
# A name slot: where its key starts in the pool plus one (0: an empty slot), the key's length,
# the DIE offset.  A key is its namespace's letter and the name in UTF-8.
_SLOT = struct.Struct("<IIQ")
_PREFIX = {"struct": b"s", "union": b"u", "enum": b"e", "": b"t"}
_VARIABLE = b"v"
_NAMESPACE = {prefix[0]: namespace for namespace, prefix in _PREFIX.items()}
_PROGRESS_SLICE = 8 << 20  # bytes of .debug_info between progress reports: ~15 reports for a Debian vmlinux


def cache_dir() -> str:
    """Where DWARF name indexes are kept: ``dwarf/`` under pycore's cache root, whose size cap
    (:mod:`pycore.cache`) covers them."""
    return os.path.join(cache_root(), "dwarf")


def _cache_key(sections: Sections) -> str:
    if sections.build_id:
        return sections.build_id.hex()
    st = os.stat(sections.path)
    return "nobuildid-" + hashlib.sha1(f"{os.path.realpath(sections.path)}:{st.st_size}:{st.st_mtime_ns}"
                                       .encode()).hexdigest()


class DwarfIndex(TypeIndexBase):
    """Types and variable types of one vmlinux's DWARF, looked up by name and built on demand."""

    def __init__(self, sections: Sections, types: Mapping[Tuple[str, str], int], variables: Mapping[str, int],
                 source: str = "dwarf (vmlinux)", unit_offsets: Optional[Sequence[int]] = None):
        """``types`` and ``variables`` map names to DIE offsets (dicts, or the cache file's
        :class:`MappedNames`); ``unit_offsets`` are where the units of .debug_info start, in order
        (found by walking the unit headers when not given)."""
        self.sections = sections
        self.source = source
        self._types = types
        self._variables = variables
        self._unit_offsets = unit_offsets if unit_offsets is not None else _unit_offsets(sections.info)
        self._units: Dict[int, Unit] = {}
        self._cache: Dict[int, Type] = {}
        self._abbrev_tables: Dict[tuple, Dict[int, tuple]] = {}
        self._building: set = set()

    # -- units and DIEs -----------------------------------------------------
    def _unit_for(self, offset: int) -> Unit:
        # Only the units a lookup lands in are read: ~3000 in a vmlinux, a command touches tens.
        i = bisect.bisect_right(self._unit_offsets, offset) - 1
        if i < 0:
            raise FormatError(f"DIE offset {offset:#x} is outside every unit", offset, "DIE reference")
        start = self._unit_offsets[i]
        unit = self._units.get(start)
        if unit is None:
            unit = self._units[start] = Unit(self.sections.info, start)
        if offset >= unit.end:
            raise FormatError(f"DIE offset {offset:#x} is outside every unit", offset, "DIE reference")
        if unit.abbrevs is None:
            key = (unit.abbrev_offset, unit.offset_size, unit.addr_size, unit.version)
            table = self._abbrev_tables.get(key)
            if table is None:
                table = self._abbrev_tables[key] = parse_abbrevs(self.sections.abbrev, unit.abbrev_offset, unit)
            unit.abbrevs = table
            tag, attrs, _, _ = read_die(self.sections, unit, unit.die_start)
            if DW_AT_str_offsets_base in attrs:
                unit.str_offsets_base = attrs[DW_AT_str_offsets_base][1]
        return unit

    def _read_die(self, offset: int):
        unit = self._unit_for(offset)
        return (unit,) + read_die(self.sections, unit, offset)

    def _children(self, unit: Unit, has_children: bool, after: int):
        """(offset, tag, attrs) of each direct child of a DIE."""
        for child, tag, attrs, _, _ in die_children(self.sections, unit, has_children, after):
            yield child, tag, attrs

    def _string(self, unit: Unit, attr) -> Optional[str]:
        return attribute_string(self.sections, unit, attr)

    @staticmethod
    def _constant(attr, signed: bool = False) -> Optional[int]:
        if attr is None:
            return None
        form, value, _ = attr
        if not isinstance(value, int):
            if form == 0x18 and value and value[0] == 0x23:  # DW_OP_plus_uconst (DWARF 2 member locations)
                return uleb(value, 1)[0]
            return None
        if signed and form in (0x0B, 0x05, 0x06, 0x07):
            bits = {0x0B: 8, 0x05: 16, 0x06: 32, 0x07: 64}[form]
            if value >> (bits - 1):
                value -= 1 << bits
        return value

    # -- types --------------------------------------------------------------
    def type_at(self, offset: int) -> Type:
        """The type whose DIE is at .debug_info ``offset``."""
        t = self._cache.get(offset)
        if t is None:
            if offset in self._building:
                raise FormatError(f"type DIE at {offset:#x} refers to itself", offset, "DW_AT_type")
            self._building.add(offset)
            try:
                t = self._build(offset)
            finally:
                self._building.discard(offset)
            self._cache[offset] = t
        return t

    def _target(self, attrs) -> Type:
        ref = attrs.get(DW_AT_type)
        if ref is None or not isinstance(ref[1], int) or ref[0] in (0x20, 0x1C, 0x24, 0x1F20):
            return void_type()
        return self.type_at(ref[1])

    def _build(self, offset: int) -> Type:
        unit, tag, attrs, has_children, after = self._read_die(offset)
        name = self._string(unit, attrs.get(DW_AT_name))
        size = self._constant(attrs.get(DW_AT_byte_size))
        if tag == DW_TAG_base_type:
            encoding = self._constant(attrs.get(DW_AT_encoding))
            if encoding == DW_ATE_boolean:
                return bool_type(name or "_Bool", size or 1)
            if encoding == DW_ATE_float:
                return float_type(name or "double", size or 8)
            return int_type(name or "int", size or 0, encoding in (DW_ATE_signed, DW_ATE_signed_char))
        if tag == DW_TAG_pointer_type:
            return pointer_type(self._target(attrs), size or unit.addr_size)
        if tag in (DW_TAG_const_type, DW_TAG_volatile_type, DW_TAG_restrict_type, DW_TAG_atomic_type):
            qualifier = {DW_TAG_const_type: Qualifiers.CONST, DW_TAG_volatile_type: Qualifiers.VOLATILE,
                         DW_TAG_restrict_type: Qualifiers.RESTRICT}.get(tag, Qualifiers.NONE)
            return self._target(attrs).qualified(qualifier)
        if tag == DW_TAG_typedef:
            return typedef_type(name or "", self._target(attrs))
        if tag in (DW_TAG_structure_type, DW_TAG_union_type, DW_TAG_enumeration_type):
            if DW_AT_declaration in attrs and name is not None:
                # A declaration in this unit; the definition lives in another one.
                namespace = {DW_TAG_structure_type: "struct", DW_TAG_union_type: "union"}.get(tag, "enum")
                definition = self._types.get((namespace, name))
                if definition is not None and definition != offset:
                    return self.type_at(definition)
                make = {DW_TAG_structure_type: struct_type, DW_TAG_union_type: union_type}.get(tag)
                return make(name, None, None) if make else enum_type(name, None, False, None)
            if tag == DW_TAG_enumeration_type:
                return self._enum(unit, attrs, name, size, offset, has_children, after)
            make = struct_type if tag == DW_TAG_structure_type else union_type
            return make(name, size, lambda: self._members(offset))
        if tag == DW_TAG_array_type:
            dims = []
            for _, child_tag, child in self._children(unit, has_children, after):
                if child_tag == DW_TAG_subrange_type:
                    count = self._constant(child.get(DW_AT_count))
                    if count is None:
                        upper = child.get(DW_AT_upper_bound)
                        bound = self._constant(upper, signed=upper is not None and upper[0] == 0x0D)
                        if upper is not None and (upper[0], bound) in ((0x06, 0xFFFFFFFF), (0x07, (1 << 64) - 1)):
                            bound = -1  # GCC's spelling of the upper bound of a zero-length array
                        count = None if bound is None else bound + 1
                    dims.append(count if count else None)
            t = self._target(attrs)
            for length in reversed(dims or [None]):
                t = array_type(t, length)
            return t
        if tag == DW_TAG_subroutine_type:
            params = []
            variadic = False
            for _, child_tag, child in self._children(unit, has_children, after):
                if child_tag == DW_TAG_formal_parameter:
                    params.append((self._string(unit, child.get(DW_AT_name)), self._target(child)))
                elif child_tag == DW_TAG_unspecified_parameters:
                    variadic = True
            return function_type(self._target(attrs), params, variadic)
        if tag in (DW_TAG_unspecified_type,):
            return void_type()
        if tag == DW_TAG_variable:
            if DW_AT_type not in attrs and DW_AT_specification in attrs:
                return self.type_at(attrs[DW_AT_specification][1])
            return self._target(attrs)
        raise FormatError(f"DIE at {offset:#x} with tag {tag:#x} is not a type", offset, "tag")

    def _enum(self, unit, attrs, name, size, offset, has_children, after) -> Type:
        signed = False
        if DW_AT_type in attrs:
            underlying = self._target(attrs).resolved()
            signed = underlying.is_signed
            size = size or underlying.size
        enumerators = []
        for _, child_tag, child in self._children(unit, has_children, after):
            if child_tag == DW_TAG_enumerator:
                value = self._constant(child.get(DW_AT_const_value), signed=signed)
                if value is not None and value < 0:
                    signed = True
                enumerators.append((self._string(unit, child.get(DW_AT_name)) or "", value or 0))
        return enum_type(name, size, signed, enumerators)

    def _members(self, offset: int) -> List[Member]:
        unit, tag, attrs, has_children, after = self._read_die(offset)
        members = []
        for _, child_tag, child in self._children(unit, has_children, after):
            if child_tag != DW_TAG_member:
                continue
            name = self._string(unit, child.get(DW_AT_name))
            bit_size = self._constant(child.get(DW_AT_bit_size)) or 0
            data_bit_offset = self._constant(child.get(DW_AT_data_bit_offset))
            if data_bit_offset is not None:
                bit_offset = data_bit_offset
            else:
                bit_offset = 8 * (self._constant(child.get(DW_AT_data_member_location)) or 0)
                old_style = self._constant(child.get(DW_AT_bit_offset))
                if old_style is not None and bit_size:
                    # DWARF 2/3: bits counted from the storage unit's most significant end.
                    storage = self._constant(child.get(DW_AT_byte_size))
                    if storage is None:
                        storage = self._target(child).size or 0
                    bit_offset += storage * 8 - old_style - bit_size
            members.append(Member(name, _lazy_target(self, child), bit_offset, bit_size))
        return members

    # -- lookups --------------------------------------------------------------
    def _lookup(self, namespace: str, name: str) -> Optional[Type]:
        offset = self._types.get((namespace, name))
        return None if offset is None else self.type_at(offset)

    def variable_type(self, name: str) -> Optional[Type]:
        """Type of the global variable ``name`` (a definition's, else a declaration's)."""
        offset = self._variables.get(name)
        return None if offset is None else self.type_at(offset)

    def names(self) -> List[Tuple[str, str]]:
        return list(self._types)

    def variable_names(self) -> List[str]:
        return list(self._variables)


def _lazy_target(index: DwarfIndex, attrs):
    return lambda: index._target(attrs)


def load_dwarf(path: str, use_cache: bool = True, native: Optional[bool] = None,
               progress: Optional[Progress] = None) -> DwarfIndex:
    """The DWARF type index of the ELF file ``path`` (a vmlinux with debug info).

    The name index is mapped from ``$PYCORE_CACHE/dwarf/<build-id>.idx`` when present
    (``~/.cache/pycore`` by default), else built with one scan of .debug_info and
    saved there; ``native`` chooses the C or the Python scan (None: C when built),
    ``progress`` hears of the scan (stage "indexing DWARF", bytes of .debug_info).
    Raises MissingDebugInfoError when the file has no DWARF.
    """
    sections = open_sections(path)
    cache_path = os.path.join(cache_dir(), _cache_key(sections) + ".idx")
    source = f"dwarf ({os.path.basename(path)})"
    if use_cache:
        cached = _load_cache(cache_path, len(sections.info))
        if cached is not None:
            types, variables, offsets = cached
            return DwarfIndex(sections, types, variables, source, offsets)
    types, variables = build_name_index(sections, _scan_reporting(sections, native, progress))
    offsets = _unit_offsets(sections.info)
    if use_cache:
        _save_cache(cache_path, len(sections.info), types, variables, offsets)
    return DwarfIndex(sections, types, variables, source, offsets)


def _unit_offsets(info: memoryview) -> List[int]:
    """Where each unit of ``info`` starts, walking the unit headers."""
    offsets = []
    position = 0
    while position < len(info):
        offsets.append(position)
        position = Unit(info, position).end
    return offsets


def _scan_reporting(sections: Sections, native: Optional[bool], progress: Optional[Progress]) -> List[Entry]:
    """The name scan, in slices of about 8 MiB of units when someone listens to ``progress``.

    build_name_index keeps the best entry of each name whatever the order, so slices
    (each deduplicated on its own) give the same index as one scan."""
    if progress is None:
        return scan_names(sections, native=native)
    size = len(sections.info)
    entries: List[Entry] = []
    start = 0
    while start < size:
        end = start
        while end < size and end - start < _PROGRESS_SLICE:
            end = Unit(sections.info, end).end  # slices end on unit boundaries
        entries += scan_names(sections, start, end, native=native)
        progress("indexing DWARF", end, size)
        start = end
    return entries


class MappedNames(Mapping):
    """Names to DIE offsets, read in place from the cache file's hash table: opening costs nothing
    whatever the vmlinux (unpickling its ~60k names cost every --vmlinux run ~0.1 s).  Keys are
    (namespace, name) for types, names for variables (``variables``); iteration is in DIE order,
    as :func:`~pycore.types.dwarf_scan.build_name_index`'s dicts are."""

    def __init__(self, data: mmap.mmap, slots: int, slot_count: int, pool: int, variables: bool):
        self._data = data
        self._slots = slots
        self._mask = slot_count - 1
        self._pool = pool
        self._variables = variables
        self._order: Optional[List[Tuple[int, bytes]]] = None

    def _key(self, name: object) -> Optional[bytes]:
        if self._variables:
            return _VARIABLE + name.encode("utf-8", "surrogatepass") if isinstance(name, str) else None
        if not isinstance(name, tuple) or len(name) != 2 or name[0] not in _PREFIX or not isinstance(name[1], str):
            return None
        return _PREFIX[name[0]] + name[1].encode("utf-8", "surrogatepass")

    def get(self, name: object, default: Optional[int] = None) -> Optional[int]:  # type: ignore[override]
        key = self._key(name)
        if key is None:
            return default
        data, mask, pool = self._data, self._mask, self._pool
        slot = zlib.crc32(key) & mask
        for _ in range(mask + 1):  # bounded: a damaged file may have no empty slot
            at, length, die = _SLOT.unpack_from(data, self._slots + _SLOT.size * slot)
            if not at:
                return default
            if length == len(key) and data[pool + at - 1:pool + at - 1 + length] == key:
                return die
            slot = (slot + 1) & mask
        return default

    def __getitem__(self, name: object) -> int:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def _entries(self) -> List[Tuple[int, bytes]]:
        if self._order is None:
            data, pool = self._data, self._pool
            found = []
            for at, length, die in _SLOT.iter_unpack(data[self._slots:self._slots + _SLOT.size * (self._mask + 1)]):
                if at:
                    key = data[pool + at - 1:pool + at - 1 + length]
                    if (key[:1] == _VARIABLE) == self._variables:
                        found.append((die, key))
            found.sort()
            self._order = found
        return self._order

    def __iter__(self) -> Iterator:
        for _, key in self._entries():
            name = key[1:].decode("utf-8", "surrogatepass")
            yield name if self._variables else (_NAMESPACE[key[0]], name)

    def __len__(self) -> int:
        return len(self._entries())


def _load_cache(path: str, info_size: int):
    """(types, variables, unit offsets) mapped from the cache file, or None when it is missing,
    of another format or .debug_info size, or does not hold together."""
    try:
        with open(path, "rb") as f:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            mark_used(f.fileno())
    except (OSError, ValueError):
        return None
    if len(data) < _HEADER.size:
        return None
    magic, version, size, slot_count, _entries, unit_count, slots, units, pool, pool_size = \
        _HEADER.unpack_from(data)
    if (magic, version, size) != (_MAGIC, CACHE_FORMAT, info_size) or not slot_count or slot_count & (slot_count - 1) \
            or slots + _SLOT.size * slot_count > len(data) or units + 8 * unit_count > len(data) \
            or pool + pool_size > len(data) or units % 8:
        return None
    offsets = memoryview(data)[units:units + 8 * unit_count].cast("Q")
    return (MappedNames(data, slots, slot_count, pool, False), MappedNames(data, slots, slot_count, pool, True),
            offsets)


def _save_cache(path: str, info_size: int, types: Dict[Tuple[str, str], int], variables: Dict[str, int],
                unit_offsets: List[int]) -> None:
    """Write the name index as the hash table :class:`MappedNames` reads in place."""
    keys = [(_PREFIX[namespace] + name.encode("utf-8", "surrogatepass"), die)
            for (namespace, name), die in types.items() if namespace in _PREFIX]
    keys += [(_VARIABLE + name.encode("utf-8", "surrogatepass"), die) for name, die in variables.items()]
    slot_count = 1 << max(4, (2 * len(keys)).bit_length())
    mask = slot_count - 1
    taken: List[Optional[bytes]] = [None] * slot_count
    pool = bytearray()
    for key, die in keys:
        slot = zlib.crc32(key) & mask
        while taken[slot] is not None:
            slot = (slot + 1) & mask
        taken[slot] = _SLOT.pack(len(pool) + 1, len(key), die)
        pool += key
    empty = bytes(_SLOT.size)
    slots = b"".join(empty if packed is None else packed for packed in taken)
    units_at = _HEADER.size + len(slots)
    pool_at = units_at + 8 * len(unit_offsets)
    header = _HEADER.pack(_MAGIC, CACHE_FORMAT, info_size, slot_count, len(keys), len(unit_offsets),
                          _HEADER.size, units_at, pool_at, len(pool))
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(header + slots + struct.pack(f"<{len(unit_offsets)}Q", *unit_offsets) + pool)
        os.replace(tmp, path)
    except OSError:
        return  # a read-only cache only costs the next run a rescan
    prune(path)
