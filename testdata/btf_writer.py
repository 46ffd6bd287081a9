"""A tiny BTF encoder (include/uapi/linux/btf.h) for synthetic type fixtures.

Each ``add_*`` method appends one type and returns its id; ``build()`` returns the
blob: header, type section, string section, as the kernel lays them out.
"""
import struct
from typing import Dict, List, Optional, Sequence, Tuple

KIND = {"INT": 1, "PTR": 2, "ARRAY": 3, "STRUCT": 4, "UNION": 5, "ENUM": 6, "FWD": 7, "TYPEDEF": 8,
        "VOLATILE": 9, "CONST": 10, "RESTRICT": 11, "FUNC": 12, "FUNC_PROTO": 13, "VAR": 14, "DATASEC": 15,
        "FLOAT": 16, "DECL_TAG": 17, "TYPE_TAG": 18, "ENUM64": 19}


class BtfWriter:
    def __init__(self) -> None:
        self.types: List[bytes] = []
        self.strings = bytearray(b"\0")
        self._string_offsets: Dict[str, int] = {"": 0}

    def string(self, text: Optional[str]) -> int:
        if not text:
            return 0
        if text not in self._string_offsets:
            self._string_offsets[text] = len(self.strings)
            self.strings += text.encode() + b"\0"
        return self._string_offsets[text]

    def _add(self, kind: str, name: Optional[str], vlen: int, size_type: int, extra: bytes = b"",
             kind_flag: bool = False) -> int:
        info = (KIND[kind] << 24) | vlen | (int(kind_flag) << 31)
        self.types.append(struct.pack("<III", self.string(name), info, size_type) + extra)
        return len(self.types)

    def add_int(self, name: str, size: int, signed: bool = False, bits: Optional[int] = None,
                offset: int = 0, char: bool = False, boolean: bool = False) -> int:
        encoding = (1 if signed else 0) | (2 if char else 0) | (4 if boolean else 0)
        value = (encoding << 24) | (offset << 16) | (size * 8 if bits is None else bits)
        return self._add("INT", name, 0, size, struct.pack("<I", value))

    def add_float(self, name: str, size: int) -> int:
        return self._add("FLOAT", name, 0, size)

    def add_ptr(self, target: int) -> int:
        return self._add("PTR", None, 0, target)

    def add_array(self, element: int, nelems: int, index_type: int = 0) -> int:
        return self._add("ARRAY", None, 0, 0, struct.pack("<III", element, index_type, nelems))

    def _composite(self, kind: str, name: Optional[str], size: int,
                   members: Sequence[Tuple[Optional[str], int, int, int]], kind_flag: Optional[bool]) -> int:
        """members: (name, type id, bit offset, bit field size or 0)."""
        if kind_flag is None:
            kind_flag = any(bits for _, _, _, bits in members)
        extra = b""
        for member_name, type_id, bit_offset, bits in members:
            offset = (bits << 24) | bit_offset if kind_flag else bit_offset
            extra += struct.pack("<III", self.string(member_name), type_id, offset)
        return self._add(kind, name, len(members), size, extra, kind_flag)

    def add_struct(self, name: Optional[str], size: int, members: Sequence[Tuple[Optional[str], int, int, int]],
                   kind_flag: Optional[bool] = None) -> int:
        return self._composite("STRUCT", name, size, members, kind_flag)

    def add_union(self, name: Optional[str], size: int, members: Sequence[Tuple[Optional[str], int, int, int]],
                  kind_flag: Optional[bool] = None) -> int:
        return self._composite("UNION", name, size, members, kind_flag)

    def add_enum(self, name: Optional[str], size: int, values: Sequence[Tuple[str, int]], signed: bool = False) -> int:
        extra = b"".join(struct.pack("<II", self.string(n), v & 0xFFFFFFFF) for n, v in values)
        return self._add("ENUM", name, len(values), size, extra, signed)

    def add_enum64(self, name: Optional[str], size: int, values: Sequence[Tuple[str, int]],
                   signed: bool = False) -> int:
        extra = b"".join(struct.pack("<III", self.string(n), v & 0xFFFFFFFF, (v >> 32) & 0xFFFFFFFF)
                         for n, v in values)
        return self._add("ENUM64", name, len(values), size, extra, signed)

    def add_fwd(self, name: str, union: bool = False) -> int:
        return self._add("FWD", name, 0, 0, kind_flag=union)

    def add_typedef(self, name: str, target: int) -> int:
        return self._add("TYPEDEF", name, 0, target)

    def add_const(self, target: int) -> int:
        return self._add("CONST", None, 0, target)

    def add_volatile(self, target: int) -> int:
        return self._add("VOLATILE", None, 0, target)

    def add_restrict(self, target: int) -> int:
        return self._add("RESTRICT", None, 0, target)

    def add_type_tag(self, name: str, target: int) -> int:
        return self._add("TYPE_TAG", name, 0, target)

    def add_decl_tag(self, name: str, target: int, component: int = -1) -> int:
        return self._add("DECL_TAG", name, 0, target, struct.pack("<i", component))

    def add_func_proto(self, return_type: int, params: Sequence[Tuple[Optional[str], int]],
                       variadic: bool = False) -> int:
        items = list(params) + ([(None, 0)] if variadic else [])
        extra = b"".join(struct.pack("<II", self.string(n), t) for n, t in items)
        return self._add("FUNC_PROTO", None, len(items), return_type, extra)

    def add_func(self, name: str, proto: int, linkage: int = 1) -> int:
        return self._add("FUNC", name, linkage, proto)

    def add_var(self, name: str, type_id: int, linkage: int = 1) -> int:
        return self._add("VAR", name, 0, type_id, struct.pack("<I", linkage))

    def add_datasec(self, name: str, size: int, variables: Sequence[Tuple[int, int, int]]) -> int:
        """variables: (VAR type id, offset, size)."""
        extra = b"".join(struct.pack("<III", *v) for v in variables)
        return self._add("DATASEC", name, len(variables), size, extra)

    def build(self, version: int = 1, magic: int = 0xEB9F) -> bytes:
        types = b"".join(self.types)
        header = struct.pack("<HBBIIIII", magic, version, 0, 24, 0, len(types), len(types), len(self.strings))
        return header + types + bytes(self.strings)


def kernel_like() -> Tuple[bytes, Dict[str, int]]:
    """A BTF blob shaped like a kernel's: bit fields, anonymous unions, enums, typedef chains,
    flexible arrays, self-referencing lists, function pointers and one per-CPU variable."""
    w = BtfWriter()
    ids: Dict[str, int] = {}
    ids["int"] = w.add_int("int", 4, signed=True)
    ids["unsigned int"] = w.add_int("unsigned int", 4)
    ids["long unsigned int"] = w.add_int("long unsigned int", 8)
    ids["char"] = w.add_int("char", 1, signed=True, char=True)
    ids["_Bool"] = w.add_int("_Bool", 1, boolean=True)
    ids["u32"] = w.add_typedef("u32", w.add_typedef("__u32", ids["unsigned int"]))
    ids["list_head"] = list_head = w.add_struct("list_head", 16, [])  # members patched below
    list_ptr = w.add_ptr(list_head)
    w.types[list_head - 1] = struct.pack("<III", w.string("list_head"), (4 << 24) | 2, 16) + struct.pack(
        "<IIIIII", w.string("next"), list_ptr, 0, w.string("prev"), list_ptr, 64)
    ids["enum state"] = w.add_enum("task_state", 4, [("TASK_RUNNING", 0), ("TASK_DEAD", 128),
                                                     ("TASK_NEG", -1)], signed=True)
    ids["enum big"] = w.add_enum64("big", 8, [("BIG_LOW", 1), ("BIG_HIGH", 1 << 40)])
    anon_struct = w.add_struct(None, 8, [("lo", ids["u32"], 0, 0), ("hi", ids["u32"], 32, 0)])
    anon_union = w.add_union(None, 8, [("whole", ids["long unsigned int"], 0, 0), (None, anon_struct, 0, 0)])
    char16 = w.add_array(ids["char"], 16, ids["int"])
    flex = w.add_array(ids["long unsigned int"], 0, ids["int"])
    const_char = w.add_const(ids["char"])
    ids["const char *"] = w.add_ptr(const_char)
    proto = w.add_func_proto(ids["int"], [("head", list_ptr), ("fmt", ids["const char *"])], variadic=True)
    fn_ptr = w.add_ptr(proto)
    ids["struct task"] = w.add_struct("task", 64, [
        ("state", ids["enum state"], 0, 0),
        ("on_cpu", ids["unsigned int"], 32, 1),
        ("in_iowait", ids["unsigned int"], 33, 1),
        ("prio_bits", ids["unsigned int"], 34, 5),
        ("tasks", list_head, 64, 0),
        (None, anon_union, 192, 0),
        ("comm", char16, 256, 0),
        ("callback", fn_ptr, 384, 0),
        ("flags", w.add_volatile(ids["long unsigned int"]), 448, 0),
        ("data", flex, 512, 0),
    ])
    ids["task_t"] = w.add_typedef("task_t", w.add_typedef("task_inner_t", ids["struct task"]))
    # Old-style bit field (before kind_flag): an INT whose encoding carries offset and width.
    narrow = w.add_int("unsigned int", 4, bits=3, offset=2)
    ids["struct old"] = w.add_struct("old_bits", 4, [("mode", narrow, 0, 0), ("all", ids["unsigned int"], 0, 0)],
                                     kind_flag=False)
    ids["fwd"] = w.add_fwd("opaque")
    ids["struct mm"] = w.add_struct("mm", 8, [("owner", w.add_ptr(ids["struct task"]), 0, 0)])
    w.add_fwd("mm")  # a later forward declaration must not shadow the definition
    ids["float"] = w.add_float("double", 8)
    ids["restrict"] = w.add_restrict(w.add_ptr(ids["int"]))
    ids["tagged"] = w.add_ptr(w.add_type_tag("rcu", ids["struct task"]))
    w.add_decl_tag("user", ids["struct task"], 1)
    ids["func"] = w.add_func("do_task", proto)
    runqueue = w.add_var("runqueues", ids["struct task"])
    ids["percpu"] = w.add_datasec(".data..percpu", 64, [(runqueue, 0, 64)])
    return w.build(), ids
