"""Types written as C declarations (pycore.types.cdecl), gdb's spelling, on made-up types: declarators
for pointers, arrays, function pointers and bit fields, struct bodies with nested anonymous members and
their offsets, enums, prototypes; and crash's framing of them (SIZE, -o columns, typedefs)."""
from pycore.cli.struct import definition_lines, member_declaration_lines
from pycore.cli.whatis import type_lines
from pycore.types.cdecl import body_lines, declaration, definition, enumerator_list, function_declaration
from pycore.types.model import (Member, Qualifiers, array_type, enum_type, function_type, int_type, pointer_type,
                                struct_type, typedef_type, union_type, void_type)

INT = int_type("int", 4, True)
UINT = int_type("unsigned int", 4, False)
CHAR = int_type("char", 1, True)
LIST_HEAD = struct_type("list_head", 16, lambda: [Member("next", pointer_type(LIST_HEAD)),
                                                  Member("prev", pointer_type(LIST_HEAD), 64)])
CALLBACK = struct_type("callback_head", 16, lambda: [
    Member("next", pointer_type(CALLBACK)),
    Member("func", pointer_type(function_type(void_type(), [(None, pointer_type(CALLBACK))])), 64)])


def test_declarators_read_inside_out_as_gdb_writes_them():
    assert declaration(pointer_type(LIST_HEAD), "next") == "struct list_head *next"
    assert declaration(array_type(CHAR, 16), "comm") == "char comm[16]"
    assert declaration(array_type(CHAR, 16)) == "char [16]"
    assert declaration(pointer_type(array_type(CHAR, 16))) == "char (*)[16]"
    assert declaration(array_type(pointer_type(CHAR), 4), "argv") == "char *argv[4]"
    assert declaration(CHAR.qualified(Qualifiers.CONST), "c") == "const char c"
    assert declaration(pointer_type(CHAR, qualifiers=Qualifiers.CONST), "p") == "char * const p"
    assert declaration(UINT, "flag", bit_field_size=1) == "unsigned int flag : 1"
    assert declaration(array_type(LIST_HEAD, None), "heads") == "struct list_head heads[]"


def test_function_pointers_and_prototypes_list_parameter_types():
    handler = pointer_type(function_type(void_type(), [(None, pointer_type(CALLBACK))]))
    assert declaration(handler, "func") == "void (*func)(struct callback_head *)"
    assert declaration(handler) == "void (*)(struct callback_head *)"
    panic = function_type(void_type(), [("fmt", pointer_type(CHAR.qualified(Qualifiers.CONST)))], is_variadic=True)
    assert function_declaration("panic", panic) == "void panic(const char *, ...)"
    assert function_declaration("schedule", function_type(void_type(), [])) == "void schedule(void)"


def test_struct_body_expands_anonymous_members_in_place_with_their_offsets():
    inner = struct_type(None, 8, [Member("a", INT), Member("b", INT, 32)])
    anon = union_type(None, 8, [Member(None, inner), Member("whole", int_type("unsigned long", 8, False))])
    named = struct_type(None, 4, [Member("x", INT)])
    outer = struct_type("outer", 24, [Member("head", INT), Member(None, anon, 64), Member("n", named, 128),
                                      Member("bits", UINT, 160, 3)])
    assert definition(outer) == "\n".join([
        "struct outer {",
        "    int head;",
        "    union {",
        "        struct {",
        "            int a;",
        "            int b;",
        "        };",
        "        unsigned long whole;",
        "    };",
        "    struct {",
        "        int x;",
        "    } n;",
        "    unsigned int bits : 3;",
        "}"])
    offsets = [(line.text, line.bit_offset) for line in body_lines(outer) if line.bit_offset is not None]
    assert offsets == [("int head;", 0), ("int a;", 64), ("int b;", 96), ("unsigned long whole;", 64),
                       ("int x;", 128), ("} n;", 128), ("unsigned int bits : 3;", 160)]


def test_enum_values_are_written_where_they_do_not_follow_on():
    state = enum_type("state", 4, False, [("RUNNING", 0), ("SLEEPING", 1), ("DEAD", 16), ("ZOMBIE", 17)])
    assert enumerator_list(state) == "RUNNING, SLEEPING, DEAD = 16, ZOMBIE"
    assert definition(state) == "enum state {RUNNING, SLEEPING, DEAD = 16, ZOMBIE}"
    assert type_lines(state) == ["enum state {", "  RUNNING = 0", "  SLEEPING = 1", "  DEAD = 16", "  ZOMBIE = 17",
                                 "};"]


def test_crash_offsets_column_is_as_wide_as_the_size():
    pid = struct_type("pid", 112, [Member("count", INT), Member("numbers", array_type(LIST_HEAD, None), 896)])
    assert definition_lines(pid, offsets=True) == ["struct pid {", "    [0] int count;",
                                                   "  [112] struct list_head numbers[];", "}"]
    assert definition_lines(LIST_HEAD, offsets=True, base=0xffffffff81000000) == [
        "struct list_head {", "  [ffffffff81000000] struct list_head *next;",
        "  [ffffffff81000008] struct list_head *prev;", "}"]
    assert member_declaration_lines(LIST_HEAD, "prev") == ["struct list_head {", "   [8] struct list_head *prev;", "}"]


def test_typedefs_of_structs_are_laid_out_and_others_declared():
    spinlock = struct_type("spinlock", 4, [Member(None, union_type(None, 4, [Member("rlock", INT)]))])
    assert type_lines(typedef_type("spinlock_t", spinlock)) == [
        "typedef struct spinlock {", "    union {", "        int rlock;", "    };", "} spinlock_t;", "SIZE: 4"]
    assert definition_lines(typedef_type("spinlock_t", spinlock), offsets=True) == [
        "typedef struct spinlock {", "      union {", "  [0]     int rlock;", "      };", "} spinlock_t;"]
    atomic = typedef_type("atomic_t", struct_type(None, 4, [Member("counter", INT)]))
    assert type_lines(atomic) == ["typedef struct {", "    int counter;", "} atomic_t;", "SIZE: 4"]
    u64 = typedef_type("u64", typedef_type("__u64", int_type("unsigned long long", 8, False)))
    assert type_lines(u64) == ["typedef unsigned long long u64;", "SIZE: 8"]


def test_whatis_offsets_lay_out_a_typedef_of_a_struct_as_struct_o_does():
    spinlock = struct_type("spinlock", 4, [Member(None, union_type(None, 4, [Member("rlock", INT)]))])
    assert type_lines(typedef_type("spinlock_t", spinlock), offsets=True) == [
        "typedef struct spinlock {", "      union {", "  [0]     int rlock;", "      };", "} spinlock_t;", "SIZE: 4"]
