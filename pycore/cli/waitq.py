"""``pycore waitq DUMP SYMBOL | STRUCT.MEMBER ADDRESS | ADDRESS``: crash 9's ``waitq``, the tasks queued
on a ``wait_queue_head`` (a global one, one inside a struct at an address, or one at an address), one
task header each, or the queue's ``is empty`` line; kernels 4.13+ (``wait_queue_head.head``)."""
import argparse
from typing import Any, Dict, List, Optional

from ..errors import PycoreError
from ..kernel import locking, sched
from ..object import Object
from ..program import Program
from .command import DumpCommand
from .crashfmt import task_header


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("queue", metavar="SYMBOL|STRUCT.MEMBER|ADDRESS",
                        help="a wait_queue_head symbol, a struct.member (then the struct's address), or the "
                             "wait_queue_head's address (hex)")
    parser.add_argument("address", metavar="ADDRESS", nargs="?", help="the struct's address, after STRUCT.MEMBER")


def _hex(word: str) -> int:
    try:
        return int(word, 16)
    except ValueError:
        raise PycoreError(f"invalid address: {word}") from None


def queue_address(prog: Program, word: str, address: Optional[str]) -> Dict[str, Any]:
    """Where crash's waitq argument puts the ``wait_queue_head``: a symbol's address (``name`` is
    then the symbol), the member of a struct at ``address``, or an address in hex."""
    if "." in word:
        if address is None:
            raise PycoreError(f"{word}: a struct.member needs the struct's address after it")
        struct, _, member = word.partition(".")
        try:
            offset = prog.type(f"struct {struct}").offsetof(member)
        except LookupError as error:
            raise PycoreError(f"invalid data structure reference: {word}") from error
        return {"address": _hex(address) + offset, "name": None}
    try:
        return {"address": prog.symbols.by_name(word).address, "name": word}
    except LookupError:
        return {"address": _hex(word), "name": None}


def collect(prog: Program, args: argparse.Namespace) -> Dict[str, Any]:
    queue = queue_address(prog, args.queue, args.address)
    head = Object(prog, prog.type("struct wait_queue_head"), address=queue["address"])
    known = {int(task): task for task in sched.crash_task_list(prog)}
    waiters: List[Dict[str, Any]] = []
    # crash shows the entries whose private is a task it knows (default_wake_function's waiters).
    for waiter in locking.wait_queue_waiters(head):
        task = known.get(waiter.task)
        if task is not None:
            waiters.append({"pid": int(task.pid), "task": waiter.task, "cpu": sched.task_cpu(task),
                            "comm": sched.task_comm(task), "wake_function": waiter.wake_function})
    return dict(queue, waiters=waiters)


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    """crash's dump_waitq(): a header per waiting task, else the queue's ``is empty`` line."""
    if not data["waiters"]:
        if data["name"] is not None:
            return f'wait queue "{data["name"]}" ({data["address"]:x}) is empty\n'
        return f"wait queue {data['address']:x} is empty\n"
    return "".join(task_header(w["pid"], w["task"], w["cpu"], w["comm"]) + "\n" for w in data["waiters"])


COMMAND = DumpCommand("waitq", add_arguments=add_arguments, collect=collect, render=render,
                      description="the tasks queued on a wait queue, as crash 9's waitq lists them")
