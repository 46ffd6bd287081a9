"""A Program stand-in over a few bytes of made-up kernel memory, for the data-structure walkers'
tests on shapes no real dump shows (loops, stray pointers): ``read`` and ``type`` only, with
the kernel's layouts of the structures those walkers read."""
import struct
from typing import Dict, Optional

from pycore.errors import FaultError
from pycore.symbols.table import SymbolTable
from pycore.types.model import Member, TypeIndexBase, array_type, int_type, pointer_type, struct_type, void_type

BASE = 0xFFFF888000100000


class Types(TypeIndexBase):
    """Types by (namespace, name), as a test lays them out; no variables."""

    source = "test types"

    def __init__(self, types):
        self.types = types

    def _lookup(self, namespace, name):
        return self.types.get((namespace, name))

    def variable_type(self, name):
        return None


def kernel_types(xa_chunk: int = 64) -> Types:
    """rb_node, rb_root, rb_root_cached, xarray, xa_node, idr, list_head, hlist, llist, hlist_nulls, a
    128-CPU cpumask and the parts of cgroup_subsys_state, task_struct (its state) and taint_flag the
    helpers read, laid out as on x86_64, and ``struct item`` (a key, then an rb_node) to hang on a tree."""
    ulong = int_type("unsigned long", 8, False)
    uchar = int_type("unsigned char", 1, False)
    uint = int_type("unsigned int", 4, False)
    void_p = pointer_type(void_type())
    rb_node = struct_type("rb_node", 24, lambda: [
        Member("__rb_parent_color", ulong, 0), Member("rb_right", pointer_type(rb_node), 64),
        Member("rb_left", pointer_type(rb_node), 128)])
    rb_root = struct_type("rb_root", 8, [Member("rb_node", pointer_type(rb_node))])
    rb_root_cached = struct_type("rb_root_cached", 16, [Member("rb_root", rb_root), Member("rb_leftmost",
                                                                                           pointer_type(rb_node), 64)])
    item = struct_type("item", 32, [Member("key", ulong, 0), Member("node", rb_node, 64)])
    xarray = struct_type("xarray", 16, [Member("xa_lock", uint, 0), Member("xa_flags", uint, 32),
                                        Member("xa_head", void_p, 64)])
    xa_node = struct_type("xa_node", 48 + 8 * xa_chunk, lambda: [
        Member("shift", uchar, 0), Member("offset", uchar, 8), Member("count", uchar, 16),
        Member("nr_values", uchar, 24), Member("parent", pointer_type(xa_node), 64),
        Member("array", pointer_type(xarray), 128), Member("slots", array_type(void_p, xa_chunk), 384)])
    idr = struct_type("idr", 24, [Member("idr_rt", xarray, 0), Member("idr_base", uint, 128),
                                  Member("idr_next", uint, 160)])
    list_head = struct_type("list_head", 16, lambda: [
        Member("next", pointer_type(list_head), 0), Member("prev", pointer_type(list_head), 64)])
    css = struct_type("cgroup_subsys_state", 64, lambda: [
        Member("sibling", list_head, 0), Member("children", list_head, 128), Member("parent", pointer_type(css), 256),
        Member("flags", uint, 320), Member("serial_nr", int_type("u64", 8, False), 384)])
    hlist_node = struct_type("hlist_node", 16, lambda: [
        Member("next", pointer_type(hlist_node), 0), Member("pprev", pointer_type(pointer_type(hlist_node)), 64)])
    hlist_head = struct_type("hlist_head", 8, [Member("first", pointer_type(hlist_node), 0)])
    llist_node = struct_type("llist_node", 8, lambda: [Member("next", pointer_type(llist_node), 0)])
    llist_head = struct_type("llist_head", 8, [Member("first", pointer_type(llist_node), 0)])
    nulls_node = struct_type("hlist_nulls_node", 16, lambda: [
        Member("next", pointer_type(nulls_node), 0), Member("pprev", pointer_type(pointer_type(nulls_node)), 64)])
    nulls_head = struct_type("hlist_nulls_head", 8, [Member("first", pointer_type(nulls_node), 0)])
    char = int_type("char", 1, True)
    taint_flag = struct_type("taint_flag", 3, [Member("c_true", char, 0), Member("c_false", char, 8),
                                               Member("module", int_type("_Bool", 1, False), 16)])
    task = struct_type("task_struct", 8, [Member("__state", uint, 0),
                                          Member("exit_state", int_type("int", 4, True), 32)])
    cpumask = struct_type("cpumask", 16, [Member("bits", array_type(ulong, 2), 0)])
    return Types({("struct", "list_head"): list_head, ("struct", "cgroup_subsys_state"): css,
                   ("struct", "task_struct"): task, ("struct", "hlist_node"): hlist_node,
                   ("struct", "hlist_head"): hlist_head, ("struct", "llist_node"): llist_node,
                   ("struct", "llist_head"): llist_head, ("struct", "hlist_nulls_node"): nulls_node,
                   ("struct", "hlist_nulls_head"): nulls_head, ("struct", "taint_flag"): taint_flag, ("struct", "cpumask"): cpumask,
                   ("struct", "rb_node"): rb_node, ("struct", "rb_root"): rb_root,
                   ("struct", "rb_root_cached"): rb_root_cached, ("struct", "item"): item,
                   ("struct", "xarray"): xarray, ("struct", "xa_node"): xa_node, ("struct", "idr"): idr,
                   ("", "unsigned long"): ulong, ("", "void"): void_type()})


class FakeProgram:
    """Memory at ``BASE`` upwards, written with :meth:`put`; reads elsewhere raise FaultError.
    ``symbols`` maps names to addresses there."""

    def __init__(self, size: int = 1 << 16, xa_chunk: int = 64, symbols: Optional[Dict[str, int]] = None):
        self.memory = bytearray(size)
        self.types = kernel_types(xa_chunk)
        named = symbols or {}
        self.symbols = SymbolTable("test symbols", list(named), list(named.values()), None, ["D"] * len(named))

    def read(self, address: int, size: int, physical: bool = False) -> bytes:
        offset = address - BASE
        if offset < 0 or offset + size > len(self.memory):
            raise FaultError("not in the test memory", address)
        return bytes(self.memory[offset:offset + size])

    def type(self, name):
        return name if not isinstance(name, str) else self.types.find(name)

    def put(self, address: int, *words: int) -> None:
        """Little-endian u64 ``words`` from ``address`` on."""
        struct.pack_into(f"<{len(words)}Q", self.memory, address - BASE, *words)

    def put_byte(self, address: int, value: int) -> None:
        self.memory[address - BASE] = value


def addresses(count: int, stride: int, start: int = BASE + 0x100) -> Dict[int, int]:
    """``count`` addresses ``stride`` bytes apart: index -> address."""
    return {i: start + i * stride for i in range(count)}
