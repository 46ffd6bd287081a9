"""cffi builder for pycore._native (API, out-of-line mode).

Every csrc/*.c file is compiled; the declarations cffi sees are the regions of
csrc/pc_*.h between the markers ``/* cdef-begin */`` and ``/* cdef-end */``.
Each page codec (zlib, lzo, snappy, zstd) is probed on its own: a codec whose
header or library is missing is compiled out (Python decodes it), never the
whole extension, so the page-table walk and the DWARF index always build.

Run directly to build elsewhere than the tree: ``python pycore/_native_build.py
--build-dir DIR`` writes DIR/pycore/_native*.so (the CI's sanitizer build),
honouring CC, CFLAGS and LDFLAGS.
"""
import argparse
import glob
import os
import re
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from typing import Dict, List, NamedTuple

from cffi import FFI

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSRC = os.path.join(ROOT, "csrc")
CDEF_REGION = re.compile(r"/\* cdef-begin \*/(.*?)/\* cdef-end \*/", re.S)
# Declared first: every other header uses its enum and struct pc_fault.
STATUS_HEADER = "pc_status.h"


class Codec(NamedTuple):
    """A codec library as the probe looks for it: a header, a library, one function it must export."""
    name: str
    headers: List[str]
    library: str
    function: str
    debian_package: str


CODECS = [
    Codec("zlib", ["zlib.h"], "z", "inflateEnd", "zlib1g-dev"),
    Codec("lzo", ["lzo/lzo1x.h"], "lzo2", "lzo1x_decompress_safe", "liblzo2-dev"),
    Codec("snappy", ["snappy-c.h"], "snappy", "snappy_uncompress", "libsnappy-dev"),
    Codec("zstd", ["zstd.h", "zstd_errors.h"], "zstd", "ZSTD_createDCtx", "libzstd-dev"),
]


def _compiler() -> List[str]:
    return shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")


def probe(codec: Codec) -> str:
    """Compile and link a one-line program against ``codec``: "" when it works, else the compiler's complaint."""
    if codec.name in os.environ.get("PYCORE_WITHOUT_CODECS", "").replace(",", " ").split():
        return "left out by PYCORE_WITHOUT_CODECS"
    includes = "".join(f"#include <{header}>\n" for header in codec.headers)
    # Taking the function's address makes the linker look for it in the library.
    program = (f"{includes}int main(void) {{ void (*volatile f)(void) = (void (*)(void)){codec.function};"
               " return f == 0; }\n")
    with tempfile.TemporaryDirectory(prefix="pycore-probe-") as directory:
        source = os.path.join(directory, "probe.c")
        with open(source, "w") as f:
            f.write(program)
        command = (_compiler() + shlex.split(os.environ.get("CFLAGS", "")) + [source, "-o",
                   os.path.join(directory, "probe")] + shlex.split(os.environ.get("LDFLAGS", "")) +
                   [f"-l{codec.library}"])
        try:
            result = subprocess.run(command, capture_output=True, text=True)
        except OSError as error:
            return f"cannot run the compiler {command[0]!r}: {error}"
    if result.returncode == 0:
        return ""
    complaints = ([line for line in result.stderr.splitlines() if "error" in line.lower()]
                  or result.stderr.strip().splitlines() or ["the compiler failed without a message"])
    return complaints[0].strip()


def probe_codecs() -> Dict[str, str]:
    """Codec name -> "" when it builds in C, else why not; a summary of what is missing goes to stderr."""
    found = {codec.name: probe(codec) for codec in CODECS}
    missing = [codec for codec in CODECS if found[codec.name]]
    if missing:
        lines = ["", "pycore: WARNING: the C extension is built WITHOUT these page codecs "
                     "(dumps using them are decoded in pure Python, much slower):"]
        for codec in missing:
            lines.append(f"pycore:   - {codec.name}: {found[codec.name]}")
            lines.append(f"pycore:     install the headers and library (Debian/Ubuntu: {codec.debian_package})")
        sys.stderr.write("\n".join(lines) + "\n\n")
    return found


def _headers() -> List[str]:
    names = sorted(os.path.basename(h) for h in glob.glob(os.path.join(CSRC, "pc_*.h")))
    return [STATUS_HEADER] + [name for name in names if name != STATUS_HEADER]


def _declarations(headers: List[str]) -> str:
    parts = []
    for header in headers:
        with open(os.path.join(CSRC, header)) as f:
            parts.extend(CDEF_REGION.findall(f.read()))
    return "\n".join(parts)


def make_builder(relative_sources: bool = True) -> FFI:
    """The FFI builder for this machine: every C file, with the codecs the probes found.

    setuptools wants source paths relative to the project root, where setup.py runs;
    a direct build compiles in its build directory and needs them absolute.
    """
    found = probe_codecs()
    present = [codec for codec in CODECS if not found[codec.name]]
    headers = _headers()
    builder = FFI()
    builder.cdef(_declarations(headers))
    builder.set_source(
        "pycore._native",
        "\n".join(f'#include "{header}"' for header in headers),
        sources=[os.path.relpath(c, ROOT) if relative_sources else c
                 for c in sorted(glob.glob(os.path.join(CSRC, "*.c")))],
        include_dirs=[CSRC],
        define_macros=[(f"PYCORE_HAVE_{codec.name.upper()}", "1") for codec in present],
        libraries=[codec.library for codec in present],
        extra_compile_args=["-O2", "-std=c99", "-Wall", "-Wextra", "-fno-strict-aliasing"],
    )
    return builder


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=".", help="where pycore/_native*.so is written")
    make_builder(relative_sources=False).compile(tmpdir=os.path.abspath(parser.parse_args().build_dir),
                                                 verbose=True)
else:
    ffibuilder = make_builder()
