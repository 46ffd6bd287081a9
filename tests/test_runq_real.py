"""``pycore runq`` on every real dump against crash 9's runq, line for line (recorded on each case's
reference dump; every other format of the case must give the same queues)."""
import pytest


from corpus import cli_output as run, dump_ids, dump_params, reference_lines

pytestmark = pytest.mark.real
PARAMS = dump_params()
if not PARAMS:
    pytest.skip("no real dumps: run testdata/corpus/build.sh (the sample in testdata/sample is missing too)",
                allow_module_level=True)




@pytest.mark.parametrize("case,dump", PARAMS, ids=dump_ids(PARAMS))
def test_runq_matches_crash_line_for_line(case, dump, capsys):
    expected = reference_lines(case, "runq", dump)
    assert run(capsys, "runq", case.path(dump["name"])).rstrip("\n").splitlines() == expected
