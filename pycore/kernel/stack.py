"""Kernel stack traces of tasks as crash 9 prints them (``bt``, ``bt -a``, ``foreach bt``).

x86_64 kernels with CONFIG_UNWINDER_ORC (4.14+; tested on 6.1 and 6.12).  Follows
crash's low-budget back tracer: the starting point of an active task is searched on
its stacks (``machine_kexec``, ``crash_nmi_callback``, ``panic``, ...), a sleeping task
starts at ``inactive_task_frame.ret_addr``; the stack is then scanned for text
addresses, skipping each frame by the size ORC gives, with exception frames
(``pt_regs``) after ``asm_exc_*`` entries, the NMI exception stack and the user-mode
frame at the top of the stack.
"""
import re
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple

from ..arch import orc as orc_module
from ..errors import FaultError, PycoreError
from ..object import Object, list_for_each_entry
from .module import ModuleSymbols

THREAD_SIZE = 0x4000
IRQ_STACK_SIZE = 0x4000
PT_REGS_SIZE = orc_module.PT_REGS_SIZE
RAZ_MASK = 0xFFFFFFFFFFC08028
_MASK64 = 0xFFFFFFFFFFFFFFFF

EXCEPTION_FUNCTIONS = (
    "asm_exc_invalid_tss", "asm_exc_segment_not_present", "asm_exc_alignment_check",
    "asm_exc_general_protection", "asm_exc_page_fault", "asm_exc_divide_error", "asm_exc_overflow",
    "asm_exc_bounds", "asm_exc_invalid_op", "asm_exc_device_not_available",
    "asm_exc_coproc_segment_overrun", "asm_exc_spurious_interrupt_bug", "asm_exc_coprocessor_error",
    "asm_exc_simd_coprocessor_error", "asm_exc_debug", "xen_asm_exc_stack_segment",
    "xen_asm_exc_xen_hypervisor_callback", "xen_asm_exc_int3")
ESTACK_NAMES = (("DF_stack", "DOUBLEFAULT"), ("NMI_stack", "NMI"), ("DB_stack", "DEBUG"),
                ("MCE_stack", "MCE"), ("VC_stack", "VC"), ("VC2_stack", "VC2"))
_DUMP_SEARCH_STOPS = ("netconsole_netdump", "netpoll_start_netdump", "start_disk_dump", "disk_dump",
                      "crash_kexec", "machine_kexec", "try_crashdump")
_REG_ORDER = ("rip", "rsp", "eflags", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9",
              "r10", "r11", "r12", "r13", "r14", "r15", "orig_rax", "cs", "ss")


_ISRA_CLONE = re.compile(r"\.isra\.\d+$")


@dataclass
class StackFrame:
    """One line of a trace: a return address found at ``sp`` (crash's ``[sp]``).  ``regs``
    holds the exception frame printed after this line, if any."""

    level: int
    sp: int
    pc: int
    symbol: Optional[str]
    offset: int
    module: Optional[str] = None
    regs: Optional[Dict[str, int]] = None


@dataclass
class StackTrace:
    task: int
    pid: int
    comm: str
    cpu: int
    active: bool
    frames: List[StackFrame] = field(default_factory=list)
    lines: List[str] = field(default_factory=list)  # crash's text, frames and exception frames

    def signature(self, count: int = 5) -> List[str]:
        """The top function names, for grouping crashes."""
        return [frame.symbol or hex(frame.pc) for frame in self.frames[:count]]

    def header(self) -> str:
        return task_header(self.pid, self.task, self.cpu, self.comm)

    def to_dict(self) -> dict:
        return {"task": self.task, "pid": self.pid, "comm": self.comm, "cpu": self.cpu, "active": self.active,
                "frames": [{"level": f.level, "sp": f.sp, "pc": f.pc, "symbol": f.symbol, "offset": f.offset,
                            "module": f.module, "regs": f.regs} for f in self.frames]}


def task_header(pid: int, task: int, cpu: int, comm: str) -> str:
    return f'PID: {pid:<7}  TASK: {task:x}  CPU: {cpu:<3}  COMMAND: "{comm}"'


class _StackBuffer:
    def __init__(self, prog, base: int, size: int):
        self.base, self.top = base, base + size
        try:
            data = prog.read(base, size)
        except FaultError:
            data = bytearray(size)
            for page in range(0, size, 0x1000):
                try:
                    data[page:page + 0x1000] = prog.read(base + page, 0x1000)
                except FaultError:
                    pass
            data = bytes(data)
        self.words = memoryview(data).cast("Q")

    def __contains__(self, address: int) -> bool:
        return self.base <= address < self.top

    def word(self, address: int) -> int:
        return self.words[(address - self.base) // 8]


class Unwinder:
    """Per-dump state shared by all traces: symbols, ORC tables, stacks, active tasks."""

    def __init__(self, prog, vmlinux_orc: bool = False):
        self.prog = prog
        self.symbols = ModuleSymbols(prog)
        symbols = prog.symbols
        version = orc_module.layout_version(prog)
        if vmlinux_orc and getattr(prog, "vmlinux", None):
            offset = int(prog.vmcoreinfo.get("KERNELOFFSET", "0"), 16) if prog.vmcoreinfo else 0
            self.orc = orc_module.kernel_table_from_vmlinux(prog.vmlinux, offset, version)
        else:
            self.orc = orc_module.kernel_table_from_dump(prog, version)
        self.orc_version = version
        self._module_orc: Dict[int, Optional[orc_module.OrcTable]] = {}
        self.text = [(symbols.by_name("_stext").address, symbols.by_name("_etext").address)]
        try:
            self.text.append((symbols.by_name("_sinittext").address, symbols.by_name("_einittext").address))
            self.init = (symbols.by_name("__init_begin").address, symbols.by_name("__init_end").address)
        except LookupError:
            self.init = (0, 0)
        self.new_exceptions = "asm_exc_page_fault" in symbols
        self.task_type = prog.type("struct task_struct")
        self.cpus = {state.cpu: state.registers for state in prog.dump.cpus}
        self.qemu = any("cr3" in regs for regs in self.cpus.values())
        self.user_top = 1 << 56 if prog.arch.levels == 5 else 1 << 47
        self._lookup_cache: Dict[int, object] = {}
        self._read_cache: Dict[int, Optional[int]] = {}
        self.exception_stacks = self._exception_stacks()
        self.irq_stacks = self._irq_stacks()
        self.active = self._active_tasks()
        self.panic_task = self._panic_task()

    # -- symbols and text --------------------------------------------------------------
    def lookup(self, address: int):
        hit = self._lookup_cache.get(address, 0)
        if hit == 0:
            hit = self.symbols.lookup(address) if address >= 0xFFFF800000000000 else None
            if hit is None and address >= 0xFFFF800000000000:
                # A return address just past a function that ends in a noreturn call
                # (rest_init -> cpu_startup_entry) lies outside a sized ELF symbol;
                # it still belongs to that function, as kallsyms and crash say.
                before = self.symbols.lookup(address - 1)
                if before is not None:
                    hit = (before[0], before[1] + 1) + tuple(before[2:])
            self._lookup_cache[address] = hit
        return hit

    def name_of(self, address: int) -> Optional[str]:
        hit = self.lookup(address)
        return hit[0].name if hit else None

    def is_kernel_text(self, address: int) -> bool:
        if address < 0xFFFF800000000000:
            return False
        for start, end in self.text:
            if start <= address < end:
                return True
        module = self.symbols.module_of(address)
        return module is not None and module.in_text(address)

    def read_word(self, address: int) -> Optional[int]:
        if address in self._read_cache:
            return self._read_cache[address]
        try:
            value = int.from_bytes(self.prog.read(address, 8), "little")
        except (FaultError, PycoreError):
            value = None
        self._read_cache[address] = value
        return value

    def orc_find(self, address: int) -> Optional[orc_module.OrcEntry]:
        if self.orc.start <= address and address <= self.orc.end + 0x100000 and address < 0xFFFFFFFFC0000000:
            return self.orc.find(address)
        module = self.symbols.module_of(address)
        if module is None:
            return None
        table = self._module_orc.get(module.address, False)
        if table is False:
            table = None
            try:
                arch = module.object.arch
                count = int(arch.num_orcs)
                if count:
                    ip_base = int(arch.orc_unwind_ip)
                    table = orc_module.OrcTable(ip_base, self.prog.read(ip_base, 4 * count),
                                                self.prog.read(int(arch.orc_unwind), 6 * count),
                                                self.orc_version, module.name)
            except (PycoreError, LookupError, AttributeError):
                table = None
            self._module_orc[module.address] = table
        return table.find(address) if table is not None else None

    def function_called_by(self, address: int) -> Optional[str]:
        """The target of the direct ``call`` (e8) ending at ``address`` (a return address)."""
        try:
            code = self.prog.read(address - 5, 5)
        except (FaultError, PycoreError):
            return None
        if code[0] != 0xE8:
            return None
        target = (address + int.from_bytes(code[1:5], "little", signed=True)) & _MASK64
        name = self.name_of(target)
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
            return self.read_word(address + self.prog.per_cpu_offset(cpu))
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
        stacks = {}
        for cpu in self.cpus:
            pointer = self._per_cpu_word("hardirq_stack_ptr", cpu)
            if pointer is None:
                pointer = self._per_cpu_word("pcpu_hot", cpu, ("struct pcpu_hot", "hardirq_stack_ptr"))
            if pointer:
                top = (pointer + 8 + 0xFFF) & ~0xFFF
                stacks[cpu] = top - IRQ_STACK_SIZE
        return stacks

    def _active_tasks(self) -> Dict[int, int]:
        active = {}
        try:
            curr = self.prog.type("struct rq").offsetof("curr")
            runqueues = self.prog.symbols.by_name("runqueues").address
        except (PycoreError, LookupError):
            return active
        for cpu in self.cpus:
            task = self.read_word(runqueues + self.prog.per_cpu_offset(cpu) + curr)
            if task:
                active[cpu] = task
        return active

    def _panic_task(self) -> Optional[int]:
        try:
            cpu = int.from_bytes(self.prog.read(self.prog.symbols.by_name("panic_cpu").address, 4),
                                 "little", signed=True)
        except (PycoreError, LookupError):
            return None
        return self.active.get(cpu)

    def in_exception_stack(self, address: int) -> Optional[Tuple[str, int, int]]:
        for entries in self.exception_stacks.values():
            for label, start, size in entries:
                if start <= address < start + size:
                    return label, start, size
        return None

    def in_irq_stack(self, address: int) -> Optional[int]:
        for base in self.irq_stacks.values():
            if base <= address < base + IRQ_STACK_SIZE:
                return base
        return None

    # -- tasks --------------------------------------------------------------------------
    def task_info(self, task: int) -> dict:
        t = Object(self.prog, self.task_type, address=task)
        if self.task_type.has_member("cpu"):
            cpu = int(t.cpu)
        else:
            cpu = int(t.thread_info.cpu)
        return {"task": task, "pid": int(t.pid), "comm": t.comm.string_(16).decode("utf-8", "replace"),
                "cpu": cpu, "stack": int(t.stack), "sp": int(t.thread.sp), "mm": int(t.mm), "object": t}


def for_each_task(prog) -> Iterator[Object]:
    """Every task (threads included): ``init_task.tasks`` and each group's
    ``signal->thread_head`` (3.14+), the idle tasks of the other CPUs first."""
    try:
        from . import sched  # type: ignore  # written elsewhere; preferred when present
        if hasattr(sched, "for_each_task"):
            yield from sched.for_each_task(prog)
            return
    except ImportError:
        pass
    init = prog["init_task"]
    leaders = [init.address_of_()]
    leaders += list(list_for_each_entry("struct task_struct", init.tasks.address_of_(), "tasks"))
    for leader in leaders:
        try:
            threads = list(list_for_each_entry("struct task_struct", leader.signal.thread_head.address_of_(),
                                               "thread_node"))
        except (PycoreError, AttributeError):
            threads = []
        if not threads:
            threads = [leader]
        yield from threads


class _Walk:
    """One crash-style trace: lines of text plus structured frames."""

    def __init__(self, unwinder: Unwinder, info: dict):
        self.u = unwinder
        self.info = info
        self.lines: List[str] = []
        self.frames: List[StackFrame] = []
        self.level = 0
        self.check_caller = False
        self.no_check_caller = False
        self.call_target: Optional[str] = None
        self.eframe_ip = 0
        self.bp: Optional[int] = None
        self.stkptr = 0
        self.start_sp = 0

    # crash: x86_64_print_stack_entry
    def print_entry(self, buf: _StackBuffer, slot: int, text: int, start: bool = False,
                    exception_frame: bool = False, schedule: bool = False, save_eframe_ip: bool = False) -> str:
        if not save_eframe_ip:
            self.eframe_ip = 0
        hit = self.u.lookup(text)
        if hit is None:
            return "ignored"
        symbol, offset, module = hit
        # crash names a GCC "interprocedural SRA" clone by its source name (sigsuspend.isra.0
        # is printed as sigsuspend) but keeps .cold and .constprop.N, as the references show.
        name = _ISRA_CLONE.sub("", symbol.name)
        eframe_check = -1
        if not offset and not exception_frame and not start and not schedule:
            return "ignored"
        if offset and not (exception_frame or start or schedule):
            if self.u.new_exceptions and name in EXCEPTION_FUNCTIONS:
                eframe_check = 8
            if self.u.in_irq_stack(self.start_sp) is not None and "_interrupt" in name:
                eframe_check = 0
        if schedule:
            name = "schedule"
        result = "complete" if name in ("cpu_idle", "system_call_fastpath") else "displayed"
        sp = self.stkptr if (exception_frame or start) else slot
        line = f"{' ' if self.level < 10 else ''}#{self.level} [{sp:8x}] {name} at {text:x}"
        if module:
            line += f" [{module}]"
        self.lines.append(line)
        self.frames.append(StackFrame(self.level, sp, text, name, offset, module))
        if eframe_check >= 0 and slot + eframe_check + PT_REGS_SIZE <= buf.top:
            if self.exception_frame(buf, slot + eframe_check, verify=True):
                result = "eframe"
        self.call_target = name
        if self._direct_call_target():
            self.check_caller = True
        else:
            if self.check_caller:
                self.no_check_caller = True
            self.check_caller = False
        return result

    def _direct_call_target(self) -> bool:
        if not self.call_target or self.no_check_caller:
            return False
        if "schedule" in self.call_target and self.info["active"]:
            return False
        return self.call_target in ("schedule", "schedule_timeout")

    # crash: x86_64_exception_frame
    def read_regs(self, buf: _StackBuffer, address: int) -> Dict[str, int]:
        if address in buf and address + PT_REGS_SIZE <= buf.top:
            return {name: buf.word(address + offset) for name, offset in orc_module.PT_REGS_OFFSETS.items()}
        regs = {}
        for name, offset in orc_module.PT_REGS_OFFSETS.items():
            regs[name] = self.u.read_word(address + offset) or 0
        return regs

    def exception_frame(self, buf: _StackBuffer, address: int, verify: bool = False) -> Optional[int]:
        regs = self.read_regs(buf, address)
        if verify and not self.eframe_verify(regs, address):
            return None
        self.print_regs(regs)
        return regs["cs"]

    def print_regs(self, regs: Dict[str, int], notes_style: bool = False) -> None:
        cs = regs["cs"]
        if not cs & 3 and not notes_style:
            hit = self.u.lookup(regs["rip"])
            if hit:
                symbol, offset, _ = hit
                self.lines.append(f"    [exception RIP: {symbol.name}{'+' + str(offset) if offset else ''}]")
                self.eframe_ip = regs["rip"]
            else:
                self.lines.append("    [exception RIP: unknown or invalid address]")
        r = regs
        self.lines.append(f"    RIP: {r['rip']:016x}  RSP: {r['rsp']:016x}  RFLAGS: {r['eflags']:08x}")
        self.lines.append(f"    RAX: {r['rax']:016x}  RBX: {r['rbx']:016x}  RCX: {r['rcx']:016x}")
        self.lines.append(f"    RDX: {r['rdx']:016x}  RSI: {r['rsi']:016x}  RDI: {r['rdi']:016x}")
        self.lines.append(f"    RBP: {r['rbp']:016x}   R8: {r['r8']:016x}   R9: {r['r9']:016x}")
        self.lines.append(f"    R10: {r['r10']:016x}  R11: {r['r11']:016x}  R12: {r['r12']:016x}")
        self.lines.append(f"    R13: {r['r13']:016x}  R14: {r['r14']:016x}  R15: {r['r15']:016x}")
        if notes_style:
            self.lines.append(f"    CS: {cs:04x}  SS: {r['ss']:04x}")
        else:
            self.lines.append(f"    ORIG_RAX: {r['orig_rax']:016x}  CS: {cs:04x}  SS: {r['ss']:04x}")
        if self.frames:
            self.frames[-1].regs = dict(regs)

    def is_kvaddr(self, address: int) -> bool:
        return address >= 0xFF00000000000000

    def eframe_verify(self, regs: Dict[str, int], address: int) -> bool:
        cs, ss, rip, rsp, rflags = regs["cs"], regs["ss"], regs["rip"], regs["rsp"], regs["eflags"]
        if rflags & RAZ_MASK or not rflags & 0x2:
            return False
        kernel_text = self.u.is_kernel_text(rip)
        if cs == 0x10 and ss == 0x18:
            if kernel_text and self.is_kvaddr(rsp):
                return True
            if self.u.symbols.module_of(rip) and self.is_kvaddr(rsp) and rsp == address + PT_REGS_SIZE:
                return True
            if rip == 0 and self.call_target == "ret_from_fork":
                return True
        if cs == 0x10 and address and kernel_text and self.is_kvaddr(rsp):
            if rsp in (address + PT_REGS_SIZE, address + PT_REGS_SIZE + 8):
                return True
            if self.u.in_exception_stack(self.start_sp):
                return True
        if cs in (0x33, 0x23) and ss == 0x2B:
            return rip < self.u.user_top and rsp < self.u.user_top
        return False

    # crash: x86_64_get_framesize, with ORC
    def framesize(self, text: int, slot: int) -> int:
        hit = self.u.lookup(text)
        if hit is None:
            return 0
        start = hit[0].address
        if self.u.init[0] <= start < self.u.init[1]:
            return 0
        entry = self.u.orc_find(text)
        if entry is not None and entry.type == orc_module.ORC_TYPE_UNDEFINED and text < 0xFFFFFFFFC0000000:
            # crash disassembles the function here (push/sub %rsp counting); the last
            # defined entry before the hint region describes the same frame.
            entry = self.u.orc.find_defined_before(text, start) or entry
        if entry is not None and entry.type == orc_module.ORC_TYPE_UNDEFINED:
            return self._prologue_size(start)
        if entry is None or entry.type != orc_module.ORC_TYPE_CALL:
            return 0
        if entry.sp_reg == orc_module.ORC_REG_SP:
            previous_sp = slot + 8 + entry.sp_offset
        elif entry.sp_reg == orc_module.ORC_REG_BP:
            bp = self.bp if self.bp is not None else self._frame_pointer_guess(slot)
            if bp is None:
                return 0
            previous_sp = bp + entry.sp_offset
        else:
            return 0
        if entry.bp_reg == orc_module.ORC_REG_PREV_SP:
            self.bp = self.u.read_word(previous_sp + entry.bp_offset)
        elif entry.bp_reg != orc_module.ORC_REG_UNDEFINED:
            self.bp = None
        size = previous_sp - slot - 16
        return size if size >= 0 else 0

    def _prologue_size(self, start: int) -> int:
        """Bytes pushed and subtracted from %rsp by a function's prologue: crash's
        disassembly count where ORC has no answer (functions objtool skips, such as
        __crash_kexec).  Decodes only the instructions prologues use."""
        try:
            code = self.u.prog.read(start, 64)
        except (FaultError, PycoreError):
            return 0
        size, at = 0, 0
        skips = (bytes.fromhex("0f1f440000"), bytes.fromhex("660f1f440000"), bytes.fromhex("660f1f00"),
                 bytes.fromhex("0f1f00"), bytes.fromhex("0f1f4000"), bytes.fromhex("f30f1efa"),
                 bytes.fromhex("6690"), bytes.fromhex("90"), bytes.fromhex("4889e5"), bytes.fromhex("31c0"))
        while at < 56:
            for skip in skips:
                if code.startswith(skip, at):
                    at += len(skip)
                    break
            else:
                byte = code[at]
                if 0x50 <= byte <= 0x57:
                    size, at = size + 8, at + 1
                elif byte == 0x41 and 0x50 <= code[at + 1] <= 0x57:
                    size, at = size + 8, at + 2
                elif 0xB8 <= byte <= 0xBF:
                    at += 5
                elif code.startswith(b"\x48\x83\xec", at):
                    size, at = size + code[at + 3], at + 4
                elif code.startswith(b"\x48\x81\xec", at):
                    size, at = size + int.from_bytes(code[at + 3:at + 7], "little"), at + 7
                else:
                    break
        return size

    def _frame_pointer_guess(self, slot: int) -> Optional[int]:
        """Where a frame-pointer function's rbp points when the chain is not known (crash
        falls back to disassembly there): the first slot above the return address that
        holds a saved rbp further up the same stack, followed by a return address."""
        base = slot & ~(THREAD_SIZE - 1)
        top = base + THREAD_SIZE
        probe = slot + 8
        while probe + 8 < top:
            saved, ret = self.u.read_word(probe), self.u.read_word(probe + 8)
            if saved is not None and ret is not None and (saved == 0 or probe < saved < top) \
                    and self.u.is_kernel_text(ret):
                hit = self.u.lookup(ret)
                if hit and hit[1]:
                    return probe
            probe += 8
        return None

    # the scanning loop shared by every stack
    def scan(self, buf: _StackBuffer, rsp: int, stacktop: int, process: bool = False) -> Tuple[bool, int]:
        """Scan [rsp, stacktop); returns (done, last eframe address)."""
        last_eframe = 0
        while rsp < stacktop:
            text = buf.word(rsp)
            if not self.u.is_kernel_text(text):
                rsp += 8
                continue
            if process and self.check_caller:
                hit = self.u.lookup(text)
                if hit is None or not hit[1]:
                    rsp += 8
                    continue
                called = self.u.function_called_by(text)
                if called is None or called != self.call_target:
                    rsp += 8
                    continue
            result = self.print_entry(buf, rsp, text)
            if result == "eframe":
                last_eframe = rsp + 8
                rsp += PT_REGS_SIZE
                if not self.eframe_ip:
                    self.level += 1
                    rsp += 8
                    continue
                result = "displayed"
            if result == "displayed":
                self.level += 1
                rsp += self.framesize(self.eframe_ip or text, rsp)
            elif result == "complete":
                return True, last_eframe
            rsp += 8
        return False, last_eframe

    # crash: x86_64_get_dumpfile_stack_frame
    def dumpfile_start(self, process: _StackBuffer) -> Tuple[int, int, Optional[str]]:
        info, u = self.info, self.u
        panic_task = u.panic_task == info["task"]
        regs = u.cpus.get(info["cpu"])
        user_rip = user_rsp = 0
        if panic_task and regs:
            fake = dict(regs, eflags=regs.get("eflags", regs.get("rflags", 0)))
            if self.eframe_verify(fake, 0) and u.in_irq_stack(regs["rsp"]) is not None:
                user_rip, user_rsp = regs["rip"], regs["rsp"]
        elif regs:
            user_rip, user_rsp = regs["rip"], regs["rsp"]
        stacks: List[Tuple[_StackBuffer, int, bool]] = [(process, 0, False)]
        if not (panic_task and user_rip):
            base = u.irq_stacks.get(info["cpu"])
            if base:
                stacks.append((_StackBuffer(u.prog, base, IRQ_STACK_SIZE), 1, False))
            for label, start, size in u.exception_stacks.get(info["cpu"], []):
                stacks.append((_StackBuffer(u.prog, start, size), 2, label == "NMI"))
        else:
            stacks = stacks[1:]
        sysrq = notify_die = call_function = None
        crash_kexec = None
        for buf, stage, nmi in stacks:
            panic = None
            for index, value in enumerate(buf.words):
                slot = buf.base + 8 * index
                name = u.name_of(value) if value >= 0xFFFF800000000000 else None
                if name is None:
                    continue
                if name in _DUMP_SEARCH_STOPS:
                    if name == "crash_kexec":
                        if u.function_called_by(value) == "machine_kexec":
                            return value, slot, None
                        if crash_kexec is None:
                            crash_kexec = (value, slot)
                            continue
                    return value, slot, None
                if name == "panic":
                    panic = (value, slot)
                    continue
                if name == "die":
                    for later in buf.words[index + 1:]:
                        if u.name_of(later) == "sysrq_handle_crash":
                            break
                    else:
                        return value, slot, None
                if name == "sysrq_handle_crash":
                    sysrq = (value, slot)
                if not panic_task and stage > 0 and name in ("smp_call_function_interrupt", "stop_this_cpu"):
                    call_function = (value, slot)
                if not panic_task and name == "crash_nmi_callback":
                    return value, slot, None
                if not panic_task and nmi and name == "notify_die":
                    notify_die = (value, slot)
            if panic:
                return panic[0], panic[1], None
            if crash_kexec:
                return crash_kexec[0], crash_kexec[1], None
        for found in (sysrq, notify_die):
            if found:
                return found[0], found[1], None
        if user_rip and user_rsp:
            mode = None
            if u.is_kernel_text(user_rip) and (user_rsp in process or u.in_irq_stack(user_rsp) is not None
                                              or u.in_exception_stack(user_rsp)):
                mode = "kernel"
            elif not u.is_kernel_text(user_rip) and user_rsp < u.user_top:
                mode = "user"
            return user_rip, user_rsp, mode
        if call_function:
            return call_function[0], call_function[1], None
        return self.sleeping_start()

    def sleeping_start(self) -> Tuple[int, int, Optional[str]]:
        sp = self.info["sp"]
        frame = self.u.prog.type("struct inactive_task_frame")
        ret = frame.offsetof("ret_addr")
        self.bp = self.u.read_word(sp + frame.offsetof("bp"))
        rip = self.u.read_word(sp + ret) or 0
        if self.u.name_of(rip) in ("thread_return", "schedule", "__schedule"):
            return rip, sp + ret, None
        return rip, sp, None

    def notes_regs(self) -> Dict[str, int]:
        regs = dict(self.u.cpus.get(self.info["cpu"], {}))
        regs.setdefault("eflags", regs.get("rflags", 0))
        for name in _REG_ORDER:
            regs.setdefault(name, 0)
        return regs

    def run(self) -> None:
        info, u = self.info, self.u
        process = _StackBuffer(u.prog, info["stack"], THREAD_SIZE)
        if info["active"]:
            rip, rsp, mode = self.dumpfile_start(process)
        else:
            rip, rsp, mode = self.sleeping_start()
        self.stkptr = self.start_sp = rsp
        if mode == "user":
            self.lines.append("    [exception RIP: user space]")
            self.print_regs(self.notes_regs(), notes_style=u.qemu)
            return
        if mode == "kernel":
            hit = u.lookup(rip)
            where = f"{hit[0].name}{'+' + str(hit[1]) if hit[1] else ''}" if hit else "unknown or invalid address"
            self.lines.append(f"    [exception RIP: {where}]")
            self.print_regs(self.notes_regs(), notes_style=True)
        done = False
        left_alternate = False
        estack = u.in_exception_stack(rsp)
        while estack and not done:
            left_alternate = True
            label, start, size = estack
            buf = _StackBuffer(u.prog, start, size)
            stacktop = buf.top - PT_REGS_SIZE - (12 * 8 if label == "NMI" else 0)
            done, _ = self.scan(buf, rsp, stacktop)
            cs = self.exception_frame(buf, stacktop) or 0
            self.lines.append(f"--- <{label} exception stack> ---")
            up = buf.top - 5 * 8
            if label == "NMI" and self.start_sp <= buf.top - 17 * 8:
                up -= 12 * 8
            rsp = self.stkptr = buf.word(up + 24)
            rip = buf.word(up)
            done = bool(cs & 3)
            if not done:
                self.print_entry(buf, 0, rip, start=True, save_eframe_ip=True)
                self.level += 1
                rsp += self.framesize(rip, rsp)
            estack = u.in_exception_stack(rsp) if not done else None
            if estack and estack[1] == start:
                break
        if not done and u.in_irq_stack(rsp) is not None:
            left_alternate = True
            base = u.in_irq_stack(rsp)
            buf = _StackBuffer(u.prog, base, IRQ_STACK_SIZE)
            done, _ = self.scan(buf, rsp, buf.top - 64)
            self.lines.append("--- <IRQ stack> ---")
            rsp = self.stkptr = buf.word(buf.top - 8)
        if done:
            return
        if rsp not in process:
            return
        last_eframe = 0
        if not left_alternate and info["active"] is False or (not info["active"]):
            pass
        done, last_eframe = self.scan(process, rsp, process.top, process=True)
        if info["mm"] and info["pid"] != 0:
            user_eframe = process.top - PT_REGS_SIZE
            if last_eframe < user_eframe:
                self.exception_frame(process, user_eframe)


def _task_infos(unwinder: Unwinder, tasks: List[int]) -> List[dict]:
    infos = []
    active = {task: cpu for cpu, task in unwinder.active.items()}
    for task in tasks:
        info = unwinder.task_info(task)
        info["active"] = task in active and active[task] == info["cpu"]
        infos.append(info)
    return infos


def stack_trace(prog, task, unwinder: Optional[Unwinder] = None, vmlinux_orc: bool = False) -> StackTrace:
    """The kernel stack trace of ``task`` (a task_struct address or Object) as crash's ``bt``
    shows it; ``frames`` carry pc, stack slot, symbol, offset, module and the
    exception frame registers that follow a frame."""
    unwinder = unwinder or Unwinder(prog, vmlinux_orc=vmlinux_orc)
    info = _task_infos(unwinder, [int(task)])[0]
    walk = _Walk(unwinder, info)
    walk.run()
    trace = StackTrace(info["task"], info["pid"], info["comm"], info["cpu"], info["active"], walk.frames, walk.lines)
    return trace


def active_traces(prog, unwinder: Optional[Unwinder] = None, vmlinux_orc: bool = False) -> List[StackTrace]:
    """``bt -a``: the task running on each CPU, in CPU order."""
    unwinder = unwinder or Unwinder(prog, vmlinux_orc=vmlinux_orc)
    return [stack_trace(prog, unwinder.active[cpu], unwinder) for cpu in sorted(unwinder.active)]


def all_traces(prog, unwinder: Optional[Unwinder] = None, vmlinux_orc: bool = False) -> List[StackTrace]:
    """``foreach bt``: every task, in crash's order (by PID, then CPU for the idle tasks)."""
    unwinder = unwinder or Unwinder(prog, vmlinux_orc=vmlinux_orc)
    tasks = [int(t) for t in for_each_task(prog)]
    for cpu, task in unwinder.active.items():
        if task not in tasks:
            tasks.append(task)
    # The idle tasks of the other CPUs are not on any list: rq->idle.
    try:
        idle = prog.type("struct rq").offsetof("idle")
        runqueues = prog.symbols.by_name("runqueues").address
        for cpu in unwinder.cpus:
            task = unwinder.read_word(runqueues + prog.per_cpu_offset(cpu) + idle)
            if task and task not in tasks:
                tasks.append(task)
    except (PycoreError, LookupError):
        pass
    traces = [stack_trace(prog, task, unwinder) for task in tasks]
    traces.sort(key=lambda t: (t.pid, t.cpu, t.task))
    return traces


def render(traces: List[StackTrace]) -> str:
    """crash's text: each task's header and trace, tasks separated by a blank line."""
    blocks = ["\n".join([trace.header()] + trace.lines) for trace in traces]
    return "\n\n".join(blocks) + ("\n" if blocks else "")
