"""cffi builder for pycore._native (API, out-of-line mode).

Every csrc/*.c file is compiled; the declarations cffi sees are the regions of
csrc/*.h between the markers ``/* cdef-begin */`` and ``/* cdef-end */``.
"""
import glob
import os
import re

from cffi import FFI

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSRC = os.path.join(ROOT, "csrc")
CDEF_REGION = re.compile(r"/\* cdef-begin \*/(.*?)/\* cdef-end \*/", re.S)


def _declarations() -> str:
    parts = []
    for header in sorted(glob.glob(os.path.join(CSRC, "*.h"))):
        with open(header) as f:
            parts.extend(CDEF_REGION.findall(f.read()))
    return "\n".join(parts)


ffibuilder = FFI()
ffibuilder.cdef(_declarations())
ffibuilder.set_source(
    "pycore._native",
    "\n".join(f'#include "{os.path.basename(h)}"' for h in sorted(glob.glob(os.path.join(CSRC, "*.h")))),
    # setuptools wants source paths relative to the project root, where setup.py runs.
    sources=[os.path.relpath(c, ROOT) for c in sorted(glob.glob(os.path.join(CSRC, "*.c")))],
    include_dirs=[CSRC],
    libraries=["z", "lzo2", "snappy", "zstd"],
    extra_compile_args=["-O2", "-std=c99", "-Wall", "-Wextra", "-fno-strict-aliasing"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
