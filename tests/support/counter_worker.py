"""One process of the counter concurrency tests.

Run as ``python -m tests.support.counter_worker MODE DB PK N``.

It sets Django up with ``tests.settings`` on the test database ``DB``, opens its one
connection, prints ``ready`` and waits for a line on stdin, so that every process starts
hammering the row at the same moment. Then it runs ``N`` operations of ``MODE`` on the
``Counted`` row ``PK`` and prints a JSON summary.
"""

from __future__ import annotations

import json
import os
import sys


def main(mode: str, db_name: str, pk: int, n: int) -> dict[str, int]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from django_supahybrid.counters import CounterBoundError, decrement, increment
    from django_supahybrid.counters.sharded import ShardedCounter
    from tests.testapp.models import Counted, CountedShard

    connection.settings_dict["NAME"] = db_name
    connection.ensure_connection()
    with connection.cursor() as cursor:
        # Each autocommit increment is its own transaction; on a shared CI disk waiting for
        # its WAL flush dominates the run. Row locks and visibility, what the tests are
        # about, are the same without that wait.
        cursor.execute("SET synchronous_commit TO off")
    row = Counted(pk=pk)
    hits = ShardedCounter(CountedShard, "hits", slots=8)
    print("ready", flush=True)
    sys.stdin.readline()
    done = refused = folds = 0
    for _ in range(n):
        if mode == "increment":
            increment(row, "hits")
        elif mode == "floor":
            try:
                decrement(row, "hits", floor=0)
            except CounterBoundError:
                refused += 1
                continue
        elif mode == "shard":
            hits.add(pk)
        elif mode == "shard-atomic":
            # Two adds in one transaction: the second finds the slot the first locked.
            with transaction.atomic():
                hits.add(pk)
                hits.add(pk, 2)
        elif mode == "fold":
            hits.fold(pk)
            folds += 1
        done += 1
    return {"done": done, "refused": refused, "folds": folds}


if __name__ == "__main__":
    mode, db_name, pk, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(main(mode, db_name, pk, n)), flush=True)
