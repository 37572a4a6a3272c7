"""A TCP proxy that holds every chunk for DELAY seconds in each direction, order kept: the
benchmarks' stand-in for a database across a network (0.5 ms each way = a 1 ms round trip).

Usage: python lag_proxy.py TARGET_HOST TARGET_PORT  (DELAY in the environment, default 0.0005).
Prints the port it listens on (127.0.0.1, chosen by the system) on its first line, then serves
until killed. Chunks are forwarded after the delay but not held back by one another, so the
delay adds latency to each round trip without capping throughput.
"""

import asyncio
import os
import sys

DELAY = float(os.environ.get("DELAY", "0.0005"))


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    loop = asyncio.get_running_loop()
    try:
        while data := await reader.read(1 << 20):
            loop.call_later(DELAY, writer.write, data)
    finally:
        await asyncio.sleep(DELAY * 2)
        writer.close()


async def main(host: str, port: int) -> None:
    async def handle(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection(host, port)
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
