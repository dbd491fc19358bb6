"""Userland port proxy: the fallback where kernel NAT is unavailable (``proxy`` backend).

One process per container with published ports, started and stopped by the network
layer (``supervise``).  The listening sockets are bound by the caller (so a busy port
fails there, cleanly) and inherited.  TCP connections are spliced with two copy loops;
UDP keeps one backend socket per client address, dropped after 60 s of silence.

Run as ``python -m runtime.network.proxy PROTO:FD:CONTAINER_IP:PORT ...``.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys

UDP_IDLE = 60.0


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(256 * 1024):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except OSError:
            writer.close()


async def _tcp(listen: socket.socket, ip: str, port: int) -> asyncio.AbstractServer:
    async def client(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            br, bw = await asyncio.open_connection(ip, port, limit=1 << 20)
        except OSError:
            w.close()
            return
        await asyncio.gather(_pipe(r, bw), _pipe(br, w))
        w.close()
        bw.close()

    return await asyncio.start_server(client, sock=listen, limit=1 << 20)


class _UdpFront(asyncio.DatagramProtocol):
    def __init__(self, ip: str, port: int) -> None:
        self.target = (ip, port)
        self.backs: dict[tuple[str, int], tuple[asyncio.DatagramTransport, float]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.front = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        entry = self.backs.get(addr)
        if entry is not None:
            entry[0].sendto(data)
            self.backs[addr] = (entry[0], loop.time())
            return
        front = self.front

        class Back(asyncio.DatagramProtocol):
            def datagram_received(self, reply: bytes, _: tuple[str, int]) -> None:
                front.sendto(reply, addr)  # type: ignore[attr-defined]

        async def open_back() -> None:
            t, _ = await loop.create_datagram_endpoint(Back, remote_addr=self.target)
            self.backs[addr] = (t, loop.time())  # type: ignore[assignment]
            t.sendto(data)  # type: ignore[attr-defined]

        self.task = asyncio.ensure_future(open_back())

    async def reap(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(UDP_IDLE / 4)
            for addr, (t, last) in list(self.backs.items()):
                if loop.time() - last > UDP_IDLE:
                    t.close()
                    del self.backs[addr]


async def serve(specs: list[str]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    keep: list[object] = []
    for spec in specs:
        proto, fd, ip, port = spec.split(":", 3)
        ip = ip.strip("[]")
        if proto == "tcp":
            keep.append(await _tcp(socket.socket(fileno=int(fd)), ip, int(port)))
        else:
            front = _UdpFront(ip, int(port))
            await loop.create_datagram_endpoint(lambda f=front: f,
                                                sock=socket.socket(fileno=int(fd)))
            keep.append(asyncio.ensure_future(front.reap()))
    await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1:]))
