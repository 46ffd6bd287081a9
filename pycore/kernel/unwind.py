"""What crash's x86_64 back tracer knows about a dump before it walks a stack: kernel and module
text, the ORC tables (vmlinux or dump; modules' ``mod->arch`` copies), each CPU's IRQ and exception
stacks, the saved registers of the dump's CPU notes, and the task running on each CPU.

x86_64 kernels with CONFIG_UNWINDER_ORC (4.14+; tested on 5.10, 6.1, 6.12, 7.2): exception stacks in
``struct cea_exception_stacks`` (5.2+), the IRQ stack pointer in ``hardirq_stack_ptr`` (5.2-6.1,
6.15+) or ``pcpu_hot.hardirq_stack_ptr`` (6.2-6.14), as :func:`irq_stack_bases` reads it.
"""
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from ..arch import orc, x86_64_decode
from ..errors import FaultError, MissingMemberError, PageExcludedError, PycoreError
from ..object import Object
from . import sched
from .module import module_symbol_index
from .percpu import per_cpu_address
from .variables import symbol_address

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

THREAD_SIZE = 0x4000
IRQ_STACK_SIZE = 0x4000
# The lowest kernel address; module space starts at MODULES_VADDR.
KERNEL_SPACE = 0xFFFF800000000000
MODULES_VADDR = 0xFFFFFFFFC0000000
_MASK64 = 0xFFFFFFFFFFFFFFFF

# Members of struct cea_exception_stacks and the names crash gives them.
ESTACK_NAMES = (("DF_stack", "DOUBLEFAULT"), ("NMI_stack", "NMI"), ("DB_stack", "DEBUG"),
                ("MCE_stack", "MCE"), ("VC_stack", "VC"), ("VC2_stack", "VC2"))


class StackBuffer:
    """One kernel stack read at once; pages the dump lacks read as zeros.  A page a dump filter
    left out was a zero page (makedumpfile's other filters drop cache, user and free pages, which
    a kernel stack never is); any other page the dump lacks is listed in ``missing`` (its
    address), for the trace to say so."""

    def __init__(self, prog, base: int, size: int):
        self.base, self.top = base, base + size
        self.missing: List[int] = []
        try:
            data = prog.read(base, size)
        except FaultError:
            data = bytearray(size)
            for page in range(0, size, 0x1000):
                try:
                    data[page:page + 0x1000] = prog.read(base + page, 0x1000)
                except PageExcludedError:
                    pass
                except FaultError:
                    self.missing.append(base + page)
            data = bytes(data)
        self.words = memoryview(data).cast("Q")

    def __contains__(self, address: int) -> bool:
        return self.base <= address < self.top

    def word(self, address: int) -> int:
        return self.words[(address - self.base) // 8]


def irq_stack_size(prog: "Program") -> int:
    """The size of each CPU's IRQ stack: ``struct irq_stack``'s ``stack`` (5.2+), else
    ``irq_stack_union.irq_stack`` (before), else crash's 16 KiB."""
    # 5.2+'s type first: a lookup of the other goes on to the vmlinux's DWARF when BTF lacks it.
    for type_name, member in (("struct irq_stack", "stack"), ("union irq_stack_union", "irq_stack")):
        try:
            return prog.type(type_name).member(member).type.size or IRQ_STACK_SIZE
        except LookupError:
            continue
    return IRQ_STACK_SIZE


def irq_stack_bases(prog: "Program", cpus: int) -> List[Optional[int]]:
    """The lowest address of the IRQ stack of CPUs ``0..cpus-1``, as crash finds it: the per-CPU
    ``pcpu_hot.hardirq_stack_ptr`` (6.2-6.14) or ``hardirq_stack_ptr`` (5.2-6.1, 6.15+), the top
    of the stack less 8 unless page aligned, less the stack size; ``irq_stack_union``'s per-CPU
    copy before 5.2.  None for a CPU whose pointer the dump lacks."""
    size = irq_stack_size(prog)
    pointer_at = None
    hot = symbol_address(prog, "pcpu_hot")
    if hot is not None:
        try:
            pointer_at = hot + prog.type("struct pcpu_hot").offsetof("hardirq_stack_ptr")
        except LookupError:
            pointer_at = None
    if pointer_at is None:
        pointer_at = symbol_address(prog, "hardirq_stack_ptr")
    union = symbol_address(prog, "irq_stack_union")
    bases: List[Optional[int]] = []
    for cpu in range(cpus):
        if pointer_at is None:
            bases.append(per_cpu_address(prog, union, cpu) if union is not None else None)
            continue
        try:
            top = int.from_bytes(prog.read(per_cpu_address(prog, pointer_at, cpu), 8), "little")
        except FaultError:
            bases.append(None)
            continue
        if top & 0xFFF:
            top += 8
        bases.append((top - size) & _MASK64)
    return bases



class Unwinder:
    """Per-dump state shared by all traces: symbols, ORC tables, stacks, active tasks.

    ``cpus`` maps each CPU the dump saved registers for (its CPU notes) to those registers;
    ``active`` maps those CPUs to the task running there (``rq->curr``; ``active_faults`` to the
    fault of each CPU whose runqueue or running task_struct the dump lacks); ``panic_task`` is
    :func:`pycore.kernel.sched.panic_task`'s address, None when no CPU panicked.
    ``problems`` says what every trace is walked without (an unusable ORC table).
    """

    def __init__(self, prog, vmlinux_orc: bool = False):
        self.prog = prog
        self.symbols = module_symbol_index(prog)
        symbols = prog.symbols
        version = orc.layout_version(prog)
        self.problems: List[str] = []
        self.orc: Optional[orc.OrcTable] = None
        try:
            if vmlinux_orc and prog.vmlinux:
                offset = (prog.vmcoreinfo.kernel_offset or 0) if prog.vmcoreinfo is not None else 0
                self.orc = orc.kernel_table_from_vmlinux(prog.vmlinux, offset, version)
            else:
                self.orc = orc.kernel_table_from_dump(prog, version)
        except PycoreError as error:
            # crash walks on with frame sizes from the code alone; the trace says so.
            self.problems.append(f"no usable ORC table ({error}): frame sizes counted from the code")
        self.orc_version = version
        self._module_orc: Dict[int, Optional[orc.OrcTable]] = {}
        self.text = [(symbols.by_name("_stext").address, symbols.by_name("_etext").address)]
        try:
            self.text.append((symbols.by_name("_sinittext").address, symbols.by_name("_einittext").address))
            self.init = (symbols.by_name("__init_begin").address, symbols.by_name("__init_end").address)
        except LookupError:
            self.init = (0, 0)
        self.new_exceptions = "asm_exc_page_fault" in symbols
        # CONFIG_X86_FRED (6.9+) keeps 16 bytes free above a task's pt_regs
        # (TOP_OF_KERNEL_STACK_PADDING); its entry code is what tells the option was built.
        self.stack_padding = 16 if "asm_fred_entrypoint_user" in symbols else 0
        self.task_type = prog.type("struct task_struct")
        self.cpus = {state.cpu: state.registers for state in prog.dump.cpus}
        self.qemu = any("cr3" in regs for regs in self.cpus.values())
        self.user_top = 1 << 56 if prog.arch.levels == 5 else 1 << 47
        self._lookup_cache: Dict[int, object] = {}
        self._read_cache: Dict[int, Optional[int]] = {}
        self._counted_cache: Dict[Tuple[int, bool], int] = {}
        self.exception_stacks = self._exception_stacks()
        self.irq_stacks = self._irq_stacks()
        # CPU -> the fault of its rq->curr, or of that task's task_struct, when the dump lacks that page
        # (a truncated or damaged file): the CPU has no entry in ``active``.
        self.active_faults: Dict[int, FaultError] = {}
        self.active = self._active_tasks()
        self.panic_task = self._panic_task()

    # -- symbols and text --------------------------------------------------------------
    def lookup(self, address: int):
        """``(Symbol, offset, module name or None)`` for a kernel address, or None.

        Of several kernel symbols at one address, the one crash names
        (:meth:`SymbolTable.crash_choice`: ``__softirqentry_text_end``, not
        ``__x86_indirect_thunk_array``, as an exception RIP; ``__x64_sys_pause+39``)."""
        hit = self._lookup_cache.get(address, 0)
        if hit == 0:
            hit = self.symbols.lookup(address) if address >= KERNEL_SPACE else None
            if hit is None and address >= KERNEL_SPACE:
                # A return address just past a function that ends in a noreturn call
                # (rest_init -> cpu_startup_entry) lies outside a sized ELF symbol;
                # it still belongs to that function, as kallsyms and crash say.
                before = self.symbols.lookup(address - 1)
                if before is not None:
                    hit = (before[0], before[1] + 1) + tuple(before[2:])
            if hit is not None and hit[2] is None:
                hit = (self.prog.symbols.crash_choice(hit[0], hit[1]),) + tuple(hit[1:])
            self._lookup_cache[address] = hit
        return hit

    def lookup_return(self, address: int):
        """``(Symbol, offset, module name or None)`` of the call a return address returns from,
        as the kernel's unwinder finds it (``orc_find(ip - 1)``) and names it (``%pB``): the
        symbol holding ``address - 1``, the offset counted to ``address``.  It differs from
        :meth:`lookup` only for a call that is the last instruction of its function (a
        noreturn callee: watchdog.cold -> panic), whose return address is the first byte of
        the next symbol.  None outside the kernel's symbols."""
        hit = self.lookup(address - 1)
        return (hit[0], hit[1] + 1) + tuple(hit[2:]) if hit is not None else None

    def call_ending_function(self, address: int) -> Optional[int]:
        """The function called by a direct ``call`` that is the last instruction of the function
        before ``address`` (the first byte of a symbol), or None: a return address there returns
        from that call (see :meth:`lookup_return`).  The target must be a function's first
        byte, so that code bytes merely ending in ``e8`` and four more are not taken for one."""
        if self.lookup(address - 1) is None:
            return None
        target = self.called_address(address)
        hit = self.lookup(target) if target is not None else None
        return target if hit is not None and hit[1] == 0 else None

    def name_of(self, address: int) -> Optional[str]:
        hit = self.lookup(address)
        return hit[0].name if hit else None

    def is_kernel_text(self, address: int) -> bool:
        if address < KERNEL_SPACE:
            return False
        for start, end in self.text:
            if start <= address < end:
                return True
        module = self.symbols.module_of(address)
        return module is not None and module.in_text(address)

    def read_word(self, address: int) -> Optional[int]:
        """The u64 at ``address``, None where the dump cannot say."""
        if address in self._read_cache:
            return self._read_cache[address]
        try:
            value = int.from_bytes(self.prog.read(address, 8), "little")
        except PycoreError:
            value = None
        self._read_cache[address] = value
        return value

    def orc_find(self, address: int) -> Optional[orc.OrcEntry]:
        """The ORC entry covering ``address``: the kernel image's table, else its module's."""
        if address < MODULES_VADDR:
            if self.orc is not None and self.orc.start <= address <= self.orc.end + 0x100000:
                return self.orc.find(address)
            return None
        module = self.symbols.module_of(address)
        if module is None or self.orc is None:
            return None
        table = self._module_orc.get(module.address, False)
        if table is False:
            table = None
            try:
                arch = module.object.arch
                count = int(arch.num_orcs)
                if count:
                    ip_base = int(arch.orc_unwind_ip)
                    table = orc.OrcTable(ip_base, self.prog.read(ip_base, 4 * count),
                                         self.prog.read(int(arch.orc_unwind), 6 * count),
                                         self.orc_version, module.name, self.orc.registers)
            except (PycoreError, LookupError, AttributeError):
                table = None
            self._module_orc[module.address] = table
        return table.find(address) if table is not None else None

    def counted_framesize(self, start: int, text: int, exception: bool) -> int:
        """crash's frame size from the instructions of the function at ``start`` up to ``text``
        (including it for an exception frame's RIP); 0 where the code is not in the dump."""
        key = (text, exception)
        size = self._counted_cache.get(key)
        if size is None:
            try:
                code = self.prog.read(start, text - start + 16)
            except PycoreError:
                code = None
            size = x86_64_decode.stack_effect_before(code, start, text, exception) if code else 0
            self._counted_cache[key] = size
        return size

    def called_address(self, address: int) -> Optional[int]:
        """The target of the direct ``call`` (e8) ending at ``address`` (a return address)."""
        try:
            code = self.prog.read(address - 5, 5)
        except PycoreError:
            return None
        if code[0] != 0xE8:
            return None
        return (address + int.from_bytes(code[1:5], "little", signed=True)) & _MASK64

    def function_called_by(self, address: int) -> Optional[str]:
        """The function the direct ``call`` ending at ``address`` calls, named as crash's
        x86_64_function_called_by names it (the schedule_timeout and cond_resched wrappers
        by the function they wrap)."""
        target = self.called_address(address)
        name = self.name_of(target) if target is not None else None
        if name in ("schedule_timeout_interruptible", "schedule_timeout_uninterruptible"):
            return "schedule_timeout"
        if name == "__cond_resched":
            return "schedule"
        return name

    # -- per-CPU stacks and tasks --------------------------------------------------------
    def _per_cpu_word(self, name: str, cpu: int, member: Optional[Tuple[str, str]] = None) -> Optional[int]:
        try:
            address = self.prog.symbols.by_name(name).address
            if member:
                address += self.prog.type(member[0]).offsetof(member[1])
            return self.read_word(per_cpu_address(self.prog, address, cpu))
        except (PycoreError, LookupError):
            return None

    def _exception_stacks(self) -> Dict[int, List[Tuple[str, int, int]]]:
        stacks: Dict[int, List[Tuple[str, int, int]]] = {}
        try:
            layout = self.prog.type("struct cea_exception_stacks")
            offsets = {m.name: m.offset for m in layout.members}
        except (PycoreError, LookupError):
            return stacks
        names = [m.name for m in layout.members]
        for cpu in self.cpus:
            base = self._per_cpu_word("cea_exception_stacks", cpu)
            if not base:
                continue
            entries = []
            for member, label in ESTACK_NAMES:
                if member not in offsets:
                    continue
                following = names[names.index(member) + 1]
                start = base + offsets[member]
                size = offsets[following] - offsets[member]
                if self.read_word(start) is None:
                    continue
                entries.append((label, start, size))
            stacks[cpu] = entries
        return stacks

    def _irq_stacks(self) -> Dict[int, int]:
        cpus = sorted(self.cpus)
        bases = irq_stack_bases(self.prog, cpus[-1] + 1) if cpus else []
        return {cpu: bases[cpu] for cpu in cpus if bases[cpu] is not None}

    def _active_tasks(self) -> Dict[int, int]:
        active = {}
        for cpu in self.cpus:
            try:
                task = int(sched.cpu_curr(self.prog, cpu))
                if task:  # its header must be readable too, or no trace can name the task
                    int(Object(self.prog, self.task_type, address=task).pid)
            except MissingMemberError:
                raise
            except FaultError as error:
                self.active_faults[cpu] = error
                continue
            except (PycoreError, LookupError):
                continue
            if task:
                active[cpu] = task
        return active

    def _panic_task(self) -> Optional[int]:
        try:
            task = sched.panic_task(self.prog)
        except (PycoreError, LookupError):
            return None
        return int(task) if task is not None else None

    def in_exception_stack(self, address: int) -> Optional[Tuple[str, int, int]]:
        """``(label, start, size)`` of the exception stack holding ``address``, or None."""
        for entries in self.exception_stacks.values():
            for label, start, size in entries:
                if start <= address < start + size:
                    return label, start, size
        return None

    def in_irq_stack(self, address: int) -> Optional[int]:
        """The base of the IRQ stack holding ``address``, or None."""
        for base in self.irq_stacks.values():
            if base <= address < base + IRQ_STACK_SIZE:
                return base
        return None

    # -- tasks --------------------------------------------------------------------------
    def task_info(self, task: int) -> dict:
        """What a walk needs of a task: pid, comm, cpu, stack base, saved sp, mm and whether it
        was running on its CPU when the dump was taken.  ``thread.sp`` and ``mm`` lie far into
        the task_struct, on a page a dump may lack while it has the first (makedumpfile 1.7.8's
        -d 31 drops 7.1+'s slab tail pages): each one the dump lacks is None, and ``unreadable``
        maps its name to the fault.  The header's members and the stack base, on the first
        page, raise FaultError."""
        t = Object(self.prog, self.task_type, address=task)
        cpu = sched.task_cpu(t)
        info = {"task": task, "pid": int(t.pid), "comm": sched.task_comm(t), "cpu": cpu, "stack": int(t.stack),
                "active": self.active.get(cpu) == task, "unreadable": {}}
        for name, read in (("sp", lambda: int(t.thread.sp)), ("mm", lambda: int(t.mm))):
            try:
                info[name] = read()
            except FaultError as error:
                info[name] = None
                info["unreadable"]["thread.sp" if name == "sp" else name] = error
        return info
