"""Record crash 9's answers to the data commands' further options (tests/test_crash_data_commands.py).

    python testdata/crash_answers/record.py CASE_DIRECTORY COMMAND_FILE

runs the commands of COMMAND_FILE (one a line) in one crash session on the case's reference dump
(the committed sample, testdata/sample, or a corpus case) with the case's vmlinux, as
testdata/corpus/reference.py runs crash, and writes each answer to
testdata/crash_answers/<case>/<command>.txt under a first line naming the command, the dump and its
sha256: a corpus case's answers hold only for the build they were recorded on.
"""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

CACHE = Path.home() / ".cache" / "pycore"
TOOLS = CACHE / "downloads" / "tools-root"
HERE = Path(__file__).resolve().parent
# crash 9.0.2 does not start on 7.x unless told to leave the modules alone (reference.py CRASH_OPTIONS).
OPTIONS = {"7.2": ["--no_modules"]}


def file_name(command: str) -> str:
    return command.replace(" ", "_").replace("/", "_") + ".txt"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def crash_command() -> list:
    libraries = ":".join(str(TOOLS / d) for d in ("usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu", "usr/lib64"))
    return [str(TOOLS / "usr/lib64/ld-linux-x86-64.so.2"), "--library-path", libraries, str(TOOLS / "usr/bin/crash")]


def record(case_directory: Path, commands: list) -> None:
    manifest = json.loads((case_directory / "manifest.json").read_text())
    vmlinux = Path(manifest["vmlinux"])
    vmlinux = vmlinux if vmlinux.is_absolute() else CACHE / vmlinux
    dump = case_directory / manifest["reference_dump"]
    out = HERE / manifest["case"]
    out.mkdir(exist_ok=True)
    work = out / ".work"
    work.mkdir(exist_ok=True)
    files = {command: work / file_name(command) for command in commands}
    script = "set scroll off\n" + "".join(f"{c} > {files[c]}\n" for c in commands) + "q\n"
    options = next((o for prefix, o in OPTIONS.items() if manifest["case"].startswith(prefix)), [])
    subprocess.run(crash_command() + ["-s", *options, str(vmlinux), dump.name], cwd=case_directory,
                   input=script.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900, check=False)
    digest = sha256(dump)
    for command, path in files.items():
        if not path.exists():
            raise SystemExit(f"crash wrote nothing for {command!r}")
        header = f"crash> {command}  # on {manifest['case']}/{dump.name} sha256 {digest}\n"
        (out / file_name(command)).write_bytes(header.encode() + path.read_bytes())
        path.unlink()
    work.rmdir()


if __name__ == "__main__":
    record(Path(sys.argv[1]).resolve(), [line.strip() for line in Path(sys.argv[2]).read_text().splitlines()
                                         if line.strip()])
