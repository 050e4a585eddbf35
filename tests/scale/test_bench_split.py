"""bench_processes splits a district's evening by community: every message once, in order, communities whole."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from bench.bench_processes import split
from bench.workload import District


def test_each_community_goes_whole_to_one_process_and_every_message_once(tmp_path: Path) -> None:
    district = District(communities=5, estates=2, buildings=2)
    groups = district.groups()
    community_of = {g.chat_id: g.community for g in groups}
    records = [{"chat_id": groups[(i * 7) % len(groups)].chat_id, "message_id": f"m{i}"} for i in range(200)]
    infile = tmp_path / "in.jsonl"
    infile.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")

    parts = split(infile, district, 2)

    read = [[json.loads(line) for line in part.read_text(encoding="utf-8").splitlines()] for part in parts]
    every = [r["message_id"] for share in read for r in share]
    assert sorted(every) == sorted(r["message_id"] for r in records)
    where: dict[str, set[int]] = defaultdict(set)
    for n, share in enumerate(read):
        order = [int(r["message_id"][1:]) for r in share]
        assert order == sorted(order)
        for r in share:
            where[community_of[r["chat_id"]]].add(n)
    assert all(len(found) == 1 for found in where.values())
    assert sorted(len([c for c, found in where.items() if n in found]) for n in range(2)) == [2, 3]
