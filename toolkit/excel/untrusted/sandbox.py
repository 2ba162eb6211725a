"""Reading untrusted workbooks in worker processes with a memory limit and a timeout.

Whatever the pre-check missed (calamine aborts the whole process on an allocation failure)
rejects one file, not the run. Workers are reused across files and replaced when one dies.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Any

from toolkit.core.model import Table
from toolkit.excel.read import UnreadableWorkbook, read_workbook
from toolkit.excel.untrusted.precheck import FIX_BIG, Limits, RejectedFile, precheck, reject

__all__ = [
    "ReadStream",
    "WorkerStartError",
    "iter_read_untrusted",
    "read_many_untrusted",
    "read_untrusted",
    "start_read_stream",
    "stream_read_untrusted",
]


# Workers are plain `python -c` subprocesses speaking length-prefixed pickles over their
# stdin/stdout, not multiprocessing: multiprocessing's spawn re-imports the caller's
# __main__ script in every worker (a script without `if __name__ == "__main__"` would start
# workers recursively), and a dead worker must never break the pool. One reader thread per
# worker turns blocking pipe reads into queue events, which works the same on Windows.
# The worker runs our own code on hostile input; its answers are trusted like the parent
# (same user): the isolation is against crashes and runaway memory/time, not a sandbox.

_BOOT = (
    "import sys,pickle,struct\n"
    "n=struct.unpack('<Q',sys.stdin.buffer.read(8))[0]\n"
    "cfg=pickle.loads(sys.stdin.buffer.read(n))\n"
    "sys.path[:0]=cfg['path']\n"
    "from toolkit.excel.untrusted.sandbox import _worker_loop\n"
    "_worker_loop(cfg)\n"
)


def _write_frame(fh: Any, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    fh.write(struct.pack("<Q", len(data)) + data)
    fh.flush()


def _read_exact(fh: Any, n: int) -> bytes:
    chunks: list[bytes] = []
    while n:
        chunk = fh.read(n)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _read_frame(fh: Any) -> Any:
    (n,) = struct.unpack("<Q", _read_exact(fh, 8))
    return pickle.loads(_read_exact(fh, n))


def _limit_memory(memory_mb: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: no RLIMIT_AS; the timeout still applies
        return
    limit = memory_mb * 2**20
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _worker_loop(cfg: dict[str, Any]) -> None:
    """Worker side: read (job id, path, sheets) frames, answer (job id, ok, tables | (reason, code))."""
    import sys

    inp = sys.stdin.buffer
    # Frames go to a private copy of stdout; anything printed goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    memory_mb = int(cfg["memory_mb"])
    _limit_memory(memory_mb)
    import python_calamine  # noqa: F401 - load before the first job

    _write_frame(out, ("ready", True, None))
    while True:
        try:
            job = _read_frame(inp)
        except (EOFError, OSError, struct.error):
            return
        if job is None:
            return
        job_id, path, sheets, limits, post = job if len(job) == 5 else (*job, None)
        try:
            # The pre-check found the parts holding error cells: the read need not decompress the others again.
            # A post_tables hook is given the pre-check's facts, formula-free sheets included.
            facts = precheck(path, **limits, formulas=isinstance(post, tuple)) if limits is not None else None
            error_parts = facts.error_parts if facts is not None else None
            tables = read_workbook(path, sheets=sheets, error_parts=error_parts)
            payload: Any = tables
            if post is not None:
                if isinstance(post, tuple):  # post_tables: the function's answer is the whole payload
                    payload = _post_hook(post[0])(path, tables, facts)
                else:
                    payload = (tables, _post_hook(post)(path, tuple(tables)))
            result: tuple[Any, ...] = (job_id, True, payload)
        except UnreadableWorkbook as exc:
            result = (job_id, False, (exc.reason, exc.code))
        except MemoryError:
            result = (job_id, False, (_memory_reason(memory_mb), "too-large"))
        except BaseException as exc:  # noqa: BLE001 - report, do not die
            result = (
                job_id,
                False,
                (
                    f"读取文件时出错（{type(exc).__name__}）：请用 Excel 或 WPS 打开后另存为 .xlsx 再提交。",
                    "worker-error",
                ),
            )
        try:
            _write_frame(out, result)
        except MemoryError:
            _write_frame(out, (job_id, False, (_memory_reason(memory_mb), "too-large")))


_HOOKS: dict[str, Any] = {}


def _post_hook(spec: str) -> Any:
    """``"package.module:function"`` → the function (imported once per worker)."""
    fn = _HOOKS.get(spec)
    if fn is None:
        import importlib

        module, _, name = spec.partition(":")
        fn = _HOOKS[spec] = getattr(importlib.import_module(module), name)
    return fn


def _memory_reason(memory_mb: int) -> str:
    return f"文件内容过大，读取时超过内存上限（{memory_mb} MB）：{FIX_BIG}。"


class WorkerStartError(RuntimeError):
    """A reader worker process could not start at all: an installation problem, not a bad file."""


class _Worker:
    """One reader subprocess and the thread that forwards its answers to a shared queue."""

    def __init__(self, events: queue.Queue[Any], memory_mb: int) -> None:
        import subprocess
        import sys
        import threading

        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # calamine's panic/OOM backtraces
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
        self.ready = False
        self.jobs: list[tuple[int, Any]] = []  # sent, unanswered: the first is being read
        self.deadline = 0.0
        self.dead = False
        cfg = {"path": [p for p in sys.path if isinstance(p, str)], "memory_mb": memory_mb}
        try:
            _write_frame(self.proc.stdin, cfg)
        except OSError:
            pass  # died at once: the reader thread reports EOF
        self.thread = threading.Thread(target=self._pump, args=(events,), daemon=True)
        self.thread.start()

    def _pump(self, events: queue.Queue[Any]) -> None:
        try:
            while True:
                events.put((self, _read_frame(self.proc.stdout)))
        except Exception:  # noqa: BLE001 - EOF, broken pipe, a torn frame: the worker is gone
            events.put((self, None))

    def send(self, job: Any) -> bool:
        try:
            _write_frame(self.proc.stdin, job)
            return True
        except (OSError, ValueError):
            return False

    def stop(self, *, force: bool = False) -> None:
        if not force and self.proc.poll() is None:
            try:
                _write_frame(self.proc.stdin, None)
                self.proc.wait(2.0)
            except Exception:  # noqa: BLE001 - fall through to kill
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(5.0)
        except Exception:  # noqa: BLE001 - nothing more can be done
            pass
        for fh in (self.proc.stdin, self.proc.stdout):
            try:
                fh.close()
            except Exception:  # noqa: BLE001
                pass
        self.dead = True


def read_many_untrusted(
    paths: Iterable[str | os.PathLike[str]],
    *,
    workers: int = 2,
    timeout: float = 20.0,
    memory_mb: int = 1024,
    sheets: Iterable[str] | None = None,
    limits: Limits | None = None,
    check: bool = True,
) -> dict[Any, dict[str, Table] | RejectedFile]:
    """Read many untrusted files: path → tables, or the :class:`RejectedFile` saying why not.

    Each file goes to one of ``workers`` reused worker processes, each limited to ``memory_mb``
    of address space (Linux/macOS), which runs :func:`precheck` with ``limits`` (skipped when
    ``check=False``, for files the caller has already pre-checked) and then reads it; a file
    that takes longer than ``timeout`` seconds, or whose worker crashes, is rejected and the
    worker replaced. (The pre-check runs in the worker so that it is parallel and, it too,
    under the memory and time limits.) The keys are the paths as given, in the order given. Never raises for a bad
    file; raises :class:`WorkerStartError` when no worker can start at all.
    """
    todo = list(dict.fromkeys(paths))
    results = dict(
        iter_read_untrusted(
            todo, workers=workers, timeout=timeout, memory_mb=memory_mb, sheets=sheets, limits=limits, check=check
        )
    )
    return {p: results[p] for p in todo}


def iter_read_untrusted(
    paths: Iterable[str | os.PathLike[str]],
    *,
    workers: int = 2,
    timeout: float = 20.0,
    memory_mb: int = 1024,
    sheets: Iterable[str] | None = None,
    limits: Limits | None = None,
    check: bool = True,
    post: str | None = None,
    post_tables: bool = False,
    cancel: Any = None,
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(path, tables | RejectedFile)`` pairs as the workers finish (same rules as :func:`read_many_untrusted`).

    ``post`` (``"package.module:function"``) is called in the worker as ``function(path, sheet
    names)`` after a successful read, under the same limits; the pair's value is then ``(tables,
    what it returned)``. With ``post_tables`` it is called as ``function(path, tables, facts)`` (facts: the
    pre-check's FileFacts with ``formula_free``, None when ``check`` is off) and what it
    returns is the pair's value (it may leave out what the caller does not need, so that less is
    sent back). The timeouts run while
    the generator is suspended: consume it promptly (:func:`stream_read_untrusted` does so in a
    thread). ``cancel`` (a :class:`threading.Event`): once set, the generator ends within a tenth
    of a second and the workers are stopped, files still being read or not.
    """
    todo = list(dict.fromkeys(paths))
    results: dict[Any, Any] = {}
    wanted = None if sheets is None else [sheets] if isinstance(sheets, str) else list(sheets)
    lim = limits or Limits()
    pending = list(reversed(todo))
    events: queue.Queue[Any] = queue.Queue()
    pool: list[_Worker] = []
    start_failures = 0
    job_ids = 0
    hook = (post, True) if post is not None and post_tables else post
    # Each worker holds its next job in its pipe while it reads the current one, so that it never
    # waits for this thread (which may wait for the interpreter lock while the caller computes).
    depth = 2

    def retire(w: _Worker, reason: RejectedFile | None) -> None:
        """Stop a worker; its current file gets ``reason``, files queued behind it go back to pending."""
        nonlocal start_failures
        w.stop(force=True)
        if w in pool:
            pool.remove(w)
        jobs, w.jobs = w.jobs, []
        if not w.ready:
            start_failures += 1
            if start_failures >= 3:
                raise WorkerStartError(
                    "无法启动读取文件的后台进程（连续 3 次失败）：请检查 Python 环境和 toolkit 的安装，"
                    f"或调大内存上限（当前 {memory_mb} MB）后重试。"
                )
            pending.extend(p for _, p in reversed(jobs))  # not the files' fault: again on a fresh worker
            return
        if jobs and reason is not None:
            results[jobs[0][1]] = reason
            jobs = jobs[1:]
        pending.extend(p for _, p in reversed(jobs))  # never started: not the files' fault

    def crashed(w: _Worker) -> RejectedFile | None:
        return reject(os.fspath(w.jobs[0][1]), "crashed", _crash_reason(w, memory_mb)) if w.jobs else None

    try:
        while True:
            while results:
                p = next(iter(results))
                yield p, results.pop(p)
            while pending:
                w = min((w for w in pool if len(w.jobs) < depth), key=lambda w: len(w.jobs), default=None)
                if (w is None or w.jobs) and len(pool) < max(1, workers):
                    w = _Worker(events, memory_mb)
                    pool.append(w)
                if w is None:
                    break
                p = pending.pop()
                job_ids += 1
                if not w.jobs:
                    w.deadline = time.monotonic() + timeout + (0 if w.ready else 30.0)
                w.jobs.append((job_ids, p))
                if not w.send((job_ids, os.fspath(p), wanted, asdict(lim) if check else None, hook)):
                    w.stop(force=True)  # it died: blame the file it was reading, as when its pipe closes
                    retire(w, crashed(w))
            busy = [w for w in pool if w.jobs]
            if not busy:
                break
            wait_for = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            if cancel is not None:
                if cancel.is_set():
                    return
                wait_for = min(wait_for, 0.1)
            try:
                w, msg = events.get(timeout=wait_for)
            except queue.Empty:
                w, msg = None, None
            if w is not None and not w.dead:
                if msg is None:  # the worker died
                    w.stop(force=True)
                    retire(w, crashed(w))
                elif msg[0] == "ready":
                    w.ready = True
                    if w.jobs:
                        w.deadline = min(w.deadline, time.monotonic() + timeout)
                elif w.jobs and msg[0] == w.jobs[0][0]:
                    p = w.jobs.pop(0)[1]
                    _, ok, payload = msg
                    results[p] = payload if ok else reject(os.fspath(p), payload[1], payload[0])
                    w.deadline = time.monotonic() + timeout  # the next job, already queued, starts now
            now = time.monotonic()
            for w in [w for w in pool if w.jobs and now >= w.deadline]:
                if w.ready:
                    retire(
                        w,
                        reject(
                            os.fspath(w.jobs[0][1]),
                            "timeout",
                            f"读取文件超过 {timeout:g} 秒仍未完成，文件可能过大或结构异常：{FIX_BIG}。",
                        ),
                    )
                else:
                    retire(w, None)
        while results:
            p = next(iter(results))
            yield p, results.pop(p)
    finally:
        for w in pool:
            w.stop(force=bool(w.jobs))


_ERROR, _DONE = object(), object()  # markers on the reader thread's queue


class ReadStream:
    """Reads already running in a thread (see :func:`start_read_stream`); iterate for the answers in order.

    Iterating yields ``(path, tables | RejectedFile)`` in the order of the paths given; ``close()``
    (or leaving a ``with`` block) stops the workers, also when the caller gives up early.
    """

    def __init__(self, paths: Iterable[str | os.PathLike[str]], **options: Any) -> None:
        import threading

        self.paths = list(dict.fromkeys(paths))
        self._results: queue.Queue[Any] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, args=(options,), name="county-read", daemon=True)
        self._thread.start()

    def _pump(self, options: dict[str, Any]) -> None:
        gen = iter_read_untrusted(self.paths, cancel=self._stop, **options)
        try:
            for item in gen:
                self._results.put(item)
                if self._stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self._results.put((_ERROR, exc))
        finally:
            gen.close()
            self._results.put((_DONE, None))

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        got: dict[Any, Any] = {}
        finished = False
        for p in self.paths:
            while p not in got:
                if finished:
                    raise RuntimeError("reader thread ended early")  # not reached: every path is answered
                key, value = self._results.get()
                if key is _ERROR:
                    raise value
                if key is _DONE:
                    finished = True
                    continue
                got[key] = value
            yield p, got.pop(p)

    def close(self) -> None:
        """Stop the workers (those still reading are killed) and wait for the thread."""
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> ReadStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def start_read_stream(paths: Iterable[str | os.PathLike[str]], **options: Any) -> ReadStream:
    """Start reading ``paths`` now (options as :func:`iter_read_untrusted`), before the caller needs them.

    One pool of worker processes serves every path for the whole run; a thread keeps the workers
    busy, so the reads overlap whatever the caller does meanwhile (reading the master ledger,
    checking the files already answered). The time and memory limits per file are those of the
    workers, never stretched by the caller. Iterating raises :class:`WorkerStartError` like
    :func:`read_many_untrusted`.
    """
    return ReadStream(paths, **options)


def stream_read_untrusted(paths: Iterable[str | os.PathLike[str]], **options: Any) -> Iterator[tuple[Any, Any]]:
    """:func:`iter_read_untrusted` run by a thread, yielded in the order of ``paths``.

    One pool of worker processes serves every path for the whole run, and the thread keeps them
    busy while the caller checks the files already read (so the time and memory limits per file
    are those of the workers, never stretched by the caller). Raises :class:`WorkerStartError`
    like :func:`read_many_untrusted`. (The reads start at the first ``next()``; use
    :func:`start_read_stream` to start them at once.)
    """
    with ReadStream(paths, **options) as stream:
        yield from stream


def _crash_reason(w: _Worker, memory_mb: int) -> str:
    code = w.proc.returncode
    how = f"（进程被信号 {-code} 终止）" if code is not None and code < 0 else ""
    return (
        f"读取该文件时读取程序异常退出{how}，文件可能已损坏、过大（内存上限 {memory_mb} MB）或是恶意构造的："
        f"请在 Excel 或 WPS 中打开检查，删除无关内容后另存为 .xlsx 再提交。"
    )


def read_untrusted(
    path: str | os.PathLike[str],
    *,
    timeout: float = 20.0,
    memory_mb: int = 1024,
    sheets: Iterable[str] | None = None,
    limits: Limits | None = None,
    check: bool = True,
) -> dict[str, Table]:
    """Pre-check one untrusted file and read it in a worker process with a memory limit and timeout.

    Returns sheet name → :class:`Table` like :func:`~toolkit.excel.read.read_workbook`; raises
    :class:`RejectedFile` (Chinese reason) for anything unsafe, unreadable, too slow or crashing.
    """
    result = read_many_untrusted(
        [path], workers=1, timeout=timeout, memory_mb=memory_mb, sheets=sheets, limits=limits, check=check
    )[path]
    if isinstance(result, RejectedFile):
        raise result
    return result
