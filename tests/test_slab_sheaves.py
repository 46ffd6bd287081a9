"""SLUB after sheaves replaced the per-CPU slabs (Linux 7.x), without a real dump: what the layout is
taken from, how sheaves are counted, and what is reported instead of a silently wrong count.

Offsets are Linux 7.2's (Debian 7.2.13): ``struct kmem_cache`` with ``cpu_sheaves`` and
``per_node[]`` of ``{barn, node}`` and no ``cpu_slab``; ``struct slab_sheaf`` with ``cache`` and
``size``; ``struct node_barn`` with lists of full and empty sheaves.  Free objects are those in
node partial slabs plus every sheaf's; /proc/slabinfo counts the sheaves' as active.
"""
import struct
from types import SimpleNamespace

import pytest

from pycore.errors import MissingDebugInfoError
from pycore.kernel import slab
from pycore.types.model import Member, array_type, int_type, pointer_type, struct_type

from sparse_memory import Memory

VMEMMAP = 0xFFFFEA0000000000
RANDOM = 0x5A5A_1234_DEAD_BEEF
U32, U64 = int_type("unsigned int", 4, False), int_type("unsigned long", 8, False)
LIST_HEAD = struct_type("list_head", 16, [Member("next", pointer_type(U64), 0), Member("prev", pointer_type(U64), 64)])


class Prog:
    """What the SLUB counter asks of a program: memory, per-CPU offsets, the page size, types, symbols."""

    vmcoreinfo = None

    def __init__(self, memory, offsets, types=None, symbols=None):
        self.memory, self.offsets, self.types = memory, offsets, types or {}
        self.dump = SimpleNamespace(page_size=4096)
        self.symbols = SimpleNamespace(by_name=lambda name: SimpleNamespace(address=symbols[name]))

    def read(self, address, size):
        return self.memory.read(address, size)

    def per_cpu_offset(self, cpu):
        return self.offsets[cpu]

    def type(self, name):
        try:
            return self.types[name]
        except KeyError:
            raise LookupError(f"type {name!r} not found") from None


def sheaf_layout():
    layout = object.__new__(slab._SheafLayout)
    layout.cache_cpu_sheaves, layout.cache_sheaf_capacity = 0, 44
    layout.percpu_main, layout.percpu_spare = 8, 16
    layout.sheaf_size, layout.sheaf_cache, layout.sheaf_barn_list = 24, 16, 0
    layout.barn_full, layout.barn_empty, layout.barn_nr_full, layout.barn_nr_empty = 8, 24, 40, 44
    layout.barn_in_per_node, layout.barn_in_node = 0, None
    return layout


def make_layout():
    """Linux 7.2's offsets, as _Layout finds them in its types (test_layout_follows_the_types)."""
    layout = object.__new__(slab._Layout)
    layout.cache_cpu_slab, layout.cache_offset, layout.cache_random, layout.cache_size = None, 40, 176, 24
    layout.cache_node, layout.node_stride, layout.node_pointer, layout.node_slots = 208, 16, 8, 1024
    layout.sheaves = sheaf_layout()
    layout.slab_counters, layout.inuse_shift, layout.inuse_bits = 40, 0, 16
    layout.objects_shift, layout.objects_bits = 16, 15
    layout.slab_next, layout.slab_list = None, 16
    layout.node_nr_partial, layout.node_partial, layout.node_nr_slabs, layout.node_total_objects = 8, 16, 32, 40
    layout.page_size, layout.vmemmap, layout.max_pfn, layout.bswap = 64, VMEMMAP, 1 << 20, True
    return layout


class World:
    """One cache of 64-byte objects, sheaves of 32, two CPUs, one node.

    CPU 0: a main sheaf of 5 objects, no spare; CPU 1: main 3, spare 30.  The node's barn: two
    full sheaves (32 and 31) and an empty one.  The node: 20 slabs, 200 objects, one partial
    slab with 3 of 10 in use.  Free: 7 + 5 + 3 + 30 + 32 + 31 = 108, of which 101 in sheaves.
    """
    CACHE, PERCPU, NODE, BARN = 0xFFFF888000100000, 0x30000, 0xFFFF888000200000, 0xFFFF888000300000
    OFFSETS = [0xFFFF888010000000, 0xFFFF888020000000]
    SHEAVES = 0xFFFF888000500000
    PARTIAL = VMEMMAP + 200 * 64

    def __init__(self):
        m = self.memory = Memory()
        raw = bytearray(208 + 16)
        struct.pack_into("<Q", raw, 0, self.PERCPU)
        struct.pack_into("<II", raw, 24, 64, 64)
        struct.pack_into("<II", raw, 40, 16, 32)
        struct.pack_into("<Q", raw, 176, RANDOM)
        struct.pack_into("<QQ", raw, 208, self.BARN, self.NODE)
        self.raw = bytes(raw)
        for offset in range(0, len(raw), 8):
            m.put(self.CACHE + offset, struct.unpack_from("<Q", raw, offset)[0])
        self.sheaf = {}
        for index, (name, size) in enumerate((("cpu0 main", 5), ("cpu1 main", 3), ("cpu1 spare", 30),
                                              ("full 1", 32), ("full 2", 31), ("empty", 0))):
            address = self.sheaf[name] = self.SHEAVES + 0x100 * index
            m.put(address + 16, self.CACHE)
            m.put(address + 24, size, 4)
        for cpu, main, spare in ((0, "cpu0 main", None), (1, "cpu1 main", "cpu1 spare")):
            base = self.PERCPU + self.OFFSETS[cpu]
            m.put(base + 8, self.sheaf[main])
            m.put(base + 16, self.sheaf[spare] if spare else 0)
        self.link(self.BARN + 8, [self.sheaf["full 1"], self.sheaf["full 2"]])
        self.link(self.BARN + 24, [self.sheaf["empty"]])
        m.put(self.BARN + 40, 2, 4)
        m.put(self.BARN + 44, 1, 4)
        m.put(self.NODE + 8, 1)
        m.put(self.NODE + 16, self.PARTIAL + 16)
        m.put(self.PARTIAL + 16, self.NODE + 16)
        m.put(self.PARTIAL + 40, 3 | 10 << 16)
        m.put(self.NODE + 32, 20)
        m.put(self.NODE + 40, 200)
        self.prog = Prog(m, self.OFFSETS)

    def link(self, head, entries):
        """A list_head at ``head`` through ``entries`` (each an address whose first word links on)."""
        chain = [head] + entries
        for here, following in zip(chain, chain[1:] + [head]):
            self.memory.put(here, following)

    def counter(self, messages):
        return slab._CacheCounter(self.prog, make_layout(), self.CACHE, self.raw, "test-cache", 10, messages.append)


def test_sheaves_are_free_and_slabinfo_counts_them_active():
    world, messages = World(), []
    counter = world.counter(messages)
    allocated, total, slabs, free = counter.count([0, 1], [0])
    assert (allocated, total, slabs, free, counter.cached) == (92, 200, 20, 108, 101)
    # /proc/slabinfo's active_objs: total less the node partial slabs' free objects.
    assert allocated + counter.cached == 200 - 7
    assert messages == []


def test_a_sheaf_of_another_cache_is_reported_and_not_counted():
    world, messages = World(), []
    world.memory.put(world.sheaf["cpu1 spare"] + 16, 0xFFFF888000999000)
    counter = world.counter(messages)
    assert counter.count([0, 1], [0])[3] == 108 - 30
    assert messages == [f"test-cache: CPU 1 spare sheaf {world.sheaf['cpu1 spare']:x} belongs to kmem_cache "
                        "ffff888000999000: its 30 objects are not counted"]


def test_a_sheaf_over_its_capacity_is_reported_and_not_counted():
    world, messages = World(), []
    world.memory.put(world.sheaf["full 1"] + 24, 33, 4)
    assert world.counter(messages).count([0, 1], [0])[3] == 108 - 32
    assert messages == [f"test-cache: full barn sheaf {world.sheaf['full 1']:x} holds 33 objects, more than its "
                        "capacity 32: they are not counted"]


def test_unreadable_sheaves_are_reported_once_for_the_cache_and_their_objects_stay_allocated():
    world, messages = World(), []
    world.memory.forget(world.sheaf["cpu1 main"] + 16, 16)
    world.memory.forget(world.sheaf["full 2"], 32)
    counter = world.counter(messages)
    allocated, total, _, free = counter.count([0, 1], [0])
    assert (allocated, total, free, counter.cached) == (92 + 3 + 31, 200, 108 - 3 - 31, 101 - 3 - 31)
    assert len(messages) == 1
    assert messages[0].startswith("test-cache: cannot read 2 sheaves (not in the synthetic dump")
    assert messages[0].endswith("their free objects are counted as allocated")


def test_a_barn_list_longer_than_its_count_is_cut_and_reported():
    world, messages = World(), []
    world.memory.put(world.BARN + 40, 1, 4)
    assert world.counter(messages).count([0, 1], [0])[3] == 108 - 31
    assert messages == [f"test-cache: barn {world.BARN:x} lists more full sheaves than its count 1: "
                        "the rest are not counted"]


def test_a_barn_count_beyond_its_list_is_reported():
    world, messages = World(), []
    world.memory.put(world.BARN + 44, 3, 4)
    assert world.counter(messages).count([0, 1], [0])[3] == 108
    assert messages == [f"test-cache: barn {world.BARN:x} counts 3 empty sheaves but lists 1"]


def test_a_partial_count_the_list_does_not_hold_is_reported():
    world, messages = World(), []
    world.memory.put(world.NODE + 8, 2)
    assert world.counter(messages).count([0, 1], [0])[3] == 108
    assert messages == [f"test-cache: kmem_cache_node {world.NODE:x}: nr_partial is 2 but the partial list "
                        "holds 1 slabs"]


@pytest.mark.parametrize("address,value,size,error", [
    (World.NODE + 8, 21, 8, "kmem_cache_node ffff888000200000: 21 partial slabs of 20"),
    (World.PARTIAL + 40, 11 | 10 << 16, 8, f"slab {World.PARTIAL:x} has 11 objects in use of 10"),
    (World.NODE + 40, 100, 8, "108 free objects of 100"),
    # 20 order-10 slabs hold at most 20 * 4 MiB / 64 objects.
    (World.NODE + 40, 20 * (4096 << 10) // 64 + 1, 8, "kmem_cache_node ffff888000200000: 1310721 objects in 20 slabs"),
], ids=["partial-beyond-slabs", "inuse-beyond-objects", "free-beyond-total", "objects-beyond-slabs"])
def test_counters_no_cache_can_have_stop_the_count(address, value, size, error):
    """Numbers that contradict each other give ``?`` and the reason, never a count built on them."""
    world = World()
    world.memory.put(address, value, size)
    with pytest.raises(slab.SlabCountError, match=f"^{error}$"):
        world.counter([]).count([0, 1], [0])


def kernel_types(version):
    """The SLUB types as the dump's own BTF or DWARF describe them: 7.2 (sheaves, per_node[]), 6.18-7.0
    (sheaves beside per-CPU slabs, the barn in kmem_cache_node) and 6.12 (per-CPU slabs only)."""
    ptr = pointer_type(U64)
    node = struct_type("kmem_cache_node", 64, [
        Member("nr_partial", U64, 64), Member("partial", LIST_HEAD, 128), Member("nr_slabs", U64, 256),
        Member("total_objects", U64, 320)] + ([Member("barn", ptr, 384)] if version == "6.18" else []))
    slab_type = struct_type("slab", 64, [
        Member("slab_cache", ptr, 64), Member("slab_list", LIST_HEAD, 128), Member("inuse", U32, 320, 16), Member("objects", U32, 336, 15)]
        + ([Member("next", ptr, 128)] if version != "7.2" else []))
    members = [Member("flags", U32, 64), Member("size", U32, 192), Member("object_size", U32, 224),
               Member("offset", U32, 320), Member("oo", U32, 384), Member("name", ptr, 704),
               Member("list", LIST_HEAD, 768), Member("random", U64, 1408)]
    types = {"struct kmem_cache_node": node, "struct slab": slab_type, "struct page": struct_type("page", 64, [])}
    if version != "6.12":
        members += [Member("cpu_sheaves", ptr, 0), Member("sheaf_capacity", U32, 352)]
        types["struct slub_percpu_sheaves"] = struct_type("slub_percpu_sheaves", 32, [
            Member("main", ptr, 64), Member("spare", ptr, 128), Member("rcu_free", ptr, 192)])
        types["struct slab_sheaf"] = struct_type("slab_sheaf", 32, [
            Member("barn_list", LIST_HEAD, 0), Member("capacity", U32, 0), Member("cache", ptr, 128),
            Member("size", U32, 192), Member("objects", array_type(ptr, 0), 256)])
        types["struct node_barn"] = struct_type("node_barn", 48, [
            Member("sheaves_full", LIST_HEAD, 64), Member("sheaves_empty", LIST_HEAD, 192),
            Member("nr_full", U32, 320), Member("nr_empty", U32, 352)])
    if version == "7.2":
        per_node = struct_type("kmem_cache_per_node_ptrs", 16, [Member("barn", ptr, 0), Member("node", ptr, 64)])
        members.append(Member("per_node", array_type(per_node, 1024), 1664))
    else:
        members += [Member("cpu_slab", ptr, 512), Member("node", array_type(ptr, 1024), 1664)]
        types["struct kmem_cache_cpu"] = struct_type("kmem_cache_cpu", 32, [
            Member("freelist", ptr, 0), Member("slab", ptr, 128), Member("partial", ptr, 192)])
    types["struct kmem_cache"] = struct_type("kmem_cache", 16592, members)
    return types


@pytest.mark.parametrize("version,cpu_slab,stride,pointer,barn", [
    ("7.2", None, 16, 8, ("per_node", 0)),
    ("6.18", 64, 8, 0, ("node", 48)),
    ("6.12", 64, 8, 0, None),
])
def test_layout_follows_the_types(version, cpu_slab, stride, pointer, barn):
    """Which structures exist is read from the types, never from the kernel's version."""
    memory = Memory()
    memory.put(0xFFFFFFFF82000000, 1 << 18)
    memory.put(0xFFFFFFFF82000008, VMEMMAP)
    prog = Prog(memory, [0], kernel_types(version), {"max_pfn": 0xFFFFFFFF82000000,
                                                     "vmemmap_base": 0xFFFFFFFF82000008})
    layout = slab._Layout(prog)
    assert (layout.cache_cpu_slab, layout.cache_node, layout.node_stride, layout.node_pointer) == \
        (cpu_slab, 208, stride, pointer)
    assert layout.node_slots == 1024 and layout.slab_list == 16 and layout.max_pfn == 1 << 18
    assert layout.slab_next == (None if version == "7.2" else 16)
    if barn is None:
        assert layout.sheaves is None
    else:
        sheaves = layout.sheaves
        found = ("per_node", sheaves.barn_in_per_node) if sheaves.barn_in_per_node is not None \
            else ("node", sheaves.barn_in_node)
        assert found == barn
        assert (sheaves.percpu_main, sheaves.percpu_spare, sheaves.sheaf_size, sheaves.sheaf_cache) == (8, 16, 24, 16)
        assert (sheaves.barn_full, sheaves.barn_empty, sheaves.barn_nr_full, sheaves.barn_nr_empty) == (8, 24, 40, 44)


def test_a_node_member_that_is_no_array_is_named():
    types = kernel_types("6.12")
    cache = types["struct kmem_cache"]
    types["struct kmem_cache"] = struct_type("kmem_cache", 16592, [
        m if m.name != "node" else Member("node", pointer_type(U64), 1664) for m in cache.members])
    memory = Memory()
    memory.put(0xFFFFFFFF82000000, 1 << 18)
    prog = Prog(memory, [0], types, {"max_pfn": 0xFFFFFFFF82000000, "vmemmap_base": 0xFFFFFFFF82000000})
    with pytest.raises(MissingDebugInfoError, match="kmem_cache.node to be an array of pointers"):
        slab._Layout(prog)
