"""Build the optional cffi extension pycore._native from csrc/.

If the C compiler or a codec library is missing, the package is still installed
and runs on its pure-Python path.
"""
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class optional_build_ext(build_ext):
    """Build the extension when possible; never fail the install because of it."""

    def run(self):
        try:
            super().run()
        except Exception as error:  # compiler or headers missing
            sys.stderr.write(f"pycore: C extension not built ({error}); using pure Python\n")

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as error:
            sys.stderr.write(f"pycore: C extension not built ({error}); using pure Python\n")


setup(
    cffi_modules=[] if os.environ.get("PYCORE_NO_NATIVE") else ["pycore/_native_build.py:ffibuilder"],
    cmdclass={"build_ext": optional_build_ext},
)
