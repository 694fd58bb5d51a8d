"""Work for a forked child process on the machine's other core, sent back pickled through a pipe.

An import is CPU-bound Python, and a process runs one thread of Python at a time: the preview's
cleaning is a pure function of data the process already holds, so a child made by fork() — which
has it all, without copying it — can do part of the work while this process does the rest.
Nothing here touches the database: the child
never uses the connection it inherits, and leaves with os._exit, which runs none of the parent's
exit code (a PostgreSQL connection would otherwise say goodbye on the parent's socket).

The data sent back never leaves the machine's memory (a pipe, not a file): cleaned rows hold ID
numbers in clear."""

import fcntl
import mmap
import multiprocessing
import os
import pickle
import signal
import struct
import threading
from collections.abc import Callable, Iterator

PIPE_BYTES = 1 << 20


def can_fork() -> bool:
    """fork() copies only the calling thread: with other threads about (a threaded server) a lock
    one of them holds would stay held in the child, so such a process does all the work itself; so
    does one with a single core to run on."""
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return False
    return len(os.sched_getaffinity(0)) >= 2


class Child:
    """`produce(send)` run in a forked child; what it passes to `send` comes back, in order, from
    `batches()`. The child keeps everything until `produce` returns, then sends it: the parent reads
    only once its own part is done, and a child blocked on the pipe (1 MB) would stop working. If
    the child fails, `batches()` simply ends early: the caller does the rest itself.

    The child lives only while the parent does its own part: a child forked from a large process
    comes to hold a copy of every page the parent writes to meanwhile (copy-on-write)."""

    def __init__(self, produce: Callable[[Callable[[object], None]], None]):
        read_end, write_end = os.pipe()
        try:
            # 1 MB at a time instead of 64 KB: fewer turns of the two processes on a busy machine.
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except (AttributeError, OSError):  # not Linux, or above the system's pipe-max-size
            pass
        self.pid = os.fork()
        if self.pid == 0:
            os.close(read_end)
            status = 1
            try:
                held: list[bytes] = []
                produce(lambda batch: held.append(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)))
                with os.fdopen(write_end, "wb") as out:
                    for data in held:
                        out.write(data)
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        self.stream = os.fdopen(read_end, "rb")

    def batches(self) -> Iterator:
        while self.stream is not None:
            try:
                batch = pickle.load(self.stream)
            except Exception:  # the end of the stream, or a child that failed
                self.close()
                return
            yield batch

    def close(self) -> None:
        if self.stream is None:
            return
        self.stream.close()
        self.stream = None
        try:
            os.kill(self.pid, signal.SIGKILL)  # done already, or of no use any more
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)


class Claims:
    """Chunks 0 … count-1 of some work shared out between this process and a forked child, each
    chunk to whoever claims it first: the next from the top (`claim`) or from the bottom
    (`claim_last`). The counters live in memory both processes share, under a lock."""

    def __init__(self, count: int):
        self.lock = multiprocessing.get_context("fork").Lock()
        self.bounds = mmap.mmap(-1, 8)  # the lowest and the highest chunk not claimed yet
        self.bounds[:] = struct.pack("ii", 0, count - 1)

    def claim(self) -> int | None:
        with self.lock:
            low, high = struct.unpack("ii", self.bounds)
            if low > high:
                return None
            self.bounds[:] = struct.pack("ii", low + 1, high)
            return low

    def claim_last(self) -> int | None:
        with self.lock:
            low, high = struct.unpack("ii", self.bounds)
            if low > high:
                return None
            self.bounds[:] = struct.pack("ii", low, high - 1)
            return high
