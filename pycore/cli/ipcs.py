"""``pycore ipcs DUMP``: the System V shared memory segments, semaphore arrays and message queues of
the initial IPC namespace (``-n PID`` for another task's), as crash 9's ``ipcs`` lists them."""
import argparse
from typing import Any, Dict, List

from ..kernel import ipc
from ..object import Object
from ..program import Program
from .command import Collected, DumpCommand
from .net import namespace_task

SHM_HEADER = "SHMID_KERNEL     KEY      SHMID      UID   PERMS BYTES      NATTCH STATUS"
SEM_HEADER = "SEM_ARRAY        KEY      SEMID      UID   PERMS NSEMS     "
MSG_HEADER = "MSG_QUEUE        KEY      MSQID      UID   PERMS USED-BYTES   MESSAGES    "


def _perm(perm: Object) -> Dict[str, Any]:
    return {"key": int(perm.key), "id": int(perm.id), "uid": int(perm.uid.val), "mode": int(perm.mode),
            "deleted": bool(int(perm.deleted))}


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    ns = namespace_task(prog, args.namespace_pid).nsproxy.ipc_ns.read_()
    shm = [dict(_perm(s.shm_perm), address=int(s), bytes=int(s.shm_segsz), nattch=int(s.shm_nattch))
           for s in ipc.for_each_sysv_shm(ns)]
    sem = [dict(_perm(s.sem_perm), address=int(s), nsems=int(s.sem_nsems)) for s in ipc.for_each_sysv_sem_array(ns)]
    msg = [dict(_perm(q.q_perm), address=int(q), bytes=int(q.q_cbytes), messages=int(q.q_qnum))
           for q in ipc.for_each_sysv_msg_queue(ns)]
    return Collected({"shm": shm, "sem": sem, "msg": msg}, [])


def _columns(row: Dict[str, Any]) -> str:
    """The columns the three tables share: address, key, id, uid, permissions (crash's printf)."""
    return f"{row['address']:<16x} {row['key'] & 0xFFFFFFFF:08x} {row['id']:<10} {row['uid']:<5} {row['mode'] & 0o777:<5o}"


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    lines: List[str] = []
    tables = (
        (SHM_HEADER, data["shm"], lambda r: (f" {r['bytes']:<10} {r['nattch']:<6} "
                                             f"{'dest' if r['mode'] & ipc.SHM_DEST else ''} "
                                             f"{'locked' if r['mode'] & ipc.SHM_LOCKED else ''}")),
        (SEM_HEADER, data["sem"], lambda r: f" {r['nsems']:<10}"),
        (MSG_HEADER, data["msg"], lambda r: f" {r['bytes']:<12} {r['messages']:<12}"),
    )
    for header, rows, rest in tables:
        lines.append(header)
        shown = [row for row in rows if not row["deleted"]]
        if not rows:
            lines.append("(none allocated)")
        lines.extend(_columns(row) + rest(row) for row in shown)
        lines.append("")
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", dest="namespace_pid", type=int, default=0, metavar="PID",
                        help="the IPC namespace of this task (default: the initial one)")


COMMAND = DumpCommand("ipcs", add_arguments=add_arguments, collect=collect, render=render,
                      description="System V IPC objects, as crash's ipcs prints them.")
