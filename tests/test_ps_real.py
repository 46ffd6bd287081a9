"""``pycore ps`` on every real dump against crash 9's ps, line for line (recorded on each case's
reference dump; every other format of the case must give the same listing)."""
import pytest

from pycore.cli import main

from corpus import dump_ids, dump_params

pytestmark = pytest.mark.real
PARAMS = dump_params()
if not PARAMS:
    pytest.skip("no real dumps: run testdata/corpus/build.sh (the sample in testdata/sample is missing too)",
                allow_module_level=True)


def run(capsys, *argv):
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def reference_lines(case, command, dump):
    text = case.reference(command, dump["name"]) or case.reference(command, case.manifest["reference_dump"])
    if text is None:
        pytest.skip(f"crash recorded no {command} for {case.name}")
    return text.rstrip("\n").splitlines()


@pytest.mark.parametrize("case,dump", PARAMS, ids=dump_ids(PARAMS))
def test_ps_matches_crash_line_for_line(case, dump, capsys):
    expected = reference_lines(case, "ps", dump)
    assert run(capsys, "ps", case.path(dump["name"])).rstrip("\n").splitlines() == expected
