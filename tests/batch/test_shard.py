"""Sharding a batch input: ``--shard I/N`` parsing and the stable split of custom_ids."""

from __future__ import annotations

import pytest

from rawgpt.batch.shard import SkipOtherShards, in_shard, parse_shard
from rawgpt.cli.batch import shard_arg


def test_shards_split_the_ids_stably() -> None:
    assert parse_shard("2/4") == (2, 4) and parse_shard(" 1/1 ") == (1, 1)
    for bad in ("0/4", "5/4", "2", "a/b", "1/0", ""):
        with pytest.raises(ValueError, match="1 <= I <= N"):
            parse_shard(bad)
    with pytest.raises(Exception, match="got '3/2'"):
        shard_arg("3/2")
    ids = [f"request-{i}" for i in range(1000)]
    owners = [[i for i in range(1, 5) if in_shard(cid, (i, 4))] for cid in ids]
    assert all(len(o) == 1 for o in owners)  # each id in exactly one shard
    sizes = [sum(o == [i] for o in owners) for i in range(1, 5)]
    assert min(sizes) > 200  # and the shards are about even
    assert in_shard("request-1", (1, 4)) == (owners[1] == [1])  # stable: a crc32, no seed
    skip = SkipOtherShards({"request-0"}, (owners[0][0], 4))
    assert "request-0" in skip and all(
        (cid in skip) != in_shard(cid, (owners[0][0], 4)) for cid in ids[1:]
    )
