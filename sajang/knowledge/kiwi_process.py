"""Kiwi in a process of its own, for a command that starts, answers once and exits (`sajang ask` without a server).

Kiwi's model load (`Kiwi()`, then the build its first analysis does) is ~1.6 s of CPU that holds the GIL: in a
thread it stops the imports it was meant to overlap. In a child process it loads on the other core while this
process imports the graph, Chroma and bm25s; each analysis is then a round trip on a socket (~0.1 ms). The child
builds its Kiwi with `text.new_kiwi`, the same options as the in-process one: the same analyses.

    python -m sajang.knowledge.kiwi_process FD    # the child: serves the socket FD until it is closed
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple


class KiwiToken(NamedTuple):
    """The fields of a kiwipiepy `Token` that travel back from the child."""

    form: str
    tag: str
    start: int
    len: int
    typo_cost: float
    word_position: int
    sent_position: int
    score: float

    @property
    def end(self) -> int:
        return self.start + self.len


class KiwiInChild:
    """`tokenize`, `space` and `join` of a Kiwi in a child process started at construction (it loads meanwhile;
    the first call waits for it). Calls from several threads take turns."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        # the child imports the same `sajang` as this process, wherever that was found
        source = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join([source, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)])
        self._process = subprocess.Popen([sys.executable, "-m", "sajang.knowledge.kiwi_process", str(theirs.fileno())],
                                         pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": path})
        theirs.close()
        self._conn = Connection(ours.detach())
        self._lock = threading.Lock()
        atexit.register(self.close)

    def _call(self, method: str, arg: Any, options: dict[str, Any]) -> Any:
        with self._lock:
            try:
                self._conn.send((method, arg, options))
                ok, result = self._conn.recv()
            except (EOFError, OSError) as exc:
                raise RuntimeError(f"Kiwi's process ended (exit code {self._process.poll()})") from exc
        if not ok:
            raise result
        return result

    def tokenize(self, text: str, **options: Any) -> list[KiwiToken]:
        if not isinstance(text, str):
            raise TypeError("KiwiInChild.tokenize takes one text")
        return [KiwiToken(*fields) for fields in self._call("tokenize", text, options)]

    def space(self, text: str, **options: Any) -> str:
        if not isinstance(text, str):
            raise TypeError("KiwiInChild.space takes one text")
        return str(self._call("space", text, options))

    def join(self, morphs: Any, **options: Any) -> str:
        return str(self._call("join", list(morphs), options))

    def close(self) -> None:
        """Closing the socket ends the child (it reads EOF)."""
        with contextlib.suppress(OSError):
            self._conn.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)


def serve(conn: Connection) -> None:
    """The child: one Kiwi, built (its first analysis) before the first request is read; answers until EOF."""
    from .text import new_kiwi

    kiwi = new_kiwi()
    kiwi.tokenize("가")  # the model's build, while the parent is still importing
    while True:
        try:
            method, arg, options = conn.recv()
        except EOFError:
            return
        try:
            result = getattr(kiwi, method)(arg, **options)
            if method == "tokenize":  # plain tuples: this module is `__main__` here, KiwiToken would not unpickle
                result = [(t.form, t.tag, t.start, t.len, t.typo_cost, t.word_position, t.sent_position, t.score)
                          for t in result]
            else:
                result = str(result)
            reply: tuple[bool, Any] = (True, result)
        except Exception as exc:  # the caller raises it
            reply = (False, exc)
        conn.send(reply)


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
