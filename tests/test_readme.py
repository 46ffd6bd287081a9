"""The README's code runs: every ```python block in testdata/sample/, and every ``$ pycore ...`` line of a
console block that reads the sample, whose shown output lines must be in what the command prints."""
import os
import re
import shlex
import subprocess
import sys

import pytest

from corpus import ROOT, SAMPLE

README = os.path.join(ROOT, "README.md")
SAMPLE_DUMP = os.path.join(SAMPLE, "vmcore")
pytestmark = pytest.mark.skipif(not os.path.exists(SAMPLE_DUMP), reason="testdata/sample/vmcore is missing")


def blocks(language):
    with open(README) as f:
        return re.findall(rf"^```{language}\n(.*?)^```", f.read(), re.S | re.M)


def console_examples():
    """``(command, shown lines)`` for each ``$ pycore ... testdata/sample/vmcore`` line; ``...`` elides."""
    examples = []
    for block in blocks("console"):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, *shown = chunk.rstrip("\n").split("\n")
            command = command.split("  #")[0].strip()
            if "testdata/sample/vmcore" in command:
                examples.append(pytest.param(command, [line for line in shown if line.strip() != "..."],
                                             id=command))
    return examples


def test_the_readme_has_a_script_and_a_session():
    assert blocks("python") and len(console_examples()) >= 5


@pytest.mark.parametrize("source", blocks("python"), ids=lambda source: source.splitlines()[0])
def test_python_block_runs_on_the_sample(source):
    result = subprocess.run([sys.executable, "-c", source], cwd=SAMPLE, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("command, shown", console_examples())
def test_console_example_runs_and_prints_what_the_readme_shows(command, shown):
    pipeline = [part.strip() for part in command.split("|")]
    argv = shlex.split(pipeline[0])
    assert argv[0] == "pycore"
    result = subprocess.run([sys.executable, "-m", "pycore", *argv[1:]], cwd=ROOT, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    output = [line.rstrip() for line in result.stdout.splitlines()]
    for stage in pipeline[1:]:
        head = re.fullmatch(r"head -(\d+)", stage)
        assert head, f"the test knows only '| head -N', not {stage!r}"
        output = output[:int(head.group(1))]
    remaining = iter(output)
    for line in shown:
        assert line.rstrip() in remaining, f"{line!r} is not printed (in this order) by {command}"
