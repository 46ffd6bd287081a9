"""Source lines of kernel text addresses from a vmlinux's DWARF: ``.debug_aranges`` finds the unit
of an address, pyelftools decodes that unit's line program (DWARF 4 and 5, any kernel version).

Only the units asked about are decoded; the address ranges are read in bulk with struct (pyelftools'
own ``.debug_aranges`` reader takes seconds on a distribution vmlinux).
"""
import os
import struct
from bisect import bisect_right
from typing import Dict, List, Optional, Tuple

from ..errors import FormatError, MissingDebugInfoError

_ARANGES_HEADER = struct.Struct("<IHIBB")


def parse_aranges(data: bytes) -> List[Tuple[int, int, int]]:
    """``(start, end, unit offset in .debug_info)`` of every address range in a 64-bit DWARF
    ``.debug_aranges`` section (32-bit DWARF format, 8-byte addresses, as x86_64 kernels use),
    sorted by start.  A damaged header raises FormatError naming its offset."""
    ranges: List[Tuple[int, int, int]] = []
    offset = 0
    while offset + _ARANGES_HEADER.size <= len(data):
        length, version, unit, address_size, segment_size = _ARANGES_HEADER.unpack_from(data, offset)
        end = offset + 4 + length
        if length == 0xFFFFFFFF or address_size != 8 or segment_size or end > len(data) or version not in (2, 3):
            raise FormatError(f".debug_aranges set at {offset:#x}: unit_length {length:#x}, version {version}, "
                              f"address_size {address_size}, segment_selector_size {segment_size}: expected a "
                              "32-bit DWARF set of 8-byte addresses inside the section",
                              offset=offset, field="unit_length")
        # The tuples start at the first multiple of twice the address size after the 12-byte header.
        start = offset + 16
        for address, size in struct.iter_unpack("<QQ", data[start:end - (end - start) % 16]):
            if address == 0 and size == 0:
                break
            ranges.append((address, address + size, unit))
        offset = end
    ranges.sort()
    return ranges


class LineTable:
    """``file: line`` of text addresses of one vmlinux, as gdb (and so crash) names them: the path
    joined to the unit's directory, relative when the build recorded it so.  ``offset`` is the
    KASLR slide to take off a runtime address."""

    def __init__(self, vmlinux: str, offset: int = 0):
        from elftools.elf.elffile import ELFFile

        from ..symbols.elf_sections import ElfHeaders
        from ..symbols.elfsyms import elf_format_errors, section_bytes

        self.path = vmlinux
        self.offset = offset
        self._stream = open(vmlinux, "rb")
        try:
            headers = ElfHeaders(self._stream, vmlinux)
            section = headers.section(".debug_aranges")
            if section is None or headers.section(".debug_line") is None:
                raise MissingDebugInfoError(f"{vmlinux} has no .debug_aranges or .debug_line: source lines need a "
                                            "vmlinux built with debug information")
            self._ranges = parse_aranges(section_bytes(headers, section))
            with elf_format_errors(vmlinux):
                self._elf = ELFFile(self._stream)
                self._dwarf = self._elf.get_dwarf_info(relocate_dwarf_sections=False)
        except BaseException:
            self._stream.close()
            raise
        self._starts = [start for start, _, _ in self._ranges]
        self._units: Dict[int, Tuple[List[int], List[Tuple[str, int]]]] = {}
        self._directories: Dict[int, str] = {}

    def close(self) -> None:
        self._stream.close()

    def _unit_rows(self, unit_offset: int) -> Tuple[List[int], List[Tuple[str, int]]]:
        """The unit's line rows in address order: addresses, and (file, line) of each; a row that
        ends a sequence maps to ("", 0) so that nothing past a function's end is named."""
        rows = self._units.get(unit_offset)
        if rows is not None:
            return rows
        from ..symbols.elfsyms import elf_format_errors

        with elf_format_errors(self.path):
            unit = self._dwarf.get_CU_at(unit_offset)
            program = self._dwarf.line_program_for_CU(unit)
            top = unit.get_top_DIE()
            entries = program.get_entries() if program is not None else []
            header = program.header if program is not None else None
        comp_dir = _text(top.attributes["DW_AT_comp_dir"].value) if "DW_AT_comp_dir" in top.attributes else ""
        self._directories[unit_offset] = comp_dir
        version = unit.header.version
        found: List[Tuple[int, bool, Tuple[str, int]]] = []
        for entry in entries:
            state = entry.state
            if state is None:
                continue
            if state.end_sequence:
                found.append((state.address, True, ("", 0)))
                continue
            found.append((state.address, bool(state.is_stmt),
                          (_file_name(header, state.file, version, comp_dir), state.line)))
        # A stable sort keeps the line program's order among the rows at one address; gdb names
        # the address by the last of them that is a statement (is_stmt), else by the last.
        found.sort(key=lambda row: row[0])
        addresses: List[int] = []
        places: List[Tuple[str, int]] = []
        chosen_is_stmt = False
        for address, is_stmt, where in found:
            if addresses and addresses[-1] == address:
                if is_stmt or not chosen_is_stmt:
                    places[-1], chosen_is_stmt = where, is_stmt
                continue
            addresses.append(address)
            places.append(where)
            chosen_is_stmt = is_stmt
        rows = (addresses, places)
        self._units[unit_offset] = rows
        return rows

    def line(self, address: int) -> Optional[Tuple[str, int]]:
        """``(file, line)`` of runtime ``address``, or None when no unit covers it."""
        found = self._lookup(address)
        return None if found is None else found[1]

    def unit_line(self, address: int) -> Optional[Tuple[str, int]]:
        """:meth:`line` with the file relative to its unit's directory, as the unit recorded it
        (``kernel/panic.c``: crash's ``dis -s`` FILE, gdb's symtab name)."""
        found = self._lookup(address)
        if found is None:
            return None
        unit, (name, number) = found
        directory = self._directories.get(unit, "")
        if directory and name.startswith(directory + "/"):
            name = name[len(directory) + 1:]
        return name, number

    def _lookup(self, address: int) -> Optional[Tuple[int, Tuple[str, int]]]:
        link = address - self.offset
        position = bisect_right(self._starts, link) - 1
        if position < 0 or link >= self._ranges[position][1]:
            return None
        unit = self._ranges[position][2]
        addresses, where = self._unit_rows(unit)
        row = bisect_right(addresses, link) - 1
        if row < 0 or not where[row][0]:
            return None
        return unit, where[row]


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _file_name(header, index: int, version: int, comp_dir: str) -> str:
    """The path of file ``index`` of a line program: DWARF 5 counts files and directories from 0
    (directory 0 is the unit's own), DWARF 4 and before from 1 (directory 0 meaning the unit's)."""
    files = header["file_entry"]
    position = index if version >= 5 else index - 1
    if not 0 <= position < len(files):
        return ""
    entry = files[position]
    name = _text(entry.name)
    directories = header["include_directory"]
    directory_index = entry.dir_index
    if version >= 5:
        directory = _text(directories[directory_index]) if directory_index < len(directories) else ""
    else:
        directory = _text(directories[directory_index - 1]) if 0 < directory_index <= len(directories) else comp_dir
    if directory and not os.path.isabs(name):
        name = f"{directory}/{name}"
    if comp_dir and not os.path.isabs(name) and not name.startswith(comp_dir + "/"):
        name = f"{comp_dir}/{name}"
    return name
