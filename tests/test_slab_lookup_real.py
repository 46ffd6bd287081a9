"""The slab cache behind an address on the corpus dumps, sheaves included (Linux 6.18+; the 7.2 cases):
slab.cache_of / slab_containing as ``bt -F``/``-FF`` and ``rd -S``/``-SS`` use them.

crash 9.0.2 cannot answer on 7.2: its ``bt -F`` and ``rd -S`` recordings stop at "invalid structure
member offset: page_first_page" (7.1's ``struct page`` no longer has ``compound_head``).  There the
guest's own /proc/slabinfo names the caches, crash's 6.x recordings say what the same words are, and
the kernel's invariants of sheaves hold pycore's reading of them: each object a sheaf holds is a
free object of the sheaf's cache, at an object's start, on no slab freelist, and in no other sheaf.
"""
import re

import pytest

import pycore
from corpus import cases, pycore_output
from pycore.kernel import slab

pytestmark = pytest.mark.real

CRASH_STOPS = "invalid structure member offset: page_first_page"
SLAB_WORD = re.compile(r"\[(?:([0-9a-f]+):)?([^\]]+)\]")
# A line of bt -f's stack words: its address, then the words.
STACK_WORDS = re.compile(r"^    [0-9a-f]+: (.*)$", re.M)


def _sheaf_cases():
    """The cases whose kernel keeps free objects in sheaves (kmem_cache.cpu_sheaves: 6.18+)."""
    return [pytest.param(case, id=case.name) for case in cases() if case.manifest["kernel_release"][:2] == "7."]


def _slabinfo_names(case):
    text = case.guest_view("slabinfo")
    if text is None:
        pytest.skip(f"{case.name} recorded no guest view of its slabs")
    return {line.split()[0] for line in text.splitlines()[2:] if line.strip()}


@pytest.mark.parametrize("case", _sheaf_cases())
def test_every_object_in_a_sheaf_is_a_free_object_of_the_sheafs_cache(case):
    """Over every cache of the dump: the objects in sheaves are as many as ``kmem -s`` counts
    (CacheInfo.cached), each at an object's start in a slab of that cache (cache_of's), never on
    its slab's own freelist, and listed free with the sheaf's CPU, as the kernel keeps them."""
    checked = 0
    with pycore.open(case.path(case.reference_dump)) as prog:
        for info in slab.slab_caches(prog):
            messages = []
            reader = slab._SlabReader(prog, info.address, messages.append)
            in_sheaves = reader.in_sheaves()
            assert messages == [] and len(in_sheaves) == info.cached, info.name
            by_slab = {}
            for address in in_sheaves:
                found = slab._slab_of(prog, address)
                assert found is not None and found[0] == info.address, (info.name, hex(address))
                by_slab.setdefault(found[1], []).append(address)
            for head, addresses in by_slab.items():
                listing = reader.listing(head)
                on_freelist = set(reader.freelist(slab._read64(prog, head + reader.slab_freelist), True))
                shown = {o.address: (o.free, o.cpu) for o in listing.objects}
                for address in addresses:
                    assert (address - listing.memory - reader.red_left_pad) % reader.size == 0
                    assert address not in on_freelist
                    assert shown[address] == (True, in_sheaves[address])
                    checked += 1
    assert checked


@pytest.mark.parametrize("case", _sheaf_cases())
@pytest.mark.parametrize("option", ["-F", "-FF"])
def test_bt_F_names_slab_objects_by_caches_the_guest_listed(case, option):
    """crash's 7.2 recording stops at the first slab word (CRASH_STOPS); pycore names each word in
    a slab by its cache, a cache the guest's /proc/slabinfo lists, and the panic task's own words
    (``&current->...``, as 6.x's crash names them) ``[task_struct]``; with -FF the word itself
    comes first.  No word is left in hex for want of the slab layout."""
    names = _slabinfo_names(case)
    recorded = case.reference(f"bt {option}")
    if recorded is not None:
        assert CRASH_STOPS in recorded
    result = pycore_output("bt", case.path(case.reference_dump), option)
    assert (result.status, result.err) == (0, ""), result.err
    task = int(re.match(r"PID: \d+\s+TASK: ([0-9a-f]+)", result.out).group(1), 16)
    words = [word for data in STACK_WORDS.findall(result.out) for word in SLAB_WORD.findall(data)]
    assert words and {cache for _, cache in words} <= names
    if option == "-FF":
        with pycore.open(case.path(case.reference_dump)) as prog:
            size = prog.type("struct task_struct").size
            for value, cache in words:
                assert slab.cache_name(prog, slab.cache_of(prog, int(value, 16))) == cache
                if task <= int(value, 16) < task + size:
                    assert cache == "task_struct"
    else:
        assert all(value == "" for value, _ in words)


def _newest_6x_answer(command):
    for case in sorted(cases(), key=lambda c: c.manifest["kernel_release"], reverse=True):
        if case.manifest["kernel_release"][0] == "6" and case.reference(command) is not None:
            return case.reference(command)
    pytest.skip(f"no 6.x case recorded crash's {command}")


@pytest.mark.parametrize("case", _sheaf_cases())
@pytest.mark.parametrize("command", ["rd -S init_task 16", "rd -SS init_task 16"])
def test_rd_S_goes_on_where_crash_stopped_as_crash_does_on_6x(case, command):
    """pycore's answer is crash's up to where crash stopped (its ``.data`` section name aside:
    pycore names that byte by a symbol), and the word crash stopped at is named as crash names the
    word at the same place of init_task on the newest 6.x kernel (``[task_struct]``: a task
    pointer there, ``[ADDRESS:task_struct]`` with -SS)."""
    recorded = case.reference(command)
    if recorded is None:
        pytest.skip(f"{case.name} recorded no {command}")
    assert CRASH_STOPS in recorded
    before = recorded[:recorded.index("rd: ")]
    result = pycore_output("rd", case.path(case.reference_dump), *command.split()[1:])
    assert (result.status, result.err) == (0, ""), result.err
    ours = result.out.split("\n")
    theirs = before.split("\n")
    for line, crash_line in zip(ours, theirs[:-1]):
        assert re.fullmatch(re.escape(crash_line).replace(re.escape(".data           "), r"\S+ *"), line)
    stopped = theirs[-1]
    line = ours[len(theirs) - 1]
    assert line.startswith(stopped)
    word = line[len(stopped):].split()[0]
    on_6x = _newest_6x_answer(command).split("\n")[len(theirs) - 1]
    expected = on_6x[len(stopped):].split()[0]
    assert SLAB_WORD.fullmatch(expected)
    assert SLAB_WORD.fullmatch(word).group(2) == SLAB_WORD.fullmatch(expected).group(2)
    assert bool(SLAB_WORD.fullmatch(word).group(1)) == (command.startswith("rd -SS"))


@pytest.mark.parametrize("case", _sheaf_cases())
def test_allocated_objects_and_object_info_are_drgns_with_sheaves(case):
    """drgn 0.3.0 reads sheaves too: the allocated objects of task_struct and kmalloc-64 (every slab
    less its freelist and the sheaves' objects) and slab_object_info of the first of them are its."""
    from drgn.helpers.linux import slab as drgn_slab

    from drgn_oracle import drgn_program, pycore_program
    from pycore.helpers.linux import slab as helpers

    prog, reference = pycore_program(case, False), drgn_program(case)
    for name in ("task_struct", "kmalloc-64"):
        theirs = {o.value_() for o in drgn_slab.slab_cache_for_each_allocated_object(
            drgn_slab.find_slab_cache(reference, name), "void")}
        ours = {int(o) for o in helpers.slab_cache_for_each_allocated_object(helpers.find_slab_cache(prog, name),
                                                                            "void")}
        assert ours and ours == theirs
        for address in sorted(ours)[:8]:
            info, other = helpers.slab_object_info(prog, address + 8), drgn_slab.slab_object_info(reference, address + 8)
            assert (int(info.slab_cache), int(info.slab), info.address, info.allocated) == \
                (other.slab_cache.value_(), other.slab.value_(), other.address, other.allocated)
