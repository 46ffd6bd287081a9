"""C expressions (pycore.expression) and gdb's print format (pycore.cli.gdbfmt) on a made-up task in
synthetic memory, both readers: members, pointers with symbols, strings, char arrays, enums and flag
enums, function pointers, casts and pointer arithmetic, /x and /d, the output radix, faults."""
import argparse
import struct

import pytest

import pycore
from pycore.cli.gdbfmt import enum_name, format_value, symbolizer, value_tree
from pycore.cli.print_value import COMMAND as PRINT, split_format
from pycore.cli.command import make_parser
from pycore.errors import MissingMemberError, ObjectTypeError
from pycore.expression import ExpressionError, evaluate, parse
from pycore.symbols.table import SymbolTable
from pycore.types.model import (Member, Qualifiers, TypeIndexBase, array_type, bool_type, enum_type, function_type,
                                int_type, pointer_type, struct_type, typedef_type, union_type, void_type)

from conftest import synthetic, write

PAGE = synthetic.PAGE_SIZE
TASK_PFN, TEXT_PFN = 0x392, 0x393


class DictIndex(TypeIndexBase):
    source = "test types"

    def __init__(self, types, variables, functions):
        self.types, self.variables, self.functions = types, variables, functions

    def _lookup(self, namespace, name):
        return self.types.get((namespace, name))

    def variable_type(self, name):
        return self.variables.get(name)

    def function_type(self, name):
        return self.functions.get(name)


def make_types():
    int_t, uint, char = int_type("int", 4, True), int_type("unsigned int", 4, False), int_type("char", 1, True)
    u8 = typedef_type("u8", int_type("unsigned char", 1, False))
    u32 = typedef_type("u32", uint)
    u64 = typedef_type("u64", int_type("unsigned long long", 8, False))
    list_head = struct_type("list_head", 16, lambda: [
        Member("next", pointer_type(list_head)), Member("prev", pointer_type(list_head), 64)])
    state = enum_type("state", 4, False, [("RUNNING", 0), ("SLEEPING", 1), ("DEAD", 16)])
    flags = enum_type("flags", 4, False, [("F_A", 1), ("F_B", 2), ("F_C", 8)])
    anon = union_type(None, 8, [Member("a", u64), Member("b", array_type(u32, 2))])
    task = struct_type("task", 88, lambda: [
        Member("comm", array_type(char, 8), 0), Member("pid", int_t, 64), Member("st", state, 96),
        Member(None, anon, 128), Member("tasks", list_head, 192),
        Member("fn", pointer_type(function_type(void_type(), [(None, pointer_type(task))])), 320),
        Member("name", pointer_type(char.qualified(Qualifiers.CONST)), 384), Member("on_rq", u8, 448),
        Member("alive", bool_type("_Bool", 1), 456), Member("bits", uint, 464, 3), Member("fl", flags, 480),
        Member("vals", array_type(int_t, 3), 512), Member("self", pointer_type(task), 640)])
    types = {("struct", "list_head"): list_head, ("struct", "task"): task, ("enum", "state"): state,
             ("", "int"): int_t, ("", "long"): int_type("long", 8, True), ("", "char"): char,
             ("", "unsigned long"): int_type("unsigned long", 8, False),
             ("", "long long"): int_type("long long", 8, True), ("", "u8"): u8}
    functions = {"a_function": function_type(void_type(), [("t", pointer_type(task))], is_variadic=True)}
    return DictIndex(types, {"the_task": task}, functions)


@pytest.fixture(scope="module")
def memory(tmp_path_factory):
    machine = synthetic.make_machine(seed=11)
    tables = synthetic.add_page_tables(machine, levels=4)
    page_offset = tables.mappings[0][0]
    task, text = page_offset + TASK_PFN * PAGE, page_offset + TEXT_PFN * PAGE
    function, name = text + 0x100, text + 0x800
    page = bytearray(PAGE)
    struct.pack_into("<8siI", page, 0, b"swapper\0", 7, 1)
    struct.pack_into("<Q", page, 16, 0x1122334455667788)
    struct.pack_into("<QQQQBB", page, 24, task + 24, task + 24, function, name, 0x41, 1)
    struct.pack_into("<BxI", page, 58, 0b101, 1 | 8 | 32)
    struct.pack_into("<iii4xQ", page, 64, -1, 2, 3, task)
    text_page = bytearray(PAGE)
    text_page[0x800:0x80c] = b"tab\there\"\0\0\0"
    for pfn, data in ((TASK_PFN, page), (TEXT_PFN, text_page)):
        machine.pages[pfn] = bytes(data)
        machine.excluded.discard(pfn)
    path = write(tmp_path_factory.mktemp("gdbprint"), "task.vmcore", synthetic.build_kdump(machine, "zlib")[0])
    return path, task, function, name


@pytest.fixture
def prog(memory, native_path):
    path, task, function, name = memory
    program = pycore.open(path, native=native_path)
    program.types = make_types()
    program.symbols = SymbolTable("test symbols", ["the_task", "a_function", "a_name"], [task, function, name],
                                  [88, 64, 16], ["object", "function", "object"])
    yield program
    program.close()


def printed(prog, expression: str, fmt=None, radix: int = 10) -> str:
    value = evaluate(prog, expression).value
    return format_value(value_tree(value, symbolizer(prog)), fmt, radix, top=True)


def test_struct_prints_pretty_with_anonymous_members_strings_symbols_and_enums(prog, memory):
    _, task, function, name = memory
    assert printed(prog, "the_task") == "\n".join([
        "{",
        '  comm = "swapper",',
        "  pid = 7,",
        "  st = SLEEPING,",
        "  {",
        "    a = 1234605616436508552,",
        "    b = {1432778632, 287454020}",
        "  },",
        "  tasks = {",
        f"    next = {task + 24:#x} <the_task+24>,",
        f"    prev = {task + 24:#x} <the_task+24>",
        "  },",
        f"  fn = {function:#x} <a_function>,",
        f'  name = {name:#x} <a_name> "tab\\there\\"",',
        "  on_rq = 65 'A',",
        "  alive = true,",
        "  bits = 5,",
        "  fl = (F_A | F_C | unknown: 0x20),",
        "  vals = {-1, 2, 3},",
        f"  self = {task:#x} <the_task>",
        "}"])


def test_top_level_pointers_show_their_type_but_char_pointers_their_string(prog, memory):
    _, task, function, name = memory
    assert printed(prog, "&the_task") == f"(struct task *) {task:#x} <the_task>"
    assert printed(prog, "the_task.fn") == f"(void (*)(struct task *)) {function:#x} <a_function>"
    assert printed(prog, "the_task.name") == f'{name:#x} <a_name> "tab\\there\\""'
    assert printed(prog, "a_function") == f"{{void (struct task *, ...)}} {function:#x} <a_function>"
    assert printed(prog, "&the_task.comm") == f"(char (*)[8]) {task:#x} <the_task>"


def test_format_letters_and_radix(prog, memory):
    _, task, _, _ = memory
    assert printed(prog, "the_task.comm", "x") == "{0x73, 0x77, 0x61, 0x70, 0x70, 0x65, 0x72, 0x0}"
    assert printed(prog, "the_task.comm", radix=16) == '"swapper"'
    assert printed(prog, "the_task.vals", "x") == "{0xffffffff, 0x2, 0x3}"
    assert printed(prog, "the_task.vals[0]", "d") == "-1"
    assert printed(prog, "the_task.on_rq", radix=16) == "0x41"
    assert printed(prog, "the_task.st", radix=16) == "SLEEPING"
    assert printed(prog, "the_task.st", "x") == "0x1"
    assert printed(prog, "&the_task", "x") == f"{task:#x}"
    assert printed(prog, "the_task.comm[1]") == "119 'w'"


def test_casts_dereferences_and_pointer_arithmetic(prog, memory):
    _, task, _, _ = memory
    assert printed(prog, f"(struct list_head *){task + 24:#x}") == f"(struct list_head *) {task + 24:#x} <the_task+24>"
    assert printed(prog, f"*(struct list_head *)0x{task + 24:x}").startswith("{\n  next = ")
    assert printed(prog, "&the_task.tasks + 1") == f"(struct list_head *) {task + 40:#x} <the_task+40>"
    assert printed(prog, "the_task.self->pid + 1") == "8"
    assert printed(prog, "(long)the_task.pid - 10") == "-3"
    assert printed(prog, "-the_task.pid") == "-7"
    assert printed(prog, "the_task.b[1]") == "287454020"
    assert evaluate(prog, "the_task").symbol == "the_task"
    assert evaluate(prog, "the_task.pid").symbol is None


def test_expression_errors_name_what_is_wrong(prog):
    with pytest.raises(ExpressionError, match="no_such_symbol"):
        evaluate(prog, "no_such_symbol")
    with pytest.raises(MissingMemberError):
        evaluate(prog, "the_task.nope")
    with pytest.raises(ExpressionError, match="not a pointer"):
        evaluate(prog, "the_task->pid")
    with pytest.raises(ExpressionError):
        parse("the_task.")
    with pytest.raises(ExpressionError):
        parse("(the_task")
    with pytest.raises(ObjectTypeError):
        evaluate(prog, "the_task.pid[1]")


def test_unreadable_memory_is_an_error_value_not_a_traceback(prog):
    tree = value_tree(evaluate(prog, "*(struct list_head *)0x10").value, symbolizer(prog))
    assert tree == {"kind": "error", "message": "Cannot access memory at address 0x10", "address": 0x10}
    assert format_value(tree) == "<error: Cannot access memory at address 0x10>"
    assert printed(prog, "(const char *)0x10") == "0x10 <error: Cannot access memory at address 0x10>"


def test_enum_names_follow_gdb():
    flags = enum_type("f", 4, False, [("A", 1), ("B", 2)])
    plain = enum_type("p", 4, False, [("X", 0), ("Y", 3)])
    assert enum_name(flags, 3) == "(A | B)" and enum_name(flags, 0) == "0" and enum_name(flags, 2) == "B"
    assert enum_name(plain, 5) is None and enum_name(plain, 3) == "Y"


def test_print_command_numbers_values_in_a_session_and_names_bare_symbols(prog):
    parser = make_parser(PRINT)
    history: list = []
    lines = []
    for words in (["the_task.pid"], ["/x", "the_task.pid"], ["-x", "the_task.vals"], ["a_function"]):
        args = parser.parse_args(words)
        args.value_history = history
        lines.append(PRINT.render(PRINT.collect(prog, args), args))
    assert lines[:3] == ["$1 = 7", "$2 = 0x7", "$3 = {0xffffffff, 0x2, 0x3}"]
    assert lines[3].startswith("a_function = $4 = \n {void (struct task *, ...)} 0x")
    standalone = parser.parse_args(["the_task.pid"])
    assert PRINT.render(PRINT.collect(prog, standalone), standalone) == "$1 = 7"
    assert split_format(["/x", "jiffies"]) == ("x", "jiffies")
    with pytest.raises(ExpressionError):
        split_format(["/q", "jiffies"])
    assert isinstance(standalone, argparse.Namespace)


def test_an_unreadable_object_is_the_commands_error(prog):
    """gdb prints no value (and numbers none) for memory it cannot read; crash's struct stops there."""
    from pycore.cli.struct import COMMANDS as STRUCT_COMMANDS
    from pycore.errors import FaultError

    args = make_parser(PRINT).parse_args(["*(struct list_head *)0x10"])
    args.value_history = []
    with pytest.raises(FaultError, match="Cannot access memory at address 0x10"):
        PRINT.collect(prog, args)
    assert args.value_history == []
    struct_command = STRUCT_COMMANDS[0]
    result = struct_command.collect(prog, make_parser(struct_command).parse_args(["list_head", "10"]))
    assert result.error == "invalid kernel virtual address: 0x10" and result.data["objects"] == []


def test_a_deeply_nested_expression_is_refused_not_a_recursion_error():
    with pytest.raises(ExpressionError, match="longer than"):
        parse("(" * 5000 + "x" + ")" * 5000)
    assert parse("((x))") == ("symbol", "x")


def test_floats_print_with_the_digits_gdb_uses():
    assert format_value({"kind": "float", "value": 0.1, "size": 8}) == "0.10000000000000001"
    assert format_value({"kind": "float", "value": 1.5, "size": 4}) == "1.5"


class _Words:
    """Memory of 8-byte words for the list walker; anything else faults."""

    def __init__(self, words):
        self.words = words

    def read(self, address, size):
        from pycore.errors import FaultError

        if address not in self.words:
            raise FaultError("not mapped", address)
        return self.words[address].to_bytes(8, "little")


def test_list_walks_end_at_the_head_at_null_at_end_and_report_loops_and_faults():
    from pycore.cli.list_walk import walk

    ring = _Words({0x100: 0x200, 0x200: 0x300, 0x300: 0x100, 0x108: 0x300, 0x208: 0x100, 0x308: 0x200})
    assert walk(ring, 0x100, 0, "H", False, None) == ([0x200, 0x300], None)
    assert walk(ring, 0x100, 0, "H", True, None) == ([0x300, 0x200], None)
    assert walk(ring, 0x200, 0, "h", False, None) == ([0x200, 0x300, 0x100], None)
    assert walk(ring, 0x100, 0, "H", False, 0x300) == ([0x200], None)
    assert walk(ring, 0x100, 0, "H", False, 0x999) == ([0x200, 0x300, 0x100], None)
    chain = _Words({0x10: 0x20, 0x20: 0x30, 0x30: 0})
    assert walk(chain, 0x10, 0, None, False, None) == ([0x10, 0x20, 0x30], None)
    loop = _Words({0x100: 0x200, 0x200: 0x300, 0x300: 0x200})
    assert walk(loop, 0x100, 0, "H", False, None) == ([0x200, 0x300], "duplicate list entry: 200")
    broken = _Words({0x100: 0x200, 0x200: 0x999})
    assert walk(broken, 0x100, 0, "H", False, None) == ([0x200, 0x999], "invalid kernel virtual address: 0x999")


def test_the_last_member_of_its_struct_or_anonymous_union_is_known():
    from pycore.cli.struct import is_last_member

    task = make_types().types[("struct", "task")]
    assert is_last_member(task, "self") and not is_last_member(task, "pid")
    assert is_last_member(task, "b") and not is_last_member(task, "a")
    assert is_last_member(task, "tasks.prev") and not is_last_member(task, "tasks.next")


def test_binary_operators_follow_c_precedence_and_objects_semantics(prog):
    assert printed(prog, "the_task.pid * 2 + 1") == "15"
    assert printed(prog, "1 + the_task.pid * 2") == "15"
    assert printed(prog, "(1 + the_task.pid) * 2") == "16"
    assert printed(prog, "the_task.pid / 2") == "3" and printed(prog, "the_task.pid % 4") == "3"
    assert printed(prog, "1 << 4 | 3 & 1") == "17"
    assert printed(prog, "~0") == "-1" and printed(prog, "6 ^ 3") == "5" and printed(prog, "64 >> 2") == "16"
    with pytest.raises(ExpressionError, match="division by zero"):
        evaluate(prog, "the_task.pid / 0")


def test_value_history_names_printed_values_and_void_as_gdb(prog):
    """gdb's ``$``, ``$$``, ``$N`` and ``$$N`` at crash's prompt: each names a value printed before
    and is printed (and numbered) again; a convenience variable never set is void; a number the
    history has not reached is crash's failed gdb request, numbering nothing."""
    parser = make_parser(PRINT)
    history: list = []

    def p(*words):
        args = parser.parse_args(list(words))
        args.value_history = history
        return PRINT.render(PRINT.collect(prog, args), args)

    assert p("the_task.pid") == "$1 = 7"
    assert p("the_task.vals[1]") == "$2 = 2"
    assert [p("$"), p("$$"), p("$1"), p("$$3")] == ["$3 = 2", "$4 = 2", "$5 = 7", "$6 = 2"]
    assert p("$foo") == "$7 = void" and p("$7") == "$8 = void"
    assert p("$1", "+", "1") == "$9 = 8" and p("/x", "$1") == "$10 = 0x7"
    with pytest.raises(ExpressionError, match=r"^gdb request failed: p \$99$"):
        p("$99")
    with pytest.raises(ExpressionError, match=r"^gdb request failed: p \$7\.next$"):  # a member of void
        p("$7.next")
    assert len(history) == 10 and history[6] is None


def test_list_S_reads_members_as_crash_print_value(prog, memory):
    """``-S``: up to 8 bytes as an unsigned number (a pointer in hex, a function's name after it),
    char arrays and char pointers as strings, wider members in -s's gdb form."""
    from pycore.cli.list_walk import fast_member
    from pycore.cli.struct import fast_line, object_lines

    _, task, function, name = memory
    obj = pycore.Object(prog, "struct task", address=task)
    lines = [fast_line(fast_member(obj, path, symbolizer(prog)), 10) for path in ("pid", "comm", "st", "on_rq")]
    # comm is a char[8]: crash's print_value writes its 8 bytes as a number, then the string too.
    number = int.from_bytes(b"swapper\0", "little")
    assert lines == ["  pid = 7", f'  comm = {number}  comm = "swapper"', "  st = 1", "  on_rq = 65"]
    assert fast_line(fast_member(obj, "name", symbolizer(prog)), 10) == f'  name = {name:#x}  "tab\there""'
    assert fast_line(fast_member(obj, "fn", symbolizer(prog)), 16) == f"  fn = {function:#x} <a_function>"
    assert fast_line(fast_member(obj, "pid", symbolizer(prog)), 16) == "  pid = 0x7"
    wide = fast_member(obj, "vals", symbolizer(prog))
    assert object_lines({"members": [wide]}, "struct task", 10) == ["  vals = {-1, 2, 3},"]


def test_list_B_finds_a_loop_with_brent_and_reports_it_as_crash():
    """Without a loop ``-B`` lists what the hash-table walk lists; a loop is reported by its length,
    its distance from the start and the entry that closes it (crash's do_list_no_hash)."""
    from pycore.cli.list_walk import brent_walk, walk

    ring = _Words({0x100: 0x200, 0x200: 0x300, 0x300: 0x100, 0x108: 0x300, 0x208: 0x100, 0x308: 0x200})
    for args in ((0x100, 0, "H", False, None), (0x100, 0, "H", True, None), (0x200, 0, "h", False, None),
                 (0x100, 0, "H", False, 0x300)):
        entries, error = walk(ring, *args)
        assert brent_walk(ring, *args) == (entries, [], error)
    chain = _Words({0x10: 0x20, 0x20: 0x30, 0x30: 0})
    assert brent_walk(chain, 0x10, 0, None, False, None) == ([0x10, 0x20, 0x30], [], None)
    loop = _Words({0x100: 0x200, 0x200: 0x300, 0x300: 0x400, 0x400: 0x500, 0x500: 0x300})
    entries, notes, error = brent_walk(loop, 0x100, 0, "H", False, None)
    assert notes == ["loop detected, loop length: 3", "length from start to loop: 1"]
    assert error == "duplicate list entry: 300" and entries[:4] == [0x200, 0x300, 0x400, 0x500]
    broken = _Words({0x100: 0x200, 0x200: 0x999})
    assert brent_walk(broken, 0x100, 0, "H", False, None)[2] == "invalid kernel virtual address: 0x999"


def test_a_private_use_character_is_printed_as_gdb_on_a_utf8_host_prints_it():
    """gdb prints a valid UTF-8 sequence raw when glibc calls it printable, private use areas too
    (garbage past a module's name on 6.12's QEMU case); other high bytes are octal escapes."""
    from pycore.cli.gdbfmt import escape

    assert escape(bytes.fromhex("40e4eebf9388ffff"), '"') == "@\\344\uefd3\\210\\377\\377"
    assert escape("é".encode(), '"') == "é" and escape(b"\xed\xa0\x80", '"') == "\\355\\240\\200"
