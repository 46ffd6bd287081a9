"""BTF, the kernel's compact type format (include/uapi/linux/btf.h), version 1, kinds 1-19.

Covers /sys/kernel/btf/vmlinux, a vmlinux's .BTF section and BTF found in a dump
(4.18+ kernels built with CONFIG_DEBUG_INFO_BTF).  Parsing is two-step: one pass
over the type section records where each type starts and indexes names (in C,
csrc/btf.c, a hash of the names found in place; in Python, dicts of decoded names);
Type objects are built only when asked for.
"""
import array
import mmap
import pickle
import struct
import sys
from typing import Dict, List, Optional, SupportsIndex, Tuple, Union

from .. import native as _native
from ..errors import FormatError
from ..native import Fault, Status
from .model import (MAX_NESTING, MAX_TYPE_SIZE, Member, Qualifiers, Type, TypeIndexBase, array_type, bool_type,
                    canonical_base_name, enum_type, float_type, function_type, int_type, pointer_type,
                    struct_type, typedef_type, union_type, void_type)

BTF_MAGIC = 0xEB9F
BTF_HEADER = struct.Struct("<HBBIIIII")  # magic, version, flags, hdr_len, type_off, type_len, str_off, str_len

BTF_KIND_INT = 1
BTF_KIND_PTR = 2
BTF_KIND_ARRAY = 3
BTF_KIND_STRUCT = 4
BTF_KIND_UNION = 5
BTF_KIND_ENUM = 6
BTF_KIND_FWD = 7
BTF_KIND_TYPEDEF = 8
BTF_KIND_VOLATILE = 9
BTF_KIND_CONST = 10
BTF_KIND_RESTRICT = 11
BTF_KIND_FUNC = 12
BTF_KIND_FUNC_PROTO = 13
BTF_KIND_VAR = 14
BTF_KIND_DATASEC = 15
BTF_KIND_FLOAT = 16
BTF_KIND_DECL_TAG = 17
BTF_KIND_TYPE_TAG = 18
BTF_KIND_ENUM64 = 19

KIND_NAMES = {1: "INT", 2: "PTR", 3: "ARRAY", 4: "STRUCT", 5: "UNION", 6: "ENUM", 7: "FWD", 8: "TYPEDEF",
              9: "VOLATILE", 10: "CONST", 11: "RESTRICT", 12: "FUNC", 13: "FUNC_PROTO", 14: "VAR",
              15: "DATASEC", 16: "FLOAT", 17: "DECL_TAG", 18: "TYPE_TAG", 19: "ENUM64"}

BTF_INT_SIGNED = 1
BTF_INT_CHAR = 2
BTF_INT_BOOL = 4

# Extra 32-bit words after the 12-byte btf_type, per kind: (fixed, per vlen item).
_EXTRA_WORDS = [None, (1, 0), (0, 0), (3, 0), (0, 3), (0, 3), (0, 2), (0, 0), (0, 0), (0, 0), (0, 0),
                (0, 0), (0, 0), (0, 2), (1, 0), (0, 3), (0, 0), (1, 0), (0, 0), (0, 3)]
_FIXED = [e[0] if e else 0 for e in _EXTRA_WORDS]
_PER_ITEM = [e[1] if e else 0 for e in _EXTRA_WORDS]
# csrc/pc_btf.h's namespace codes of the names looked up in C, and of their forward declarations.
_NAMESPACE_CODES = {"struct": 0, "union": 1, "enum": 2}
_FWD_CODES = {"struct": 4, "union": 5}
_NAMED_NAMESPACE = {BTF_KIND_STRUCT: "struct", BTF_KIND_UNION: "union", BTF_KIND_ENUM: "enum",
                    BTF_KIND_ENUM64: "enum", BTF_KIND_TYPEDEF: "typedef", BTF_KIND_INT: "", BTF_KIND_FLOAT: ""}
# The sizes the kernel's verifier accepts (btf_int_check_meta, btf_float_check_meta,
# btf_enum_check_meta): anything else is a damaged record.
_INT_SIZES = (1, 2, 4, 8, 16)
_FLOAT_SIZES = (2, 4, 8, 12, 16)
_ENUM_SIZES = (1, 2, 4, 8)
_MAX_INT_BITS = 128


class BtfIndex(TypeIndexBase):
    """Types of one BTF blob, looked up by name; built on first use and cached by type id."""

    def __init__(self, data: "bytes | mmap.mmap", source: str, native: Optional[bool] = None,
                 start: int = 0, length: Optional[int] = None):
        """Index the blob ``data[start:start + length]`` (all of ``data`` by default), read in place:
        the cache hands back a mapping of its entry, a vmlinux its mapped ``.BTF``; the type section
        is viewed as words and names are found in the blob, neither copied (~5 MB of page faults
        a run).  Offsets in errors count from the blob's start."""
        self.source = source
        self._data = data
        self._blob_start = start
        size = len(data) - start if length is None else length
        if start < 0 or size < 0 or start + size > len(data):
            raise ValueError(f"BTF blob {start:#x}+{size:#x} is not inside the {len(data):#x} bytes given")
        self._blob_size = size
        if size < BTF_HEADER.size:
            raise FormatError(f"BTF too short for its header: {size} bytes", 0, "btf_header")
        magic = struct.unpack_from("<H", data, start)[0]
        if magic == BTF_MAGIC:
            endian = "<"
        elif magic == 0x9FEB:
            endian = ">"
        else:
            raise FormatError(f"BTF magic is {magic:#06x}, expected {BTF_MAGIC:#06x}", 0, "magic")
        self._endian = endian
        _, version, _flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
            endian + "HBBIIIII", data, start)
        if version != 1:
            raise FormatError(f"BTF version {version}, expected 1", 2, "version")
        if hdr_len < BTF_HEADER.size or hdr_len > size:
            raise FormatError(f"BTF hdr_len {hdr_len} out of range", 4, "hdr_len")
        self._type_start = hdr_len + type_off
        self._str_start = hdr_len + str_off
        if type_off % 4 or self._type_start + type_len > size or type_len % 4:
            raise FormatError(f"BTF type section {type_off:#x}+{type_len:#x} outside {size:#x}-byte blob "
                              f"or misaligned", 8, "type_off")
        if self._str_start + str_len > size:
            raise FormatError(f"BTF string section {str_off:#x}+{str_len:#x} outside {size:#x}-byte blob",
                              16, "str_off")
        self._str_end = self._str_start + str_len
        self._strings = memoryview(data)[start + self._str_start:start + self._str_end]
        section = memoryview(data)[start + self._type_start:start + self._type_start + type_len]
        self._words: "Union[memoryview, array.array[int]]"
        if (endian == "<") == (sys.byteorder == "little") and (start + self._type_start) % 4 == 0:
            self._words = section.cast("I")
        else:  # a foreign byte order, or words the C pass could not read aligned: a copy
            self._words = array.array("I", section.tobytes())
            if (endian == "<") != (sys.byteorder == "little"):
                self._words.byteswap()
        # The C index (csrc/btf.c) when the extension serves, else None and the dicts of
        # _name_tables, which the C path builds too, on demand, to list every name.
        self._index = None
        self._tables: Optional[Tuple[Dict[Tuple[str, str], int], Dict[str, int], Dict[str, int]]] = None
        self._base: Dict[str, int] = {}
        if _native.use_native(native):
            self._scan_native()
        else:
            self._starts = self._record_starts()
            self._tables = self._name_tables()
        # The types built so far (a command builds hundreds of the ~100k a kernel's BTF holds).
        self._cache: Dict[int, Type] = {0: void_type()}
        self._building: set = set()

    # -- first pass ---------------------------------------------------------
    def _record_starts(self) -> List[int]:
        """Where each type's record starts (word index; id 0 is void): the walk csrc/btf.c does."""
        words = self._words
        nwords = len(words)
        starts = [0]
        fixed, per_item = _FIXED, _PER_ITEM
        i = 0
        while i < nwords:
            if i + 3 > nwords:
                raise _native.error(Status.BTF_RECORD, Fault(file_offset=self._type_start + 4 * i, detail=0))
            info = words[i + 1]
            kind = (info >> 24) & 0x1F
            if kind == 0 or kind > 19:
                raise _native.error(Status.BTF_KIND, Fault(address=kind, file_offset=self._type_start + 4 * i + 4,
                                                           detail=len(starts)))
            starts.append(i)
            i += 3 + fixed[kind] + per_item[kind] * (info & 0xFFFF)
        if i != nwords:
            raise _native.error(Status.BTF_RECORD, Fault(file_offset=self._type_start + 4 * nwords, detail=1))
        return starts

    def _name_tables(self) -> Tuple[Dict[Tuple[str, str], int], Dict[str, int], Dict[str, int]]:
        """Every name decoded: (namespace, name) -> the lowest id of a type (a forward declaration
        when there is no definition; namespace "" for typedefs and canonically spelt base types),
        variable name -> VAR id, function name -> FUNC id."""
        words = self._words
        names: Dict[Tuple[str, str], int] = {}
        fwds: Dict[Tuple[str, str], int] = {}
        variables: Dict[str, int] = {}
        functions: Dict[str, int] = {}
        named_namespace = _NAMED_NAMESPACE
        string = self._string
        for type_id in range(1, len(self._starts)):
            i = self._starts[type_id]
            name_off = words[i]
            if not name_off:
                continue
            info = words[i + 1]
            kind = (info >> 24) & 0x1F
            namespace = named_namespace.get(kind)
            if namespace is not None:
                name = string(name_off, type_id)
                if namespace == "":
                    names.setdefault(("", canonical_base_name(name)), type_id)
                elif namespace == "typedef":
                    names.setdefault(("", name), type_id)
                else:
                    names.setdefault((namespace, name), type_id)
            elif kind == BTF_KIND_FWD:
                fwds.setdefault(("union" if info & 0x80000000 else "struct", string(name_off, type_id)), type_id)
            elif kind == BTF_KIND_VAR:
                variables.setdefault(string(name_off, type_id), type_id)
            elif kind == BTF_KIND_FUNC:
                functions.setdefault(string(name_off, type_id), type_id)
        for key, type_id in fwds.items():
            names.setdefault(key, type_id)
        return names, variables, functions

    def _scan_native(self) -> None:
        """The first pass in C: record starts and a name hash over the blob's own strings."""
        ffi, lib = _native.ffi, _native.lib
        out = ffi.new("struct pc_btf_index **")
        fault = ffi.new("struct pc_fault *")
        # The index points into self._strings, which lives as long as it does.
        status = lib.pc_btf_index(ffi.from_buffer("uint32_t[]", self._words), len(self._words),
                                  ffi.from_buffer(self._strings), len(self._strings), self._type_start,
                                  self._str_start, out, fault)
        if status:
            raise _native.error(status, Fault.from_c(fault))
        self._index = ffi.gc(out[0], lib.pc_btf_free)
        count = lib.pc_btf_count(self._index)
        self._starts = array.array("I")
        self._starts.frombytes(ffi.buffer(lib.pc_btf_starts(self._index), 4 * count))
        ids = ffi.new("const uint32_t **")
        for k in range(lib.pc_btf_base_ids(self._index, ids)):
            type_id = ids[0][k]
            name = self._string(self._words[self._starts[type_id]], type_id)
            self._base.setdefault(canonical_base_name(name), type_id)

    def __reduce_ex__(self, protocol: "SupportsIndex") -> tuple:
        """Pickled (the debug-info cache) as the blob alone and indexed again when read: the C pass
        takes ~10 ms, while the words, strings and record starts pickled beside the blob tripled
        what every warm run read (~11 MB for a 6.12 kernel, ~70 ms).  From protocol 5 the blob is
        a PickleBuffer, which pycore.cache keeps out of band and maps when it reads it back."""
        blob = memoryview(self._data)[self._blob_start:self._blob_start + self._blob_size]
        if int(protocol) >= 5:
            return (BtfIndex, (pickle.PickleBuffer(blob), self.source))
        return (BtfIndex, (blob.tobytes(), self.source))

    def _id_of(self, namespace: str, name: str) -> Optional[int]:
        """The id :meth:`_name_tables` gives (namespace, name), through the C index when there is one."""
        if self._index is None or "\ufffd" in name:
            # A name decoded with a replacement character matches no raw bytes in C: the
            # decoded tables answer it, as they do on the Python path.
            return self._all_names()[0].get((namespace, name))
        lib = _native.lib
        key = name.encode("utf-8", "surrogateescape")
        if namespace == "":
            found = [i for i in (lib.pc_btf_lookup(self._index, lib.BTF_NS_TYPEDEF, key, len(key)),
                                 self._base.get(name, -1)) if i >= 0]
            return min(found) if found else None
        type_id = lib.pc_btf_lookup(self._index, _NAMESPACE_CODES[namespace], key, len(key))
        if type_id < 0:
            type_id = lib.pc_btf_lookup(self._index, _FWD_CODES.get(namespace, -1), key, len(key))
        return None if type_id < 0 else type_id

    def _all_names(self) -> Tuple[Dict[Tuple[str, str], int], Dict[str, int], Dict[str, int]]:
        if self._tables is None:
            self._tables = self._name_tables()
        return self._tables

    def _string(self, offset: int, type_id: int = -1) -> str:
        start = self._blob_start + self._str_start + offset
        end = self._data.find(b"\0", start, self._blob_start + self._str_end)
        if self._str_start + offset >= self._str_end or end < 0:
            raise _native.error(Status.BTF_NAME, Fault(address=offset, file_offset=self._str_start + offset,
                                                       detail=type_id))
        return self._data[start:end].decode("utf-8", "replace")

    def _name(self, name_off: int, type_id: int) -> Optional[str]:
        return self._string(name_off, type_id) if name_off else None

    # -- building types -----------------------------------------------------
    def __len__(self) -> int:
        return len(self._starts)

    def type_by_id(self, type_id: int) -> Type:
        """The type with BTF id ``type_id`` (0 is void)."""
        if not 0 <= type_id < len(self._starts):
            raise FormatError(f"BTF type id {type_id} out of range (have {len(self._starts)})", None, "type_id")
        t = self._cache.get(type_id)
        if t is None:
            if type_id in self._building:
                raise FormatError(f"BTF type {type_id} refers to itself without a struct in between",
                                  self._offset(type_id), "type")
            if len(self._building) >= MAX_NESTING:
                raise FormatError(f"BTF type {type_id} is nested more than {MAX_NESTING} types deep",
                                  self._offset(type_id), "type")
            self._building.add(type_id)
            try:
                t = self._build(type_id)
            finally:
                self._building.discard(type_id)
            self._cache[type_id] = t
        return t

    def _offset(self, type_id: int) -> int:
        return self._type_start + 4 * self._starts[type_id]

    def _kind(self, type_id: int) -> int:
        return (self._words[self._starts[type_id] + 1] >> 24) & 0x1F

    def _check_size(self, type_id: int, size: int, allowed: "Tuple[int, ...]", kind: str) -> int:
        if size not in allowed:
            raise FormatError(f"BTF {kind} type {type_id} is {size} bytes, expected one of {allowed}",
                              self._offset(type_id) + 8, "size")
        return size

    def _build(self, type_id: int) -> Type:
        words = self._words
        i = self._starts[type_id]
        name_off, info, size_type = words[i], words[i + 1], words[i + 2]
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        kind_flag = info >> 31
        name = self._name(name_off, type_id)
        extra = i + 3
        if kind == BTF_KIND_INT:
            self._check_size(type_id, size_type, _INT_SIZES, "INT")
            encoding = words[extra]
            flags = (encoding >> 24) & 0x0F
            bits, bit_offset = encoding & 0xFF, (encoding >> 16) & 0xFF
            if bits > _MAX_INT_BITS or bit_offset + bits > 8 * size_type:
                raise FormatError(f"BTF INT type {type_id} has {bits} bits at bit {bit_offset} of a "
                                  f"{size_type}-byte integer", self._offset(type_id) + 12, "int encoding")
            if flags & BTF_INT_BOOL:
                return bool_type(name or "_Bool", size_type)
            return int_type(name or "int", size_type, bool(flags & BTF_INT_SIGNED))
        if kind == BTF_KIND_FLOAT:
            return float_type(name or "double", self._check_size(type_id, size_type, _FLOAT_SIZES, "FLOAT"))
        if kind == BTF_KIND_PTR:
            return pointer_type(self.type_by_id(size_type), self.pointer_size)
        if kind == BTF_KIND_ARRAY:
            element, _index_type, nelems = words[extra], words[extra + 1], words[extra + 2]
            element_type = self.type_by_id(element)
            element_size = element_type.size or 0
            if max(element_size, 1) * nelems > MAX_TYPE_SIZE:
                raise FormatError(f"BTF ARRAY type {type_id} of {nelems} {element_size}-byte elements is larger "
                                  f"than any kernel object ({MAX_TYPE_SIZE} bytes)",
                                  self._offset(type_id) + 20, "btf_array.nelems")
            # BTF cannot tell "[0]" from "[]"; the kernel uses "[]" for flexible arrays.
            return array_type(element_type, nelems if nelems else None)
        if kind in (BTF_KIND_STRUCT, BTF_KIND_UNION):
            if size_type > MAX_TYPE_SIZE:
                raise FormatError(f"BTF {KIND_NAMES[kind]} type {type_id} is {size_type} bytes, larger than any "
                                  f"kernel object ({MAX_TYPE_SIZE})", self._offset(type_id) + 8, "size")
            make = struct_type if kind == BTF_KIND_STRUCT else union_type
            return make(name, size_type, lambda: self._members(type_id))
        if kind in (BTF_KIND_ENUM, BTF_KIND_ENUM64):
            self._check_size(type_id, size_type, _ENUM_SIZES, KIND_NAMES[kind])
            enumerators = []
            signed = bool(kind_flag)
            if kind == BTF_KIND_ENUM:
                for k in range(vlen):
                    value = words[extra + 2 * k + 1]
                    if signed and value & 0x80000000:
                        value -= 1 << 32
                    enumerators.append((self._string(words[extra + 2 * k], type_id), value))
            else:
                for k in range(vlen):
                    value = words[extra + 3 * k + 1] | (words[extra + 3 * k + 2] << 32)
                    if signed and value & (1 << 63):
                        value -= 1 << 64
                    enumerators.append((self._string(words[extra + 3 * k], type_id), value))
            return enum_type(name, size_type, signed, enumerators)
        if kind == BTF_KIND_FWD:
            return (union_type if kind_flag else struct_type)(name, None, None)
        if kind == BTF_KIND_TYPEDEF:
            return typedef_type(name or "", self.type_by_id(size_type))
        if kind == BTF_KIND_VOLATILE:
            return self.type_by_id(size_type).qualified(Qualifiers.VOLATILE)
        if kind == BTF_KIND_CONST:
            return self.type_by_id(size_type).qualified(Qualifiers.CONST)
        if kind == BTF_KIND_RESTRICT:
            return self.type_by_id(size_type).qualified(Qualifiers.RESTRICT)
        if kind in (BTF_KIND_TYPE_TAG, BTF_KIND_FUNC, BTF_KIND_VAR, BTF_KIND_DECL_TAG):
            # Tags are annotations; a FUNC or VAR "is" its prototype or variable type here.
            return self.type_by_id(size_type)
        if kind == BTF_KIND_FUNC_PROTO:
            params = []
            variadic = False
            for k in range(vlen):
                p_name, p_type = words[extra + 2 * k], words[extra + 2 * k + 1]
                if p_type == 0 and p_name == 0 and k == vlen - 1:
                    variadic = True  # "..." is a final nameless parameter of type void
                    break
                params.append((self._name(p_name, type_id), self.type_by_id(p_type)))
            return function_type(self.type_by_id(size_type), params, variadic)
        if kind == BTF_KIND_DATASEC:
            return struct_type(name, size_type, [])
        raise FormatError(f"BTF type {type_id} has unknown kind {kind}", self._offset(type_id) + 4, "info.kind")

    def _members(self, type_id: int) -> List[Member]:
        """The members of a struct or union, each starting inside it (btf_struct_check_meta)."""
        words = self._words
        i = self._starts[type_id]
        info, struct_bits = words[i + 1], 8 * words[i + 2]
        kind_flag = info >> 31
        members = []
        for k in range(info & 0xFFFF):
            j = i + 3 + 3 * k
            name_off, member_type, offset = words[j], words[j + 1], words[j + 2]
            if not 0 <= member_type < len(self._starts):
                raise FormatError(f"BTF type {type_id} member {k} refers to type {member_type}, out of range",
                                  self._type_start + 4 * (j + 1), "btf_member.type")
            if kind_flag:
                bit_offset, bit_field_size = offset & 0xFFFFFF, offset >> 24
            else:
                bit_offset, bit_field_size = offset, 0
                # Before kind_flag, a bit field was an INT whose encoding carried offset and width.
                if self._kind(member_type) == BTF_KIND_INT:
                    mi = self._starts[member_type]
                    encoding = words[mi + 3]
                    bits, int_offset = encoding & 0xFF, (encoding >> 16) & 0xFF
                    if int_offset or bits != words[mi + 2] * 8:
                        bit_offset += int_offset
                        bit_field_size = bits
            if bit_offset + bit_field_size > struct_bits:
                raise FormatError(f"BTF type {type_id} member {k} starts at bit {bit_offset}, outside its "
                                  f"{struct_bits // 8}-byte type", self._type_start + 4 * (j + 2),
                                  "btf_member.offset")
            members.append(Member(self._name(name_off, type_id), _lazy(self, member_type),
                                  bit_offset, bit_field_size))
        return members

    # -- lookups ------------------------------------------------------------
    def _lookup(self, namespace: str, name: str) -> Optional[Type]:
        type_id = self._id_of(namespace, name)
        return None if type_id is None else self.type_by_id(type_id)

    def type_id(self, name: str) -> Optional[int]:
        """BTF id of ``struct X``/``union X``/``enum X``/typedef or base type name, or None."""
        words = name.split()
        if len(words) == 2 and words[0] in ("struct", "union", "enum"):
            return self._id_of(words[0], words[1])
        return self._id_of("", canonical_base_name(name))

    def variable_type(self, name: str) -> Optional[Type]:
        """Type of a variable BTF describes (only per-CPU variables, in DATASEC .data..percpu)."""
        type_id = self._named_id(name, 1, "BTF_NS_VAR")
        return None if type_id is None else self.type_by_id(type_id)

    def variable_names(self) -> List[str]:
        return list(self._all_names()[1])

    def function_type(self, name: str) -> Optional[Type]:
        """Prototype of a kernel function BTF describes (a FUNC record), or None."""
        type_id = self._named_id(name, 2, "BTF_NS_FUNC")
        return None if type_id is None else self.type_by_id(type_id)

    def names(self) -> List[Tuple[str, str]]:
        """Every indexed (namespace, name); namespace is "struct", "union", "enum" or ""."""
        return list(self._all_names()[0])

    def _named_id(self, name: str, table: int, code: str) -> Optional[int]:
        """A VAR (table 1, C namespace BTF_NS_VAR) or FUNC (2, BTF_NS_FUNC) id by name."""
        if self._index is None or "\ufffd" in name:
            return self._all_names()[table].get(name)  # type: ignore[literal-required]
        key = name.encode("utf-8", "surrogateescape")
        type_id = _native.lib.pc_btf_lookup(self._index, getattr(_native.lib, code), key, len(key))
        return None if type_id < 0 else type_id


def _lazy(index: BtfIndex, type_id: int):
    return lambda: index.type_by_id(type_id)


def parse_btf(data: bytes, source: str = "btf", native: Optional[bool] = None) -> BtfIndex:
    """Index a BTF blob (in C unless ``native`` is False or the extension is not built); raises
    FormatError naming offset and field if it is malformed or truncated."""
    return BtfIndex(bytes(data), source, native)


def load_btf_file(path: str = "/sys/kernel/btf/vmlinux") -> BtfIndex:
    """BTF of a raw BTF file such as /sys/kernel/btf/vmlinux."""
    with open(path, "rb") as f:
        return parse_btf(f.read(), f"btf ({path})")


def load_vmlinux_btf(path: str, native: Optional[bool] = None) -> Optional[BtfIndex]:
    """BTF from the .BTF section of an ELF vmlinux, or None if it has none; FormatError
    when the file is not a well-formed ELF file.  The section is read in place from a mapping
    of the file (a values-only command with --vmlinux reads it every run: ~5 MB)."""
    from ..symbols.elf_sections import SHF_COMPRESSED, SHT_NOBITS, ElfHeaders
    from ..symbols.elfsyms import section_bytes
    with open(path, "rb") as f:
        headers = ElfHeaders(f, path)
        section = headers.section(".BTF")
        if section is None:
            return None
        if (section.type != SHT_NOBITS and not section.flags & SHF_COMPRESSED
                and 0 < section.size <= headers.file_size - section.offset):
            try:
                mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # a file that cannot be mapped is read
                pass
            else:
                return BtfIndex(mapping, "btf (vmlinux .BTF)", native, section.offset, section.size)
        data = section_bytes(headers, section)  # raises what is wrong with the section
    return parse_btf(data, "btf (vmlinux .BTF)", native)
