"""Packaging as a new user meets it: the sdist carries the C sources and headers, a wheel built
from it has the C reader, and a failed C build says so loudly (and fails only when asked to)."""
import glob
import importlib.util
import os
import subprocess
import sys
import tarfile
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Run in the unpacked wheel, blind to an editable install of the tree (its finder would
# supply the tree's pycore._native when the wheel has none).
WITHOUT_EDITABLE = "import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'Editable' not in str(f)]; "
pytestmark = pytest.mark.skipif(importlib.util.find_spec("build") is None,
                                reason="the build frontend is not installed (pip install build)")


@pytest.fixture(scope="module")
def sdist(tmp_path_factory):
    out = tmp_path_factory.mktemp("sdist")
    result = subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir", str(out), ROOT],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (path,) = glob.glob(str(out / "pycore-*.tar.gz"))
    return path


def _wheel(sdist: str, out, **environment) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(out), sdist],
                          capture_output=True, text=True, env=dict(os.environ, **environment))


def test_sdist_carries_every_c_source_header_and_the_license(sdist):
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        metadata = archive.extractfile(next(m for m in archive.getmembers() if m.name.endswith("/PKG-INFO"))).read()
    for source in glob.glob(os.path.join(ROOT, "csrc", "*.[ch]")):
        assert f"csrc/{os.path.basename(source)}" in names
    assert "LICENSE" in names and not any(name.endswith(".so") for name in names)
    assert b"License-Expression: MIT" in metadata and b"Requires-Python: >=3.11" in metadata


def test_wheel_built_from_the_sdist_has_the_c_reader(sdist, tmp_path):
    result = _wheel(sdist, tmp_path / "wheel", PYCORE_REQUIRE_NATIVE="1")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = glob.glob(str(tmp_path / "wheel" / "pycore-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert any(name.startswith("pycore/_native") and name.endswith(".so") for name in archive.namelist())
        assert "pycore/cli/templates/triage.html.j2" in archive.namelist()  # triage's HTML report needs it
        archive.extractall(site)
    check = (WITHOUT_EDITABLE + "import pycore.native as n, pycore.dump.kdump as k; d = n.describe();"
             " assert d['available'] and d['library'].startswith(%r), d; print(d['codecs'])" % str(site))
    imported = subprocess.run([sys.executable, "-c", check], cwd=site, capture_output=True, text=True,
                              env=dict(os.environ, PYCORE_PURE=""))
    assert imported.returncode == 0, imported.stderr
    assert "'zlib': 'C'" in imported.stdout


def test_a_failed_c_build_warns_loudly_and_installs_pure_python(sdist, tmp_path):
    result = _wheel(sdist, tmp_path / "wheel", CC="false")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "WARNING: the C extension pycore._native was NOT built" in output
    assert "WITHOUT these page codecs" in output and "zlib1g-dev" in output
    (wheel,) = glob.glob(str(tmp_path / "wheel" / "pycore-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert not any(name.startswith("pycore/_native") and name.endswith(".so") for name in archive.namelist())
        archive.extractall(site)
    # pip hides that warning unless -v: the installed package says it itself.
    check = WITHOUT_EDITABLE + ("import pycore.native as n; d = n.describe(); assert not d['available'], d;"
                                " print(d['why_not'])")
    imported = subprocess.run([sys.executable, "-c", check], cwd=site, capture_output=True, text=True,
                              env=dict(os.environ, PYCORE_PURE=""))
    assert imported.returncode == 0, imported.stderr
    assert "the C build failed when pycore was installed" in imported.stdout


def test_pycore_require_native_makes_a_failed_c_build_an_error(sdist, tmp_path):
    result = _wheel(sdist, tmp_path / "wheel", CC="false", PYCORE_REQUIRE_NATIVE="1")
    assert result.returncode != 0
    assert not glob.glob(str(tmp_path / "wheel" / "pycore-*.whl"))
