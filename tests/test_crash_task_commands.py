"""crash 9's kernel-state commands (issue 13, part A): task -R, ps -k/-G/-t/-p/-c/-a, runq -t, kmem -S
CACHE, kmem ADDRESS, sig, timer and irq -s, compared byte for byte with crash's recordings on every corpus case, with the vmlinux and
without it; where crash is wrong the guest's own view decides.  Then what no recording shows: the text of
odd argv/environment areas, the verbose state names, the warnings of ps and kmem -z."""
import io
import json
import re
from types import SimpleNamespace

import pytest

from pycore.cli import kmem, ps, sig
from pycore.cli.command import make_parser
from pycore.kernel import sched, vmstat

from cli_cases import argv, modes
from corpus import cases, pycore_output

# crash's command, and where pycore's text stands apart from it on some kernels (see the tests below).
COMMANDS = ["task -R pid,comm", "ps -k", "ps -G", "ps -t 1", "ps -p 1", "ps -c 1", "ps -a 1", "runq -t",
            "kmem -S kmalloc-64", "sig 1", "timer", "irq -s",
            # Met once the corpus records them (crash 9.0.2 printed the same on 6.1-sysrq-l4 and 6.12-oom-l5).
            "ps -u", "ps -l", "ps -m", "ps -S", "ps -g", "ps -g 1", "ps -r 1", "ps -l 1", "ps -m 1", "runq -g",
            "runq -m", "sig -l", "sig -g 1"]
# crash 9.0.2 fails on 7.2 for these (its recording says so): kmem -S "not supported for this kernel"
# (sheaves replaced struct kmem_cache_cpu), kmem ADDRESS "invalid structure member offset:
# page_first_page" (7.1's struct page); the tests below hold pycore to the kernel's own view there.
# runq -g: crash reads 7.2's per-CPU tg->cfs_rq as an array ("invalid kernel virtual address").
CRASH_FAILS = {("7.2", "kmem -S kmalloc-64"), ("7.2", "kmem ADDRESS"), ("7.2", "runq -g")}


def comparisons():
    params = []
    for case in cases():
        recorded = [(c, c) for c in COMMANDS if case.reference(c, case.reference_dump) is not None]
        recorded += [(r["command"], "kmem ADDRESS") for r in case.references("kmem 0x")]
        for command, kind in recorded:
            if (case.name.split("-")[0], kind) in CRASH_FAILS:  # the kernel: "7.2" of "7.2-sysrq-l4"
                continue
            for mode, options in modes(case):
                params.append(pytest.param(case, command, options, id=f"{case.name}-{command}-{mode}"))
    return params


def _kernel_hz_differs(case) -> bool:
    info = json.loads(pycore_output("sys", case.path(case.reference_dump), "--json").out)
    return info["kernel_hz"] is not None and info["hz"] != info["kernel_hz"]


@pytest.mark.real
@pytest.mark.parametrize("case,command,options", comparisons())
def test_command_prints_what_crash_printed(case, command, options):
    """The whole output, byte for byte, but for one line: ps -t's RUN TIME where crash's guess of HZ
    is not the kernel's (Debian 6.12 and 7.2: 1000 for 250).  pycore counts jiffies at the kernel's
    own HZ as sys does: that line is held to the guest's /proc/uptime instead."""
    expected = case.reference(command, case.reference_dump)
    result = pycore_output(*argv(case, command, options))
    assert (result.status, result.err) == (0, ""), result.err
    got = result.out
    if command == "ps -t 1" and _kernel_hz_differs(case):
        ours = re.search(r"^    RUN TIME: (\d\d):(\d\d):(\d\d)$", got, re.M)
        start = int(re.search(r"^  START TIME: (\d+)$", got, re.M).group(1))
        uptime = float(case.guest_view("uptime").split()[0])
        seconds = int(ours.group(1)) * 3600 + int(ours.group(2)) * 60 + int(ours.group(3))
        # The guest listed its uptime a few seconds before it crashed.
        assert 0 <= seconds - int(uptime - start / 1e9) < 60
        expected = re.sub(r"^    RUN TIME: .*$", ours.group(0), expected, flags=re.M)
    assert got == expected


@pytest.mark.real
@pytest.mark.parametrize("case", [c for c in cases() if c.name.startswith("7.2")], ids=lambda c: c.name)
def test_on_7_2_kmem_S_says_why_it_cannot_list_sheaves(case):
    """crash 9.0.2 prints "kmem: -S not supported for this kernel" on 7.2; pycore fails too, saying why
    (the per-CPU slabs it lists are gone) instead of listing part of the cache."""
    result = pycore_output(*argv(case, "kmem -S kmalloc-64"))
    assert result.status == 1
    assert "sheaves" in result.err and result.out == ""


@pytest.mark.real
@pytest.mark.parametrize("case", [c for c in cases() if c.references("kmem 0x")], ids=lambda c: c.name)
def test_kmem_address_of_init_task_is_the_idle_task_and_its_page(case):
    """What holds on every kernel, 7.2 too (where crash stops at page_first_page): init_task is
    swapper/0's task_struct, one of the idle tasks, and its page is the page of its physical address."""
    address = case.references("kmem 0x")[0]["command"].split()[1]
    report = json.loads(pycore_output(*argv(case, f"kmem {address}"), "--json").out)
    assert report["symbol"]["name"] == "init_task" and report["symbol"]["offset"] == 0
    assert report["symbol"]["address"] == int(address, 16)
    task = report["task"]
    assert (task["pid"], task["comm"], task["task"], task["cpu"]) == (0, "swapper/0", int(address, 16), 0)
    assert task["same_pid"] == json.loads(pycore_output("sys", case.path(case.reference_dump), "--json").out)["cpus"]
    assert report["page"]["physical"] % 4096 == 0 and "reserved" in report["page"]["flag_names"]


@pytest.mark.real
@pytest.mark.parametrize("case", [c for c in cases() if c.reference("kmem -S kmalloc-64") is not None
                                  and not c.name.startswith("7.2")], ids=lambda c: c.name)
def test_kmem_address_of_a_slab_object_is_its_line_of_kmem_S(case):
    """kmem ADDRESS of an allocated object and of a free one (and of an address inside one) shows the
    cache, the slab and that object's line just as kmem -S lists them."""
    listing = pycore_output(*argv(case, "kmem -S kmalloc-64")).out.splitlines()
    cpu_slab = listing.index("CPU 0 SLAB:")
    head, slab_line = listing[:2], listing[cpu_slab + 2]
    objects = listing[cpu_slab + 4:listing.index("CPU 0 PARTIAL:")]
    # CPU 0's slab of a fresh boot may hold no allocated object yet, or no free one.
    allocated = next((line for line in objects if line.startswith("  [")), None)
    free = next((line for line in objects if not line.startswith("  [")), None)
    assert allocated or free
    for line in filter(None, (allocated, free)):
        address = int(line.strip(" []").split()[0], 16)
        for asked in (address, address + 5):
            out = pycore_output(*argv(case, f"kmem {asked:x}")).out.splitlines()
            assert out[:6] == head + [listing[cpu_slab + 1], slab_line, "  FREE / [ALLOCATED]", line]
            # The page line is the slab's struct page (PG_slab up to 6.9; a page type since).
            assert out[7] == kmem.PAGE_HEADER and out[8].split()[0] == slab_line.split()[0]


@pytest.mark.real
@pytest.mark.parametrize("case", [c for c in cases() if c.references("kmem 0x")], ids=lambda c: c.name)
def test_kmem_of_a_page_or_a_physical_address_is_that_page(case):
    """crash shows the page itself for a struct page's address and for a physical address (below the
    kernel's half), the page of the vmemmap memory for an address inside a struct page; a physical
    address past max_pfn is an error naming it."""
    address = case.references("kmem 0x")[0]["command"].split()[1]
    page_line = pycore_output(*argv(case, f"kmem {address}")).out.splitlines()[-1]
    page, physical = (int(word, 16) for word in page_line.split()[:2])
    for asked in (f"{page:x}", f"{physical:x}"):
        assert pycore_output(*argv(case, f"kmem {asked}")).out.splitlines() == [kmem.PAGE_HEADER, page_line]
    assert pycore_output(*argv(case, f"kmem {page + 8:x}")).out.splitlines()[-1].split()[0] != f"{page:x}"
    beyond = pycore_output(*argv(case, "kmem 7fffffffff000"))
    assert beyond.status == 1 and "no page frame there" in beyond.err and "0x7fffffffff000" in beyond.err


@pytest.mark.real
@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_kmem_address_on_a_kernel_stack_is_its_task_and_vmalloc_area(case):
    """An address on the panic task's stack names the task and the vmalloc area of its stack
    (CONFIG_VMAP_STACK: THREAD_SIZE and a guard page), as crash 9 shows it on 6.1 and 6.12."""
    header, member = pycore_output(*argv(case, "task -R stack")).out.splitlines()[:2]
    stack = int(re.fullmatch(r"  stack = 0x([0-9a-f]+),", member).group(1), 16)
    report = json.loads(pycore_output(*argv(case, f"kmem {stack + 0x3f00:x}"), "--json").out)
    assert (report["task"]["task"], report["task"]["marker"]) == (int(header.split()[3], 16), "PANIC")
    area = report["vmap_area"]
    assert area["start"] == stack and area["end"] - area["start"] == 16384 + 4096 and area["vm"]
    text = pycore_output(*argv(case, f"kmem {stack + 0x3f00:x}")).out.split("\n\n")
    assert text[1].splitlines() == [kmem.VMAP_HEADER, "%x  %x  %x - %x    20480" % (area["address"], area["vm"],
                                                                                   area["start"], area["end"])]


@pytest.mark.real
@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_timer_r_lists_each_clock_s_hrtimers_in_expiry_order(case):
    """timer -r: every CPU's clock bases, timers earliest first, TTE = EXPIRES - CURRENT, CURRENT the
    monotonic uptime at the kernel's HZ (crash 9.0.2 printed the same on 5.10 and 6.1; on 6.12 it
    counts jiffies at 1000 Hz, and on 7.2 it reads the 7.x hrtimer at the wrong offsets)."""
    data = json.loads(pycore_output(*argv(case, "timer -r"), "--json").out)
    info = json.loads(pycore_output("sys", case.path(case.reference_dump), "--json").out)
    assert [cpu["cpu"] for cpu in data["cpus"]] == list(range(info["cpus"]))
    text = pycore_output(*argv(case, "timer -r")).out
    monotonic = data["cpus"][0]["clocks"][0]
    assert monotonic["timers"] and monotonic["offset"] == 0
    assert abs(monotonic["now"] // 10**9 - info["kernel_uptime_seconds"]) <= 1
    for cpu in data["cpus"]:
        for clock in cpu["clocks"]:
            expires = [t["expires"] for t in clock["timers"]]
            assert expires == sorted(expires)
            assert all(t["softexpires"] <= t["expires"] and t["symbol"] for t in clock["timers"])
            for t in clock["timers"]:
                assert f"{t['expires'] - clock['now']}  {t['address']:x}  {t['function']:x}  <{t['symbol']}>" in text


@pytest.mark.real
@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_runq_g_is_the_running_task_and_the_cfs_queue_of_runq(case):
    """The root group's queue of each CPU is runq's CFS queue, with the running task first; its
    cfs_rq is the runqueue's own (7.2 too, whose tg->cfs_rq is a per-CPU pointer)."""
    groups = json.loads(pycore_output(*argv(case, "runq -g"), "--json").out)["cpus"]
    table = json.loads(pycore_output(*argv(case, "runq"), "--json").out)["cpus"]
    for group, rq in zip(groups, table):
        assert group["running"] == rq["current"] and group["queued"] == rq["cfs"]
        assert 0 < rq["cfs_rb_root"] - group["cfs_rq"] < 0x100 and group["cfs_rq"] > rq["rq"]


@pytest.mark.real
@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_runq_t_current_tasks_arrived_before_the_clock(case):
    data = json.loads(pycore_output(*argv(case, "runq -t"), "--json").out)
    table = json.loads(pycore_output(*argv(case, "runq"), "--json").out)
    assert [rq["current"]["task"] for rq in data["cpus"]] == [rq["current"]["task"] for rq in table["cpus"]]
    assert all(0 < rq["current"]["last_arrival"] <= rq["clock"] for rq in data["cpus"])


@pytest.mark.real
@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_ps_relations_agree_with_the_ps_table(case):
    """ps -c 1 lists exactly the tasks whose PPID is 1 in ps; ps -p of each ends with it; -G keeps
    the tasks whose pid is their tgid."""
    table = json.loads(pycore_output(*argv(case, "ps"), "--json").out)["tasks"]
    children = json.loads(pycore_output(*argv(case, "ps -c 1"), "--json").out)["tasks"][0]["children"]
    assert [c["pid"] for c in children] == [row["pid"] for row in table if row["ppid"] == 1 and row["pid"] != 1]
    chains = json.loads(pycore_output(*argv(case, "ps -p 1"), "--json").out)["chains"]
    assert [[t["pid"] for t in chain] for chain in chains] == [[0, 1]]


@pytest.mark.real
@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_task_R_names_members_in_the_order_given_from_both_structs(case):
    """crash looks each -R name up in the task_struct, then in the thread_info: ``flags`` is in both."""
    out = pycore_output(*argv(case, "task 1 -R comm,pid,flags")).out.splitlines()
    assert out[0].startswith("PID: 1 ") and out[-1] == ""
    assert [line.split(" = ")[0] for line in out[1:-1]] == ["  comm", "  pid", "  flags", "  flags"]
    assert pycore_output(*argv(case, "task 1 -x -R pid")).out.splitlines()[1] == "  pid = 0x1,"


@pytest.mark.real
@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_ps_options_agree_with_the_ps_table(case):
    """-k and -u split the table; -S counts its states; -l lists every task latest first; -g 1's
    threads are those sharing its tgid; -r 1 shows the 16 limits."""
    table = pycore_output(*argv(case, "ps")).out.splitlines()[1:]
    kernel = pycore_output(*argv(case, "ps -k")).out.splitlines()[1:]
    user = pycore_output(*argv(case, "ps -u")).out.splitlines()[1:]
    assert sorted(kernel + user) == sorted(table)
    states = {}
    for row in json.loads(pycore_output(*argv(case, "ps"), "--json").out)["tasks"]:
        states[row["state"]] = states.get(row["state"], 0) + 1
    summary = dict(line.strip().split(": ") for line in pycore_output(*argv(case, "ps -S")).out.splitlines())
    assert {state: int(count) for state, count in summary.items()} == states
    last = json.loads(pycore_output(*argv(case, "ps -l"), "--json").out)["tasks"]
    assert len(last) == len(table) and [t["last_run"] for t in last] == sorted((t["last_run"] for t in last),
                                                                              reverse=True)
    groups = json.loads(pycore_output(*argv(case, "ps -g 1"), "--json").out)["groups"]
    assert [g["pid"] for g in groups] == [1] and groups[0]["threads"] == []
    limits = json.loads(pycore_output(*argv(case, "ps -r 1"), "--json").out)["tasks"][0]["limits"]
    assert len(limits) == 16 and all(current <= maximum for current, maximum in limits)


@pytest.mark.real
# Not 7.2: there makedumpfile 1.7.8 also drops pages of task_structs (the tail pages of compound slabs
# it cannot recognize on 7.1+), so ps's answer is partial (tests/test_partial_task_list.py).
@pytest.mark.parametrize("case", [c for c in cases() if any(d["name"] == "vmcore-guest.kdump-zstd" and d["dump_level"] == 31
                                                             for d in c.dumps()) and not c.name.startswith("7.2")],
                         ids=lambda c: c.name)
def test_ps_a_where_makedumpfile_dropped_the_user_pages_warns_and_goes_on(case):
    """makedumpfile -d 31 leaves user pages out: ps -a shows the task and says which address it could
    not read (crash: "cannot access user stack address"), exit status 0, no traceback."""
    result = pycore_output("ps", case.path("vmcore-guest.kdump-zstd"), "-a", "1")
    assert result.status == 0 and result.out.startswith("PID: 1 ") and result.out.count("\n") == 2
    assert re.fullmatch(r"ps: task [0-9a-f]+: .*excluded.*: virtual address 0x7f[0-9a-f]+\n", result.err)


# -- without a dump -------------------------------------------------------------------------------
def _arguments_text(arguments, environment):
    task = {"pid": 7, "task": 0xFFFF888000001000, "cpu": 1, "comm": "sh",
            "arguments": arguments, "environment": environment}
    return ps.render({"mode": "arguments", "tasks": [task]}, SimpleNamespace())


def test_ps_a_prints_argv_and_environment_as_crash_walks_their_nuls():
    header = 'PID: 7        TASK: ffff888000001000  CPU: 1    COMMAND: "sh"\n'
    assert _arguments_text(["/bin/sh", "/init", ""], ["HOME=/", "TERM=linux", ""]) == \
        header + "ARG: /bin/sh /init \nENV: HOME=/\n     TERM=linux\n\n"
    # No NUL at the end of argv: no space after its last string; an empty environment: two newlines.
    assert _arguments_text(["a", "b"], []) == header + "ARG: a b\nENV: \n\n"
    # Empty strings print nothing; the environment's first string is not indented.
    assert _arguments_text(["", "x", ""], ["", "A=1", ""]) == header + "ARG: x \nENV:      A=1\n\n"


def test_ps_a_of_a_kernel_thread_is_its_header_and_a_warning():
    task = {"pid": 2, "task": 0xFFFF888000002000, "cpu": 0, "comm": "kthreadd", "arguments": None,
            "environment": None}
    assert ps.render({"mode": "arguments", "tasks": [task]}, SimpleNamespace()) == \
        'PID: 2        TASK: ffff888000002000  CPU: 0    COMMAND: "kthreadd"\n\n'


@pytest.mark.parametrize("state,names", [
    (0x0, ["TASK_RUNNING"]), (0x1, ["TASK_INTERRUPTIBLE"]), (0x402, ["TASK_UNINTERRUPTIBLE"]),
    (0x40, ["TASK_PARKED"]), (0x90, ["EXIT_DEAD|TASK_DEAD"]), (0x10, ["EXIT_DEAD"]),
    (0x102, ["TASK_UNINTERRUPTIBLE", "TASK_WAKEKILL"]), (0xa0, ["EXIT_DEAD", "EXIT_ZOMBIE"]),
], ids=["running", "interruptible", "idle", "parked", "dead", "exit-dead", "killable", "zombie"])
def test_verbose_state_names_are_crash_s(state, names):
    assert sched.state_names(state) == names


def test_ps_reports_problems_on_stderr_and_in_json(monkeypatch):
    """A task no kernel makes is named on stderr (``ps: task ADDR: problem``) and in --json's warnings."""
    row = {"pid": 40000, "ppid": 1, "cpu": 0, "task": 0xFFFF8DBFC4090000, "state": "IN", "state_value": 1,
           "percent_mem": 0.0, "percent_mem_text": "0.0", "vsz_kb": 0, "rss_kb": 0, "rss_pages": 0,
           "comm": "sleeper", "kernel_thread": False, "active": False,
           "problems": ["pid 40000 is not a pid (pid_max 32768)"]}
    monkeypatch.setattr(ps, "_contexts", lambda prog: [])
    monkeypatch.setattr(ps, "tasks", lambda prog, contexts: [row])
    out, err = io.StringIO(), io.StringIO()
    assert ps.COMMAND.run(SimpleNamespace(), make_parser(ps.COMMAND).parse_args(["--json"]), out, err) == 0
    assert err.getvalue() == "ps: task ffff8dbfc4090000: pid 40000 is not a pid (pid_max 32768)\n"
    assert json.loads(out.getvalue())["warnings"] == ["task ffff8dbfc4090000: pid 40000 is not a pid (pid_max 32768)"]


def test_kmem_z_reports_a_zone_problem_on_stderr_and_beside_the_zone(monkeypatch):
    """A zone no kernel keeps (more managed pages than present) is named on stderr and in its JSON."""
    broken = vmstat.ZoneInfo(node=0, node_id=0, index=2, name="Normal", address=0xFFFF88803FFD5D00,
                             start_pfn=0x100000, spanned_pages=262144, present_pages=262144, managed_pages=262145,
                             watermark_min=3969, watermark_low=4961, watermark_high=5953, watermark_boost=0,
                             vm_stat={"NR_FREE_PAGES": 4116})
    monkeypatch.setattr(kmem.vmstat, "zones", lambda prog: [broken])
    monkeypatch.setattr(kmem.sched, "nr_cpus", lambda prog: 2)
    out, err = io.StringIO(), io.StringIO()
    assert kmem.COMMAND.run(SimpleNamespace(), make_parser(kmem.COMMAND).parse_args(["-z", "--json"]), out, err) == 0
    assert err.getvalue() == "kmem: zone 0/Normal at ffff88803ffd5d00: 262145 managed pages of 262144 present\n"
    assert json.loads(out.getvalue())[0]["problems"] == ["262145 managed pages of 262144 present"]


def _sig(*words: str) -> str:
    args = make_parser(sig.COMMAND).parse_args(list(words))
    return sig.render(sig.collect(SimpleNamespace(), args), args)


def test_sig_l_names_the_64_signals_as_crash():
    lines = _sig("-l").splitlines()
    assert len(lines) == 64
    assert lines[5] == " [6] SIGABRT/SIGIOT" and lines[30] == "[31] SIGSYS/SIGUNUSED"
    assert lines[31:34] == ["[32] SIGRTMIN", "[33] SIGRTMIN+1", "[34] SIGRTMIN+2"]
    assert lines[47:50] == ["[48] SIGRTMIN+16", "[49] SIGRTMAX-15", "[50] SIGRTMAX-14"]
    assert lines[63] == "[64] SIGRTMAX"


def test_sig_s_wraps_the_names_before_column_80():
    lines = _sig("-s", "fffffffe7ffbfeff").splitlines()
    assert lines[0] == "SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGUSR1 SIGSEGV"
    assert all(len(line) <= 80 for line in lines) and lines[-1].endswith("SIGRTMAX-1 SIGRTMAX")
    assert "SIGKILL" not in lines[0] and "SIGRTMIN+1 " not in " ".join(lines) + " "
    assert _sig("-s", "0") == "(none)"
