"""The names of everything a distributed run keeps in Redis.

Global keys (under ``pipelines:``): one heartbeat per live worker process
(``worker:<instance>``, a JSON value with a TTL), and per spec fingerprint
the set of its active runs and a stream that wakes workers when a run starts.

Run keys (under ``pipelines:run:<id>:``), all deleted when the run ends:
``meta`` (status, args, env, error), ``alive`` (the coordinator's heartbeat),
``events`` (what the workers report), ``fin`` (finished nodes), and per link
(the consumer node and its input index) a stream ``s:``, its counters ``l:``
(``n`` the backlog in items, ``pk`` its peak) and the set ``e:`` of the
producer replicas whose end marker was read; per node its replicas ``r:``,
its stats ``t:``, its collected results ``o:``, and for a zip the buffers
``z:`` of items waiting for their partners and the internal ``j`` link.
"""

from __future__ import annotations

__all__ = ["JOINED", "PREFIX", "Keys", "RunKeys"]

PREFIX = "pipelines"
#: Input "index" of a zip node's internal link (from its join step to its calls).
JOINED = "j"


class Keys:
    """Global keys (workers, active runs)."""

    __slots__ = ("prefix",)

    def __init__(self, prefix: str = PREFIX) -> None:
        self.prefix = prefix

    def worker(self, instance: str) -> str:
        """A worker process's heartbeat (expires unless renewed)."""
        return f"{self.prefix}:worker:{instance}"

    def workers_pattern(self) -> str:
        """SCAN pattern of every worker heartbeat."""
        return f"{self.prefix}:worker:*"

    def active(self, fingerprint: str) -> str:
        """The set of running runs of one spec."""
        return f"{self.prefix}:active:{fingerprint}"

    def announce(self, fingerprint: str) -> str:
        """The stream that wakes a spec's workers when a run starts (trimmed: only a signal)."""
        return f"{self.prefix}:announce:{fingerprint}"

    def run(self, run_id: str) -> RunKeys:
        """The keys of one run."""
        return RunKeys(self.prefix, run_id)


class RunKeys:
    """The keys of one run."""

    __slots__ = ("base", "run_id")

    def __init__(self, prefix: str, run_id: str) -> None:
        self.run_id = run_id
        self.base = f"{prefix}:run:{run_id}"

    @property
    def meta(self) -> str:
        """Hash: status, fingerprint, args, env, error."""
        return f"{self.base}:meta"

    @property
    def alive(self) -> str:
        """The coordinator's heartbeat (workers drop a run whose coordinator is gone)."""
        return f"{self.base}:alive"

    @property
    def events(self) -> str:
        """Stream of what workers report (node_started, node_failed, node_finished)."""
        return f"{self.base}:events"

    @property
    def fin(self) -> str:
        """Hash: finished node -> wall time (ms)."""
        return f"{self.base}:fin"

    @property
    def pattern(self) -> str:
        """SCAN pattern of every key of the run."""
        return f"{self.base}:*"

    def stream(self, node: str, index: int | str) -> str:
        """The stream of input ``index`` of ``node``."""
        return f"{self.base}:s:{node}:{index}"

    def link(self, node: str, index: int | str) -> str:
        """Counters of that link: ``n`` (backlog, items), ``pk`` (peak), ``b:<producer>``."""
        return f"{self.base}:l:{node}:{index}"

    def ends(self, node: str, index: int | str) -> str:
        """Set of producer replicas whose end marker on that link was read."""
        return f"{self.base}:e:{node}:{index}"

    def wake(self, node: str, index: int | str) -> str:
        """List a producer waits on (``BLPOP``) while that link is full; a consumer pushes."""
        return f"{self.base}:w:{node}:{index}"

    def zipbuf(self, node: str, index: int) -> str:
        """Hash seq -> item of a zip input's items waiting for their partners."""
        return f"{self.base}:z:{node}:{index}"

    def replicas(self, node: str) -> str:
        """Hash replica -> the heartbeat key that says it is alive."""
        return f"{self.base}:r:{node}"

    def stats(self, node: str) -> str:
        """Hash of the node's counters (updated with each hand-on)."""
        return f"{self.base}:t:{node}"

    def outputs(self, node: str) -> str:
        """Stream of a ``collect: true`` node's results, read by the coordinator."""
        return f"{self.base}:o:{node}"
