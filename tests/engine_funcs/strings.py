"""Upstream-style node functions, written the way the original project's docs did.

Classmethods with ``(cls, self, q_elt)`` signatures, referenced by string
names through a ``coro_map``; the input rig puts strings into ``output_q``.
``self`` is the node's Processor; the sink records what it gets in
``self.env_vars["received"]``.
"""

from __future__ import annotations

import random
import string


def random_strings(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    letters = string.ascii_letters
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 12))) for _ in range(count)]


class StringFunc:
    @classmethod
    async def input_str(cls, self, output_q, num):
        for s in random_strings(num):
            await output_q.put(s)

    @classmethod
    async def reverse(cls, self, q_elt):
        return "|".join(q_elt)[::-1]

    @classmethod
    async def toupper(cls, self, q_elt):
        return "|".join(q_elt).upper()

    @classmethod
    async def tolower(cls, self, q_elt):
        return "|".join(q_elt).lower()

    @classmethod
    async def output_str(cls, self, q_elt):
        self.env_vars["received"].append((self.name, q_elt))


CORO_NAMES = {
    "StringFunc.input_str": StringFunc.input_str,
    "StringFunc.reverse": StringFunc.reverse,
    "StringFunc.toupper": StringFunc.toupper,
    "StringFunc.tolower": StringFunc.tolower,
    "StringFunc.output_str": StringFunc.output_str,
}


def coro_map(name: str):
    """The upstream ``coro_map``: node names in the spec -> classmethods."""
    return CORO_NAMES[name]
