"""Reference outputs for a dump: crash 9 commands (each in its own file under
reference/, named after the command with spaces turned into "_"), the dmesg
of makedumpfile and vmcore-dmesg, the VMCOREINFO text, and sha256 sums."""

from __future__ import annotations

import hashlib
import re
import struct
import subprocess
from pathlib import Path

from fetch import BuildError, Tools, log

# The full command set, run once per case on its most complete dump.
FULL_COMMANDS = [
    "sys", "log", "ps", "kmem -i", "kmem -z", "kmem -s", "bt -a", "foreach bt", "mod", "runq",
    "sym linux_banner", "sym init_task", "struct task_struct.comm,pid init_task",
    # crash's command mode (issue 13): symbols, memory, expressions and disassembly ...
    "sym panic", "sym -q sysrq_handle_crash", "rd linux_banner 4", "rd -32 linux_banner 8",
    "rd -8 linux_banner 16", "rd -a linux_banner", "rd -d jiffies 1", "eval 0x1000 + 16",
    "ascii 4c696e7578", "btop 0x10000", "ptob 16", "dis panic 5", "dis sysrq_handle_crash",
    # ... types and data in gdb's print format ...
    "whatis init_task", "whatis panic", "whatis struct list_head", "struct list_head",
    "struct -o list_head", "p jiffies", "p &init_task", "p/x init_task.flags", "p init_task.tasks",
    "p init_uts_ns.name", "struct -x task_struct.pid init_task",
    "list task_struct.tasks -s task_struct.pid,comm -h init_task", "list -H modules",
    # ... and kernel state.
    "task -R pid,comm", "files 1", "vm 1", "mount", "net", "swap", "dev -d", "sig 1", "ipcs", "timer",
    "irq -s", "ps -k", "ps -t 1", "ps -p 1", "ps -c 1", "ps -a 1", "ps -G", "runq -t", "kmem -S kmalloc-64",
    "ps -u", "ps -l", "ps -m", "ps -S", "ps -g", "ps -g 1", "ps -r 1", "ps -l 1", "ps -m 1", "runq -g", "runq -m",
    "sig -l", "sig -g 1",
    # user memory (issue 16): where each page of init is, swap entries (device, offset) included.
    "vm -p 1",
    # kernel-state commands (issue 13): foreach, waitq, log -a/-s, kmem -V/-f/-g/-p, net -s, dev, mount ARG.
    "foreach UN bt", "foreach RU task -R pid", "foreach kernel ps", "foreach user files", "foreach net -s",
    "foreach init vm", "waitq khugepaged_wait", "waitq kauditd_wait", "waitq log_wait", "log -a", "log -s",
    "kmem -V", "kmem -f", "kmem -g", "kmem -p 0x1000", "kmem -p 0x1000000", "net -s", "net -s 1", "dev",
    "mount /", "mount /proc", "foreach active ps", "foreach gleader ps",
    # bt's options (issue 12, stack traces): the panic task by default, its frame data as words, symbols and slabs.
    "bt", "bt -f", "bt -F", "bt -FF", "bt -FF -a", "bt -t", "bt -t -a", "bt -T", "bt -l", "bt -sx",
    # data commands' options (issue 13: search, rd, dis, sym): bounded searches, whole stacks and memory.
    "search -s linux_banner -l 64 -c Linux", "search -s init_task -l 8192 init_task",
    "search -s init_task -l 8192 -x 1 init_task", "search -s linux_banner -l 64 -w 756e694c",
    "search -s linux_banner -l 64 -h -m f000 694c", "search -t init_task", "search -p -c pycore.scenario",
    "rd -N -32 linux_banner 4", "rd -16 -N linux_banner 8", "rd -R linux_banner 4", "rd -o 8 linux_banner 2",
    "rd -x linux_banner 4", "rd -D -32 linux_banner 2", "rd -r /dev/null linux_banner 64", "rd -f 0x40 4",
    "dis -x panic 5", "dis -x sysrq_handle_crash", "dis -s panic", "sym -M", "sym -m qemu_fw_cfg",
    "sym fw_cfg_sysfs_probe", "sym -q fw_cfg_sysfs_pro",
    # hangs (issue 15): the locks case's module locks by name (elsewhere: not found).
    "sym pycore_mutex_a pycore_mutex_b pycore_rwsem",
    # type and data commands (issue 13): p, whatis, struct, union, list, tree, their options; p's value
    # history ($N counts in this order), crash's !shell escape.
    "p /x init_task.flags", "p init_task.comm", "p -x init_task.se.load", "p /x init_task.comm",
    "p -d init_task.comm", "p init_task.comm[1]", "p /d init_task.comm[0]", "p init_task.sched_class",
    "p system_state", "p init_task.thread_pid->numbers[0]", "p *init_task.thread_pid",
    "p init_task.signal->rlim", "p __per_cpu_offset", "p saved_command_line", "p panic", "p linux_banner",
    "p init_task.se", "p init_task.pid + 1", "p (struct list_head *)&init_task.tasks",
    "p *(struct list_head *)&init_task.tasks", "p &init_task.comm", "p init_uts_ns", "p init_task.cpus_mask",
    "p node_states", "p init_task.mm", "p init_task.stack", "p init_task.pushable_tasks", "p modules",
    "p &modules", "p init_task.tasks.next", "p *init_task.tasks.next", "p /x init_task.se",
    "p -x init_task.thread_pid->numbers[0]", "whatis atomic_t", "whatis pid_t", "whatis enum pid_type",
    "whatis system_states", "whatis u64", "whatis jiffies_64", "whatis jiffies", "whatis linux_banner",
    "whatis task_struct.comm", "whatis init_task.tasks", "whatis spinlock_t", "whatis list_head",
    "whatis init_uts_ns", "whatis modules", "whatis saved_command_line", "struct -o task_struct",
    "struct -o spinlock_t", "struct -o pid", "struct task_struct.tasks", "struct callback_head",
    "struct -o callback_head", "struct -o sk_buff", "struct sk_buff", "union rcu_special",
    "union rcu_special init_task", "struct task_struct.se.load init_task",
    "struct -d task_struct.flags init_task", "struct task_struct.thread_info init_task",
    "struct task_struct.sched_class init_task", "struct -o task_struct.tasks init_task",
    "struct -o list_head init_task", "struct list_head init_task -c 2", "struct list_head init_task 2",
    "struct -x list_head init_task", "struct uts_namespace init_uts_ns",
    "struct -x task_struct.se.load init_task", "list -r -H modules",
    "list module.list -H modules -s module.name,state", "list -l module.list -H modules -s module.name",
    "list -H modules -s module.name", "list -h modules", "list modules", "list -H modules -s module.state -x",
    "list task_struct.tasks -s task_struct.pid -h init_task -r",
    "list -o task_struct.tasks -s task_struct.comm -h init_task",
    "tree -t rbtree -o key.serial_node key_serial_tree", "tree -t rbtree key_serial_tree",
    "tree -t rbtree -o key.serial_node -p key_serial_tree",
    "tree -t rbtree -l -o key.serial_node key_serial_tree",
    "tree -t rbtree -o key.serial_node -s key.serial key_serial_tree",
    "tree -t rbtree -o key.serial_node -x -s key.serial key_serial_tree",
    "tree -t rbtree -r proc_dir_entry.subdir -o proc_dir_entry.subdir_node -s proc_dir_entry.name proc_root",
    "tree -t xarray -r pid_namespace.idr init_pid_ns", "tree -t radix -r pid_namespace.idr init_pid_ns",
    "tree -t xarray -r pid_namespace.idr -s pid.level init_pid_ns",
    "tree -t xarray -r pid_namespace.idr -x -s pid.level,count init_pid_ns", "p irq_stat", "p runqueues",
    "p /x jiffies", "p /d init_task.flags", "whatis irq_stat", "whatis runqueues",
    "struct task_struct.comm,pid init_task 2", "list -H modules -s module.list",
    "list -H modules -s module.list -x", "struct spinlock_t init_task", "struct atomic_t init_task",
    "struct -r list_head init_task", "struct -r atomic_t init_task", "struct -r pid init_struct_pid",
    "struct -r list_head init_task 2", "union -r rcu_special init_task", "union rcu_special.b init_task",
    "struct list_head.next,prev init_task", "p /x init_uts_ns.name.sysname", "p -x jiffies", "p -d jiffies",
    "p jiffies_64", "p $", "p $$", "p $1", "p $$2", "!echo pycore",
    "struct -p task_struct.sched_class init_task", "struct -p list_head init_task",
    "list task_struct.tasks -S task_struct.pid,comm -h init_task", "list -B task_struct.tasks -h init_task",
    "list -B -H modules", "list -o task_struct.sibling -s task_struct.pid -O task_struct.children -h init_task",
    "list -o task_struct.sibling -S task_struct.comm -O task_struct.children -h init_task",
    "tree -t rbtree -o key.serial_node -S key.serial key_serial_tree",
    "tree -t xarray -r pid_namespace.idr -S pid.level init_pid_ns",
    # issue 13's first answers on one build, now on every case: files, vm, mount, bt, dis, rd, sym.
    "vm 2", "files 2", "files 0", "vm 1 2", "mount -n 1", "foreach files", "foreach vm", "bt -f -a", "bt -f 2",
    "bt -l -a", "bt -l 2", "bt -s", "bt -sx -a", "bt -sx 2", "bt -t 2", "bt -x", "dis -l sysrq_handle_crash",
    "dis -r virtblk_done+20", "dis __memmove", "dis __schedule", "dis __switch_to_asm", "dis __x64_sys_read",
    "dis __x86_return_thunk", "dis copy_process", "dis csum_partial", "dis do_idle", "dis do_syscall_64",
    "dis entry_SYSCALL_64", "dis filemap_read", "dis kernel_fpu_begin_mask", "dis ksys_read", "dis memcpy_orig",
    "dis native_write_cr4", "dis page_fault_oops", "dis panic", "dis rep_movs_alternative", "dis schedule",
    "dis strncpy_from_user", "dis switch_mm_irqs_off", "dis sysrq_handle_loglevel", "dis sysrq_handle_reboot",
    "dis virtblk_done", "rd -d jiffies 2", "rd -S init_task 16", "rd -SS init_task 16", "rd virtblk_done 2",
    "sym memset", "sym panic_print_sys_info", "sym virtblk_done",
    # set changes the context of the commands after it in crash's session: last, back to the panic task.
    "set", "set 1", "set -c 0", "set -p",
    # crash's output radix (issue 13, an internal variable p, struct, list and tree follow): set
    # radix, its aliases hex/dec and px/pd; back to decimal for the per-dump commands after these.
    "set radix 16", "p init_task.prio", "struct task_struct.prio,pid init_task", "set radix", "px init_task.prio",
    "pd init_task.prio", "hex", "dec",
    # vmalloc's busy areas (h7): what vmalloc.for_each_vmap_area walks for search -V.
    "kmem -v",
    # issue 13's remaining commands (h6): memory sections and blocks, page flags of a value, crash's
    # variables, sockets with their structures, foreach's regular expressions, its set and its vtop (of
    # cpu_entry_area's read-only IDT, the one kernel page at a fixed address whatever KASLR did); the
    # whole symbol list and mem_map listing (~9 and ~19 MB on a 1 GB guest, beside its ~1 GB of dumps;
    # a pipe cannot be recorded: crash_session's "> FILE" would land in the shell's pipeline).
    "kmem -n", "kmem -g 4000", "kmem -g 17ffffc0000068", "set -v", "net -S", "net -S 1", "net -s -R 3",
    "foreach 'kworker/0.*' ps", "foreach 'ksoftirqd.*' 'kworker/1.*' task -R pid", "foreach 1 set",
    "foreach RU set", "foreach 1 vtop fffffe0000000000", "sym -l", "kmem -p",
]
# Run on every dump file of a case, to show that the formats agree.
FORMAT_COMMANDS = ["sys"]

# The commands every case records. A case made for one scenario rather than for a kernel (a
# test module's locks, zswap, the large guest: build.py CASES option commands="core") records
# these and its own extra_commands, not the whole FULL_COMMANDS: each full set costs CI minutes
# on both paths, and the kernels are covered by their full cases.
CORE_COMMANDS = ["sys", "log", "ps", "kmem -i", "kmem -z", "kmem -s", "bt -a", "mod", "runq",
                 "sym linux_banner", "sym init_task", "struct task_struct.comm,pid init_task"]
COMMAND_SETS = {"full": FULL_COMMANDS, "core": CORE_COMMANDS}


def case_commands(case: dict) -> list:
    """The crash commands a case records: its set (option commands, default "full") and its
    extra_commands, each once."""
    commands = COMMAND_SETS[case.get("commands", "full")] + case.get("extra_commands", [])
    return list(dict.fromkeys(commands))

# crash 9.0.2's recordings known to be wrong on a kernel (KERNELS key of fetch.py): the command,
# what goes wrong, the guest's own listing (guest.GUEST_VIEW name) that holds there instead, and
# when only some lines are wrong, their labels. Recorded anyway; the manifest's crash_wrong tells
# the tests to compare with the guest instead.
CRASH_WRONG = {
    "7.2": [
        {"command": "kmem -s", "guest_view": "slabinfo",
         "why": "crash 9.0.2 stops at 'invalid structure member offset: kmem_cache_local_node' "
                "(7.1 removed kmem_cache.node)"},
        {"command": "mod", "guest_view": "modules",
         "why": "crash 9.0.2 'cannot access vmalloc'd module memory' (and runs with --no_modules)"},
        {"command": "sys", "guest_view": "date, uptime", "lines": ["DATE", "UPTIME"],
         "why": "crash 9.0.2 prints DATE as 1970-01-01 and an UPTIME minutes longer than the guest's"},
    ],
}
# crash options a kernel needs (KERNELS key of fetch.py). crash 9.0.2 does not start on 7.2
# ("invalid structure member offset: module_num_gpl_syms": struct module lost it in 7.x) unless
# told to leave the modules alone.
CRASH_OPTIONS = {
    "7.2": ("--no_modules",),
}
# Dump formats crash 9.0.2 cannot open at all on a kernel: (KERNELS key, format) -> what happens.
# Its output is recorded in reference/formats/<dump>/crash.txt, with "ok": false in the manifest.
CRASH_CANNOT_OPEN = {
    ("7.2", "kdump"): "crash 9.0.2 exits with status 1 and no message while gathering the task table",
}


def file_name(command: str) -> str:
    return command.replace(" ", "_").replace("/", "_") + ".txt"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def crash_session(tools: Tools, vmlinux: Path, dump: Path, commands: list, out_dir: Path,
                  options: tuple = ()) -> dict:
    """Run commands in one crash session (crash options: CRASH_OPTIONS), each redirected to
    out_dir/<file_name>.

    Returns {command: file path}. crash's banner is not recorded (-s).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {c: out_dir / file_name(c) for c in commands}
    for f in files.values():
        if f.exists():
            f.unlink()
    script = "set scroll off\n" + "".join(f"{c} > {files[c]}\n" for c in commands) + "q\n"
    # Run beside the dump so that `sys` shows its bare name, not a local path.
    result = subprocess.run(tools.crash() + ["-s", *options, str(vmlinux), dump.name], cwd=dump.parent,
                            input=script.encode(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    missing = [c for c, f in files.items() if not f.exists()]
    if missing:
        output = result.stdout.decode(errors="replace")[-3000:]
        raise BuildError(f"crash on {dump} wrote no output for {missing} (exit {result.returncode}):\n{output}")
    return files


# Kernel data whose pages every dump level keeps, for rd -p.
RD_SYMBOLS = ("linux_banner", "init_task", "init_top_pgt", "init_uts_ns")


def symbol_addresses(tools: Tools, vmlinux: Path, dump: Path, work: Path, options: tuple) -> dict:
    files = crash_session(tools, vmlinux, dump, [f"sym {n}" for n in RD_SYMBOLS], work, options)
    addresses = {}
    for name in RD_SYMBOLS:
        # crash 9.0.2 ends the line with a space on 7.2.
        m = re.search(rf"^([0-9a-f]+) \(\w\) {name} ?$", files[f"sym {name}"].read_text(), re.M)
        if not m:
            raise BuildError(f"crash could not find {name} in {dump}")
        addresses[name] = int(m.group(1), 16)
    return addresses


def physical_addresses(tools: Tools, vmlinux: Path, dump: Path, work: Path, memory_mib: int,
                       options: tuple) -> list:
    """(label, physical address) pairs for the rd -p references."""
    symbols = symbol_addresses(tools, vmlinux, dump, work, options)
    commands = [f"vtop {symbols[n]:#x}" for n in RD_SYMBOLS]
    files = crash_session(tools, vmlinux, dump, commands, work, options)
    pairs = [("page 1", 0x1000)]
    for name, command in zip(RD_SYMBOLS, commands):
        m = re.search(r"^[0-9a-f]{16}\s+([0-9a-f]+)\s*$", files[command].read_text(), re.M)
        if not m:
            raise BuildError(f"cannot read the physical address of {name} from crash vtop:\n{files[command].read_text()}")
        # The kernel half of the top-level page table; its first half is empty.
        offset = 0xfc0 if name == "init_top_pgt" else 0
        pairs.append((name if not offset else f"{name}+{offset:#x}", int(m.group(1), 16) + offset))
    size = memory_mib << 20
    for fraction in (4, 2):
        pairs.append((f"memory/{fraction}", size // fraction))
    pairs.append(("memory*3/4", size * 3 // 4))
    pairs.append(("last page", size - 0x1000))
    return pairs


# crash commands that take an address only one dump has (issue 13: struct -l/-f/-u, list -e/-l,
# tree -N, bt/files of a task, sym/vtop of a module, rd of user memory). Their addresses are
# crash's own answers about the dump: ADDRESS_LOOKUPS names each (the command, the pattern its
# answer must match); ADDRESS_COMMANDS are the templates, each with what its address is. A
# template whose address the dump lacks (a panic task without mm, no module loaded) is left out.
ADDRESS_LOOKUPS = {
    "tasks": ("struct -o task_struct.tasks init_task", r"^\s+\[([0-9a-f]+)\] struct list_head tasks;$"),
    "task1": ("ps 1", r"^>?\s+1\s+\d+\s+\d+\s+([0-9a-f]+)\s"),
    "dentry": ("files 1", r"^\s+\d+ [0-9a-f]+ ([0-9a-f]+) "),
    "module": ("list -H modules", r"^([0-9a-f]+)\n\Z"),
    "memset": ("sym memset", r"^([0-9a-f]+) \(\w\) memset\b"),
    "rb_node": ("p key_serial_tree.rb_node", r"\(struct rb_node \*\) 0x([0-9a-f]+)"),
    "xa_head": ("p init_pid_ns.idr.idr_rt.xa_head", r"\(void \*\) 0x([0-9a-f]+)"),
    "mm": ("task -R mm", r"^\s+mm = 0x([0-9a-f]+),$"),
}
# The panic task's argument strings, in its own (user) address space.
USER_LOOKUP = ("arg_start", "struct -x mm_struct.arg_start {mm:#x}", r"^\s+arg_start = 0x([0-9a-f]+),$")
ADDRESS_COMMANDS = [
    ("struct task_struct.pid,comm -l task_struct.tasks {tasks:#x}", "init_task by its tasks list_head"),
    ("struct -l {tasks_offset:#x} task_struct.pid {tasks:#x}", "init_task by its tasks list_head, offset in bytes"),
    ("list -s task_struct.pid -l task_struct.tasks {tasks:#x}", "the task list from init_task's list_head"),
    ("struct -f task_struct.pid,comm {init_task_offset:#x}", "init_task at its offset in the dump file"),
    ("bt {task1:#x}", "pid 1's task"),
    ("bt -l {task1:#x}", "pid 1's task"),
    ("files {task1:#x}", "pid 1's task"),
    ("files -d {dentry:#x}", "the dentry of pid 1's file 0"),
    ("list -e {module:#x} -H modules", "the last module's list_head"),
    ("sym {module:#x}", "the last module's list_head"),
    ("vtop {module:#x}", "the last module's list_head"),
    ("sym {memset_5:#x}", "memset+5"),
    ("tree -t rbtree -o key.serial_node -N {rb_node:#x}", "key_serial_tree's root node"),
    ("tree -t rbtree -o key.serial_node -N {rb_node:#x} -s key.serial", "key_serial_tree's root node"),
    ("tree -t xarray -N {xa_node:#x}", "the top xa_node of init_pid_ns's idr"),
    ("tree -t xarray -N {xa_node:#x} -S pid.level", "the top xa_node of init_pid_ns's idr"),
    ("struct -u list_head {arg_start:#x}", "the panic task's arguments (user memory)"),
    ("rd -u {arg_start:#x} 4", "the panic task's arguments (user memory)"),
    ("rd -u -8 {arg_start:#x} 8", "the panic task's arguments (user memory)"),
    ("rd -a -u {arg_start:#x} 40", "the panic task's arguments (user memory)"),
    ("rd {arg_start:#x} 2", "the panic task's arguments (user memory)"),
    # search and rd -e (h7): each search range kind on an address crash found, rd -e short and empty.
    ("search -u {arg_start:#x}", "the panic task's arguments (user memory): argv[0] on its stack"),
    ("search -K -s {task1:#x} -l 16384 {task1:#x}", "pid 1's task"),
    ("search -V {task1:#x}", "pid 1's task (on kernel stacks)"),
    ("search -V -s {module:#x} -l 4096 -m ffff {module:#x}", "the last module's list_head"),
    ("rd -8 {memset:#x} -e {memset_5:#x}", "memset+5"),
    ("rd {memset:#x} -e {memset_5:#x}", "memset+5: no whole long before it"),
]


def _answers(tools: Tools, vmlinux: Path, dump: Path, work: Path, lookups: dict, options: tuple) -> dict:
    """{name: address} for each lookup (name: (command, pattern)) whose answer matches, non-zero."""
    files = crash_session(tools, vmlinux, dump, [command for command, _ in lookups.values()], work, options)
    found = {}
    for name, (command, pattern) in lookups.items():
        m = re.search(pattern, files[command].read_text(errors="replace"), re.M)
        if m and int(m.group(1), 16):
            found[name] = int(m.group(1), 16)
    return found


def elf_file_offset(dump: Path, physical: int) -> int | None:
    """The offset in an ELF dump of a physical address (its first PT_LOAD holding it), or None for
    another format or an address no segment holds."""
    with open(dump, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF":
            return None
        phoff, = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    for i in range(phnum):
        p_type, _, p_offset, _, p_paddr, p_filesz = struct.unpack_from("<IIQQQQ", table, i * phentsize)
        if p_type == 1 and p_paddr <= physical < p_paddr + p_filesz:
            return p_offset + physical - p_paddr
    return None


def address_commands(tools: Tools, vmlinux: Path, dump: Path, work: Path, symbols: dict, pairs: list,
                     options: tuple) -> list:
    """(command, what) of ADDRESS_COMMANDS whose addresses this dump has."""
    found = _answers(tools, vmlinux, dump, work, ADDRESS_LOOKUPS, options)
    if "mm" in found:
        name, command, pattern = USER_LOOKUP
        found.update(_answers(tools, vmlinux, dump, work, {name: (command.format(**found), pattern)}, options))
    if "tasks" in found:
        found["tasks_offset"] = found["tasks"] - symbols["init_task"]
    if "memset" in found:
        found["memset_5"] = found["memset"] + 5
    if found.get("xa_head", 0) & 3 == 2:  # an internal entry: the XArray's top node, tagged
        found["xa_node"] = found["xa_head"] - 2
    offset = elf_file_offset(dump, dict(pairs)["init_task"])
    if offset is not None:
        found["init_task_offset"] = offset
    commands = []
    for template, what in ADDRESS_COMMANDS:
        try:
            commands.append((template.format(**found), what))
        except KeyError:
            continue
    return commands


def record_full(tools: Tools, vmlinux: Path, dump: Path, ref_dir: Path, memory_mib: int,
                options: tuple = (), commands: list = FULL_COMMANDS) -> list:
    """commands (a case's set: case_commands), the rd -p and per-dump address forms on dump;
    returns the manifest's reference list."""
    log(f"crash references on {dump.name}")
    work = ref_dir / ".work"
    pairs = physical_addresses(tools, vmlinux, dump, work, memory_mib, options)
    symbols = symbol_addresses(tools, vmlinux, dump, work, options)
    rd_commands = [f"rd -p {addr:#x} 8" for _, addr in pairs]
    vtop = f"vtop {symbols['init_task']:#x}"
    banner = dict(pairs)["linux_banner"]
    by_address = [f"vtop {symbols['linux_banner']:#x}", f"ptov {banner:#x}", f"kmem {symbols['init_task']:#x}",
                  f"rd {symbols['init_task']:#x} 4"]
    addressed = address_commands(tools, vmlinux, dump, work, symbols, pairs, options)
    files = crash_session(tools, vmlinux, dump, commands + rd_commands + [vtop] + by_address
                          + [command for command, _ in addressed], ref_dir, options)
    subprocess.run(["rm", "-rf", str(work)])
    entries = [{"command": c, "file": str(files[c].relative_to(ref_dir.parent)), "dump": dump.name} for c in commands]
    for (label, addr), command in zip(pairs, rd_commands):
        entries.append({"command": command, "file": str(files[command].relative_to(ref_dir.parent)),
                        "dump": dump.name, "what": f"64 bytes at the physical address of {label}",
                        "physical_address": addr})
    entries.append({"command": vtop, "file": str(files[vtop].relative_to(ref_dir.parent)), "dump": dump.name,
                    "what": "init_task"})
    for command, what in zip(by_address, ("linux_banner", "the physical address of linux_banner", "init_task",
                                          "init_task")):
        entries.append({"command": command, "file": str(files[command].relative_to(ref_dir.parent)),
                        "dump": dump.name, "what": what})
    for command, what in addressed:
        entries.append({"command": command, "file": str(files[command].relative_to(ref_dir.parent)),
                        "dump": dump.name, "what": what})
    return entries, pairs


def record_format(tools: Tools, vmlinux: Path, dump: Path, ref_dir: Path, pairs: list,
                  options: tuple = (), cannot_open: str | None = None) -> list:
    """sys and the rd -p set on one more dump file, under reference/formats/<dump>/.

    cannot_open (CRASH_CANNOT_OPEN) says crash is known to fail on this dump: what it printed
    is recorded instead of failing the build.
    """
    out = ref_dir / "formats" / dump.name
    commands = FORMAT_COMMANDS + [f"rd -p {addr:#x} 8" for _, addr in pairs]
    try:
        files = crash_session(tools, vmlinux, dump, commands, out, options)
    except BuildError as error:
        if cannot_open is None:
            raise
        failed = out / "crash.txt"
        failed.write_text(f"{error}\n")
        return [{"command": "crash", "file": str(failed.relative_to(ref_dir.parent)), "dump": dump.name,
                 "ok": False, "why": cannot_open}]
    return [{"command": c, "file": str(files[c].relative_to(ref_dir.parent)), "dump": dump.name} for c in commands]


def record_dmesg(tools: Tools, dump: Path, ref_dir: Path, elf: bool) -> list:
    """makedumpfile --dump-dmesg (any format) and vmcore-dmesg (ELF only)."""
    entries = []
    out = ref_dir / f"makedumpfile_--dump-dmesg.{dump.name}.txt"
    if out.exists():
        out.unlink()
    result = subprocess.run(tools.makedumpfile() + ["--dump-dmesg", str(dump), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        out.write_text("makedumpfile --dump-dmesg failed:\n" + result.stdout.decode(errors="replace"))
    entries.append({"command": f"makedumpfile --dump-dmesg {dump.name}", "file": str(out.relative_to(ref_dir.parent)),
                    "dump": dump.name, "ok": result.returncode == 0})
    if elf:
        out = ref_dir / f"vmcore-dmesg.{dump.name}.txt"
        result = subprocess.run(tools.command(tools.vmcore_dmesg_bin) + [str(dump)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out.write_bytes(result.stdout if result.returncode == 0
                        else b"vmcore-dmesg failed:\n" + result.stdout)
        entries.append({"command": f"vmcore-dmesg {dump.name}", "file": str(out.relative_to(ref_dir.parent)),
                        "dump": dump.name, "ok": result.returncode == 0})
    return entries


def _notes(data: bytes):
    offset = 0
    while offset + 12 <= len(data):
        namesz, descsz, note_type = struct.unpack_from("<III", data, offset)
        offset += 12
        name = data[offset:offset + namesz].rstrip(b"\0")
        offset += (namesz + 3) & ~3
        desc = data[offset:offset + descsz]
        offset += (descsz + 3) & ~3
        yield name, note_type, desc


def vmcoreinfo(dump: Path) -> str:
    """The VMCOREINFO text of an ELF (PT_NOTE) or kdump-compressed (sub-header) dump."""
    with open(dump, "rb") as f:
        head = f.read(4096)
        if head[:4] == b"\x7fELF":
            phoff, = struct.unpack_from("<Q", head, 0x20)
            phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
            for i in range(phnum):
                p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", table, i * phentsize)
                if p_type == 4:
                    f.seek(p_offset)
                    for name, _, desc in _notes(f.read(p_filesz)):
                        if name == b"VMCOREINFO":
                            return desc.rstrip(b"\0").decode()
            raise BuildError(f"{dump}: no VMCOREINFO note")
        if head[:8] in (b"KDUMP   ", b"DISKDUMP"):
            # disk_dump_header: signature, header_version, new_utsname (6 * 65),
            # padding to 8, timeval (16), status, then block_size at 428.
            block_size, = struct.unpack_from("<i", head, 428)
            f.seek(block_size)
            sub = f.read(64)
            offset, size = struct.unpack_from("<QQ", sub, 8 + 4 + 4 + 8 + 8)
            f.seek(offset)
            return f.read(size).rstrip(b"\0").decode()
    raise BuildError(f"{dump}: neither ELF nor kdump-compressed")
