"""crash 9's x86_64 back tracer (x86_64_low_budget_back_trace_cmd and friends), one task at a time.

x86_64 kernels with CONFIG_UNWINDER_ORC (4.14+; tested on 5.10, 6.1, 6.12 and 7.2).  The starting
point of an active task is searched on its stacks (``machine_kexec``, ``crash_nmi_callback``,
``panic``, ...), a sleeping task starts at ``inactive_task_frame.ret_addr``; the stack is then
scanned for text addresses, skipping each frame by the size ORC gives (or, where it gives none,
crash's count of the function's pushes and %rsp arithmetic), with exception frames (``pt_regs``)
after ``asm_exc_*`` entries (5.8+; ``new_exceptions``), the NMI exception stack and the user-mode
frame at the top of the stack (below the FRED padding, 6.9+).  What stops or thins a walk is said
in the trace (:class:`.stack.UnwindError`), never left out.
"""
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from ..arch import orc
from ..symbols.table import crash_name
from .unwind import IRQ_STACK_SIZE, KERNEL_SPACE, THREAD_SIZE, StackBuffer, Unwinder

if TYPE_CHECKING:  # pragma: no cover
    from .stack import StackTrace

PT_REGS_SIZE = orc.PT_REGS_SIZE
# Bits of RFLAGS that read as zero (crash's eframe check).
RAZ_MASK = 0xFFFFFFFFFFC08028

EXCEPTION_FUNCTIONS = (
    "asm_exc_invalid_tss", "asm_exc_segment_not_present", "asm_exc_alignment_check",
    "asm_exc_general_protection", "asm_exc_page_fault", "asm_exc_divide_error", "asm_exc_overflow",
    "asm_exc_bounds", "asm_exc_invalid_op", "asm_exc_device_not_available",
    "asm_exc_coproc_segment_overrun", "asm_exc_spurious_interrupt_bug", "asm_exc_coprocessor_error",
    "asm_exc_simd_coprocessor_error", "asm_exc_debug", "xen_asm_exc_stack_segment",
    "xen_asm_exc_xen_hypervisor_callback", "xen_asm_exc_int3")
# The frames a task's kernel stack starts with, where crash's walk ends: a kernel thread's
# ret_from_fork (ret_from_fork_asm, 6.8+), an idle task's startup code (common_startup_64, 6.9+)
# and a system call's entry (its user-mode registers follow); cpu_idle and system_call_fastpath
# end crash's walk on kernels before 3.x.  A trace that ends elsewhere stopped early.
ENTRY_FRAMES = frozenset((
    "ret_from_fork", "ret_from_fork_asm", "common_startup_64", "secondary_startup_64",
    "secondary_startup_64_no_verify", "x86_64_start_kernel", "entry_SYSCALL_64",
    "entry_SYSCALL_64_after_hwframe", "cpu_idle", "system_call_fastpath"))
_DUMP_SEARCH_STOPS = ("netconsole_netdump", "netpoll_start_netdump", "start_disk_dump", "disk_dump",
                      "crash_kexec", "machine_kexec", "try_crashdump")
# What a trace holds for a task without a kernel stack (task_struct.stack 0: from 4.9,
# CONFIG_THREAD_INFO_IN_TASK, an exited task's stack is freed at its last switch, so a zombie has
# none): crash's back_trace() prints "(no stack)" for it, pycore/cli/bt.py the same.
NO_STACK = "no kernel stack: task_struct.stack is 0 (freed when the task exited)"
_REG_ORDER = ("rip", "rsp", "eflags", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9",
              "r10", "r11", "r12", "r13", "r14", "r15", "orig_rax", "cs", "ss")
def walk(unwinder: Unwinder, info: dict, trace: "StackTrace") -> None:
    """Walk the stacks of the task ``info`` describes (:meth:`Unwinder.task_info`) as crash's
    ``bt`` does, appending frames, exception frames and stack switches to ``trace``."""
    _Walk(unwinder, info, trace).run()


class _Walk:
    """crash's walk of one task's stacks, appending what it finds to ``trace``."""

    def __init__(self, unwinder: Unwinder, info: dict, trace: "StackTrace"):
        self.u = unwinder
        self.info = info
        self.trace = trace
        self.level = 0
        self.call_target: Optional[str] = None
        self.eframe_ip = 0
        # crash's bt->bptr: the frame pointer while it is known, else 0.
        self.bp = 0
        self.stkptr = 0
        # crash's bt->frameptr: the slot after the last frame shown, where -f's data starts.
        self.frameptr = 0
        self.start_sp = 0

    # crash: x86_64_print_stack_entry
    def record_entry(self, buf: StackBuffer, slot: int, text: int, start: bool = False,
                    exception_frame: bool = False, schedule: bool = False, save_eframe_ip: bool = False) -> str:
        if not save_eframe_ip:
            self.eframe_ip = 0
        hit = self.u.lookup(text)
        if hit is None:
            return "ignored"
        if not hit[1] and not exception_frame and not start and not schedule:
            # crash drops every text address at a symbol's first byte (a function pointer, not
            # a return address) and with it the return address of a call that ends its function
            # (watchdog.cold -> panic on 6.12).  Where that call reaches the frame just shown,
            # the slot is the caller's return address: kept, and named as the kernel names it
            # (%pB), for crash's name is the next symbol, a function that never ran there.
            # A pointer to a function that follows such a call (kthread after 6.1's
            # kthread_complete_and_exit -> kthread_exit) calls no frame shown and stays dropped.
            target = self.u.call_ending_function(text)
            if target is None or self.call_target is None or crash_name(self.u.name_of(target)) != self.call_target:
                return "ignored"
            hit = self.u.lookup_return(text)
        symbol, offset, module = hit
        name = crash_name(symbol.name)
        eframe_check = -1
        if offset and not (exception_frame or start or schedule):
            if self.u.new_exceptions and name in EXCEPTION_FUNCTIONS:
                eframe_check = 8
            if self.u.in_irq_stack(self.start_sp) is not None and "_interrupt" in name:
                eframe_check = 0
        if schedule:
            name = "schedule"
        result = "complete" if name in ("cpu_idle", "system_call_fastpath") else "displayed"
        sp = self.stkptr if (exception_frame or start) else slot
        data = []
        if self.frameptr and self.frameptr <= sp and sp in buf and self.frameptr in buf:
            data = [(address, buf.word(address)) for address in range(self.frameptr, sp + 8, 8)]
        self.frameptr = sp + 8
        self.trace.add_frame(self.level, sp, text, name, offset, module, data)
        if eframe_check >= 0 and slot + eframe_check + PT_REGS_SIZE <= buf.top:
            if self.exception_frame(buf, slot + eframe_check, verify=True):
                result = "eframe"
        self.call_target = name
        return result

    # crash: x86_64_exception_frame
    def read_regs(self, buf: StackBuffer, address: int) -> Dict[str, int]:
        if address in buf and address + PT_REGS_SIZE <= buf.top:
            return {name: buf.word(address + offset) for name, offset in orc.PT_REGS_OFFSETS.items()}
        regs = {}
        for name, offset in orc.PT_REGS_OFFSETS.items():
            regs[name] = self.u.read_word(address + offset) or 0
        return regs

    def exception_frame(self, buf: StackBuffer, address: int, verify: bool = False) -> Optional[int]:
        regs = self.read_regs(buf, address)
        # crash takes the frame pointer from every pt_regs it reads, verified or not (ORC kernels).
        self.bp = regs["rbp"]
        if verify and not self.eframe_verify(regs, address):
            return None
        self.add_regs(regs)
        return regs["cs"]

    def add_regs(self, regs: Dict[str, int]) -> None:
        """A pt_regs: crash names the kernel function RIP is in, and unwinds on from there."""
        where = symbol = None
        offset = 0
        if not regs["cs"] & 3:
            where = "kernel"
            hit = self.u.lookup(regs["rip"])
            if hit:
                symbol, offset = hit[0].name, hit[1]
                self.eframe_ip = regs["rip"]
        self.trace.add_exception_frame(regs, where, symbol, offset)

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
    def framesize(self, text: int, slot: int, buf: Optional[StackBuffer] = None,
                  signal: Optional[bool] = None) -> int:
        """Bytes from the slot after the return address ``text`` (found at ``slot``) to its
        caller's return-address slot, as crash finds them: an ORC CALL entry based on SP, or on
        BP when the frame pointer is known and gives a size >= 0; otherwise the count of what
        the function's instructions do to %rsp (:func:`x86_64_decode.stack_effect_before`).
        ``buf`` is the process stack being scanned: only there does crash follow the saved
        %rbp an entry points at (the frame pointer is forgotten on the other stacks).
        ``signal`` says ``text`` is an interrupted RIP (default: the last exception frame's),
        whose function and ORC entry are those of ``text`` itself; a return address's are
        those of ``text - 1``, as the kernel's unwinder looks them up (crash looks up ``text``,
        which differs only after a call that ends its function)."""
        if signal is None:
            signal = self.eframe_ip == text
        hit = self.u.lookup(text) if signal else self.u.lookup_return(text)
        if hit is None:
            return 0
        start = hit[0].address
        if self.u.init[0] <= start < self.u.init[1]:
            return 0
        entry = self.u.orc_find(text if signal else text - 1)
        if entry is not None and entry.type == orc.ORC_TYPE_CALL:
            size, prev_sp = orc.crash_framesize(entry), 0
            if size is not None:
                prev_sp = slot + 8 + entry.sp_offset
            elif entry.sp_reg == orc.ORC_REG_BP and self.bp:
                prev_sp = self.bp + entry.sp_offset
                size = prev_sp - slot - 16
            if entry.bp_reg == orc.ORC_REG_PREV_SP and prev_sp:
                prev_bp = prev_sp + entry.bp_offset
                self.bp = buf.word(prev_bp) if buf is not None and prev_bp in buf else 0
            elif entry.bp_reg != orc.ORC_REG_UNDEFINED:
                self.bp = 0
            if size is not None and size >= 0:
                return size
        return self.u.counted_framesize(start, text, signal)

    # the scanning loop shared by every stack
    def scan(self, buf: StackBuffer, rsp: int, stacktop: int, process: bool = False) -> Tuple[bool, int]:
        """Scan [rsp, stacktop); returns (done, last eframe address).  crash's check that the
        caller of schedule or schedule_timeout calls it directly (BT_CHECK_CALLER) is never
        enabled by crash 9 on these kernels (``set debug 2`` shows no "enable BT_CHECK_CALLER"
        line), and it would drop a caller that reaches them through a function pointer
        (__wait_for_common -> schedule_timeout on 6.1): every text address is a candidate."""
        last_eframe = 0
        while rsp < stacktop:
            text = buf.word(rsp)
            if not self.u.is_kernel_text(text):
                rsp += 8
                continue
            result = self.record_entry(buf, rsp, text)
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
                rsp += self.framesize(self.eframe_ip or text, rsp, buf if process else None)
            elif result == "complete":
                return True, last_eframe
            rsp += 8
        return False, last_eframe

    def irq_eframe_link(self, process: StackBuffer, saved_sp: int) -> int:
        """The pt_regs an interrupt's entry code saved on the process stack, found from the stack
        pointer the switch to the IRQ stack saved (inside the handler's frame, below them): the
        first slot above it that holds verified registers and follows a return address into
        the entry code.  0 when none is found within a page."""
        for address in range(saved_sp + 8, min(saved_sp + 0x1000, process.top - PT_REGS_SIZE + 8), 8):
            name = self.u.name_of(process.word(address - 8)) or ""
            if name.startswith("asm_") and self.eframe_verify(self.read_regs(process, address), address):
                return address
        return 0

    # crash: search_for_eframe_target_caller
    def eframe_target_size(self, process: StackBuffer, sp: int) -> Optional[int]:
        """Bytes from ``sp`` to the return address of the call into the function the exception
        frame's RIP is in, or None when no such call is on the stack."""
        target = self.u.name_of(self.eframe_ip)
        for slot in range(sp, process.top, 8):
            text = process.word(slot)
            if not self.u.is_kernel_text(text):
                continue
            hit = self.u.lookup(text)
            if hit is not None and hit[1] and self.u.function_called_by(text) == target:
                return slot - sp
        return None

    # crash: x86_64_get_dumpfile_stack_frame
    def dumpfile_start(self, process: StackBuffer) -> Tuple[int, int, Optional[str]]:
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
        # The panic task's registers on its IRQ stack (a panic in an interrupt handler: 6.1's
        # watchdog_timer_fn) send crash past the process stack, to the IRQ and exception stacks.
        stacks: List[Tuple[StackBuffer, int, bool]] = [] if panic_task and user_rip else [(process, 0, False)]
        base = u.irq_stacks.get(info["cpu"])
        if base:
            stacks.append((StackBuffer(u.prog, base, IRQ_STACK_SIZE), 1, False))
        for label, start, size in u.exception_stacks.get(info["cpu"], []):
            stacks.append((StackBuffer(u.prog, start, size), 2, label == "NMI"))
        sysrq = notify_die = call_function = None
        crash_kexec = None
        for buf, stage, nmi in stacks:
            panic = None
            for index, value in enumerate(buf.words):
                slot = buf.base + 8 * index
                name = u.name_of(value) if value >= KERNEL_SPACE else None
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
        """Where a blocked task's walk starts: the frame ``thread.sp`` points at.  A running task
        whose note's registers do not place it comes here too; without ``thread.sp`` (a page a
        filtered dump dropped) the fault reading it is raised: there is no frame to start from."""
        sp = self.info["sp"]
        if sp is None:
            raise self.info["unreadable"]["thread.sp"]
        frame = self.u.prog.type("struct inactive_task_frame")
        ret = frame.offsetof("ret_addr")
        self.bp = self.u.read_word(sp + frame.offsetof("bp")) or 0
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

    def note_missing(self, buf: StackBuffer, what: str) -> bool:
        """Say which pages of a stack the dump lacks (their return addresses cannot be shown);
        False when it lacks them all, and the stack cannot be walked."""
        if len(buf.missing) * 0x1000 >= buf.top - buf.base:
            self.trace.add_error(f"read of {what} at {buf.base:x} failed: not in the dump")
            return False
        if buf.missing:
            pages = ", ".join(f"{page:x}" for page in buf.missing)
            self.trace.add_error(f"{what} pages not in the dump, read as zeros: {pages}")
        return True

    def run(self) -> None:
        info, u = self.info, self.u
        if not info["stack"]:
            self.trace.add_error(NO_STACK)
            return
        process = StackBuffer(u.prog, info["stack"], THREAD_SIZE)
        if not self.note_missing(process, "process stack"):
            return
        if info["active"]:
            rip, rsp, mode = self.dumpfile_start(process)
        else:
            rip, rsp, mode = self.sleeping_start()
        self.stkptr = self.start_sp = rsp
        if mode == "user":
            self.trace.add_exception_frame(self.notes_regs(), "user", notes=u.qemu)
            return
        if mode == "kernel":
            hit = u.lookup(rip)
            self.trace.add_exception_frame(self.notes_regs(), "kernel", hit[0].name if hit else None,
                                           hit[1] if hit else 0, notes=True)
        done = False
        estack = u.in_exception_stack(rsp)
        while estack and not done:
            label, start, size = estack
            buf = StackBuffer(u.prog, start, size)
            self.note_missing(buf, f"{label} exception stack")
            stacktop = buf.top - PT_REGS_SIZE - (12 * 8 if label == "NMI" else 0)
            done, _ = self.scan(buf, rsp, stacktop)
            cs = self.exception_frame(buf, stacktop) or 0
            self.trace.add_stack_switch(f"{label} exception")
            self.frameptr = 0
            up = buf.top - 5 * 8
            if label == "NMI" and self.start_sp <= buf.top - 17 * 8:
                up -= 12 * 8
            rsp = self.stkptr = buf.word(up + 24)
            rip = buf.word(up)
            done = bool(cs & 3)
            if not done:
                self.record_entry(buf, 0, rip, start=True, save_eframe_ip=True)
                self.level += 1
                rsp += self.framesize(rip, rsp, signal=True)
            estack = u.in_exception_stack(rsp) if not done else None
            if estack and estack[1] == start:
                break
        irq_eframe = 0
        if not done and u.in_irq_stack(rsp) is not None:
            base = u.in_irq_stack(rsp)
            buf = StackBuffer(u.prog, base, IRQ_STACK_SIZE)
            self.note_missing(buf, "IRQ stack")
            # The top of the IRQ stack holds the process stack pointer the switch saved (5.2+:
            # hardirq_stack_ptr is the top - 8) and, below it, the return address into the
            # code that switched (sysvec_*), the last frame of the IRQ stack.
            done, _ = self.scan(buf, rsp, buf.top - 8)
            self.trace.add_stack_switch("IRQ")
            self.frameptr = 0
            rsp = self.stkptr = buf.word(buf.top - 8)
            if u.name_of(buf.word(buf.top - 16)) not in ("do_softirq_own_stack", "call_softirq"):
                irq_eframe = self.irq_eframe_link(process, rsp)
        if done:
            return
        if rsp not in process:
            self.trace.add_error(f"cannot transition to the process stack: stack pointer {rsp:x}, "
                                 f"process stack at {process.base:x}")
            return
        if irq_eframe:
            # crash: the interrupt's entry code (asm_sysvec_*, asm_common_interrupt, 5.8+) with the
            # registers it saved, then on from the caller of the interrupted function.
            self.stkptr = irq_eframe
            self.record_entry(process, irq_eframe - 8, process.word(irq_eframe - 8), exception_frame=True)
            if (self.exception_frame(process, irq_eframe) or 0) & 3:
                return
            rsp = irq_eframe + PT_REGS_SIZE
            if self.eframe_ip:
                size = self.eframe_target_size(process, rsp)
                rsp += size if size is not None else self.framesize(self.eframe_ip, rsp)
            self.level += 1
        done, last_eframe = self.scan(process, rsp, process.top, process=True)
        if info["mm"] and info["pid"] != 0:
            user_eframe = process.top - u.stack_padding - PT_REGS_SIZE
            if last_eframe < user_eframe:
                self.exception_frame(process, user_eframe)
