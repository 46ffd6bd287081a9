"""The drgn-named adapters of pycore.helpers.linux on made-up memory: the kernel's one-letter task
states, the list shortcuts, cpulist text; and per-CPU counters on the corpus against drgn 0.3.0."""
import pytest

from pycore.errors import ObjectTypeError
from pycore.helpers.linux import bitops, cpumask, list as lists, sched
from pycore.kernel import percpu, taint
from pycore.object import ListCorruptError, Object

from drgn_oracle import case_ids, drgn_program, pycore_program, vmlinux_cases
from fake_program import BASE, FakeProgram

TASK = BASE + 0x40


@pytest.mark.parametrize("state, exit_state, char", [
    (0x0000, 0, "R"), (0x0001, 0, "S"), (0x0002, 0, "D"), (0x0402, 0, "I"),  # TASK_IDLE
    (0x0004, 0, "T"), (0x0008, 0, "t"), (0x0080, 0x20, "Z"), (0x0080, 0x10, "X"), (0x0040, 0, "P"),
    (0x0102, 0, "D"),      # TASK_KILLABLE: TASK_WAKEKILL is not reported
    (0x8000, 0, "R"),      # 6.1's TASK_FROZEN alone reports as running, as /proc shows it
    (0x0204, 0, "T"),      # TASK_WAKING on a stopped task
], ids=lambda value: str(value))
def test_task_state_to_char_is_the_kernels_letter(state, exit_state, char):
    prog = FakeProgram()
    prog.put(TASK, state | exit_state << 32)
    task = Object(prog, "struct task_struct *", TASK)
    assert sched.task_state_to_char(task) == char
    assert sched.get_task_state(task).startswith(char + " (")


CSS = "struct cgroup_subsys_state"
HEAD, NODES = BASE + 0x100, [BASE + 0x200 + 0x40 * i for i in range(3)]


def ring(prog, nodes):
    """A list_head ring: HEAD, then the ``sibling`` of each css in ``nodes`` (its first member)."""
    chain = [HEAD] + nodes
    for i, node in enumerate(chain):
        prog.put(node, chain[(i + 1) % len(chain)], chain[i - 1])


def test_list_shortcuts_on_empty_single_and_longer_lists():
    prog = FakeProgram()
    head = Object(prog, "struct list_head *", HEAD)
    ring(prog, [])
    assert lists.list_empty(head) and not lists.list_is_singular(head) and lists.list_count_nodes(head) == 0
    assert int(lists.list_first_entry_or_null(head, CSS, "sibling")) == 0
    ring(prog, NODES[:1])
    assert lists.list_is_singular(head) and lists.list_count_nodes(head) == 1
    ring(prog, NODES)
    assert not lists.list_is_singular(head) and lists.list_count_nodes(head) == 3
    first = lists.list_first_entry(head, CSS, "sibling")
    assert int(first) == NODES[0] and int(lists.list_last_entry(head, CSS, "sibling")) == NODES[2]
    assert int(lists.list_first_entry_or_null(head, CSS, "sibling")) == NODES[0]
    assert int(lists.list_next_entry(first, "sibling")) == NODES[1]
    assert int(lists.list_prev_entry(lists.list_next_entry(first, "sibling"), "sibling")) == NODES[0]
    assert first.type_.type_name() == "struct cgroup_subsys_state *"
    prog.put(NODES[2], NODES[1])  # the last node points back into the list, not at the head
    with pytest.raises(ListCorruptError):
        lists.list_count_nodes(head)


def test_hlist_nodes_are_walked_to_the_null_end():
    prog = FakeProgram()
    head = Object(prog, "struct hlist_head *", HEAD)
    assert lists.hlist_empty(head) and list(lists.hlist_for_each(head)) == []
    prog.put(HEAD, NODES[0])
    prog.put(NODES[0], NODES[1], HEAD)
    prog.put(NODES[1], 0, NODES[0])
    nodes = list(lists.hlist_for_each(head))
    assert [int(n) for n in nodes] == NODES[:2] and nodes[0].type_.type_name() == "struct hlist_node *"
    assert not lists.hlist_empty(head)


MASK, NR_CPU_IDS = BASE + 0x800, BASE + 0x900


@pytest.mark.parametrize("cpus, text", [([], ""), ([0], "0"), ([0, 1, 2, 3], "0-3"),
                                        ([0, 1, 2, 3, 8, 10, 11, 127], "0-3,8,10-11,127"), ([5, 7], "5,7")])
def test_cpulist_text_is_the_kernels(cpus, text):
    prog = FakeProgram(symbols={"nr_cpu_ids": NR_CPU_IDS})
    prog.put(NR_CPU_IDS, 128)
    bits = sum(1 << cpu for cpu in cpus)
    prog.put(MASK, bits & (1 << 64) - 1, bits >> 64)
    mask = Object(prog, "struct cpumask *", MASK)
    assert cpumask.cpumask_to_cpulist(mask) == text
    assert list(cpumask.for_each_cpu(mask)) == cpus and cpumask.cpumask_weight(mask) == len(cpus)


def test_cpus_past_nr_cpu_ids_are_not_cpus():
    prog = FakeProgram(symbols={"nr_cpu_ids": NR_CPU_IDS})
    prog.put(NR_CPU_IDS, 4)
    prog.put(MASK, 0xFF, 0)
    assert list(cpumask.for_each_cpu(Object(prog, "struct cpumask *", MASK))) == [0, 1, 2, 3]


def test_bitmaps_span_words_and_stop_at_their_size():
    prog = FakeProgram()
    prog.put(MASK, 1 << 63 | 1, 0b101)
    bits = Object(prog, "struct cpumask", address=MASK).bits
    assert list(bitops.for_each_set_bit(bits, 128)) == [0, 63, 64, 66]
    assert list(bitops.for_each_set_bit(bits, 65)) == [0, 63, 64]
    assert list(bitops.for_each_clear_bit(bits, 5)) == [1, 2, 3, 4]
    assert bitops.test_bit(66, bits) and not bitops.test_bit(65, bits)
    assert list(bitops.for_each_set_bit(bits.read_(), 128)) == [0, 63, 64, 66]  # a snapshot
    assert list(bitops.for_each_set_bit(bits[0].address_of_(), 64)) == [0, 63]  # unsigned long *
    with pytest.raises(ObjectTypeError):
        bitops.test_bit(0, bits[0])


TAINTED_MASK, TAINT_FLAGS = BASE + 0xA00, BASE + 0xA10


@pytest.mark.parametrize("mask, letters", [(0, ""), (0b001, "P  "), (0b110, "GFS"), (0b111, "PFS")])
def test_taint_letters_come_from_the_kernels_table_and_end_where_it_does(mask, letters):
    prog = FakeProgram(symbols={"tainted_mask": TAINTED_MASK, "taint_flags": TAINT_FLAGS})
    prog.put(TAINTED_MASK, mask)
    # P/G, F, S, then bytes that are no taint flag (the next variable): kallsyms gives no size
    table = b"PG\0F \0S \0" + b"\x07\x30\x01" * 4
    prog.memory[TAINT_FLAGS - BASE:TAINT_FLAGS - BASE + len(table)] = table
    assert taint.tainted(prog) == letters


@pytest.mark.real
@pytest.mark.parametrize("with_vmlinux", [True, False], ids=["vmlinux", "btf"])
@pytest.mark.parametrize("case", vmlinux_cases(), ids=case_ids)
def test_percpu_counters_sum_as_drgn_sums_them(case, with_vmlinux):
    import drgn
    from drgn.helpers.linux import percpu as drgn_percpu

    prog, reference = pycore_program(case, with_vmlinux), drgn_program(case)
    address = prog.symbols.by_name("vm_committed_as").address
    ours = Object(prog, "struct percpu_counter", address=address)
    theirs = drgn.Object(reference, "struct percpu_counter", address=address)
    assert percpu.percpu_counter_sum(ours) == drgn_percpu.percpu_counter_sum(theirs.address_of_())
    assert percpu.percpu_counter_sum_positive(ours.address_of_()) == \
        drgn_percpu.percpu_counter_sum_positive(theirs.address_of_())
