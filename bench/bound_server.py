"""The lower bound for the alarm path: MQTT in, ``websockets.broadcast`` out, nothing else.

It subscribes (QoS 1) to one topic and hands each payload, untouched, to every connected
websocket. No validation, no routing, no store: whatever central spends beyond this is the
price of its features. Run as a child of the bench; prints ``ready <ws port>`` on stdout once it
is subscribed and listening.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiomqtt
from sockets import raise_fd_limit, set_nodelay
from websockets.asyncio.server import ServerConnection, broadcast, serve


async def serve_bound(args: argparse.Namespace) -> None:
    screens: set[ServerConnection] = set()

    async def hold(connection: ServerConnection) -> None:
        screens.add(connection)
        try:
            await connection.wait_closed()
        finally:
            screens.discard(connection)

    # No keepalive pings and no compression: the same wire as the lean receivers expect.
    async with (
        serve(hold, "127.0.0.1", args.ws_port, ping_interval=None, compression=None, backlog=1024),
        aiomqtt.Client(
            args.mqtt_host,
            args.mqtt_port,
            username=args.user,
            password=args.password,
            identifier="trygg-bench-bound",
        ) as client,
    ):
        set_nodelay(client)
        await client.subscribe(args.topic, qos=1)
        print(f"ready {args.ws_port}", flush=True)
        async for message in client.messages:
            payload = message.payload
            if isinstance(payload, bytes | bytearray):
                broadcast(screens, bytes(payload), text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mqtt-host", default="127.0.0.1")
    parser.add_argument("--mqtt-port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--ws-port", type=int, required=True)
    args = parser.parse_args()
    raise_fd_limit()
    try:
        asyncio.run(serve_bound(args))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
