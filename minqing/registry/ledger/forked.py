"""Work for a forked child process on the machine's other core, sent back pickled through a pipe.

An import is CPU-bound Python, and a process runs one thread of Python at a time: the preview's
cleaning and the commit's encryption are pure functions of data the process already holds, so a
child made by fork() — which has it all, without copying it — can do part of the work while this
process does the rest (or waits on the database). Nothing here touches the database: the child
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
    """`produce(send)` run in a forked child (at `nice`, see below); what it passes to `send` comes
    back, in order, from `batches()`. With `hold`, the child keeps everything until `produce` returns (for a parent that
    reads only at the end: the pipe holds 1 MB and a child blocked on it would stop working).
    If the child fails, `batches()` simply ends early: the caller does the rest itself.

    `nice`: work that this process and the child share evenly gains on a busy machine too (two
    shares of the CPU instead of one) and runs at the parent's priority; a child that only takes
    work off a parent which mostly waits on the database would, on a machine without a spare core,
    slow the parent as much as it helps, so it runs at 19 and takes spare CPU only."""

    def __init__(self, produce: Callable[[Callable[[object], None]], None], *, hold: bool = False, nice: int = 0):
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
                if nice:
                    os.nice(nice)
                with os.fdopen(write_end, "wb") as out:
                    held: list[bytes] = []

                    def send(batch) -> None:
                        data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
                        if hold:
                            held.append(data)
                        else:
                            out.write(data)

                    produce(send)
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

    def claim_exactly(self, chunk: int) -> bool:
        """Claim `chunk` if it is the lowest one not claimed yet."""
        with self.lock:
            low, high = struct.unpack("ii", self.bounds)
            if low != chunk or low > high:
                return False
            self.bounds[:] = struct.pack("ii", low + 1, high)
            return True


class Ahead:
    """Chunks 0 … count-1 of work that this process needs in order, prepared ahead by a forked
    child where it can: the child takes the lowest chunk nobody took, and sends it only if this
    process has not taken it over meanwhile; this process, reaching a chunk, uses what the child
    sent, or else takes the chunk over and does it itself — it never waits on a child that is busy
    with it, or starved of CPU. The states live in memory both processes share, under a lock."""

    FREE, CHILD, SENT, PARENT = 0, 1, 2, 3

    def __init__(self, count: int):
        self.lock = multiprocessing.get_context("fork").Lock()
        self.states = mmap.mmap(-1, max(count, 1))
        self.count = count
        self.next = 0  # the child's own cursor

    def child_take(self) -> int | None:
        with self.lock:
            while self.next < self.count and self.states[self.next] != self.FREE:
                self.next += 1
            if self.next == self.count:
                return None
            self.states[self.next] = self.CHILD
            return self.next

    def child_done(self, chunk: int) -> bool:
        """True: send it (and this process will read it); False: taken over, drop it."""
        with self.lock:
            if self.states[chunk] != self.CHILD:
                return False
            self.states[chunk] = self.SENT
            return True

    def parent_take(self, chunk: int) -> bool:
        """True: this process does `chunk` itself; False: the child sent it (read it next)."""
        with self.lock:
            if self.states[chunk] == self.SENT:
                return False
            self.states[chunk] = self.PARENT
            return True
