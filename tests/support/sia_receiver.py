"""An alarm receiving centre for tests: pysiaalarm's TCP receiver as a real process.

``python -m tests.support.sia_receiver --port P --account 1234[:KEY] ...`` prints ``READY``
once it listens, then one JSON line per event it accepted (ACKed) on stdout. pysiaalarm is an
independent implementation of SIA DC-09 (it decides CRC, decryption and timestamps), which is
the point: our transmitter is checked against it, not against itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

from pysiaalarm.account import SIAAccount
from pysiaalarm.aio.client import SIAClient
from pysiaalarm.event import SIAEvent
from pysiaalarm.utils.enums import MessageTypes


async def _print(event: SIAEvent) -> None:
    line = {
        "account": event.account,
        "type": MessageTypes(event.message_type).value if event.message_type else None,
        "encrypted": bool(event.encrypted),
        "sequence": event.sequence,
        "code": event.code,
        "qualifier": event.event_qualifier,
        "event_type": event.event_type,
        "partition": event.partition,
        "ri": event.ri,
        "message": event.message,
        "timestamp": str(event.timestamp) if event.timestamp else None,
    }
    print(json.dumps(line), flush=True)


async def _serve(port: int, accounts: list[SIAAccount]) -> None:
    # SIAClient.__new__ picks its TCP subclass; mypy sees only the abstract base.
    async with SIAClient("127.0.0.1", port, accounts, _print):  # type: ignore[abstract]
        print("READY", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--account", action="append", default=[], help="ID or ID:KEY")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    accounts = []
    for spec in args.account:
        account, _, key = spec.partition(":")
        accounts.append(SIAAccount(account, key or None))
    asyncio.run(_serve(args.port, accounts))


if __name__ == "__main__":
    main()
