"""The producer's partitioner puts every key where Kafka's own clients put it (pure unit test)."""

from __future__ import annotations

import os
import uuid

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from kit.kafka import by_key, murmur2


def test_murmur2_is_kafkas_on_keys_of_every_length_and_byte() -> None:
    keys = [os.urandom(n) for n in range(70) for _ in range(20)]
    keys += [bytes([b]) * n for b in (0, 0x7F, 0x80, 0xFF) for n in range(9)]
    assert [murmur2(k) for k in keys] == [aiokafka_murmur2(k) for k in keys]


def test_a_key_lands_on_the_partition_the_default_partitioner_chose() -> None:
    """A rolling deploy must not move a key: its events would be read out of order."""
    for count in (1, 2, 3, 6, 7):
        partitions = list(range(count))
        for key in [str(uuid.uuid4()).encode() for _ in range(300)] + [b"", b"132187"]:
            assert by_key(key, partitions, partitions) == DefaultPartitioner()(key, partitions,
                                                                                partitions)
