"""The API reference and the first-session guide, so that neither can rot: docs/api.py builds pdoc's
HTML of the public modules without a warning, its index lists them, the public functions and
classes of pycore.helpers.linux and pycore.program have docstrings; every example of docs/guide.md
runs on the sample dump and prints what the guide shows."""
import doctest
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import warnings

import pytest
from pdoc import doc

from corpus import ROOT, SAMPLE

GUIDE = os.path.join(ROOT, "docs", "guide.md")
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# The pages the reference must have: the scripting surface, the errors, both helper trees.
REQUIRED = ["pycore", "pycore.object", "pycore.program", "pycore.errors", "pycore.helpers.linux",
            "pycore.helpers.linux.pid", "pycore.helpers.linux.sched", "pycore.kernel", "pycore.kernel.sched"]


def _api_module():
    spec = importlib.util.spec_from_file_location("docs_api", os.path.join(ROOT, "docs", "api.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """(output directory, pdoc's modules, the warnings the build raised)."""
    output = tmp_path_factory.mktemp("api")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        modules = _api_module().build(output)
    return output, modules, caught


def test_the_reference_builds_without_a_warning(reference):
    _, modules, caught = reference
    assert [str(warning.message) for warning in caught] == []
    assert set(REQUIRED) <= set(modules)
    assert not [name for name in modules if name.startswith(("pycore.cli", "pycore.dump", "pycore.arch"))]


def test_the_index_links_every_module_page(reference):
    output, modules, _ = reference
    index = (output / "index.html").read_text()
    for name in modules:
        page = name.replace(".", "/") + ".html"
        assert f'href="{page}"' in index, name
        assert (output / page).stat().st_size > 0, name


def test_public_functions_and_classes_of_the_helpers_and_program_have_docstrings(reference):
    _, modules, _ = reference
    undocumented = []
    for name, module in modules.items():
        if not (name == "pycore.program" or name.startswith("pycore.helpers.linux")):
            continue
        if not module.docstring:
            undocumented.append(name)
        for member in module.members.values():
            if member.name.startswith("_") or not isinstance(member, (doc.Function, doc.Class)):
                continue
            if not member.docstring:
                undocumented.append(member.fullname)
            if isinstance(member, doc.Class) and member.modulename == "pycore.program":
                undocumented += [method.fullname for method in member.own_members
                                 if isinstance(method, doc.Function) and not method.name.startswith("_")
                                 and not method.docstring]
    assert undocumented == []


# -- docs/guide.md --------------------------------------------------------------------------
def _blocks():
    """The guide's fenced blocks as (language, text, line of the text in the guide)."""
    with open(GUIDE) as f:
        guide = f.read()
    return [(match.group(1), match.group(2), guide.count("\n", 0, match.start(2)))
            for match in FENCE.finditer(guide)]


def test_every_block_of_the_guide_is_one_this_module_runs():
    assert {language for language, _, _ in _blocks()} == {"pycon", "python", "console"}


@pytest.mark.skipif(not os.path.exists(os.path.join(SAMPLE, "vmcore")), reason="testdata/sample/vmcore is missing")
def test_the_guide_runs_on_the_sample_dump_as_shown(tmp_path, monkeypatch):
    """The pycon blocks are one doctest session (from the repository's root, as the guide's paths
    are); each python block is the file its first comment names; each console block's commands
    print what follows them (``pycore`` is this interpreter's)."""
    monkeypatch.chdir(ROOT)
    blocks = _blocks()
    names, tries = {}, 0
    for language, text, line in blocks:
        if language == "pycon":
            test = doctest.DocTestParser().get_doctest(text, names, "docs/guide.md", GUIDE, line)
            runner = doctest.DocTestRunner()
            assert runner.run(test, clear_globs=False).failed == 0, f"docs/guide.md line {line + 1}"
            names, tries = test.globs, tries + runner.tries
        elif language == "python":
            name = re.match(r"# (\S+\.py)", text).group(1)
            (tmp_path / name).write_text(text)
    assert tries > 10
    for language, text, _ in blocks:
        if language != "console":
            continue
        command, *expected = text.splitlines()
        words = shlex.split(command.removeprefix("$ "))
        assert words[0] == "pycore"
        words = [str(tmp_path / word) if (tmp_path / word).exists() else word for word in words[1:]]
        result = subprocess.run([sys.executable, "-m", "pycore", *words], capture_output=True, text=True,
                                timeout=300)
        assert (result.returncode, result.stderr, result.stdout.splitlines()) == (0, "", expected)
