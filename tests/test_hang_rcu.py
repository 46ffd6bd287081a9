"""pycore hang on RCU stalls and spinlocks: the queued spinlock word, the lock a caller's code took,
the holder inferred from the CPUs' stacks, a stall report's frames split by CPU, and a synchronize_rcu
waiter's chain ending at the stalled CPU, the signature and summary a stall leads, on made-up data; and
on the corpus's RCU stall cases, 6.1 and 7.2 (testdata/corpus/modules/pycore_stall.c), the stalled CPU,
its loop, the grace period, the spinlock the other CPU spins for and its holder, and triage's signature
as pycore hang's, checked against the guest's own listing of its blocked tasks and crash's ps, bt -a,
foreach bt, sym, rd and p (crash 9.0.2 runs --no_modules on 7.2: there the kernel's own stall report and
the guest's listing name the module's functions).  The corpus tests skip where the case is not built."""
import json
import re
import struct

import pytest

from pycore.analysis import hang
from pycore.errors import MissingDebugInfoError
from pycore.kernel import rcu, spinlock
from pycore.kernel.stack import StackTrace
from pycore.object import Object
from pycore.types.model import Member, int_type, pointer_type, struct_type

from conftest import is_subsequence
from corpus import cases, cli_output
from fake_program import BASE, FakeProgram
from test_hang import crash_frames, crash_ps, guest_blocked, hang_report, params, ring
from test_hang_locks import crash_knows_modules

# -- made-up data -----------------------------------------------------------------------------


def test_the_qspinlock_word_gives_the_locked_byte_pending_and_the_queue_tail():
    prog = FakeProgram()
    # locked, pending, tail: CPU 5 (stored + 1) at nesting index 0.
    prog.put(BASE, 1 | 1 << 8 | 6 << 18)
    state = spinlock.qspinlock_state(prog, BASE)
    assert (state.held, state.locked, state.pending, state.tail_cpu) == (True, 1, True, 5)
    prog.put(BASE, 0)
    assert not spinlock.qspinlock_state(prog, BASE).held
    assert spinlock.qspinlock_state(prog, BASE).tail_cpu is None


def test_rcu_seq_counters_tell_a_running_grace_period_and_count_them():
    # The kernel starts gp_seq 300 grace periods below zero; -607 is 0x...fda1: phase 1, running.
    seq = -607 & (1 << 64) - 1
    assert rcu.rcu_seq_in_progress(seq) and not rcu.rcu_seq_in_progress(seq - 1)
    assert rcu.rcu_seq_number((seq + 3) - (seq - 1)) == 1


def test_a_kernel_without_tree_rcus_state_is_missing_debug_info_not_a_guess():
    with pytest.raises(MissingDebugInfoError, match="rcu_state"):
        rcu.grace_period(FakeProgram())


def test_the_readers_a_grace_period_waits_for_run_from_gp_tasks_to_the_lists_end():
    prog = FakeProgram()
    types = prog.types.types
    list_head = types[("struct", "list_head")]
    types[("struct", "task_struct")] = struct_type("task_struct", 32, [
        Member("__state", int_type("unsigned int", 4, False), 0), Member("rcu_node_entry", list_head, 128)])
    types[("struct", "rcu_node")] = struct_type("rcu_node", 24, [
        Member("blkd_tasks", list_head, 0), Member("gp_tasks", pointer_type(list_head), 128)])
    node, tasks = BASE + 0x100, [BASE + 0x1000, BASE + 0x2000, BASE + 0x3000]
    # Preempted readers queue at the head; those from gp_tasks on began before the grace period.
    ring(prog, node, [task + 16 for task in tasks])
    prog.put(node + 16, tasks[1] + 16)
    problems = []
    assert rcu._blocking_tasks(prog, Object(prog, "struct rcu_node *", node), problems) == tasks[1:]
    assert problems == []
    prog.put(tasks[2] + 16, 0)
    assert rcu._blocking_tasks(prog, Object(prog, "struct rcu_node *", node), problems) == tasks[1:]
    assert problems == [f"the blkd_tasks list of rcu_node {node:#x} does not come back to its head"]
    prog.put(node + 16, 0)
    assert rcu._blocking_tasks(prog, Object(prog, "struct rcu_node *", node), problems) == []


@pytest.mark.parametrize("word,lock,problem", [
    (None, None, "cannot be read"),
    (0, None, "is no held spinlock (word 0x0)"),
    (1, BASE + 0x40, None),
])
def test_the_slow_paths_rdi_is_the_lock_only_when_it_reads_as_a_held_one(word, lock, problem):
    prog = FakeProgram()
    address = BASE + 0x40 if word is not None else BASE - 0x1000
    if word is not None:
        prog.put(address, word)
    trace = StackTrace(0x9000, 9, "waiter", 1, True)
    trace.add_exception_frame({"rip": 1, "rdi": address}, "kernel", "native_queued_spin_lock_slowpath", 0x30)
    trace.add_frame(0, 0x100, 2, "_raw_spin_lock", 0x25, None)
    wait = spinlock.spin_wait(prog, 1, trace)
    assert (wait.cpu, wait.task, wait.function, wait.lock) == (1, 0x9000, "native_queued_spin_lock_slowpath", lock)
    assert (problem is None and wait.problem is None) or problem in wait.problem
    # Registers elsewhere: no spin.
    busy = StackTrace(0x9000, 9, "busy", 1, True)
    busy.add_exception_frame({"rip": 1, "rdi": address}, "kernel", "hold_loop", 9)
    assert spinlock.spin_wait(prog, 1, busy) is None


class Names:
    """An unwinder stand-in that names addresses."""

    def __init__(self, names):
        self.names = names

    def name_of(self, address):
        return self.names.get(address)


CODE, LOCK, TAKE, DROP, OTHER = BASE + 0x100, BASE + 0x40, BASE + 0x800, BASE + 0x880, BASE + 0x900


def put_code(prog, instructions):
    """Machine code from CODE on: ("lea", target) is lea target(%rip),%rdi; ("call", target)."""
    address = CODE
    for name, target in instructions:
        if name == "lea":
            code = b"\x48\x8d\x3d" + struct.pack("<i", target - (address + 7))
        else:
            code = b"\xe8" + struct.pack("<i", target - (address + 5))
        prog.memory[address - BASE:address - BASE + len(code)] = code
        address += len(code)
    return address


@pytest.mark.parametrize("calls,taken", [
    ([("lea", LOCK), ("call", TAKE), ("call", OTHER)], "holder+0x7"),
    # Unlocked again before the call the frame is in: not held.
    ([("lea", LOCK), ("call", TAKE), ("lea", LOCK), ("call", DROP), ("call", OTHER)], None),
    # Another lock taken: not this one.
    ([("lea", LOCK + 8), ("call", TAKE), ("call", OTHER)], None),
    # Still in the call that takes it (a waiter's frame): not held.
    ([("lea", LOCK), ("call", TAKE)], None),
])
def test_the_holder_is_the_cpu_whose_code_took_the_lock_and_has_not_dropped_it(calls, taken):
    prog = FakeProgram()
    end = put_code(prog, calls)
    unwinder = Names({TAKE: "_raw_spin_lock", DROP: "_raw_spin_unlock", OTHER: "wait_for_it.constprop.0"})
    holder = StackTrace(0x9000, 9, "holder", 0, True)
    holder.add_frame(0, 0x100, end, "holder", end - CODE, None)
    idle = StackTrace(0x8000, 0, "swapper/2", 2, True)
    waiter = StackTrace(0x7000, 7, "waiter", 1, True)
    running = [(0, holder, False), (1, waiter, False), (2, idle, True)]
    found = spinlock.probable_holder(prog, unwinder, LOCK, running, spinning=[1])
    if taken is None:
        # Nothing took it: the one busy CPU that does not spin for it, and only as a guess.
        assert (found.cpu, found.evidence, found.where) == (0, "only", None)
    else:
        assert (found.cpu, found.task, found.evidence, found.where) == (0, 0x9000, "code", taken)


def test_a_debug_spinlocks_owner_field_names_the_holder_outright():
    prog = FakeProgram()
    uint = int_type("unsigned int", 4, False)
    prog.types.types[("struct", "raw_spinlock")] = struct_type("raw_spinlock", 24, [
        Member("raw_lock", uint, 0), Member("magic", uint, 32), Member("owner_cpu", uint, 64),
        Member("owner", pointer_type(prog.types.types[("struct", "task_struct")]), 128)])
    prog.put(LOCK, 1 | spinlock.SPINLOCK_MAGIC << 32, 0, 0x9001)
    traces = [(cpu, StackTrace(0x9000 + cpu, 9 + cpu, "busy", cpu, True), False) for cpu in range(3)]
    found = spinlock.probable_holder(prog, Names({}), LOCK, traces, spinning=[0])
    assert (found.cpu, found.task, found.evidence) == (1, 0x9001, "owner")
    # Free (SPINLOCK_OWNER_INIT) or no spinlock's magic: no owner, and no guess among three CPUs.
    for magic, owner in ((spinlock.SPINLOCK_MAGIC, (1 << 64) - 1), (0, 0x9001)):
        prog.put(LOCK, 1 | magic << 32, 0, owner)
        assert spinlock.probable_holder(prog, Names({}), LOCK, traces, spinning=[0]) is None


def test_two_busy_cpus_and_no_evidence_name_no_holder():
    prog = FakeProgram()
    traces = [(cpu, StackTrace(0x9000 + cpu, 9 + cpu, "busy", cpu, True), False) for cpu in range(3)]
    assert spinlock.probable_holder(prog, Names({}), LOCK, traces, spinning=[2]) is None
    # Its address in a frame's stack words: the holder, by the stack.
    traces[1][1].add_frame(0, 0x100, 1, "f", 1, None)
    traces[1][1].frames[0].data = [(0x100, LOCK)]
    found = spinlock.probable_holder(prog, Names({}), LOCK, traces, spinning=[2])
    assert (found.cpu, found.evidence) == (1, "stack")


STALL_REPORT = """\
rcu: INFO: rcu_preempt self-detected stall on CPU
rcu: \t0-...!: (2149 ticks this GP) idle=7a74/1/0x4000000000000000 softirq=280/280 fqs=350
rcu: RCU grace-period kthread stack dump:
task:rcu_preempt     state:R  running task     stack:0     pid:15    ppid:2      flags:0x00004000
Call Trace:
 __schedule+0x34d/0xa00
 rcu_gp_kthread+0xd8/0x1b0
NMI backtrace for cpu 1
CPU: 1 PID: 135 Comm: waiter Kdump: loaded Tainted: G           OE      6.1.0-56-cloud-amd64 #1
RIP: 0010:native_queued_spin_lock_slowpath+0x30/0x2a0
Call Trace:
 _raw_spin_lock+0x25/0x30
 waiter_thread+0x11/0x30 [mod]
CPU: 0 PID: 122 Comm: holder Kdump: loaded Tainted: G           OE      6.1.0-56-cloud-amd64 #1
RIP: 0010:hold_loop+0x9/0x20 [mod]
Call Trace:
 ? hold_loop+0x20/0x20 [mod]
 holder_thread+0x22/0x30 [mod]
""".splitlines()


def test_a_stall_report_gives_each_cpu_its_own_frames():
    frames = hang._frames_by_cpu(STALL_REPORT)
    assert frames[None] == ["__schedule", "rcu_gp_kthread"]
    assert frames[1] == ["native_queued_spin_lock_slowpath", "_raw_spin_lock", "waiter_thread"]
    assert frames[0] == ["hold_loop", "holder_thread"]


def stalled(cpu: int, holds: bool = True):
    return {"kind": "rcu_stall", "cpu": cpu, "holds_grace_period": holds, "repeating_frames": ["hold_loop", "holder"],
            "interrupted_frames": [], "dump_task": {"task": 0x9000, "pid": 122, "comm": "holder"},
            "holds_spinlocks": [{"lock": {"address": LOCK, "name": "the_lock", "offset": 0, "module": "mod"},
                                 "evidence": "code"}]}


def test_a_synchronize_rcu_waiter_waits_for_the_cpu_holding_the_grace_period():
    task = {"task": 0x5000, "pid": 50, "comm": "syncer", "state": "UN", "owner": None, "lock_object": None,
            "lock_details": {}, "flush": None,
            "wait": {"kind": "rcu", "function": "synchronize_rcu", "caller": "sync_thread", "lock": None,
                     "write": None, "frames": ["__schedule", "synchronize_rcu", "sync_thread"]}}
    (chain,) = hang.wait_graph([task], [stalled(0), stalled(1, holds=False)])
    assert chain["explanation"] == (
        "syncer (pid 50) waits for an RCU grace period (in synchronize_rcu), which cannot end while CPU 0 "
        "passes no quiescent state: holder (pid 122) loops there in hold_loop, probably holding the spinlock "
        "the_lock (module mod).")
    # No CPU known to hold it: the old words.
    (chain,) = hang.wait_graph([task], [])
    assert chain["explanation"].endswith("(in synchronize_rcu), which has not come.")


def test_a_stall_is_signed_by_the_holder_of_the_spinlock_the_stalled_cpu_spins_for():
    spinning = dict(stalled(1), repeating_frames=["native_queued_spin_lock_slowpath", "waiter_thread"])
    spin = {"cpu": 1, "holder": {"cpu": 0, "frames": ["hold_loop", "holder_thread", "kthread"]}}
    assert hang.lockup_frames({"lockups": [spinning], "spinlocks": [spin]}) == ["hold_loop", "holder_thread", "kthread"]
    assert hang.lockup_frames({"lockups": [stalled(0)], "spinlocks": []}) == ["hold_loop", "holder"]
    assert hang.lockup_frames({"lockups": [dict(stalled(0), dump_task=None)], "spinlocks": []}) == []


def test_a_stall_leads_the_signature_and_summary_unless_a_hung_task_brought_the_machine_down():
    task = {"task": 0x5000, "pid": 50, "comm": "syncer", "state": "UN", "owner": None, "lock_object": None,
            "lock_details": {}, "flush": None,
            "wait": {"kind": "rcu", "function": "synchronize_rcu", "caller": "sync_thread", "lock": None,
                     "write": None, "frames": ["__schedule", "synchronize_rcu", "sync_thread"]}}
    holding = dict(stalled(0), repeating_frames=["hold_loop.constprop.0", "holder_thread", "kthread"])
    holding["holds_spinlocks"][0].update(waiter_cpu=1, waiter={"task": 0x7000, "pid": 135, "comm": "waiter"})
    chains = hang.wait_graph([task], [holding])
    text, frames, summary = hang.signature([task], chains, [holding], [], "rcu_stall")
    assert (text, frames) == ("rcu detected stall in hold_loop", ["hold_loop.constprop.0", "holder_thread", "kthread"])
    assert summary == ("RCU stall: CPU 0 passes no quiescent state: holder (pid 122) loops there in "
                       "hold_loop.constprop.0, probably holding the spinlock the_lock (module mod), which CPU 1 "
                       "waiter (pid 135) spins for; syncer (pid 50) waits for the grace period.")
    # khungtaskd's panic: the blocked task's chain leads, the stall is only its reason.
    text, frames, summary = hang.signature([task], chains, [holding], [], "hung_task")
    assert (text, frames, summary) == ("task hung in synchronize_rcu", ["synchronize_rcu", "sync_thread"],
                                       chains[0]["explanation"])
    # A stalled CPU that itself spins: the holder of its spinlock is where it loops.
    spinning = dict(stalled(1), repeating_frames=["native_queued_spin_lock_slowpath", "waiter_thread"],
                    holds_spinlocks=[], dump_task={"task": 0x7000, "pid": 135, "comm": "waiter"})
    spin = {"cpu": 1, "lock": {"address": LOCK, "name": "the_lock", "offset": 0, "module": None},
            "holder": {"cpu": 0, "evidence": "code", "task": {"task": 0x9000, "pid": 122, "comm": "holder"},
                       "frames": ["hold_loop", "holder_thread"]}}
    text, frames, summary = hang.signature([], [], [spinning], [spin], None)
    assert (text, frames) == ("rcu detected stall in hold_loop", ["hold_loop", "holder_thread"])
    assert summary == ("RCU stall: CPU 1 passes no quiescent state: waiter (pid 135) loops there in "
                       "native_queued_spin_lock_slowpath, spinning for the spinlock the_lock, probably held by CPU 0 "
                       "holder (pid 122) looping in hold_loop.")
    assert hang.signature([], [], [], [], None) == (None, [], None)


def test_a_stalls_key_is_the_spinlock_its_cpu_spins_for_and_the_holders_loop_or_the_stalled_loop():
    spinning = dict(stalled(1), repeating_frames=["native_queued_spin_lock_slowpath", "waiter_thread"],
                    holds_spinlocks=[], dump_task={"task": 0x7000, "pid": 135, "comm": "waiter"})
    spin = {"cpu": 1, "lock": {"address": LOCK, "name": "the_lock", "offset": 0, "module": "mod"},
            "holder": {"cpu": 0, "evidence": "code", "task": {"task": 0x9000, "pid": 122, "comm": "holder"},
                       "frames": ["hold_loop", "holder_thread"]}}
    assert hang.signature_key([], [], [spinning], [spin], "rcu_stall") == {
        "kind": "rcu_stall", "waits": ["spinlock the_lock (module mod)"], "frames": ["hold_loop", "holder_thread"]}
    # A lock no symbol covers: its address differs from dump to dump, so only the word.
    anonymous = dict(spin, lock=dict(spin["lock"], name=None))
    assert hang.signature_key([], [], [spinning], [anonymous], "rcu_stall")["waits"] == ["spinlock"]
    # The CPU holding the grace period loops without waiting for anything: its loop alone.
    assert hang.signature_key([], [], [stalled(0)], [], "rcu_stall") == {
        "kind": "rcu_stall", "waits": [], "frames": ["hold_loop", "holder"]}
    # khungtaskd's panic: the grace period synchronize_rcu waits for, and the loop that holds it.
    task = {"task": 0x5000, "pid": 50, "comm": "syncer", "state": "UN", "owner": None, "lock_object": None,
            "lock_details": {}, "flush": None,
            "wait": {"kind": "rcu", "function": "synchronize_rcu", "caller": "sync_thread", "lock": None,
                     "write": None, "frames": ["__schedule", "synchronize_rcu", "sync_thread"]}}
    chains = hang.wait_graph([task], [stalled(0)])
    assert hang.signature_key([task], chains, [stalled(0)], [], "hung_task") == {
        "kind": "hung_task", "waits": ["rcu grace period"], "frames": ["hold_loop", "holder"]}


# -- the corpus -------------------------------------------------------------------------------

RCU = [p for p in params(hung_only=False) if p.values[0].manifest.get("scenario") == "rcu"]
RCU_CASES = [c for c in cases() if c.manifest.get("scenario") == "rcu"]


def guest_pids(case):
    """{comm: pid} of the module's D-state kthread, from the guest's own listing (full kthread names)."""
    return {comm: pid for pid, (comm, _) in guest_blocked(case).items()}


def crash_bt_blocks(case):
    """{pid: (cpu, comm, [(exception RIP function, RIP, RDI)], [frame function, ...])} of crash's bt -a
    (the function "no symbolic reference" where crash knows no module symbols, 7.2)."""
    found = {}
    for block in re.split(r"\n(?=PID: )", case.reference("bt -a")):
        head = re.match(r'PID: (\d+)\s+TASK: \w+\s+CPU: (\d+)\s+COMMAND: "([^"]+)"', block)
        rips = [(m.group(1), int(m.group(2), 16), int(m.group(3), 16)) for m in
                re.finditer(r"\[exception RIP: ([\w. ]+?)(?:\+\d+)?\]\s+RIP: ([0-9a-f]+).*?RDI: ([0-9a-f]+)", block,
                            re.S)]
        frames = re.findall(r"^\s*#\d+ \[\w+\] (\S+) at ", block, re.M)
        found[int(head.group(1))] = (int(head.group(2)), head.group(3), rips, frames)
    return found


def module_functions(case):
    """The functions the kernel's own reports and the guest's listing of its blocked tasks place in the
    module ("... [pycore_stall]")."""
    return set(re.findall(r"(?:RIP: 0010:| )([\w.]+)\+0x\w+/0x\w+ \[pycore_stall\]$", case.reference("log"), re.M)) | \
        set(re.findall(r"^\[<\w+>\] ([\w.]+)\+\S+ \[pycore_stall\]$", case.guest_view("blocked"), re.M))


def kthread_entry(case):
    """The frames under a kthread's function (6.6+ splits the fork return into ret_from_fork_asm), from
    the guest's listing of its blocked kthread."""
    (entry,) = {tuple(functions[functions.index("kthread"):]) for _, functions in guest_blocked(case).values()}
    return list(entry)


def crash_value(case, command):
    return int(re.search(r"= (\d+)", case.reference(command)).group(1))


@pytest.mark.parametrize("case,mode", RCU)
def test_the_stall_names_cpu_0_its_looping_kthread_and_the_grace_period(case, mode):
    report = hang_report(case, mode)
    bt = crash_bt_blocks(case)
    (lockup,) = report["lockups"]
    (holder_pid,) = [pid for pid, block in bt.items() if block[1] == "pycore_stall_a"]
    cpu, comm, rips, frames = bt[holder_pid]
    # Bound to CPU 0, held the lock with preemption off: the grace period waits for CPU 0 alone.
    assert (lockup["kind"], lockup["cpu"], lockup["holds_grace_period"]) == ("rcu_stall", 0, True) and cpu == 0
    assert (lockup["dump_task"]["pid"], lockup["dump_task"]["comm"]) == (holder_pid, comm)
    # Where it loops: the timer interrupt's registers (crash's exception RIP), then the frames
    # the report printed and crash finds on its stack.  crash 9.0.2 on 7.2 (--no_modules) names no
    # module text and leaves its frames out: the kernel's own report names them.
    looping = ["pycore_stall_hold.constprop.0", "pycore_stall_holder", *kthread_entry(case)]
    assert lockup["repeating_frames"] == looping
    assert {"pycore_stall_hold.constprop.0", "pycore_stall_holder"} <= module_functions(case)
    if crash_knows_modules(case):
        assert rips[-1][0] == "pycore_stall_hold.constprop.0"
        assert is_subsequence(looping[1:], frames)
    else:
        assert rips[-1][0] == "no symbolic reference"
        assert is_subsequence([f for f in looping[1:] if f not in module_functions(case)], frames)
        dump_options = ("--vmlinux", case.vmlinux) if mode == "vmlinux" else ()
        assert cli_output("sym", case.path(case.reference_dump), f"{rips[-1][1]:x}", *dump_options).startswith(
            f"{rips[-1][1]:x} (t) pycore_stall_hold.constprop.0+")
    period = report["grace_period"]
    # crash's p of rcu_state: gp_seq unsigned, the root (and only) rcu_node's qsmask: CPU 0's bit.
    assert period["gp_seq"] & (1 << 64) - 1 == crash_value(case, "p rcu_state.gp_seq")
    assert crash_value(case, "p rcu_state.node[0].qsmask") == 1 << 0 and period["holding_cpus"] == [0]
    assert period["in_progress"] and period["blocking_tasks"] == []
    # The report's own words: "g=-607" and the grace-period kthread starved on the other CPU.
    log = case.reference("log")
    assert f" g={period['gp_seq']} " in log and period["flavor"] == "rcu_preempt"
    assert re.search(rf"rcu_preempt kthread starved for \d+ jiffies! g{period['gp_seq']} ", log)
    # The detector panicked 20 s (rcu_cpu_stall_timeout) into this grace period.
    assert 20 <= period["age_secs"] < 21
    cpus = {c["cpu"]: c for c in period["cpus"]}
    assert cpus[0]["no_qs"] and not cpus[1]["no_qs"]


@pytest.mark.parametrize("case,mode", RCU)
def test_cpu_1_spins_for_pycore_stall_lock_which_cpu_0s_code_took(case, mode):
    report = hang_report(case, mode)
    bt = crash_bt_blocks(case)
    (waiter_pid,) = [pid for pid, block in bt.items() if block[1] == "pycore_stall_b"]
    (holder_pid,) = [pid for pid, block in bt.items() if block[1] == "pycore_stall_a"]
    cpu, _, rips, frames = bt[waiter_pid]
    (spin,) = report["spinlocks"]
    assert (spin["cpu"], spin["task"]["pid"], spin["function"]) == (cpu, waiter_pid, "native_queued_spin_lock_slowpath")
    # crash's bt -a: the slow path's registers under the crash NMI, its first argument in RDI.
    (slowpath,) = [rip for rip in rips if rip[0] == "native_queued_spin_lock_slowpath"]
    assert spin["lock"]["address"] == slowpath[2]
    waiter = ["pycore_stall_waiter"] if crash_knows_modules(case) else []
    expected = ["_raw_spin_lock", *waiter, *kthread_entry(case)]
    assert frames[-len(expected):] == expected
    # crash's sym names the address; its rd reads the word: locked, and (a guest without
    # paravirt spinlocks spins test-and-set) no pending bit, no queue.  crash 9.0.2 on 7.2 knows no
    # module symbol: there the name is the module's own symbol table's (its kallsyms in the dump).
    assert (spin["lock"]["name"], spin["lock"]["module"]) == ("pycore_stall_lock", "pycore_stall")
    if crash_knows_modules(case):
        address, name = case.reference("sym pycore_stall_lock").split()[::2]
        assert (spin["lock"]["address"], name) == (int(address, 16), "pycore_stall_lock")
        assert int(case.reference("rd -32 pycore_stall_lock").split()[1], 16) == 1
    else:
        assert case.reference("sym pycore_stall_lock").startswith("symbol not found: pycore_stall_lock")
    assert spin["lock"]["word"] == 1
    assert (spin["lock"]["pending"], spin["lock"]["tail_cpu"]) == (False, None)
    holder = spin["holder"]
    assert (holder["cpu"], holder["task"]["pid"], holder["evidence"]) == (0, holder_pid, "code")
    # pycore_stall_holder calls _raw_spin_lock(&pycore_stall_lock) before pycore_stall_hold.
    assert re.fullmatch(r"pycore_stall_holder\+0x[0-9a-f]+", holder["where"])
    assert holder["frames"][:2] == ["pycore_stall_hold.constprop.0", "pycore_stall_holder"]
    (lockup,) = report["lockups"]
    assert lockup["spins_on"] is None and [h["lock"] for h in lockup["holds_spinlocks"]] == [spin["lock"]]


@pytest.mark.parametrize("case,mode", RCU)
def test_the_synchronize_rcu_sleeper_waits_for_cpu_0(case, mode):
    guest = guest_blocked(case)
    ps = crash_ps(case)
    report = hang_report(case, mode)
    # The guest may list another D-state task beside it (7.2's khugepaged flushing per-CPU work).
    (pid,) = [number for number, (comm, _) in guest.items() if comm == "pycore_stall_sync"]
    tasks = {entry["pid"]: entry for entry in report["tasks"]}
    sleeper = tasks[pid]
    # The guest's /proc/PID/comm gives a kthread's full name (5.17+); the task's comm is 15 bytes.
    assert guest[pid][0] == "pycore_stall_sync"
    assert sleeper["comm"] == "pycore_stall_sync"[:15] and ps[pid] == (sleeper["task"], "UN")
    wait = sleeper["wait"]
    # 6.9+ waits in synchronize_rcu_normal, which synchronize_rcu tail-calls.
    assert (wait["kind"], wait["caller"]) == ("rcu", "pycore_stall_sync")
    assert wait["function"] == guest[pid][1][0] if guest[pid][1][0].startswith("synchronize_rcu") else "synchronize_rcu"
    assert is_subsequence(guest[pid][1], wait["frames"])
    if crash_knows_modules(case):
        assert wait["frames"] == crash_frames(case, pid)
    else:
        assert [f for f in wait["frames"] if f not in module_functions(case)] == crash_frames(case, pid)
    chain = next(chain for chain in report["chains"] if chain["root"] == pid)
    holder = report["lockups"][0]["dump_task"]
    # Other D-state tasks (7.2's khugepaged, flushing per-CPU work) wait for CPU 0's workers.
    for entry in report["tasks"]:
        if entry["pid"] != pid:
            assert entry["flush"]["cpu"] == 0 and entry["state"] == "UN"
    assert chain["explanation"].endswith(
        f", which cannot end while CPU 0 passes no quiescent state: pycore_stall_a (pid {holder['pid']}) loops there "
        f"in pycore_stall_hold.constprop.0, probably holding the spinlock pycore_stall_lock (module pycore_stall).")


@pytest.mark.parametrize("case,mode", RCU)
def test_the_text_names_the_stall_the_grace_period_and_the_spinlock(case, mode):
    report = hang_report(case, mode)
    text = cli_output("hang", case.path(case.reference_dump),
                      *(("--vmlinux", case.vmlinux) if mode == "vmlinux" else ())).splitlines()
    spin = report["spinlocks"][0]
    lock = f"pycore_stall_lock [pycore_stall] {spin['lock']['address']:x} (locked)"
    waiter, holder = spin["task"], spin["holder"]["task"]
    assert "        holds the RCU grace period: no quiescent state from this CPU" in text
    # The report opens with the stall, as triage signs it.
    assert text[2] == f"SUMMARY: {report['summary']}" and report["summary"].startswith(
        f"RCU stall: CPU 0 passes no quiescent state: pycore_stall_a (pid {holder['pid']}) loops there in "
        f"pycore_stall_hold.constprop.0, probably holding the spinlock pycore_stall_lock (module pycore_stall), "
        f"which CPU 1 pycore_stall_b (pid {waiter['pid']}) spins for; ")
    assert text[-2:] == ["SIGNATURE: rcu detected stall in pycore_stall_hold",
                         "GROUPED BY: pycore_stall_hold | pycore_stall_holder | kthread"]
    assert (f"        probably holds: spinlock {lock}, which CPU 1 pycore_stall_b (pid {waiter['pid']}) spins for "
            f"(inferred: its code took it at {spin['holder']['where']} and has not returned past the call)") in text
    period = report["grace_period"]
    assert (f"RCU GRACE PERIOD: rcu_preempt g={period['gp_seq']} in progress for {period['age_secs']:.2f}s, "
            f"waiting for CPU 0") in text
    assert f"SPINNING: CPU 1 pycore_stall_b (pid {waiter['pid']}) in native_queued_spin_lock_slowpath for spinlock {lock}" \
        in text
    assert any(line.startswith(f"        probable holder: CPU 0 pycore_stall_a (pid {holder['pid']}) (inferred: ")
               for line in text)
    for chain in report["chains"]:
        assert f"     {chain['explanation']}" in text


@pytest.mark.parametrize("case", [c for c in cases() if c.reference("log") is not None], ids=lambda c: c.name)
def test_every_kernels_grace_period_reads_without_a_vmlinux(case):
    from pycore.program import open as open_program

    prog = open_program(case.path(case.reference_dump))
    try:
        period = hang.grace_period(prog)
    finally:
        prog.close()
    # The flavor the kernel announced at boot: PREEMPT_RCU's rcu_preempt or rcu_sched.
    preemptible = "rcu: Preemptible hierarchical RCU implementation." in case.reference("log")
    assert period["flavor"] == ("rcu_preempt" if preemptible else "rcu_sched")
    assert [c["cpu"] for c in period["cpus"]] == list(range(case.manifest["guest_cpus"]))
    # Each CPU has seen the current grace period or the one before; only a running one waits for any.
    assert all(c["behind"] in (0, 1) for c in period["cpus"]) and period["problems"] == []
    assert period["in_progress"] or (period["holding_cpus"], period["blocking_tasks"]) == ([], [])


@pytest.mark.parametrize("case,mode", RCU[:1])
def test_every_dump_of_the_case_tells_the_same_stall(case, mode):
    reports = [hang_report(case, mode, dump["name"]) for dump in case.dumps() if dump["format"] != "flattened"]
    assert len(reports) >= 2
    for key in ("chains", "lockups", "spinlocks", "grace_period"):
        assert all(r[key] == reports[0][key] for r in reports)


@pytest.mark.parametrize("case", RCU_CASES, ids=lambda c: c.name)
def test_triage_signs_the_rcu_stall_by_the_stalled_cpus_loop_not_the_detector(case):
    from pycore.analysis.crash_report import crash_signature
    from pycore.analysis.triage_analyze import analyze_crash
    from pycore.analysis.triage_discover import CrashSource

    result = analyze_crash(CrashSource(case.name, vmcore=case.path(case.reference_dump)))
    assert result.errors == []
    assert result.reason == "RCU Stall"
    # The log's backtrace stays the detector's (the timer interrupt that panicked); the grouping
    # key is where CPU 0 loops holding the grace period and the spinlock.
    assert any(frame.startswith("rcu_sched_clock_irq") for frame in result.backtrace)
    assert result.title == "INFO: rcu detected stall in pycore_stall_hold"
    assert result.signature_frames == ["pycore_stall_hold", "pycore_stall_holder", "kthread"]
    assert result.signature == "RCU Stall @ pycore_stall_hold|pycore_stall_holder|kthread"
    # pycore hang leads with the same stall, and its frames give triage's key.
    report = json.loads(cli_output("hang", case.path(case.reference_dump), "--json"))
    assert report["cause"] == "rcu_stall" and f"INFO: {report['signature']}" == result.title
    assert crash_signature(result.reason, report["signature_frames"]) == (result.signature, result.signature_frames)


@pytest.mark.parametrize("case", RCU_CASES, ids=lambda c: c.name)
def test_the_json_and_the_text_agree(case):
    report = json.loads(cli_output("hang", case.path(case.reference_dump), "--json"))
    text = cli_output("hang", case.path(case.reference_dump))
    assert f"LOCKUP: {report['lockups'][0]['title']} (CPU 0, 1 report)" in text.splitlines()
