"""pipelines with call sampling on and a subscriber listening: what an observed run costs.

``Plumber(spec, sample_calls=True)`` times one call per node every 50 ms, and
a no-op event subscriber makes the stats ticker poke the loops every 0.5 s
(what the run store or the live view do). Compare with ``pipelines``.
"""

from bench.impls.pipelines_impl import _chain_spec, _Sum
from bench.workloads import CHAIN_MAPS
from pipelines import Plumber


async def chain5(n, clock):
    acc = _Sum()
    plumber = Plumber(_chain_spec(n, CHAIN_MAPS, acc), sample_calls=True)
    plumber.subscribe(lambda event: None)
    with clock:
        await plumber.run()
    return acc.total
