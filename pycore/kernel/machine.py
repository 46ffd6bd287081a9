"""The machine a dump came from, as crash's x86_64 ``mach`` reads it (x86_64.c): memory size, CPUs,
processor speed, HZ, the kernel's address-space bases, the kernel, IRQ and exception stacks of
each CPU, the BIOS memory map (e820) and each CPU's ``struct cpuinfo_x86``.

x86_64 kernels 4.x-7.2 (tested on 5.10, 6.1, 6.12, 7.2): exception stacks from the TSS's IST and
``struct cea_exception_stacks`` (5.2+; the VC stack 5.10+), IRQ stacks from ``hardirq_stack_ptr``
(5.2-6.1, 6.15+) or ``pcpu_hot.hardirq_stack_ptr`` (6.2-6.14), the e820 map in ``e820_table``
(4.12+) or ``e820`` (before).
"""
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from ..arch.x86_64 import START_KERNEL_MAP
from ..errors import FaultError, MissingDebugInfoError, PycoreError
from ..object import Object
from ..types.model import TypeKind
from . import mm, sched
from .percpu import per_cpu_address
from .system import cpu_mhz, crash_hz, utsname
from .unwind import ESTACK_NAMES, irq_stack_bases, irq_stack_size
from .variables import read_kernel_variable, symbol_address

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# Where vmalloc starts without CONFIG_RANDOMIZE_MEMORY (Documentation/arch/x86/x86_64/mm.rst).
VMALLOC_START_DEFAULT = {4: 0xFFFFC90000000000, 5: 0xFFA0000000000000}
# crash's MODULES_VADDR of a kernel linked where it runs (no KASLR): __START_KERNEL_map + 512 MiB.
MODULES_VADDR_FIXED = 0xFFFFFFFFA0000000
# The TSS holds seven IST pointers (struct x86_hw_tss.ist[7]); crash reads all seven.
IST_ENTRIES = 7
IDT_ENTRIES = 256
GATE_SIZE = 16
# crash names an IST stack by the handler of an IDT gate that uses it: each substring of the
# handler's name gives the name, a later match overriding an earlier one (x86_64_exception_stacks_init).
ESTACK_NAME_RULES = (("nmi", "NMI"), ("debug", "DEBUG"), ("stack", "STACKFAULT"), ("double", "DOUBLEFAULT"),
                     ("machine", "MCE"), ("vmm", "VC"))
UNKNOWN_STACK = "(unknown)"
# The member of struct cea_exception_stacks (or exception_stacks) that gives each named stack's size.
ESTACK_MEMBERS = {label: member for member, label in ESTACK_NAMES}


@dataclass
class ExceptionStack:
    """One IST slot as crash's ``mach`` lists it: its name (from the IDT), its size, and each CPU's
    lowest address (``bases``, CPU by CPU until the first without one) with whether that address
    can be read (``available``: the VC stack is unmapped without SEV-ES)."""

    name: str
    size: int
    bases: List[int] = field(default_factory=list)
    available: List[bool] = field(default_factory=list)


@dataclass
class E820Entry:
    """One range of the BIOS memory map: ``[addr, addr + size)`` of E820 ``type``."""

    addr: int
    size: int
    type: int


# -- CPUs, speed, names ----------------------------------------------------------------------
def hypervisor(prog: "Program") -> Optional[str]:
    """What crash calls the hypervisor: ``pv_info.name`` ("KVM" in a KVM guest, "bare hardware"
    otherwise; CONFIG_PARAVIRT kernels), else the name of ``*x86_hyper`` (4.x kernels before
    x86_hyper_type; "bare hardware" when NULL), else None (crash's "(undetermined)")."""
    address = symbol_address(prog, "pv_info")
    if address is not None:
        try:
            info = Object(prog, prog.type("struct pv_info"), address=address)
            return info.name.string_().decode("utf-8", "replace")
        except (LookupError, PycoreError):
            return None
    pointer = read_kernel_variable(prog, "x86_hyper")
    if pointer is None:
        return None
    if pointer == 0:
        return "bare hardware"
    try:
        return Object(prog, prog.type("struct hypervisor_x86"), address=pointer).name.string_().decode(
            "utf-8", "replace")
    except (LookupError, PycoreError):
        return None


# -- the address space -----------------------------------------------------------------------
def randomized_memory(prog: "Program") -> bool:
    """Whether the kernel randomizes its direct map, vmalloc and vmemmap bases
    (CONFIG_RANDOMIZE_MEMORY, 4.8+): it keeps them in ``page_offset_base`` and ``vmalloc_base``."""
    return symbol_address(prog, "page_offset_base") is not None and symbol_address(prog, "vmalloc_base") is not None


def vmalloc_start(prog: "Program") -> int:
    """Where the vmalloc area starts (crash's ``vt->vmalloc_start``): ``vmalloc_base`` with
    CONFIG_RANDOMIZE_MEMORY, else the fixed VMALLOC_START of 4- or 5-level paging (2.6.31+)."""
    if randomized_memory(prog):
        base = read_kernel_variable(prog, "vmalloc_base")
        if base is None:
            raise FaultError("vmalloc_base cannot be read", symbol_address(prog, "vmalloc_base"))
        return base
    return VMALLOC_START_DEFAULT[prog.arch.levels]


def vmemmap_mapped(prog: "Program") -> bool:
    """Whether struct pages live in the vmemmap array (CONFIG_SPARSEMEM_VMEMMAP), as crash tells it:
    the kernel has ``vmemmap_populate``.  crash prints no VMEMMAP BASE line without it."""
    return symbol_address(prog, "vmemmap_populate") is not None


def modules_vaddr(prog: "Program") -> int:
    """crash's MODULES_VADDR: ``__START_KERNEL_map`` plus VMCOREINFO's KERNEL_IMAGE_SIZE (5.3+), or
    1 GiB without it, on kernels that randomize memory or the kernel's place (KASLR); the fixed
    ``0xffffffffa0000000`` otherwise."""
    vmcoreinfo = prog.vmcoreinfo
    image_size = vmcoreinfo.number("KERNEL_IMAGE_SIZE") if vmcoreinfo is not None else None
    kaslr = vmcoreinfo is not None and vmcoreinfo.kernel_offset is not None
    if randomized_memory(prog) or kaslr:
        return START_KERNEL_MAP + (image_size or 1 << 30)
    return MODULES_VADDR_FIXED


# -- exception stacks ----------------------------------------------------------------------------
def ist_stack_names(prog: "Program") -> List[str]:
    """crash's name of each of the seven IST slots: from the handler of every IDT gate that
    switches to that slot (``asm_exc_nmi`` names NMI, ``asm_exc_double_fault`` DOUBLEFAULT, ...),
    "(unknown)" for a slot no gate names (6.1 under QEMU TCG sets no IST on the machine-check gate).
    All "(unknown)" when ``idt_table`` is not a symbol; FaultError when it cannot be read."""
    names = [UNKNOWN_STACK] * IST_ENTRIES
    address = symbol_address(prog, "idt_table")
    if address is None:
        return names
    table = prog.read(address, IDT_ENTRIES * GATE_SIZE)
    for gate in range(IDT_ENTRIES):
        low = int.from_bytes(table[gate * GATE_SIZE:gate * GATE_SIZE + 8], "little")
        high = int.from_bytes(table[gate * GATE_SIZE + 8:gate * GATE_SIZE + 16], "little")
        ist = (low >> 32) & 0x7
        if not ist:
            continue
        handler = ((high << 32) & 0xFFFFFFFF00000000) | (low & 0xFFFF) | ((low >> 32) & 0xFFFF0000)
        name = _symbol_name(prog, handler)
        for part, label in ESTACK_NAME_RULES:
            if part in name:
                names[ist - 1] = label
    return names


def _symbol_name(prog: "Program", address: int) -> str:
    found = prog.symbols.lookup(address)
    if found is None:
        return ""
    symbol, offset = found
    return prog.symbols.crash_choice(symbol, offset).name


def _tss_ist_address(prog: "Program") -> Optional[int]:
    """The per-CPU address of the TSS's ``ist[0]``: ``cpu_tss_rw`` (4.15+), ``cpu_tss`` or
    ``init_tss`` (before), through ``x86_tss.ist`` (4.7+) or ``ist``."""
    tss = None
    for name in ("init_tss", "cpu_tss", "cpu_tss_rw"):
        tss = symbol_address(prog, name)
        if tss is not None:
            break
    if tss is None:
        return None
    tss_type = prog.type("struct tss_struct")
    if tss_type.has_member("ist"):
        return tss + tss_type.offsetof("ist")
    return tss + tss_type.offsetof("x86_tss") + prog.type("struct x86_hw_tss").offsetof("ist")


def _ist_layout(prog: "Program") -> Optional[str]:
    for name in ("struct cea_exception_stacks", "struct exception_stacks"):
        try:
            if prog.type(name).has_member("NMI_stack"):
                return name
        except LookupError:
            continue
    return None


def _readable(prog: "Program", address: int) -> bool:
    try:
        prog.read(address, 1)
    except FaultError:
        return False
    return True


def exception_stacks(prog: "Program", cpus: int) -> List[ExceptionStack]:
    """Each IST slot in use, in slot order, as crash's ``mach`` lists them (x86_64_ist_init): the
    tops in each CPU's TSS less the size of the named member of ``struct cea_exception_stacks``
    (5.2+; a slot crash cannot name has size 0 and its top as its base); before 5.2, the distance
    between the first two slots' tops (the DEBUG stack twice that).  The list ends at the first slot
    CPU 0 does not use; a slot's CPUs end at the first that does not.  ``available`` is whether
    the base can be read: 9.0.2 marks "[unavailable]" an unmapped one (the VC stack without
    SEV-ES, and the guard page an unnamed slot's top falls on).  FaultError when a TSS cannot be
    read; an empty list when the kernel has no TSS symbol (CONFIG_X86_NO_TSS)."""
    ist_at = _tss_ist_address(prog)
    if ist_at is None:
        return []
    names = ist_stack_names(prog)
    tops: List[List[int]] = []
    for cpu in range(cpus):
        if prog.per_cpu_offset(cpu) == 0:
            break
        data = prog.read(per_cpu_address(prog, ist_at, cpu), 8 * IST_ENTRIES)
        tops.append([int.from_bytes(data[i:i + 8], "little") for i in range(0, 8 * IST_ENTRIES, 8)])
        if tops[-1][0] == 0:
            break
    if not tops:
        return []
    layout = _ist_layout(prog)
    if layout is not None:
        layout_type = prog.type(layout)
        sizes = [layout_type.member(ESTACK_MEMBERS[name]).type.size or 0
                 if name in ESTACK_MEMBERS and layout_type.has_member(ESTACK_MEMBERS[name]) else 0 for name in names]
    else:
        first = tops[0]
        size = first[1] - first[0] if first[0] and first[1] else 4096
        sizes = [size * 2 if name == "DEBUG" else size for name in names]
    stacks = []
    for slot in range(IST_ENTRIES):
        if tops[0][slot] == 0:
            break
        stack = ExceptionStack(names[slot], sizes[slot])
        for cpu_tops in tops:
            if cpu_tops[slot] == 0:
                break
            base = cpu_tops[slot] - sizes[slot]
            stack.bases.append(base)
            stack.available.append(layout is None or _readable(prog, base))
        stacks.append(stack)
    return stacks


# -- the BIOS memory map -------------------------------------------------------------------------
def e820_table(prog: "Program") -> List[E820Entry]:
    """The kernel's e820 memory map: ``*e820_table`` (4.12+, struct e820_table) or ``e820``
    (struct e820map, or a pointer to one as its debug info says: kernels before BTF, read with
    their vmlinux), ``nr_entries`` (``nr_map``) entries.  PycoreError when the count is more than
    the table holds."""
    address = symbol_address(prog, "e820_table")
    if address is not None:
        table = Object(prog, prog.type("struct e820_table *"), address=address).dereference_()
    elif symbol_address(prog, "e820") is not None:
        table = prog.object("e820", guess=False)
        if table.type_.resolved().kind is TypeKind.POINTER:
            table = table.dereference_()
    else:
        raise MissingDebugInfoError(f"neither e820_table nor e820 is a symbol in {prog.symbols.source}")
    resolved = table.type_.resolved()
    count_name, entries_name = ("nr_entries", "entries") if resolved.has_member("nr_entries") else ("nr_map", "map")
    count = int(table.member_(count_name))
    entries = table.member_(entries_name)
    capacity = entries.type_.resolved().length or 0
    if count > capacity:
        raise PycoreError(f"{resolved.name}.{count_name} at {int(table.address_):#x} is {count}, more than its"
                          f" {capacity} entries: the table is damaged")
    return [E820Entry(int(entry.addr), int(entry.size), int(entry.type)) for entry in
            (entries[index] for index in range(count))]


# -- struct cpuinfo_x86 ---------------------------------------------------------------------------
def cpu_info_objects(prog: "Program", cpus: int) -> List[Tuple[Optional[int], Object]]:
    """Each CPU's ``struct cpuinfo_x86`` as crash's ``mach -c`` finds it: the per-CPU ``cpu_info``
    (2.6.30+) of CPUs ``0..cpus-1``, else the ``cpu_data`` array, else ``boot_cpu_data`` alone (a
    uniprocessor kernel), whose CPU is None."""
    info_type = prog.type("struct cpuinfo_x86")
    array = symbol_address(prog, "cpu_data")
    if array is not None:
        return [(cpu, Object(prog, info_type, address=array + cpu * info_type.size)) for cpu in range(cpus)]
    per_cpu = symbol_address(prog, "cpu_info")
    if per_cpu is not None:
        return [(cpu, Object(prog, info_type, address=per_cpu_address(prog, per_cpu, cpu))) for cpu in range(cpus)]
    boot = symbol_address(prog, "boot_cpu_data")
    if boot is None:
        raise MissingDebugInfoError(f"none of cpu_data, cpu_info, boot_cpu_data is a symbol in {prog.symbols.source}")
    return [(None, Object(prog, info_type, address=boot))]


# -- everything mach prints ------------------------------------------------------------------------
def machine_info(prog: "Program") -> Dict[str, object]:
    """crash's ``mach`` as data, but for the exception stacks (:func:`exception_stacks`): machine
    type, memory size in bytes, CPUs and how many are offline, hypervisor, processor MHz (None when
    unknown), crash's HZ, page size, the kernel's virtual, vmalloc and vmemmap bases (the last None
    without a vmemmap array), ``__START_KERNEL_map``, the modules' base, the kernel and IRQ stack
    sizes and each CPU's IRQ stack base (None where the dump lacks its pointer)."""
    cpus = sched.nr_cpus(prog)
    offline = sched.offline_cpu_count(prog)
    return {
        "machine": utsname(prog)["machine"],
        "memory_bytes": mm.present_pages(prog) * prog.dump.page_size,
        "cpus": cpus,
        "offline_cpus": offline,
        "hypervisor": hypervisor(prog),
        "mhz": cpu_mhz(prog),
        "hz": crash_hz(prog),
        "page_size": prog.dump.page_size,
        "kernel_virtual_base": mm.page_offset(prog),
        "vmalloc_base": vmalloc_start(prog),
        "vmemmap_base": mm.vmemmap(prog) if vmemmap_mapped(prog) else None,
        "start_kernel_map": START_KERNEL_MAP,
        "modules_base": modules_vaddr(prog),
        "kernel_stack_size": sched.thread_size(prog),
        "irq_stack_size": irq_stack_size(prog),
        "irq_stacks": irq_stack_bases(prog, cpus),
    }


__all__ = ["E820Entry", "ExceptionStack", "cpu_info_objects", "e820_table", "exception_stacks", "hypervisor",
           "irq_stack_bases", "irq_stack_size", "ist_stack_names", "machine_info", "modules_vaddr",
           "randomized_memory", "vmalloc_start", "vmemmap_mapped"]
