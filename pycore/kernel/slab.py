"""SLUB caches: what each ``struct kmem_cache`` holds, counted the way crash's ``kmem -s`` counts it;
the cache and slab behind an address and whether its objects are free (``kmem ADDRESS``, ``rd -S``,
``bt -F``: per-CPU slabs and sheaves), every slab of a cache (``kmem -S``: per-CPU slabs, 5.10 to
6.x); and the ``struct page`` behind an address with the kernel's names of its flags.

Covers SLUB with CONFIG_SLUB_DEBUG (``kmem_cache_node.nr_slabs``/``total_objects``), 5.10 to 7.2:
slabs described by ``struct page`` before 5.17 and by ``struct slab`` since; per-CPU slabs and
partial lists (``struct kmem_cache_cpu``) until sheaves replaced them, per-CPU and per-node
sheaves (``kmem_cache.cpu_sheaves``, 6.18+); node pointers in ``kmem_cache.node[]`` or, since
7.1, ``kmem_cache.per_node[].node``; freelist pointers hardened with ``s->random``
(CONFIG_SLAB_FREELIST_HARDENED, byte-swapped address since 5.7).  Each layout is decided by the
members the dump's own types have, not by the kernel's version.
"""
import struct
from dataclasses import astuple, dataclass
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Set, Tuple

from ..errors import FaultError, FormatError, MissingDebugInfoError
from ..object import Object
from . import mm, vmstat
from .percpu import per_cpu_address
from .sched import possible_cpus

_MASK64 = (1 << 64) - 1
_U64 = struct.Struct("<Q")
# x86_64's largest buddy allocation (MAX_PAGE_ORDER, MAX_ORDER - 1 before 6.4): no slab is bigger.
MAX_PAGE_ORDER = 10


def swab64(value: int) -> int:
    """The kernel's ``swab64()``: the eight bytes of ``value`` reversed."""
    return int.from_bytes((value & _MASK64).to_bytes(8, "little"), "big")


def freelist_ptr(ptr: int, random: int, ptr_address: int, bswap: bool = True) -> int:
    """The next free object a stored freelist pointer names (SLUB ``freelist_ptr_decode()``).

    With CONFIG_SLAB_FREELIST_HARDENED the kernel stores ``ptr ^ s->random ^ swab(ptr_addr)``
    (no swab before 5.7); XOR undoes it.  Without hardening ``random`` is 0 and pass ``bswap=False``.
    """
    if not random and not bswap:
        return ptr
    return (ptr ^ random ^ (swab64(ptr_address) if bswap else ptr_address)) & _MASK64


def oo_order(oo: int) -> int:
    """Page order of a slab from ``kmem_cache.oo`` (``struct kmem_cache_order_objects``)."""
    return oo >> 16


def oo_objects(oo: int) -> int:
    """Objects per slab from ``kmem_cache.oo``."""
    return oo & 0xffff


class CacheInfo(NamedTuple):
    """One line of ``kmem -s``.  ``allocated``, ``total`` and ``slabs`` are None when the
    counts could not be gathered (crash prints ``?``), ``slab_size`` when ``kmem_cache.oo``
    gives an order no slab can have; ``errors`` says what went wrong, and a cache with errors
    but counts has counts that leave out what could not be read.  ``cached`` are the free
    objects kept off the nodes' partial lists, counted in ``free``: in per-CPU slabs and
    per-CPU partial slabs (before 7.0) and in sheaves (6.18+).  /proc/slabinfo counts them as
    active: its active_objs is ``allocated + cached``."""
    address: int
    name: str
    object_size: int
    size: int
    objects_per_slab: int
    order: int
    slab_size: Optional[int]
    allocated: Optional[int]
    total: Optional[int]
    slabs: Optional[int]
    free: Optional[int]
    cached: Optional[int]
    errors: List[str]


class SlabCountError(Exception):
    """Counting a cache had to stop (crash's "cannot gather relevant slab data")."""


class _SheafLayout:
    """Offsets of the sheaves (6.18+): ``struct slub_percpu_sheaves`` behind ``kmem_cache.cpu_sheaves``,
    ``struct slab_sheaf`` and the per-node ``struct node_barn`` of full and empty sheaves."""

    def __init__(self, prog, cache, node, per_node_element):
        percpu = prog.type("struct slub_percpu_sheaves")
        sheaf = prog.type("struct slab_sheaf")
        barn = prog.type("struct node_barn")
        self.cache_cpu_sheaves = cache.offsetof("cpu_sheaves")
        self.cache_sheaf_capacity = cache.offsetof("sheaf_capacity")
        # main and spare hold free objects; rcu_free holds objects freed by kfree_rcu() that are not
        # free before a grace period, so they stay allocated (as crash counts kfree_rcu batches).
        self.percpu_main = percpu.offsetof("main")
        self.percpu_spare = percpu.offsetof("spare")
        self.sheaf_size = sheaf.offsetof("size")
        self.sheaf_cache = sheaf.offsetof("cache")
        self.sheaf_objects = sheaf.offsetof("objects")
        # slab_sheaf.capacity shares a union with barn_list and is set for an oversize sheaf only,
        # which is never a CPU's nor in a barn: those hold at most kmem_cache.sheaf_capacity objects.
        self.sheaf_barn_list = sheaf.offsetof("barn_list")
        self.barn_full = barn.offsetof("sheaves_full")
        self.barn_empty = barn.offsetof("sheaves_empty")
        self.barn_nr_full = barn.offsetof("nr_full")
        self.barn_nr_empty = barn.offsetof("nr_empty")
        # The barn pointer sits in kmem_cache_node (6.18-7.0) or beside it in kmem_cache.per_node[] (7.1+).
        if per_node_element is not None and per_node_element.has_member("barn"):
            self.barn_in_per_node: Optional[int] = per_node_element.offsetof("barn")
            self.barn_in_node: Optional[int] = None
        else:
            self.barn_in_per_node = None
            self.barn_in_node = node.offsetof("barn") if node.has_member("barn") else None


class _Layout:
    """Offsets of the SLUB structures, looked up once per program."""

    def __init__(self, prog):
        self.prog = prog
        cache = prog.type("struct kmem_cache")
        node = prog.type("struct kmem_cache_node")
        if not node.has_member("nr_slabs"):
            raise MissingDebugInfoError("kmem -s needs kmem_cache_node.nr_slabs: the kernel must be built"
                                        " with CONFIG_SLUB_DEBUG")
        self.cache_flags = cache.offsetof("flags")
        self.cache_size = cache.offsetof("size")
        self.cache_object_size = cache.offsetof("object_size" if cache.has_member("object_size") else "objsize")
        self.cache_offset = cache.offsetof("offset")
        self.cache_oo = cache.offsetof("oo")
        self.cache_name = cache.offsetof("name")
        self.cache_list = cache.offsetof("list")
        self.cache_random = cache.offsetof("random") if cache.has_member("random") else None
        per_node_element = None
        if cache.has_member("per_node"):
            # 7.1: struct kmem_cache_per_node_ptrs { barn; node; } per_node[MAX_NUMNODES] replaced node[].
            per_node = cache.member("per_node")
            per_node_element = per_node.type.resolved().type.resolved()
            self.cache_node = per_node.offset
            self.node_stride = per_node_element.size
            self.node_pointer = per_node_element.offsetof("node")
            self.node_slots = per_node.type.resolved().length or 0
        else:
            node_member = cache.member("node")
            if node_member.type.resolved().kind.name != "ARRAY":
                raise MissingDebugInfoError(f"kmem -s needs kmem_cache.node to be an array of pointers, "
                                            f"not {node_member.type}")
            self.cache_node, self.node_stride, self.node_pointer = node_member.offset, 8, 0
            self.node_slots = node_member.type.resolved().length or 0
        if cache.has_member("cpu_slab"):
            # Per-CPU slabs and partial lists, until sheaves replaced struct kmem_cache_cpu (7.0).
            cpu = prog.type("struct kmem_cache_cpu")
            self.cache_cpu_slab: Optional[int] = cache.offsetof("cpu_slab")
            self.cpu_freelist = cpu.offsetof("freelist")
            slab_member = "slab" if cpu.has_member("slab") else "page"
            self.cpu_slab = cpu.offsetof(slab_member)
            self.cpu_slab_is_slab = slab_member == "slab"
            self.cpu_partial = cpu.offsetof("partial") if cpu.has_member("partial") else None
            slab = prog.type("struct slab" if slab_member == "slab" else "struct page")
        else:
            self.cache_cpu_slab = None
            self.cpu_slab_is_slab = True
            slab = prog.type("struct slab")
        self.sheaves = (_SheafLayout(prog, cache, node, per_node_element) if cache.has_member("cpu_sheaves")
                        else None)
        inuse, objects = slab.member("inuse"), slab.member("objects")
        self.slab_counters = min(inuse.bit_offset, objects.bit_offset) // 8
        self.inuse_shift, self.inuse_bits = inuse.bit_offset - 8 * self.slab_counters, inuse.bit_field_size or 16
        self.objects_shift, self.objects_bits = objects.bit_offset - 8 * self.slab_counters, \
            objects.bit_field_size or 16
        # slab->next links the per-CPU partial slabs only.
        self.slab_next = slab.offsetof("next") if slab.has_member("next") else None
        self.slab_list = slab.offsetof("slab_list" if slab.has_member("slab_list") else "lru")
        self.slab_cache = slab.offsetof("slab_cache")
        self.node_nr_partial = node.offsetof("nr_partial")
        self.node_partial = node.offsetof("partial")
        self.node_nr_slabs = node.offsetof("nr_slabs")
        self.node_total_objects = node.offsetof("total_objects") if node.has_member("total_objects") else None
        self.page_size = prog.type("struct page").size
        self.vmemmap = mm.vmemmap(prog)
        self.max_pfn = int.from_bytes(prog.read(prog.symbols.by_name("max_pfn").address, 8), "little")
        # Since 5.7 the hardened pointer mixes in the byte-swapped address (crash: FREELIST_PTR_BSWAP).
        self.bswap = True
        #: (mask, name) of each page flag, read the first time a page is described (page_flag_names).
        self.page_flags: Optional[List[Tuple[int, str]]] = None
        #: The caches on slab_caches, read the first time an address is looked up (cache_of).
        self.caches: Optional[Set[int]] = None

    def is_page_ptr(self, address: int) -> bool:
        """Whether ``address`` is a ``struct page`` (or ``struct slab``) in the vmemmap array."""
        offset = address - self.vmemmap
        return 0 <= offset < self.max_pfn * self.page_size and offset % self.page_size == 0


def _possible_cpus(prog) -> List[int]:
    """CPUs whose per-CPU slabs exist; the dump's CPU notes when the mask is unreadable."""
    try:
        cpus = possible_cpus(prog)
    except (LookupError, FaultError):
        cpus = []
    return cpus or list(range(len(prog.dump.cpus)))


def kmem_cache_addresses(prog) -> List[int]:
    """Every ``struct kmem_cache`` on ``slab_caches``, newest first (the list's order)."""
    layout = _layout(prog)
    head = prog.symbols.by_name("slab_caches").address
    found = []
    seen: Set[int] = set()
    node = _read64(prog, head)
    while node != head:
        if node in seen:
            raise FaultError("slab_caches loops without coming back to its head", node)
        seen.add(node)
        found.append(node - layout.cache_list)
        node = _read64(prog, node)
    return found


def _read64(prog, address: int) -> int:
    return _U64.unpack(prog.read(address, 8))[0]


def _layout(prog) -> _Layout:
    return prog.cache.get("slab.layout", lambda: _Layout(prog))


class _CacheCounter:
    """crash's ``get_kmem_cache_slub_data()`` for one cache, with the sheaves crash 9 does not know."""

    def __init__(self, prog, layout: _Layout, address: int, raw: bytes, name: str, objects: int,
                 report: Callable[[str], None]):
        self.prog, self.layout, self.address, self.name, self.objects = prog, layout, address, name, objects
        self.report = report
        self.offset = struct.unpack_from("<I", raw, layout.cache_offset)[0]
        self.random = _U64.unpack_from(raw, layout.cache_random)[0] if layout.cache_random is not None else 0
        self.cpu_slab = (_U64.unpack_from(raw, layout.cache_cpu_slab)[0] if layout.cache_cpu_slab is not None
                         else 0)
        self.raw = raw
        #: Free objects the last :meth:`count` found in per-CPU slabs and sheaves (CacheInfo.cached).
        self.cached = 0

    def slab_counts(self, slab: int):
        """(inuse as a signed short, objects) of a slab; objects 0 when unreadable."""
        return _slab_counts(self.prog, self.layout, slab)

    def count_free_objects(self, freelist: int, slab: int) -> int:
        count = 0
        seen: Set[int] = set()
        q = freelist
        while q and not q & 1:
            if q in seen:
                self.report(f"{self.name}: slab: {slab:x} duplicate freelist object: {q:x}")
                break
            seen.add(q)
            count += 1
            where = (q + self.offset) & _MASK64
            try:
                stored = _read64(self.prog, where)
            except FaultError:
                self.report(f"{self.name}: slab: {slab:x} invalid freepointer: {where:x}")
                break
            q = freelist_ptr(stored, self.random, where, self.layout.bswap) \
                if self.layout.cache_random is not None else stored
        return count

    def count_cpu_partial(self, kmem_cache_cpu: int) -> int:
        layout = self.layout
        if layout.cpu_partial is None:
            return 0
        free = 0
        try:
            partial = _read64(self.prog, kmem_cache_cpu + layout.cpu_partial)
        except FaultError:
            return 0
        seen: Set[int] = set()
        while partial:
            if not layout.is_page_ptr(partial) or partial in seen:
                self.report(f"{self.name}: invalid partial list slab pointer: {partial:x}")
                return 0
            seen.add(partial)
            inuse, objects = self.slab_counts(partial)
            if inuse is None or inuse == -1 or not objects:
                return 0
            free += objects - inuse
            try:
                partial = _read64(self.prog, partial + layout.slab_next)
            except FaultError:
                break
        return free

    def count_partial(self, node_ptr: int, nr_partial: int):
        """(inuse total, free objects) over a node's partial list; SlabCountError when unreadable
        or when a slab has more objects in use than it holds."""
        layout = self.layout
        head = node_ptr + layout.node_partial
        try:
            next_ = _read64(self.prog, head)
        except FaultError:
            raise SlabCountError("kmem_cache_node.partial unreadable") from None
        total_inuse = free = walked = 0
        seen: Set[int] = set()
        while next_ != head:
            last = next_ - layout.slab_list
            inuse, objects = self.slab_counts(last)
            if inuse is None:
                raise SlabCountError(f"slab {last:x} unreadable")
            if inuse == -1:
                self.report(f"{self.name}: partial list slab: {last:x} invalid page.inuse: -1")
                return total_inuse, free
            total_inuse += inuse
            if not objects:
                raise SlabCountError(f"slab {last:x} has no objects")
            if not 0 <= inuse <= objects:
                raise SlabCountError(f"slab {last:x} has {inuse} objects in use of {objects}")
            free += objects - inuse
            walked += 1
            try:
                next_ = _read64(self.prog, next_)
            except FaultError:
                raise SlabCountError(f"slab {last:x} list pointer unreadable") from None
            if not next_ >> 63 or (next_ != head and not layout.is_page_ptr(next_ - layout.slab_list)):
                self.report(f"{self.name}: partial list slab: {last:x} invalid page.lru.next: {next_:x}")
                return total_inuse, free
            if next_ in seen:
                self.report(f"{self.name}: partial list slab: {last:x} duplicate slab entry: {next_:x}")
                raise SlabCountError("partial list loops")
            seen.add(next_)
        if walked != nr_partial:
            self.report(f"{self.name}: kmem_cache_node {node_ptr:x}: nr_partial is {nr_partial} but the partial "
                        f"list holds {walked} slabs")
        return total_inuse, free

    def sheaf_objects(self, sheaf: int, capacity: int, where: str) -> int:
        """The objects in one sheaf; 0, reported, for a sheaf that is not this cache's or holds
        more than it can.  FaultError when the sheaf cannot be read."""
        sheaves, prog = self.layout.sheaves, self.prog
        size = struct.unpack("<I", prog.read(sheaf + sheaves.sheaf_size, 4))[0]
        if not size:
            return 0
        owner = _read64(prog, sheaf + sheaves.sheaf_cache)
        if owner != self.address:
            self.report(f"{self.name}: {where} sheaf {sheaf:x} belongs to kmem_cache {owner:x}: "
                        f"its {size} objects are not counted")
            return 0
        if size > capacity:
            self.report(f"{self.name}: {where} sheaf {sheaf:x} holds {size} objects, more than its capacity "
                        f"{capacity}: they are not counted")
            return 0
        return size

    def barn_sheaves(self, barn: int, head_offset: int, count_offset: int, what: str,
                     unreadable: List[FaultError]) -> Iterator[int]:
        """The sheaves on one of a barn's lists, checked against the barn's count of them; a fault
        ends the walk and the sheaves not reached join ``unreadable``."""
        sheaves, prog = self.layout.sheaves, self.prog
        head = barn + head_offset
        try:
            expected = struct.unpack("<I", prog.read(barn + count_offset, 4))[0]
            entry = _read64(prog, head)
        except FaultError as error:
            raise SlabCountError(f"barn {barn:x} unreadable ({error})") from None
        walked = 0
        while entry != head:
            if walked == expected:
                self.report(f"{self.name}: barn {barn:x} lists more {what} sheaves than its count {expected}: "
                            f"the rest are not counted")
                break
            try:
                following = _read64(prog, entry)
            except FaultError as error:
                unreadable.extend([error] * (expected - walked))
                return
            yield entry - sheaves.sheaf_barn_list
            walked += 1
            entry = following
        if walked < expected:
            self.report(f"{self.name}: barn {barn:x} counts {expected} {what} sheaves but lists {walked}")

    def sheaves(self, cpus: List[int], node_ptrs: List[Tuple[int, int]],
                unreadable: List[FaultError]) -> Iterator[Tuple[str, Optional[int], int]]:
        """(where, CPU, address) of each sheaf that can hold free objects (6.18+): every CPU's main
        and spare sheaf (``rcu_free``'s objects are not free before a grace period), then each node
        barn's full and empty sheaves (CPU None).  ``node_ptrs`` are :meth:`node_pointers`."""
        sheaves, prog = self.layout.sheaves, self.prog
        percpu = _U64.unpack_from(self.raw, sheaves.cache_cpu_sheaves)[0]
        if percpu:
            for cpu in cpus:
                address = per_cpu_address(prog, percpu, cpu)
                for what, offset in (("main", sheaves.percpu_main), ("spare", sheaves.percpu_spare)):
                    try:
                        sheaf = _read64(prog, address + offset)
                    except FaultError:
                        raise SlabCountError(f"CPU {cpu}'s slub_percpu_sheaves {address:x} unreadable") from None
                    if sheaf:
                        yield f"CPU {cpu} {what}", cpu, sheaf
        for per_node, node_ptr in node_ptrs:
            if sheaves.barn_in_per_node is not None:
                where = per_node + sheaves.barn_in_per_node
            elif sheaves.barn_in_node is not None and node_ptr:
                where = node_ptr + sheaves.barn_in_node
            else:
                continue
            try:
                barn = _read64(prog, where)
            except FaultError:
                raise SlabCountError(f"barn pointer at {where:x} unreadable") from None
            if barn:
                for what, head, count in (("full", sheaves.barn_full, sheaves.barn_nr_full),
                                          ("empty", sheaves.barn_empty, sheaves.barn_nr_empty)):
                    for sheaf in self.barn_sheaves(barn, head, count, what, unreadable):
                        yield f"{what} barn", None, sheaf

    def sheaf_capacity(self) -> int:
        """The most objects a CPU's or a barn's sheaf of this cache holds (``kmem_cache.sheaf_capacity``)."""
        return struct.unpack_from("<I", self.raw, self.layout.sheaves.cache_sheaf_capacity)[0]

    def count_sheaves(self, cpus: List[int], node_ptrs: List[Tuple[int, int]]) -> int:
        """Free objects in the per-CPU main and spare sheaves and in each node's barn (6.18+).
        Sheaves that cannot be read are reported once for the cache: their objects stay allocated."""
        capacity = self.sheaf_capacity()
        objects = 0
        unreadable: List[FaultError] = []
        for where, _, sheaf in self.sheaves(cpus, node_ptrs, unreadable):
            try:
                objects += self.sheaf_objects(sheaf, capacity, where)
            except FaultError as error:
                unreadable.append(error)
        if unreadable:
            self.report(f"{self.name}: cannot read {len(unreadable)} sheaves ({unreadable[0]}): "
                        f"their free objects are counted as allocated")
        return objects

    def node_pointers(self, node_ids: List[int]) -> List[Tuple[int, int]]:
        """(address of the node's slot in the cache, its ``struct kmem_cache_node`` or 0) of each
        node: ``node[nid]`` before 7.1, ``per_node[nid]`` (beside its barn) since."""
        layout = self.layout
        return [(self.address + layout.cache_node + layout.node_stride * nid,
                 _U64.unpack_from(self.raw, layout.cache_node + layout.node_stride * nid + layout.node_pointer)[0])
                for nid in node_ids]

    def count_cpu_slabs(self, cpus: List[int], node_ids: List[int], per_node: List[int]):
        """(free objects, objects in use, slabs) of the per-CPU slabs and partial lists (before 7.0);
        ``per_node`` gets each node's count of per-CPU slabs."""
        layout, prog = self.layout, self.prog
        free = inuse_total = slabs = 0
        for cpu in cpus:
            kmem_cache_cpu = per_cpu_address(prog, self.cpu_slab, cpu)
            try:
                raw = prog.read(kmem_cache_cpu, layout.cpu_slab + 8)
            except FaultError:
                continue
            slab = _U64.unpack_from(raw, layout.cpu_slab)[0]
            if not slab:
                continue
            node = vmstat.node_of_pfn(prog, (slab - layout.vmemmap) // layout.page_size) \
                if len(node_ids) > 1 else 0
            if node < 0:
                raise SlabCountError(f"cannot determine the node of slab {slab:x}")
            inuse, objects = self.slab_counts(slab)
            if inuse is None or not objects:
                raise SlabCountError(f"per-CPU slab {slab:x} unreadable")
            free += objects - inuse
            free += self.count_free_objects(_U64.unpack_from(raw, layout.cpu_freelist)[0], slab)
            free += self.count_cpu_partial(kmem_cache_cpu)
            inuse_total += inuse
            slabs += 1
            per_node[node] += 1
        return free, inuse_total, slabs

    def count(self, cpus: List[int], node_ids: List[int]):
        """(allocated, total, slabs, free) as crash computes them, free objects in sheaves (6.18+)
        included; how many of the free objects are per-CPU or in sheaves is left in :attr:`cached`."""
        layout, prog = self.layout, self.prog
        per_node = [0] * len(node_ids)
        node_total_avail = layout.node_total_objects is not None
        free = total_objects = total_slabs = 0
        if layout.cache_cpu_slab is not None:
            free, cpu_inuse, total_slabs = self.count_cpu_slabs(cpus, node_ids, per_node)
            self.cached = free
            if not node_total_avail:
                total_objects += cpu_inuse
        node_ptrs = self.node_pointers(node_ids)
        for index, (_, node_ptr) in enumerate(node_ptrs):
            if not node_ptr:
                continue
            try:
                nr_partial = _read64(prog, node_ptr + layout.node_nr_partial)
                nr_slabs = _read64(prog, node_ptr + layout.node_nr_slabs)
                node_total = _read64(prog, node_ptr + layout.node_total_objects) if node_total_avail else 0
            except FaultError:
                raise SlabCountError(f"kmem_cache_node {node_ptr:x} unreadable") from None
            if nr_partial > nr_slabs:
                raise SlabCountError(f"kmem_cache_node {node_ptr:x}: {nr_partial} partial slabs of {nr_slabs}")
            if node_total_avail and node_total > nr_slabs * self.objects \
                    and node_total > nr_slabs * self.most_objects_per_slab():
                raise SlabCountError(f"kmem_cache_node {node_ptr:x}: {node_total} objects in {nr_slabs} slabs")
            partial_inuse, partial_free = self.count_partial(node_ptr, nr_partial)
            free += partial_free
            if not node_total_avail:
                total_objects += partial_inuse
            full = nr_slabs - per_node[index] - nr_partial
            total_objects += node_total if node_total_avail else full * self.objects
            total_slabs += nr_partial + full
        if layout.sheaves is not None:
            in_sheaves = self.count_sheaves(cpus, node_ptrs)
            self.cached += in_sheaves
            free += in_sheaves
        if node_total_avail:
            if free > total_objects:
                raise SlabCountError(f"{free} free objects of {total_objects}")
            allocated = total_objects - free
        else:
            allocated, free = total_objects, total_slabs * self.objects - total_objects
        return allocated, allocated + free, total_slabs, free

    def most_objects_per_slab(self) -> int:
        """The most objects a slab of this cache can hold: one of the largest order a slab can have
        (kmem_cache.oo may have been lowered after bigger slabs were made: /sys/kernel/slab/*/order)."""
        size = struct.unpack_from("<I", self.raw, self.layout.cache_size)[0] or 1
        return max(self.objects, (self.prog.dump.page_size << MAX_PAGE_ORDER) // size)


def _slab_counts(prog, layout: _Layout, slab: int):
    """(inuse as a signed short, objects) of a slab; (None, 0) when unreadable."""
    try:
        counters = _U64.unpack(prog.read(slab + layout.slab_counters, 8))[0]
    except FaultError:
        return None, 0
    inuse = (counters >> layout.inuse_shift) & ((1 << layout.inuse_bits) - 1)
    inuse = inuse - 0x10000 if inuse >= 0x8000 else inuse
    objects = (counters >> layout.objects_shift) & ((1 << layout.objects_bits) - 1)
    return inuse, objects


def _read_name(prog, address: int) -> str:
    try:
        raw = prog.read(address, 64)
    except FaultError:
        return "(unknown)"
    end = raw.find(b"\0")
    if end < 0:
        try:
            raw = prog.read(address, 256)
        except FaultError:
            pass
        end = raw.find(b"\0")
    return (raw if end < 0 else raw[:end]).decode("latin-1")


def slab_caches(prog, report: Optional[Callable[[str], None]] = None) -> List[CacheInfo]:
    """Every SLUB cache with crash's ``kmem -s`` counts, in ``slab_caches`` order.

    A cache whose slabs cannot be read keeps its line with ``None`` counts and an error;
    problems crash reports without giving up (a bad freelist pointer) go to ``report``
    (each message also lands in the cache's ``errors``).
    """
    return list(iter_slab_caches(prog, report))


def _cache_head_size(prog, layout: "_Layout", node_ids: List[int]) -> int:
    """How much of a ``struct kmem_cache`` the counts read, in one go."""
    return max(layout.cache_node + layout.node_stride * (max(node_ids) + 1), layout.cache_list + 16,
               layout.cache_oo + 4, layout.cache_size + 4, layout.cache_object_size + 4,
               *(offset + 8 for offset in (layout.cache_cpu_slab, layout.cache_random) if offset is not None),
               *((layout.sheaves.cache_cpu_sheaves + 8, layout.sheaves.cache_sheaf_capacity + 4)
                 if layout.sheaves is not None else ()))


def _online_nodes(prog, layout: "_Layout") -> List[int]:
    node_ids = vmstat.online_nodes(prog)
    if max(node_ids) >= layout.node_slots:
        raise FormatError(f"node {max(node_ids)} is online but struct kmem_cache has room for "
                          f"{layout.node_slots} nodes", field="node_states")
    return node_ids


def iter_slab_caches(prog, report: Optional[Callable[[str], None]] = None) -> Iterator[CacheInfo]:
    """:func:`slab_caches` one cache at a time."""
    layout = _layout(prog)
    cpus = _possible_cpus(prog)
    node_ids = _online_nodes(prog, layout)
    head_size = _cache_head_size(prog, layout, node_ids)
    for address in kmem_cache_addresses(prog):
        info = _cache_info(prog, layout, address, head_size, cpus, node_ids, report)
        if info is not None:
            yield info


def _cache_info(prog, layout: "_Layout", address: int, head_size: int, cpus: List[int], node_ids: List[int],
                report: Optional[Callable[[str], None]]) -> Optional[CacheInfo]:
    """One cache's ``kmem -s`` line; None (reported) when its ``struct kmem_cache`` is unreadable."""
    errors: List[str] = []

    def note(message: str) -> None:
        errors.append(message)
        if report is not None:
            report(message)

    try:
        raw = prog.read(address, head_size)
    except FaultError as error:
        note(f"kmem_cache {address:x} unreadable: {error}")
        return None
    name = _read_name(prog, _U64.unpack_from(raw, layout.cache_name)[0])
    size, object_size = (struct.unpack_from("<I", raw, off)[0]
                         for off in (layout.cache_size, layout.cache_object_size))
    oo = struct.unpack_from("<I", raw, layout.cache_oo)[0]
    objects, order = oo_objects(oo), oo_order(oo)
    slab_size: Optional[int] = prog.dump.page_size << order if order <= MAX_PAGE_ORDER else None
    allocated = total = slabs = free = cached = None
    if slab_size is None:
        note(f"{name}: cannot gather relevant slab data (kmem_cache.oo {oo:#x} gives slab order {order},"
             f" above MAX_PAGE_ORDER {MAX_PAGE_ORDER})")
    else:
        counter = _CacheCounter(prog, layout, address, raw, name, objects, note)
        try:
            allocated, total, slabs, free = counter.count(cpus, node_ids)
            cached = counter.cached
        except (SlabCountError, FaultError) as error:
            note(f"{name}: cannot gather relevant slab data ({error})")
    return CacheInfo(address=address, name=name, object_size=object_size, size=size, objects_per_slab=objects,
                     order=order, slab_size=slab_size, allocated=allocated, total=total,
                     slabs=slabs, free=free, cached=cached, errors=errors)


# -- the objects of each slab (crash's kmem -S and kmem ADDR) --------------------------------------
# SLAB_STORE_USER (include/linux/slab.h): only such a cache keeps its full slabs on kmem_cache_node.full.
SLAB_STORE_USER = 0x00010000


@dataclass
class SlabObject:
    """One object of a slab: ``free`` when on the slab's freelist, on a CPU's or in a sheaf
    (``cpu``: the CPU whose ``kmem_cache_cpu.freelist``, or since 6.18 whose main or spare sheaf,
    holds it, crash's ``(cpu N cache)``; None for a node barn's sheaf)."""

    address: int
    free: bool
    cpu: Optional[int] = None


@dataclass
class SlabListing:
    """One slab (``struct slab``, ``struct page`` before 5.17): where its objects live, its node,
    and each object's state, as crash's ``kmem -S`` lists them."""

    slab: int
    memory: int
    node: int
    total: int
    allocated: int
    free: int
    objects: List[SlabObject]


@dataclass
class CpuSlabs:
    """One CPU's ``struct kmem_cache_cpu``: its slab and its partial slabs (before 7.0)."""

    cpu: int
    kmem_cache_cpu: int
    slab: Optional[SlabListing]
    partial: List[SlabListing]


@dataclass
class NodeSlabs:
    """One node's ``struct kmem_cache_node``: its counts and partial slabs; ``full`` is None when
    the cache does not track full slabs (no SLAB_STORE_USER)."""

    node: int
    address: int
    slabs: int
    partial_count: int
    per_cpu: int
    partial: List[SlabListing]
    full: Optional[List[SlabListing]]


@dataclass
class CacheSlabs:
    """A cache's ``kmem -s`` line and every slab it holds (crash's ``kmem -S CACHE``)."""

    cache: CacheInfo
    cpus: List[CpuSlabs]
    nodes: List[NodeSlabs]


class _SlabReader:
    """Reads the slabs of one cache: object addresses, freelists (hardened pointers decoded) and
    states, with per-CPU slabs (before 7.0) and sheaves (6.18+)."""

    def __init__(self, prog, address: int, report: Optional[Callable[[str], None]] = None):
        self.prog, self.address = prog, address
        self.layout = layout = _layout(prog)
        self.report = report
        cache = prog.type("struct kmem_cache")
        self.flags = struct.unpack("<I", prog.read(address + layout.cache_flags, 4))[0]
        self.offset = struct.unpack("<I", prog.read(address + layout.cache_offset, 4))[0]
        self.size = struct.unpack("<I", prog.read(address + layout.cache_size, 4))[0]
        self.red_left_pad = (struct.unpack("<I", prog.read(address + cache.offsetof("red_left_pad"), 4))[0]
                             if cache.has_member("red_left_pad") else 0)
        self.random = _read64(prog, address + layout.cache_random) if layout.cache_random is not None else 0
        self.cpu_slab = (_read64(prog, address + layout.cache_cpu_slab) if layout.cache_cpu_slab is not None
                         else None)
        slab_type = prog.type("struct slab" if layout.cpu_slab_is_slab else "struct page")
        self.slab_freelist = slab_type.offsetof("freelist")
        self.multi_node = len(vmstat.online_nodes(prog)) > 1
        if prog.arch.direct_map_start is None:
            raise MissingDebugInfoError("page_offset_base: where the direct map starts (slab memory)")
        self._in_sheaves: Optional[Dict[int, Optional[int]]] = None

    def in_sheaves(self) -> Dict[int, Optional[int]]:
        """{object: CPU, None for a barn's} of the free objects the cache's sheaves hold (6.18+;
        empty before), read once.  A sheaf that cannot be read, is another cache's or holds more
        than it can is left out, its objects shown allocated, and said through ``report``."""
        if self._in_sheaves is not None:
            return self._in_sheaves
        found: Dict[int, Optional[int]] = {}
        self._in_sheaves = found
        layout, prog = self.layout, self.prog
        if layout.sheaves is None:
            return found
        node_ids = _online_nodes(prog, layout)
        raw = prog.read(self.address, _cache_head_size(prog, layout, node_ids))
        name = _read_name(prog, _U64.unpack_from(raw, layout.cache_name)[0])
        messages: List[str] = []
        counter = _CacheCounter(prog, layout, self.address, raw, name,
                                oo_objects(struct.unpack_from("<I", raw, layout.cache_oo)[0]), messages.append)
        capacity = counter.sheaf_capacity()
        unreadable: List[FaultError] = []
        try:
            for where, cpu, sheaf in counter.sheaves(_possible_cpus(prog), counter.node_pointers(node_ids),
                                                     unreadable):
                try:
                    size = counter.sheaf_objects(sheaf, capacity, where)
                    raw_objects = prog.read(sheaf + layout.sheaves.sheaf_objects, 8 * size)
                except FaultError as error:
                    unreadable.append(error)
                    continue
                for (pointer,) in _U64.iter_unpack(raw_objects):
                    found[pointer] = cpu
        except SlabCountError as error:
            messages.append(f"{name}: sheaves not all read ({error}): objects in the rest are shown allocated")
        if unreadable:
            messages.append(f"{name}: cannot read {len(unreadable)} sheaves ({unreadable[0]}): "
                            f"their objects are shown allocated")
        if self.report is not None:
            for message in messages:
                self.report(message)
        return found

    def freelist(self, head: int, hardened: bool) -> List[int]:
        """The objects on a freelist starting at ``head``; in-object pointers are hardened
        (``hardened``), a CPU's ``kmem_cache_cpu.freelist`` head is not."""
        found: List[int] = []
        seen: Set[int] = set()
        q = head
        while q and not q & 1 and q not in seen and len(found) <= 1 << 16:
            seen.add(q)
            found.append(q)
            where = (q + self.offset) & _MASK64
            try:
                stored = _read64(self.prog, where)
            except FaultError:
                break
            q = freelist_ptr(stored, self.random, where, self.layout.bswap) \
                if hardened and self.layout.cache_random is not None else stored
        return found

    def listing(self, slab: int, cpu: Optional[int] = None, cpu_freelist: int = 0) -> SlabListing:
        """``slab``'s objects in address order, free where the slab's freelist, CPU ``cpu``'s
        freelist (``cpu_freelist``) or a sheaf holds them.  In a CPU's slab every free object on a
        freelist is that CPU's (crash marks remote frees on the slab's own freelist ``(cpu N cache)``
        too); one in a sheaf is the sheaf's CPU's."""
        layout, prog = self.layout, self.prog
        pfn = (slab - layout.vmemmap) // layout.page_size
        memory = (prog.arch.direct_map_start + pfn * prog.dump.page_size) & _MASK64
        objects = _slab_counts(prog, layout, slab)[1]
        free = set(self.freelist(_read64(prog, slab + self.slab_freelist), True))
        on_cpu = set(self.freelist(cpu_freelist, True)) if cpu_freelist else set()
        in_sheaves = self.in_sheaves()
        listed = []
        for index in range(objects):
            address = memory + index * self.size + self.red_left_pad
            if address in free or address in on_cpu:
                listed.append(SlabObject(address, True, cpu))
            elif address in in_sheaves:
                listed.append(SlabObject(address, True, in_sheaves[address]))
            else:
                listed.append(SlabObject(address, False))
        free_count = sum(1 for entry in listed if entry.free)
        node = vmstat.node_of_pfn(prog, pfn) if self.multi_node else 0
        return SlabListing(slab, memory, node, objects, objects - free_count, free_count, listed)

    def cpu_slabs(self, cpu: int) -> CpuSlabs:
        layout, prog = self.layout, self.prog
        if self.cpu_slab is None:
            raise MissingDebugInfoError("kmem -S reads per-CPU slabs (struct kmem_cache_cpu), which this "
                                        "kernel replaced with sheaves (6.18+/7.0)")
        kmem_cache_cpu = per_cpu_address(prog, self.cpu_slab, cpu)
        slab = _read64(prog, kmem_cache_cpu + layout.cpu_slab)
        cpu_freelist = _read64(prog, kmem_cache_cpu + layout.cpu_freelist)
        partial = []
        if layout.cpu_partial is not None:
            next_ = _read64(prog, kmem_cache_cpu + layout.cpu_partial)
            seen: Set[int] = set()
            while next_ and layout.is_page_ptr(next_) and next_ not in seen:
                seen.add(next_)
                partial.append(self.listing(next_))
                next_ = _read64(prog, next_ + layout.slab_next)
        return CpuSlabs(cpu, kmem_cache_cpu, self.listing(slab, cpu, cpu_freelist) if slab else None, partial)

    def list_slabs(self, head: int) -> List[SlabListing]:
        """The slabs on a ``kmem_cache_node`` list (``partial``/``full``) through ``slab_list``."""
        layout = self.layout
        found, seen = [], set()
        next_ = _read64(self.prog, head)
        while next_ != head and next_ not in seen and layout.is_page_ptr(next_ - layout.slab_list):
            seen.add(next_)
            found.append(self.listing(next_ - layout.slab_list))
            next_ = _read64(self.prog, next_)
        return found


def slab_cache_named(prog, name: str) -> int:
    """The address of the ``struct kmem_cache`` called ``name``; LookupError when there is none."""
    layout = _layout(prog)
    for address in kmem_cache_addresses(prog):
        if _read_name(prog, _read64(prog, address + layout.cache_name)) == name:
            return address
    raise LookupError(f"no slab cache named {name!r}")


def cache_slabs(prog, address: int, report: Optional[Callable[[str], None]] = None) -> CacheSlabs:
    """Every slab of the cache at ``address`` with its objects: each CPU's slab and partial slabs,
    then each node's partial (and, with SLAB_STORE_USER, full) slabs, as crash 9's ``kmem -S``
    walks them (SLUB with per-CPU slabs, 5.10 to 6.x)."""
    layout = _layout(prog)
    cpus = _possible_cpus(prog)
    node_ids = _online_nodes(prog, layout)
    info = _cache_info(prog, layout, address, _cache_head_size(prog, layout, node_ids), cpus, node_ids, report)
    if info is None:
        raise FaultError("kmem_cache unreadable", address)
    reader = _SlabReader(prog, address, report)
    per_cpu = [reader.cpu_slabs(cpu) for cpu in cpus]
    nodes = []
    for nid in node_ids:
        node_ptr = _read64(prog, address + layout.cache_node + layout.node_stride * nid + layout.node_pointer)
        if not node_ptr:
            continue
        full = None
        if reader.flags & SLAB_STORE_USER:
            full = reader.list_slabs(node_ptr + prog.type("struct kmem_cache_node").offsetof("full"))
        nodes.append(NodeSlabs(nid, node_ptr, _read64(prog, node_ptr + layout.node_nr_slabs),
                               _read64(prog, node_ptr + layout.node_nr_partial),
                               sum(1 for c in per_cpu if c.slab is not None and c.slab.node == nid),
                               reader.list_slabs(node_ptr + layout.node_partial), full))
    return CacheSlabs(info, per_cpu, nodes)


def _slab_of(prog, address: int) -> Optional[Tuple[int, int]]:
    """(cache, slab) behind ``address``: see :func:`cache_of`."""
    layout = _layout(prog)
    if layout.is_page_ptr(address):
        page = address
    else:
        try:
            physical = prog.translate(address)
        except FaultError:
            return None
        page = layout.vmemmap + (physical // prog.dump.page_size) * layout.page_size
        if not layout.is_page_ptr(page):
            return None
    head = int(mm.compound_head(Object(prog, "struct page *", page)))
    try:
        cache = _read64(prog, head + layout.slab_cache)
    except FaultError:
        return None
    if layout.caches is None:
        layout.caches = set(kmem_cache_addresses(prog))
    if cache not in layout.caches:
        return None
    return cache, head


def cache_of(prog, address: int) -> Optional[int]:
    """The ``struct kmem_cache`` whose slab holds ``address`` (a kernel virtual address, or a
    ``struct page``/``struct slab`` of the vmemmap array), else None: the ``slab_cache`` of the
    head of the compound page behind it, when that is one of the caches on ``slab_caches``.  Reads
    neither per-CPU slabs nor sheaves, so it holds for every SLUB layout (5.10 to 7.2)."""
    found = _slab_of(prog, address)
    return None if found is None else found[0]


def cache_name(prog, address: int) -> str:
    """The name of the ``struct kmem_cache`` at ``address`` (``kmalloc-64``)."""
    return _read_name(prog, _read64(prog, address + _layout(prog).cache_name))


def slab_containing(prog, address: int,
                    report: Optional[Callable[[str], None]] = None) -> Optional[Tuple[int, SlabListing]]:
    """(cache address, the slab) when ``address`` is in a slab's memory (:func:`cache_of`), else
    None.  A CPU's slab has that CPU's freelist marked (before 7.0); objects in sheaves (6.18+) are
    free, with the CPU whose sheaf holds them; sheaves that cannot be read go to ``report``."""
    found = _slab_of(prog, address)
    if found is None:
        return None
    cache, head = found
    layout = _layout(prog)
    reader = _SlabReader(prog, cache, report)
    if reader.cpu_slab is not None:
        for cpu in _possible_cpus(prog):
            kmem_cache_cpu = per_cpu_address(prog, reader.cpu_slab, cpu)
            if _read64(prog, kmem_cache_cpu + layout.cpu_slab) == head:
                return cache, reader.listing(head, cpu, _read64(prog, kmem_cache_cpu + layout.cpu_freelist))
    return cache, reader.listing(head)


def cache_info(prog, address: int, report: Optional[Callable[[str], None]] = None) -> Optional[CacheInfo]:
    """The ``kmem -s`` line of the cache at ``address``."""
    layout = _layout(prog)
    node_ids = _online_nodes(prog, layout)
    return _cache_info(prog, layout, address, _cache_head_size(prog, layout, node_ids), _possible_cpus(prog),
                       node_ids, report)


# -- struct page, as crash's kmem shows the page behind an address ----------------------------------
@dataclass
class PageDescriptor(mm.MemMapEntry):
    """The ``struct page`` of a physical page: its ``mapping``, ``index``, ``_refcount`` and
    ``flags`` as :func:`pycore.kernel.mm.mem_map_entry` decodes them, with the names of the flag
    bits set, as the kernel's ``%pGp`` names them."""

    flag_names: List[str]


def page_flag_names(prog) -> List[Tuple[int, str]]:
    """(mask, name) of each page flag: the kernel's own ``pageflag_names[]`` (mm/debug.c, the
    names ``%pGp`` prints, 4.6+), else ``enum pageflags`` with ``PG_`` dropped and the aliases
    (a value met before) left out."""
    layout = _layout(prog)
    if layout.page_flags is None:
        layout.page_flags = _read_page_flag_names(prog)
    return layout.page_flags


def _read_page_flag_names(prog) -> List[Tuple[int, str]]:
    try:
        address: Optional[int] = prog.symbols.by_name("pageflag_names").address
    except LookupError:
        address = None
    found: List[Tuple[int, str]] = []
    while address is not None and len(found) < 64:
        mask, name = struct.unpack("<QQ", prog.read(address, 16))
        if not mask or not name:
            return found
        found.append((mask, _read_name(prog, name)))
        address += 16
    seen: Set[int] = set()
    for name, value in prog.type("enum pageflags").resolved().enumerators:
        if name.startswith("PG_") and 0 <= value < 64 and value not in seen:
            seen.add(value)
            found.append((1 << value, name[3:]))
    return found


def page_physical(prog, page: int) -> Optional[int]:
    """The physical address of the page whose ``struct page`` is at ``page``, None when ``page`` is
    not one of the vmemmap array's entries."""
    layout = _layout(prog)
    if not layout.is_page_ptr(page):
        return None
    return (page - layout.vmemmap) // layout.page_size * prog.dump.page_size


def page_descriptor(prog, physical: int) -> PageDescriptor:
    """The ``struct page`` (in the vmemmap array) of the page holding ``physical``; FaultError for an
    address past the last page frame (``max_pfn``)."""
    layout = _layout(prog)
    pfn = physical // prog.dump.page_size
    if not 0 <= pfn < layout.max_pfn:
        raise FaultError(f"no page frame there (max_pfn {layout.max_pfn:#x})", physical, physical=True)
    entry = mm.mem_map_entry(prog, pfn)
    return PageDescriptor(*astuple(entry), [name for mask, name in page_flag_names(prog) if entry.flags & mask == mask])


__all__ = ["CacheInfo", "slab_caches", "iter_slab_caches", "kmem_cache_addresses", "freelist_ptr", "swab64",
           "oo_order", "oo_objects", "SlabObject", "SlabListing", "CpuSlabs", "NodeSlabs", "CacheSlabs",
           "slab_cache_named", "cache_slabs", "cache_info", "slab_containing", "cache_of", "cache_name",
           "PageDescriptor", "page_flag_names", "page_descriptor", "page_physical"]
