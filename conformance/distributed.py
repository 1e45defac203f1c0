"""Running work on a Dask cluster — the existing distributed engine the tool uses where one
machine is not enough (a region's millions of documents, billions of data-set rows). Given a
scheduler address it joins that cluster; without one it starts a local cluster of worker
processes. Workers must run the same conformance version (checked) and see the inputs at the
same paths (shared storage). Results come back in submission order through a bounded window,
so memory stays flat however many items there are."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from . import __version__
from .errors import ConformanceError

CONNECT_TIMEOUT = "10s"


class DaskError(ConformanceError):
    pass


def _worker_version() -> str:
    from . import __version__ as v

    return v


class DaskPool:
    def __init__(self, scheduler: str | None, workers: int) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - a declared dependency
            raise DaskError("the Dask engine needs dask[distributed]") from None
        self.cluster = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout=CONNECT_TIMEOUT)
            else:
                self.cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1,
                                            processes=True, dashboard_address=None)
                self.client = Client(self.cluster)
        except (OSError, TimeoutError) as exc:
            raise DaskError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
        versions = self.client.run(_worker_version)
        wrong = {w: v for w, v in versions.items() if v != __version__}
        if wrong:
            self.close()
            raise DaskError(f"Dask workers run conformance {sorted(set(wrong.values()))}, this "
                            f"client {__version__}: install the same version on every worker")
        self.workers = max(1, len(versions))
        self.window = 4 * self.workers

    def imap(self, fn: Callable[..., Any], items: Iterable[Any], *shared: Any) -> Iterator[Any]:
        """``fn(item, *shared)`` for every item, results in order; ``shared`` values are sent
        to every worker once."""
        scattered = [self.client.scatter(s, broadcast=True) for s in shared]
        pending: deque = deque()
        it = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < self.window:
                try:
                    item = next(it)
                except StopIteration:
                    exhausted = True
                    break
                pending.append(self.client.submit(fn, item, *scattered, pure=False))
            if not pending:
                return
            fut = pending.popleft()
            yield fut.result()
            fut.release()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> DaskPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
