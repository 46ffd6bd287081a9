"""SLUB counting without a real dump: hardened freelists, per-CPU and node partial slabs, corrupt lists.

Expected numbers follow crash's get_kmem_cache_slub_data(): free objects are the per-CPU
slab's (objects - inuse) plus its per-CPU freelist plus every per-CPU and node partial
slab's (objects - inuse); TOTAL is the nodes' total_objects; SLABS their nr_slabs.
"""
import struct
from types import SimpleNamespace

import pytest

from pycore.cli.kmem import render_slabs
from pycore.kernel import slab
from pycore.program import HelperCache

from sparse_memory import Memory

VMEMMAP = 0xFFFFEA0000000000
PAGE_STRUCT = 64
RANDOM = 0x5A5A_1234_DEAD_BEEF


class FakeProg:
    def __init__(self, memory, offsets):
        self.memory, self.offsets = memory, offsets

    def read(self, address, size):
        return self.memory.read(address, size)

    def per_cpu_offset(self, cpu):
        return self.offsets[cpu]


def make_layout():
    """Offsets as in Linux 6.12's struct slab / kmem_cache_cpu / kmem_cache_node."""
    layout = object.__new__(slab._Layout)
    layout.cache_cpu_slab, layout.cache_offset, layout.cache_random, layout.cache_node = 0, 40, 184, 216
    layout.node_stride, layout.node_pointer, layout.node_slots, layout.sheaves = 8, 0, 64, None
    layout.cpu_freelist, layout.cpu_slab, layout.cpu_partial = 0, 16, 24
    layout.slab_counters, layout.inuse_shift, layout.inuse_bits = 40, 0, 16
    layout.objects_shift, layout.objects_bits = 16, 15
    layout.slab_next, layout.slab_list = 8, 8
    layout.node_nr_partial, layout.node_partial, layout.node_nr_slabs, layout.node_total_objects = 8, 16, 32, 40
    layout.page_size, layout.vmemmap, layout.max_pfn, layout.bswap = PAGE_STRUCT, VMEMMAP, 1 << 20, True
    return layout


def slab_at(pfn):
    return VMEMMAP + pfn * PAGE_STRUCT


def set_counts(memory, page, inuse, objects, frozen=0):
    memory.put(page + 40, inuse | objects << 16 | frozen << 31)


def encode(pointer, where):
    """How SLUB stores a free pointer with CONFIG_SLAB_FREELIST_HARDENED (5.7+)."""
    return pointer ^ RANDOM ^ slab.swab64(where)


class World:
    """One cache, two CPUs, one node; objects of 64 bytes with the free pointer at offset 16."""
    CACHE, CPU_SLAB, NODE = 0xFFFF888000100000, 0x30000, 0xFFFF888000200000
    OFFSETS = [0xFFFF888010000000, 0xFFFF888020000000]
    OBJECTS = 0xFFFF888000400000
    FREE_OFFSET = 16

    def __init__(self):
        m = self.memory = Memory()
        raw = bytearray(216 + 8)
        struct.pack_into("<Q", raw, 0, self.CPU_SLAB)
        struct.pack_into("<I", raw, 40, self.FREE_OFFSET)
        struct.pack_into("<Q", raw, 184, RANDOM)
        struct.pack_into("<Q", raw, 216, self.NODE)
        self.raw = bytes(raw)
        cpu0 = self.CPU_SLAB + self.OFFSETS[0]
        cpu1 = self.CPU_SLAB + self.OFFSETS[1]
        # CPU 0: a frozen slab with one object freed remotely, three on the lockless freelist,
        # and two per-CPU partial slabs; CPU 1 has nothing.
        self.cpu_slab, self.partial1, self.partial2 = slab_at(100), slab_at(101), slab_at(102)
        a, b, c = (self.OBJECTS + 64 * i for i in range(3))
        m.put(cpu0, a)
        m.put(cpu0 + 8, 0x1234)  # tid
        m.put(cpu0 + 16, self.cpu_slab)
        m.put(cpu0 + 24, self.partial1)
        for obj, nxt in ((a, b), (b, c), (c, 0)):
            m.put(obj + self.FREE_OFFSET, encode(nxt, obj + self.FREE_OFFSET))
        self.freelist = (a, b, c)
        set_counts(m, self.cpu_slab, 9, 10, frozen=1)
        set_counts(m, self.partial1, 4, 10, frozen=1)
        m.put(self.partial1 + 8, self.partial2)
        set_counts(m, self.partial2, 10, 10, frozen=1)
        m.put(self.partial2 + 8, 0)
        for offset in (0, 8, 16, 24):
            m.put(cpu1 + offset, 0)
        # Node 0: one partial slab with 3 of 10 in use; 5 slabs, 50 objects in all.
        self.node_partial = slab_at(200)
        m.put(self.NODE + 8, 1)
        m.put(self.NODE + 16, self.node_partial + 8)
        m.put(self.node_partial + 8, self.NODE + 16)
        set_counts(m, self.node_partial, 3, 10)
        m.put(self.NODE + 32, 5)
        m.put(self.NODE + 40, 50)
        self.prog = FakeProg(m, self.OFFSETS)

    def counter(self, messages=None):
        report = (messages.append if messages is not None else lambda message: None)
        return slab._CacheCounter(self.prog, make_layout(), self.CACHE, self.raw, "test-cache", 10, report)


def test_swab64_reverses_the_bytes():
    assert slab.swab64(0x0102030405060708) == 0x0807060504030201
    assert slab.swab64(0xFFFF888000400010) == 0x1000400080_88FFFF


def test_hardened_freelist_pointer_decodes_to_the_next_object():
    where = 0xFFFF888000400010
    stored = 0xFFFF888000400040 ^ RANDOM ^ 0x1000400080_88FFFF
    assert slab.freelist_ptr(stored, RANDOM, where) == 0xFFFF888000400040
    # Before 5.7 the address was mixed in without the byte swap.
    assert slab.freelist_ptr(0xFFFF888000400040 ^ RANDOM ^ where, RANDOM, where, bswap=False) == 0xFFFF888000400040
    # Without CONFIG_SLAB_FREELIST_HARDENED the pointer is stored as is.
    assert slab.freelist_ptr(0xFFFF888000400040, 0, where, bswap=False) == 0xFFFF888000400040


def test_oo_packs_order_above_objects():
    assert (slab.oo_order(0x30019), slab.oo_objects(0x30019)) == (3, 25)


def test_counts_follow_crash_over_cpu_slab_freelist_and_partials():
    world = World()
    allocated, total, slabs, free = world.counter().count([0, 1], [0])
    # free: cpu slab 10-9, cpu freelist 3, cpu partials (10-4)+(10-10), node partial 10-3
    assert free == 1 + 3 + 6 + 0 + 7
    assert (allocated, total, slabs) == (50 - 17, 50, 5)


def test_a_looping_freelist_is_reported_and_counted_once():
    world = World()
    a, b, _ = world.freelist
    world.memory.put(b + World.FREE_OFFSET, encode(a, b + World.FREE_OFFSET))
    messages = []
    allocated, total, slabs, free = world.counter(messages).count([0, 1], [0])
    assert free == 1 + 2 + 6 + 7
    assert messages == [f"test-cache: slab: {world.cpu_slab:x} duplicate freelist object: {a:x}"]


def test_an_unreadable_free_object_ends_the_walk_with_crash_message():
    world = World()
    _, b, _ = world.freelist
    for i in range(8):
        del world.memory.bytes[b + World.FREE_OFFSET + i]
    messages = []
    assert world.counter(messages).count([0, 1], [0])[3] == 1 + 2 + 6 + 7
    assert messages == [f"test-cache: slab: {world.cpu_slab:x} invalid freepointer: {b + World.FREE_OFFSET:x}"]


def test_an_unreadable_partial_slab_gives_up_on_the_cache_only():
    world = World()
    for i in range(8):
        del world.memory.bytes[world.node_partial + 40 + i]
    with pytest.raises(slab.SlabCountError):
        world.counter().count([0, 1], [0])
    line = render_slabs([{"address": World.CACHE, "object_size": 48, "allocated": None, "total": None,
                          "slabs": None, "slab_size": 4096, "name": "test-cache"}])
    assert line.splitlines()[1] == "ffff888000100000       48          ?         ?      ?     4k  test-cache"


def test_a_partial_list_pointing_outside_vmemmap_stops_with_crash_message():
    world = World()
    world.memory.put(world.node_partial + 8, 0xFFFF888012345678)
    messages = []
    allocated, total, slabs, free = world.counter(messages).count([0, 1], [0])
    assert free == 1 + 3 + 6 + 7
    assert messages == [f"test-cache: partial list slab: {world.node_partial:x} invalid page.lru.next: "
                        "ffff888012345678"]


def test_kmem_s_columns():
    lines = render_slabs([{"address": 0xFF3529948215F800, "object_size": 128, "allocated": 4, "total": 21,
                           "slabs": 1, "slab_size": 4096, "name": "bio-128"},
                          {"address": 0xFFFF8F32C71BE800, "object_size": 128, "allocated": 10375, "total": 10400,
                           "slabs": 325, "slab_size": 32768, "name": "kernfs_node_cache"}]).splitlines()
    assert lines == ["CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  SSIZE  NAME",
                     "ff3529948215f800      128          4        21      1     4k  bio-128",
                     "ffff8f32c71be800      128      10375     10400    325    32k  kernfs_node_cache"]


class CacheProg(FakeProg):
    """A FakeProg that iter_slab_caches can walk: the World's cache as the only one on slab_caches."""

    def __init__(self, world, oo):
        super().__init__(world.memory, world.OFFSETS)
        self.cache = HelperCache()
        self.dump = SimpleNamespace(page_size=4096)
        layout = make_layout()
        layout.cache_size, layout.cache_object_size, layout.cache_oo, layout.cache_name, layout.cache_list = \
            24, 28, 32, 48, 56
        self.cache.get("slab.layout", lambda: layout)
        self.cache.get("vmstat.nodes", lambda: [0])
        head = bytearray(world.raw)
        struct.pack_into("<III", head, 24, 64, 48, oo)
        struct.pack_into("<Q", head, 48, World.OBJECTS + 0x1000)
        for offset in range(0, len(head), 8):
            world.memory.put(World.CACHE + offset, struct.unpack_from("<Q", head, offset)[0])
        name = b"hostile".ljust(64, b"\0")
        for offset in range(0, 64, 8):
            world.memory.put(World.OBJECTS + 0x1000 + offset, int.from_bytes(name[offset:offset + 8], "little"))


@pytest.fixture
def one_cache(monkeypatch):
    """slab_caches holding only the World's cache, CPUs 0 and 1 possible."""
    monkeypatch.setattr(slab, "kmem_cache_addresses", lambda _prog: [World.CACHE])
    monkeypatch.setattr(slab, "_possible_cpus", lambda _prog: [0, 1])


@pytest.mark.parametrize("oo,order", [(0x8000000A, 0x8000), (0x000B000A, 11)])
def test_a_slab_order_no_kernel_allocates_is_reported_not_a_huge_number(one_cache, oo, order):
    """Issue 10 finding 5: kmem_cache.oo 0x80000000 made SSIZE a 9865-digit number (ValueError when printed)."""
    messages = []
    (cache,) = slab.iter_slab_caches(CacheProg(World(), oo), messages.append)
    assert (cache.name, cache.order, cache.slab_size, cache.total) == ("hostile", order, None, None)
    assert messages == [f"hostile: cannot gather relevant slab data (kmem_cache.oo {oo:#x} gives slab order {order},"
                        f" above MAX_PAGE_ORDER {slab.MAX_PAGE_ORDER})"]
    line = render_slabs([cache._asdict()]).splitlines()[1]
    assert line == "ffff888000100000       48          ?         ?      ?      ?  hostile"


def test_a_plausible_slab_order_is_counted(one_cache):
    (cache,) = slab.iter_slab_caches(CacheProg(World(), 0x0001000A))
    assert (cache.order, cache.objects_per_slab, cache.slab_size, cache.total, cache.errors) == (1, 10, 8192, 50, [])
