"""The MySQL benchmark's asyncio peer: aiomysql (the asyncio sibling of the notes' Tornado-MySQL),
a pool of N connections and N tasks taking primary-key selects from a shared counter, or N
SELECT SLEEP at once. Prints the same name=value pairs as bench/mysql_load.

    python3 bench/mysql_aiomysql.py PORT select|sleep QUERIES|SECONDS N
"""
import asyncio
import resource
import sys
import time

import aiomysql


def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


async def main(port, mode, amount, n):
    pool = await aiomysql.create_pool(host="127.0.0.1", port=port, user="root", password="",
                                      minsize=n, maxsize=n, autocommit=True)

    async def one(sql, args=None):
        async with pool.acquire() as conn:
            async with conn.cursor() as cur:
                await cur.execute(sql, args)
                return await cur.fetchall()

    await asyncio.gather(*(one("SELECT SLEEP(0.05)") for _ in range(n)))  # all connected
    cpu0, t0 = cpu(), time.monotonic()
    if mode == "sleep":
        await asyncio.gather(*(one("SELECT SLEEP(%s)", (float(amount),)) for _ in range(n)))
        done = n
    else:
        queries = int(amount)
        counter = 0
        found = 0

        async def caller():
            nonlocal counter, found
            while counter < queries:
                i = counter
                counter += 1
                rows = await one("SELECT id, name, email FROM bench.users WHERE id = %s",
                                 (1 + (i * 7919) % 10000,))
                found += len(rows)

        await asyncio.gather(*(caller() for _ in range(n)))
        if found != queries:
            raise SystemExit("mysql_aiomysql: a select found no row")
        done = queries
    seconds, used = time.monotonic() - t0, cpu() - cpu0
    pool.close()
    await pool.wait_closed()
    print(f"queries={done} seconds={seconds:.3f} rate={done / seconds:.0f} cpu={used:.3f} "
          f"cpu_per_1k={used / done * 1000:.4f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])))
