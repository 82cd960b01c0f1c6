"""``trygg-edge doctor``: check a Raspberry Pi's installation before its first alarm.

Config, pin factory and pins, serial port, broker (DNS, TCP, TLS, MQTT login), clock and outbox,
each measured by a small module here and judged by the pure :mod:`edge.core.doctor`. It is a
shell beside the agent, not part of it: it builds none of the agent's parts (no outbox opened,
no link with a will, no button that could raise anything), so a check can never publish an
alarm or change what central, the broker or the outbox hold. Parts the running agent holds (its
pins, its serial port, its broker session) are left alone and reported as not checked.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from configfile import ConfigError, load_settings
from edge.config import EdgeSettings, pin_key
from edge.core import doctor as judge
from edge.core.doctor import Verdict
from edge.doctor.broker import probe_broker
from edge.doctor.clock import probe_clock
from edge.doctor.disk import probe_outbox
from edge.doctor.gpio import claim_pins, close_factory, load_factory
from edge.doctor.procs import holders
from edge.doctor.serial_line import probe_serial

DEFAULT_LISTEN_S = 2.5
BROKER_PEER = "broker"  # --time-peer's default: the broker's host, NTP port


@dataclass(frozen=True, slots=True)
class Options:
    config: Path
    expect_pins: str | None = None  # the pin factory this device must use (default: by board)
    time_peer: str | None = BROKER_PEER  # HOST[:PORT] for SNTP, BROKER_PEER, or None: none
    serial_listen_s: float = DEFAULT_LISTEN_S
    pin_factory: Any = None  # an injected gpiozero factory (tests); None: gpiozero decides


async def diagnose(options: Options) -> list[Verdict]:
    """Every check, in the order an installer fixes things: config, pins, serial, broker,
    clock, outbox."""
    path = options.config
    try:
        settings = load_settings(EdgeSettings, path)
    except ConfigError as exc:
        return judge.config_refused(str(path), [str(p) for p in exc.problems])
    inputs = len(settings.buttons) + len(settings.announce.inputs)
    verdicts = [judge.config_ok(str(path), settings.site, settings.device, inputs)]
    agent = await asyncio.to_thread(holders, settings.outbox.path)
    verdicts += await asyncio.to_thread(_pins, settings, options, agent)
    board = settings.sensor_board
    if agent and board is not None:
        facts = judge.SerialFacts(board.port, board.baudrate, holders=agent)
    else:
        facts = await asyncio.to_thread(probe_serial, board, options.serial_listen_s)
    verdicts.append(judge.serial(facts))
    verdicts += judge.broker(await probe_broker(settings, agent), datetime.now(UTC))
    peer = settings.mqtt.host if options.time_peer == BROKER_PEER else options.time_peer
    clock = await asyncio.to_thread(probe_clock, peer, settings.selftest.max_clock_offset_s)
    verdicts += judge.clock(clock)
    verdicts.append(judge.outbox(await asyncio.to_thread(probe_outbox, settings)))
    return verdicts


def _pins(settings: EdgeSettings, options: Options, agent: tuple[str, ...]) -> list[Verdict]:
    factory, facts = load_factory(options.pin_factory, options.expect_pins)
    try:
        verdicts = [judge.pin_factory(facts)]
        if factory is None:
            return verdicts
        if agent:
            return [*verdicts, judge.pins_busy(agent)]
        claims = claim_pins(settings, factory)
        verdicts += [judge.pin(claim) for claim in claims]
        gpios = [c.gpio or pin_key(c.spec) for c in claims]
        board = settings.sensor_board
        clash = judge.uart_clash(board.port if board else None, gpios)
        return verdicts if clash is None else [*verdicts, clash]
    finally:
        close_factory(factory, options.pin_factory)


__all__ = ["Options", "diagnose"]
