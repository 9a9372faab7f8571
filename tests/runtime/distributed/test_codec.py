"""The serializers and sequence numbers (no Redis needed)."""

from __future__ import annotations

import pickle

import pytest

from pipelines import DeadLetter, RemoteError
from pipelines.runtime.distributed.codec import (
    MAX_BLOB_BYTES,
    EncodeError,
    JsonCodec,
    PickleCodec,
    make_codec,
)
from pipelines.runtime.distributed.handoff import split_netstrings
from pipelines.runtime.distributed.seqs import Seqs, seq_from_text, seq_text

ODD = [
    None,
    True,
    3,
    2.5,
    "text",
    [1, (2, 3)],
    (1, [2, {"a": (3,)}]),
    {"$weird": 1, "plain": 2},
    {1: "one", (2, 3): "pair"},
    b"\x00bytes",
    {1, 2},
    frozenset({"a"}),
    float("inf"),
]


@pytest.mark.parametrize("codec", [JsonCodec(), PickleCodec()], ids=["json", "pickle"])
def test_values_come_back_with_their_types(codec):
    blobs, failures = codec.encode(ODD)
    assert failures == {}
    ((indices, blob),) = blobs
    assert indices == list(range(len(ODD)))
    back = codec.loads_many(blob)
    assert back == ODD
    assert [type(v) for v in back] == [type(v) for v in ODD]


@pytest.mark.parametrize("codec", [JsonCodec(), PickleCodec()], ids=["json", "pickle"])
def test_dead_letters_carry_their_error_as_name_and_message(codec):
    dead = DeadLetter("check", (7, "x"), KeyError("k"), 3)
    (back,) = codec.loads_many(codec.encode([dead])[0][0][1])
    assert (back.node, back.item, back.attempts) == ("check", (7, "x"), 3)
    assert isinstance(back.error, RemoteError) and isinstance(back.error, KeyError)
    assert type(back.error).__name__ == "KeyError" and str(back.error) == "'k'"


def test_json_refuses_other_types_and_only_those_items_fail():
    class Point:
        pass

    blobs, failures = JsonCodec().encode([1, Point(), 3, complex(1, 2)])
    assert list(failures) == [1, 3]
    assert "a value of type" in str(failures[1]) and "Point cannot be sent with the json" in str(
        failures[1]
    )
    assert "builtins.complex" in str(failures[3]) and "serializer: pickle" in str(failures[3])
    assert isinstance(failures[1], EncodeError)
    ((indices, blob),) = blobs
    assert indices == [0, 2] and JsonCodec().loads_many(blob) == [1, 3]


def test_json_never_builds_anything_but_data():
    # A pickle payload (or anything else) given to the json codec is refused, not run.
    evil = pickle.dumps([print])
    with pytest.raises(ValueError):
        JsonCodec().loads_many(evil)
    with pytest.raises(ValueError, match="unknown tag"):
        JsonCodec().loads_many(b'[{"$call": "os:system"}]')
    with pytest.raises(ValueError, match="must be an array"):
        JsonCodec().loads_many(b'{"a": 1}')


def test_a_batch_over_the_size_limit_is_split_and_a_huge_item_fails():
    big = "x" * (MAX_BLOB_BYTES // 2)
    blobs, failures = JsonCodec().encode([big, big, "small", "y" * (MAX_BLOB_BYTES + 1)])
    # Halved until each part fits: [big, big] and [small, huge], then one by one.
    assert [indices for indices, _ in blobs] == [[0], [1], [2]]
    assert list(failures) == [3] and "larger than the transport carries" in str(failures[3])


def test_make_codec_knows_two_serializers():
    assert make_codec("json").name == "json" and make_codec("pickle").name == "pickle"
    with pytest.raises(ValueError):
        make_codec("yaml")


def test_sequence_numbers_round_trip_as_runs_and_lists():
    run = Seqs((2,), 17, 4)
    assert list(run) == [(2, 17), (2, 18), (2, 19), (2, 20)]
    assert run.encode() == "2:17" and Seqs.decode("2:17", 4) == run
    assert Seqs.decode(":0", 3).encode() == ":0" and list(Seqs.decode(":0", 3)) == [
        (0,),
        (1,),
        (2,),
    ]
    picked = run.select([1, 2])
    assert picked.encode() == "2:18"  # still a run
    holes = run.select([0, 3])
    assert holes.encode() == "2.17,2.20" and Seqs.decode("2.17,2.20", 2) == holes
    assert Seqs.of([(5, 0), (5, 1)]).prefixed(1).encode() == "1.5.0,1.5.1"
    assert Seqs((), 3, 2).prefixed(0).encode() == "0:3"
    assert seq_text((3, 1)) == "3.1" and seq_from_text("3.1") == (3, 1)
    with pytest.raises(ValueError):
        Seqs.decode("1,2", 3)


def test_netstrings_split_the_parts_of_joined_tuples():
    assert split_netstrings(b"3:abc2:de0:") == [b"abc", b"de", b""]
    assert split_netstrings(b"") == []
