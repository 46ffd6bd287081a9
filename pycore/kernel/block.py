"""Disks (block/genhd.c) and the requests in flight on their queues (block/blk-mq.c): the whole
disks on ``block_class`` (devices of ``disk_type``), and for a blk-mq queue the busy tags of each
hardware context, each request's disk, sectors, operation, age and bios (their pages, and who they
report completion to); kernels 5.0 to 7.2 (``request.state``, so in-flight requests are told by
their tags).  Also the registered block majors (``major_names``) and a disk of each.
"""
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, List, Optional, Tuple

from ..errors import PycoreError
from ..object import Object, container_of, list_for_each_entry
from ..types.model import TypeKind
from .module import symbol_lookup
from .percpu import per_cpu_address
from .xarray import xa_for_each

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# enum mq_rq_state (include/linux/blk-mq.h, 4.17+): a request the driver holds.
MQ_RQ_IN_FLIGHT = 1
# REQ_OP_BITS (include/linux/blk_types.h): the operation is the low byte of cmd_flags; odd
# operations write (op_is_write).
REQ_OP_MASK = 0xFF
# BLK_MQ_MAX_DEPTH: no queue has more tags than this.
MAX_TAGS = 10240
# enum req_op (include/linux/blk_types.h): the operations whose numbers have not changed 5.0 to 7.2.
REQ_OPS = {0: "read", 1: "write", 2: "flush", 3: "discard", 5: "secure erase", 9: "write zeroes",
           34: "driver in", 35: "driver out"}
# x86_64's page size: what a multi-page bio_vec's length is counted in.
PAGE_SIZE = 4096
# A request's bios and a bio's vectors: bounds on chains read from a dump (BIO_MAX_VECS is 256).
_MAX_BIOS = 1024
_MAX_VECS = 256


def _global(prog: "Program", name: str, type_name: str) -> Object:
    return Object(prog, prog.type(type_name), address=prog.symbols.by_name(name).address)


def _struct(obj: Object):
    t = obj.type_.resolved()
    return t.type.resolved() if t.kind is TypeKind.POINTER else t


def class_to_subsys(class_: Object) -> Object:
    """The ``struct subsys_private *`` of a device class (``struct class *``): ``class->p`` before
    6.4, else the one on ``class_kset`` whose ``class`` it is (6.4 made classes constant)."""
    prog = class_.prog_
    if _struct(class_).has_member("p"):
        return class_.p.read_()
    kset = _global(prog, "class_kset", "struct kset *").read_()
    for sp in list_for_each_entry("struct subsys_private", kset.list.address_of_(), "subsys.kobj.entry"):
        if int(sp.member_("class")) == int(class_):
            return sp
    raise PycoreError(f"class {int(class_):#x} has no subsys_private on class_kset")


def class_for_each_device(class_: Object) -> Iterator[Object]:
    """Each ``struct device *`` of a class, in the order added (``klist_devices`` through
    ``device_private.knode_class``, 5.1+); nodes klist_del left behind (dead) are skipped."""
    subsys = class_to_subsys(class_)
    for private in list_for_each_entry("struct device_private", subsys.klist_devices.k_list.address_of_(),
                                       "knode_class.n_node"):
        if int(private.knode_class.n_klist) & 1:
            continue
        yield private.device.read_()


def for_each_disk(prog: "Program") -> Iterator[Object]:
    """Each whole disk (``struct gendisk *``): the devices of ``block_class`` whose type is
    ``disk_type``, from their ``block_device`` (5.11+) or ``hd_struct`` (before)."""
    block_class = _global(prog, "block_class", "struct class").address_of_()
    disk_type = prog.symbols.by_name("disk_type").address
    has_bd_device = prog.type("struct block_device").has_member("bd_device")
    for device in class_for_each_device(block_class):
        if int(device.type) != disk_type:
            continue
        if has_bd_device:
            yield container_of(device, "struct block_device", "bd_device").bd_disk.read_()
        else:
            yield container_of(container_of(device, "struct hd_struct", "__dev"), "struct gendisk", "part0")


def _hardware_contexts(queue: Object) -> List[Object]:
    """The ``struct blk_mq_hw_ctx *`` of a queue: the XArray ``hctx_table`` (5.19 to 6.x) or the
    array ``queue_hw_ctx`` of ``nr_hw_queues``."""
    pointer = queue.prog_.type("struct blk_mq_hw_ctx *")
    if _struct(queue).has_member("hctx_table"):
        return [Object(queue.prog_, pointer, int(entry)) for _, entry in xa_for_each(queue.hctx_table.address_of_())]
    count = int(queue.nr_hw_queues)
    if count > 4096:
        raise PycoreError(f"request_queue {int(queue):#x} claims {count} hardware queues")
    array = int(queue.queue_hw_ctx)
    return [Object(queue.prog_, pointer, int.from_bytes(queue.prog_.read(array + 8 * i, 8), "little"))
            for i in range(count)]


def _set_bits(sbq: Object) -> Iterator[int]:
    """The set bits of a ``struct sbitmap_queue`` (pointer or object): each word's ``word`` less
    its ``cleared`` (sbitmap_for_each_set), within the map's depth."""
    sb = sbq.sb
    depth, shift, words = int(sb.depth), int(sb.shift), int(sb.map_nr)
    if depth > MAX_TAGS or shift > 63:
        raise PycoreError(f"sbitmap {sb.address_:#x} claims depth {depth}, shift {shift}")
    word_type = sbq.prog_.type("struct sbitmap_word")
    for index in range(words):
        word = Object(sbq.prog_, word_type, address=int(sb.map) + index * word_type.size)
        bits = int(word.word) & ~int(word.cleared)
        width = min(1 << shift, depth - (index << shift))
        for bit in range(max(width, 0)):
            if bits >> bit & 1:
                yield (index << shift) + bit


def _sbitmap_queue(tags: Object, member: str) -> Object:
    """A ``struct sbitmap_queue`` of a ``blk_mq_tags``: a pointer from 5.10 to 5.15 (shared
    tags), embedded before and after."""
    value = tags.member_(member)
    return value.dereference_() if value.type_.resolved().kind is TypeKind.POINTER else value


def for_each_request_in_flight(queue: Object) -> Iterator[Object]:
    """Each ``struct request *`` in flight on a blk-mq ``struct request_queue *``: the request behind
    each busy driver tag of each hardware context (``tags->rqs``, set when the driver is handed it)
    that belongs to this queue and is MQ_RQ_IN_FLIGHT, reserved tags first."""
    prog = queue.prog_
    for hctx in _hardware_contexts(queue):
        tags = hctx.tags.read_()
        if not int(tags):
            continue
        reserved = int(tags.nr_reserved_tags)
        rqs = int(tags.rqs)
        sources = [(_sbitmap_queue(tags, "bitmap_tags"), reserved)]
        if reserved:
            sources.insert(0, (_sbitmap_queue(tags, "breserved_tags"), 0))
        for sbq, offset in sources:
            for bit in _set_bits(sbq):
                address = int.from_bytes(prog.read(rqs + 8 * (bit + offset), 8), "little")
                if address < 1 << 63:
                    continue
                request = Object(prog, prog.type("struct request *"), address)
                if int(request.q) == int(queue) and int(request.state) == MQ_RQ_IN_FLIGHT:
                    yield request


def queue_in_flight(queue: Object) -> Tuple[int, int]:
    """(reads, writes) in flight on a blk-mq ``struct request_queue *``
    (:func:`for_each_request_in_flight`; crash's dev -d counts): odd operations write."""
    reads = writes = 0
    for request in for_each_request_in_flight(queue):
        if int(request.cmd_flags) & REQ_OP_MASK & 1:
            writes += 1
        else:
            reads += 1
    return reads, writes


@dataclass
class Bio:
    """A bio of a request: its address, ``private`` (``bi_private``: what its end_io reports
    completion to, the waiting task itself or a completion or structure on its stack),
    ``end_io`` (the name of its completion function, None when no symbol covers it) and the
    ``struct page`` addresses its vectors cover."""

    address: int
    private: int
    end_io: Optional[str]
    pages: List[int] = field(default_factory=list)


@dataclass
class Request:
    """A request in flight: its address, ``disk`` name, first ``sector`` and ``bytes`` (what is
    left to do), ``op`` (:data:`REQ_OPS`, else "op N") and whether it ``write``s, ``started_ns``
    (``start_time_ns``, when it was set up, or else ``io_start_time_ns``, when the driver got it:
    CLOCK_MONOTONIC nanoseconds; None when the queue keeps neither), its ``tag``, ``driver`` (the
    module of the queue's blk_mq_ops, else that symbol's name) and its ``bios``."""

    address: int
    disk: Optional[str]
    sector: int
    bytes: int
    op: str
    write: bool
    started_ns: Optional[int]
    tag: int
    driver: Optional[str]
    bios: List[Bio] = field(default_factory=list)


def request_disk(request: Object) -> Object:
    """The ``struct gendisk *`` of a request: ``rq_disk`` (before 5.18), else its queue's
    ``disk`` (5.15+)."""
    if _struct(request).has_member("rq_disk"):
        return request.rq_disk.read_()
    return request.q.disk.read_()


def _bio_pages(prog: "Program", bio: Object) -> List[int]:
    """The ``struct page`` addresses a bio's vectors cover (multi-page vectors, 5.1+, cover
    several pages from ``bv_page`` on)."""
    page_size = prog.type("struct page").size
    count = min(int(bio.bi_vcnt), _MAX_VECS)
    vector_type = prog.type("struct bio_vec")
    pages = []
    base = int(bio.bi_io_vec)
    if not base:
        return pages
    for index in range(count):
        vector = Object(prog, vector_type, address=base + index * vector_type.size)
        first, offset, length = int(vector.bv_page), int(vector.bv_offset), int(vector.bv_len)
        span = (offset + length + PAGE_SIZE - 1) // PAGE_SIZE if length else 1
        pages.extend(first + page_size * n for n in range(min(span, _MAX_VECS)))
    return pages


def _text_name(prog: "Program", address: int) -> Optional[str]:
    hit = symbol_lookup(prog, address) if address else None
    return hit[0].name if hit is not None and not hit[1] else None


def request_details(request: Object, driver: Optional[str] = None) -> Request:
    """A ``struct request *`` in flight as a :class:`Request` (``driver`` as the caller found it
    for its queue); its bios followed through ``bi_next`` (at most 1024)."""
    prog = request.prog_
    disk = request_disk(request)
    op = int(request.cmd_flags) & REQ_OP_MASK
    started = int(request.start_time_ns) or int(request.io_start_time_ns)
    found = Request(int(request), disk.disk_name.string_().decode(errors="replace") if int(disk) else None,
                    int(request.member_("__sector")), int(request.member_("__data_len")),
                    REQ_OPS.get(op, f"op {op}"), bool(op & 1), started or None, int(request.tag), driver)
    bio = request.bio.read_()
    while int(bio) and len(found.bios) < _MAX_BIOS:
        found.bios.append(Bio(int(bio), int(bio.bi_private), _text_name(prog, int(bio.bi_end_io)),
                              _bio_pages(prog, bio)))
        bio = bio.bi_next.read_()
    return found


def queue_driver(queue: Object) -> Optional[str]:
    """Who serves a blk-mq queue: the module its ``mq_ops`` is in, else that symbol's name (a
    built-in driver), None when no symbol covers it."""
    hit = symbol_lookup(queue.prog_, int(queue.mq_ops))
    if hit is None:
        return None
    return hit[2] or hit[0].name


def requests_in_flight(prog: "Program") -> List[Request]:
    """The requests in flight on every blk-mq disk (:func:`for_each_disk`,
    :func:`for_each_request_in_flight`), each as a :class:`Request`."""
    found = []
    for disk in for_each_disk(prog):
        queue = disk.queue.read_()
        if not int(queue) or not int(queue.mq_ops):
            continue
        driver = queue_driver(queue)
        found.extend(request_details(request, driver) for request in for_each_request_in_flight(queue))
    return found


def disk_stats_in_flight(disk: Object, cpus: int) -> Tuple[int, int]:
    """(reads, writes) in flight on a bio-based disk (a queue without ``mq_ops``): the per-CPU
    ``disk_stats.in_flight`` of its whole-disk partition (``part0->bd_stats`` 5.11+,
    ``part0.dkstats`` before) summed over CPUs 0 to ``cpus`` - 1."""
    prog = disk.prog_
    part0 = disk.part0
    stats = part0.bd_stats if part0.type_.resolved().kind is TypeKind.POINTER else part0.dkstats
    base = int(stats)
    offset = prog.type("struct disk_stats").offsetof("in_flight")
    reads = writes = 0
    for cpu in range(cpus):
        address = per_cpu_address(prog, base + offset, cpu)
        raw = prog.read(address, 16)
        reads += int.from_bytes(raw[:8], "little", signed=True)
        writes += int.from_bytes(raw[8:], "little", signed=True)
    return reads, writes


# BLKDEV_MAJOR_HASH_SIZE: major_names[] is indexed by major % 255.
BLKDEV_MAJOR_HASH_SIZE = 255


def for_each_blkdev_major(prog: "Program") -> Iterator[Tuple[int, Object]]:
    """Each head of ``major_names`` (``struct blk_major_name *``) with its index (major % 255), as
    crash's dev lists the block majors (the head of each slot only, not its chain)."""
    base = prog.symbols.by_name("major_names").address
    pointer = prog.type("struct blk_major_name *")
    raw = prog.read(base, 8 * BLKDEV_MAJOR_HASH_SIZE)
    for index in range(BLKDEV_MAJOR_HASH_SIZE):
        address = int.from_bytes(raw[8 * index:8 * index + 8], "little")
        if address:
            yield index, Object(prog, pointer, address)


def disk_of_major(prog: "Program", major: int) -> Object:
    """The disk (``struct gendisk *``) with ``major`` and block device operations that was added
    last, the one bdev_map's probe chain put first (kobj_map_add inserts before equal ranges;
    crash 9 answers the same on 5.11+, which dropped bdev_map); NULL when none (blkext)."""
    found = Object(prog, prog.type("struct gendisk *"), 0)
    for disk in for_each_disk(prog):
        if int(disk.major) == major and int(disk.fops):
            found = disk
    return found


__all__ = ["disk_stats_in_flight", "class_to_subsys", "class_for_each_device", "for_each_disk", "queue_in_flight",
           "MQ_RQ_IN_FLIGHT", "REQ_OPS", "for_each_blkdev_major", "disk_of_major", "for_each_request_in_flight",
           "Bio", "Request", "request_disk", "request_details", "queue_driver", "requests_in_flight"]
