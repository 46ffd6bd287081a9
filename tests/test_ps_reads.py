"""What ps costs per task (issue 18): the task list is read in one pass that reads each task_struct's
page once (it read them in three passes, through a page cache of 256 pages that 2198 tasks overflow),
an mm's per-CPU RSS counters are summed with one read per CPU, and the helpers ps calls with what it
already read (a task's state, ``&init_mm``) answer as they do alone."""
import struct

import pytest

import pycore
from pycore.errors import FaultError
from pycore.kernel import mm, percpu, sched
from pycore.kernel.variables import symbol_address
from pycore.object import Object
from pycore.types.model import Member, int_type, pointer_type, struct_type

from corpus import cases
from fake_program import BASE, FakeProgram

# -- percpu_counter_sums on made-up memory: struct percpu_counter { s64 count; s32 __percpu *counters; }
COUNTERS = BASE + 0x100   # three struct percpu_counter, 16 bytes apart
AREA = 0x2000             # the deltas' per-CPU address: CPU n's copy at BASE + AREA + n * 0x1000
CPU_STRIDE = 0x1000


class _PerCpuMemory(FakeProgram):
    """Test memory with ``struct percpu_counter`` and per-CPU areas one page apart, counting the
    reads of the per-CPU areas."""

    def __init__(self, cpus_in_memory: int = 4):
        super().__init__(size=AREA + CPU_STRIDE * cpus_in_memory)
        s64, s32 = int_type("s64", 8, True), int_type("s32", 4, True)
        self.types.types[("struct", "percpu_counter")] = struct_type("percpu_counter", 16, [
            Member("count", s64, 0), Member("counters", pointer_type(s32), 64)])
        self.area_reads = 0

    def per_cpu_offset(self, cpu: int) -> int:
        return BASE + cpu * CPU_STRIDE

    def read(self, address: int, size: int, physical: bool = False) -> bytes:
        if address >= BASE + AREA:
            self.area_reads += 1
        return super().read(address, size, physical)

    def counter(self, index: int, count: int, delta_offset: int, deltas) -> Object:
        """Counter ``index``: ``count``, and its per-CPU s32 ``deltas`` at ``delta_offset`` of each
        CPU's area (a CPU beyond the test memory keeps none)."""
        address = COUNTERS + 16 * index
        self.put(address, count & (1 << 64) - 1, AREA + delta_offset)
        for cpu, delta in enumerate(deltas):
            at = AREA + delta_offset + cpu * CPU_STRIDE
            if at + 4 <= len(self.memory):
                struct.pack_into("<i", self.memory, at, delta)
        return Object(self, "struct percpu_counter", address=address)


def test_counters_sharing_a_page_are_summed_with_one_read_per_cpu():
    """6.5+'s percpu_counter_init_many: an mm's counters' deltas side by side."""
    prog = _PerCpuMemory()
    counters = [prog.counter(0, 100, 0x40, [1, 2, 3, 4]), prog.counter(1, -7, 0x44, [-1, 0, 0, 0]),
                prog.counter(2, 0, 0x48, [5, -5, 5, -5])]
    assert percpu.percpu_counter_sums(counters, range(4)) == [110, -8, 0]
    assert prog.area_reads == 4
    assert [percpu.percpu_counter_sum(counter, range(4)) for counter in counters] == [110, -8, 0]


def test_counters_on_different_pages_are_read_one_by_one():
    """6.2-6.4 allocate each counter alone: deltas a page apart are each read where they are."""
    prog = _PerCpuMemory()
    counters = [prog.counter(0, 10, 0x0, [1, 1]), prog.counter(1, 20, 0xFFC + 0x8, [2, 2])]
    assert percpu.percpu_counter_sums(counters, range(2)) == [12, 24]


def test_a_cpu_the_dump_lacks_counts_nothing_or_raises():
    """crash counts a CPU whose deltas are not in the dump as 0 (ps); the kernel's sum raises."""
    prog = _PerCpuMemory(cpus_in_memory=1)
    counters = [prog.counter(0, 10, 0x10, [3, 99]), prog.counter(1, 20, 0x14, [4, 99])]
    assert percpu.percpu_counter_sums(counters, range(2), skip_unreadable=True) == [13, 24]
    with pytest.raises(FaultError):
        percpu.percpu_counter_sums(counters, range(2))


# -- the corpus ----------------------------------------------------------------------------------
def _programs():
    """One program per corpus case (its reference dump), dump only."""
    for case in cases():
        yield pytest.param(case, id=case.name)


@pytest.fixture(scope="module", params=list(_programs()))
def prog(request):
    case = request.param
    program = pycore.open(case.path(case.reference_dump))
    yield program
    program.close()


def test_helpers_given_what_ps_read_answer_as_alone(prog):
    """crash_kernel_thread with the state and &init_mm ps passes, task_memory reading ``mm`` once and an
    mm's resident counters summed together: the answers of the helpers asked one thing at a time."""
    init_mm = symbol_address(prog, "init_mm")
    assert init_mm == prog["init_mm"].address_
    cpus = sched.nr_cpus(prog)
    total = mm.high_memory_pages(prog)
    for task in sched.crash_task_list(prog):
        task_struct = task.dereference_()
        state = sched.task_state_value(task_struct)
        assert sched.crash_kernel_thread(task_struct, state, init_mm) is sched.crash_kernel_thread(task_struct)
        memory = mm.task_memory(task_struct, total, cpus)
        assert (memory.rss_pages, memory.total_vm_pages) == (mm.task_rss_pages(task_struct, cpus),
                                                             mm.task_vsz_pages(task_struct))
        if int(task_struct.mm):  # every corpus kernel has MM_SHMEMPAGES (4.5+)
            alone = [mm.mm_counter_pages(task_struct.mm, counter, cpus)
                     for counter in (mm.MM_FILEPAGES, mm.MM_ANONPAGES, mm.MM_SHMEMPAGES)]
            assert mm.mm_rss_pages(task_struct.mm, cpus) == sum(alone)


def test_the_task_list_reads_each_task_page_about_once(prog):
    """crash_tasks reads each process's threads and sort keys as the walk reaches it: at most two
    page reads per task from memory (1.3 on the large guest, whose 2198 tasks overflow the page
    cache: 3.3 when it read them in three passes; 1.4-1.8 on the small guests, whose task lists the
    cache holds)."""
    reads = []
    arch = prog.arch
    original = arch.read

    def counted(address, size, *rest, **options):
        reads.append(address)
        return original(address, size, *rest, **options)

    arch.read = counted
    try:
        prog.pages.clear()
        tasks = sched.crash_tasks(prog).tasks
    finally:
        del arch.read
    assert len(reads) <= 2 * len(tasks), f"{len(reads)} reads for {len(tasks)} tasks"
