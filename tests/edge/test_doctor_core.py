"""``edge.core.doctor``: every verdict the installer can read, from facts given here exactly.

The shell's tests (tests/edge/test_doctor.py) run the real parts; these pin down each branch
of the wording and the status that decides the exit code, without a Pi or a socket.
"""

from __future__ import annotations

import errno
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.core import doctor as d
from edge.core.doctor import (
    BrokerFacts,
    ClockFacts,
    FactoryFacts,
    OutboxFacts,
    PinClaim,
    SerialFacts,
    Status,
)

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
PI5 = "Raspberry Pi 5 Model B Rev 1.0"
PI4 = "Raspberry Pi 4 Model B Rev 1.5"


def statuses(verdicts: list[d.Verdict]) -> dict[str, Status]:
    return {v.check: v.status for v in verdicts}


# -- config ----------------------------------------------------------------------------------


def test_a_refused_config_is_one_failed_line_per_problem_with_file_and_line() -> None:
    problems = ["/etc/trygg/edge.toml:14: [mqtt.password] password is a placeholder"]
    [verdict] = d.config_refused("/etc/trygg/edge.toml", problems)
    assert verdict.status is Status.FAIL
    assert d.line(verdict).startswith("✗ config: /etc/trygg/edge.toml:14: [mqtt.password]")
    assert "validate-config /etc/trygg/edge.toml" in verdict.todo


# -- pin factory -------------------------------------------------------------------------------


def test_lgpio_on_a_pi_5_is_what_is_expected() -> None:
    verdict = d.pin_factory(FactoryFacts("lgpio", "GPIOZERO_PIN_FACTORY=lgpio", board_model=PI5))
    assert verdict.status is Status.OK
    assert "lgpio (GPIOZERO_PIN_FACTORY=lgpio) on Raspberry Pi 5" in verdict.says


def test_rpigpio_on_a_pi_5_fails_and_says_why() -> None:
    facts = FactoryFacts(
        "rpigpio",
        "gpiozero's default order",
        fallbacks=("lgpio: No module named 'lgpio'",),
        board_model=PI5,
    )
    verdict = d.pin_factory(facts)
    assert verdict.status is Status.FAIL
    assert "fell back past: lgpio: No module named 'lgpio'" in verdict.says
    assert "RPi.GPIO cannot drive a Pi 5's GPIO" in verdict.todo
    assert "GPIOZERO_PIN_FACTORY=lgpio" in verdict.todo


def test_a_pi_4_is_expected_on_lgpio_too_unless_the_operator_says_otherwise() -> None:
    facts = FactoryFacts("pigpio", "GPIOZERO_PIN_FACTORY=pigpio", board_model=PI4)
    assert d.pin_factory(facts).status is Status.FAIL
    asked = FactoryFacts(
        "pigpio", "GPIOZERO_PIN_FACTORY=pigpio", board_model=PI4, expected="pigpio"
    )
    assert d.pin_factory(asked).status is Status.OK


def test_no_factory_at_all_names_each_fallback_and_the_lgpio_working_directory() -> None:
    facts = FactoryFacts(
        None,
        "GPIOZERO_PIN_FACTORY=lgpio",
        error="[Errno 2] No such file or directory: '.lgd-nfy-3'",
        board_model=PI5,
    )
    verdict = d.pin_factory(facts)
    assert verdict.status is Status.FAIL
    assert "could not load a pin factory" in verdict.says
    assert "/var/lib/trygg" in verdict.todo


def test_the_gpio_chip_refused_points_at_the_gpio_group() -> None:
    facts = FactoryFacts(
        None, "GPIOZERO_PIN_FACTORY=lgpio", error="can not open gpiochip", board_model=PI5
    )
    assert "group gpio" in d.pin_factory(facts).todo


def test_simulated_pins_warn_unless_expected() -> None:
    sim = d.pin_factory(FactoryFacts("trygg-sim", "GPIOZERO_PIN_FACTORY=trygg-sim"))
    assert sim.status is Status.WARN
    assert "simulated" in sim.says
    meant = FactoryFacts("mock", "given by the caller", expected="mock")
    assert d.pin_factory(meant).status is Status.OK


# -- pins ------------------------------------------------------------------------------------


def claim(**changes: Any) -> PinClaim:
    base = PinClaim("desk button", "17", "input", "GPIO17", user="trygg", in_gpio_group=True)
    return replace(base, **changes)


def test_a_free_pin_is_one_ok_line_named_by_its_gpio() -> None:
    verdict = d.pin(claim(closed=False))
    assert (verdict.status, d.line(verdict)) == (
        Status.OK,
        "✓ pin GPIO17: desk button: free, contact open",
    )
    led = d.pin(claim(owner="desk LED", spec="27", gpio="GPIO27", role="output"))
    assert d.line(led) == "✓ pin GPIO27: desk LED: free, left off"


def test_a_pin_in_use_says_who_to_stop() -> None:
    verdict = d.pin(claim(error="GPIO17 is in use (GPIO busy)"))
    assert verdict.status is Status.FAIL
    assert "systemctl stop trygg-edge" in verdict.todo


def test_two_spellings_of_one_gpio_clash() -> None:
    verdict = d.pin(
        claim(owner="door LED", spec="BOARD11", role="output", clash_with="desk button")
    )
    assert verdict.status is Status.FAIL
    assert "door LED (BOARD11) is the same GPIO as desk button" in verdict.says


def test_a_contact_closed_at_install_is_a_wiring_question() -> None:
    verdict = d.pin(claim(closed=True))
    assert verdict.status is Status.FAIL
    assert "reads pressed right now" in verdict.says
    assert "pull_up" in verdict.todo


def test_permission_on_a_pin_names_the_gpio_group_and_the_user() -> None:
    verdict = d.pin(claim(error="[Errno 13] Permission denied", in_gpio_group=False))
    assert "usermod -aG gpio trygg" in verdict.todo
    assert "trygg is not in it" in verdict.todo


def test_a_power_pin_is_not_a_gpio() -> None:
    verdict = d.pin(
        claim(spec="BOARD1", gpio="3V3", error="BOARD1 is the header's 3V3 pin, not a GPIO")
    )
    assert verdict.status is Status.FAIL
    assert "BCM number" in verdict.todo


def test_a_board_on_the_pis_uart_needs_gpio_14_and_15_free() -> None:
    clash = d.uart_clash("/dev/serial0", ["GPIO17", "GPIO14"])
    assert clash is not None
    assert clash.status is Status.FAIL
    assert "GPIO14" in clash.says
    assert d.uart_clash("/dev/ttyUSB0", ["GPIO14"]) is None
    assert d.uart_clash("/dev/serial0", ["GPIO17"]) is None


def test_pins_held_by_the_running_agent_are_not_checked() -> None:
    verdict = d.pins_busy(("pid 42: trygg-edge --config /etc/trygg/edge.toml",))
    assert verdict.status is Status.SKIP
    assert d.line(verdict).startswith("– pins: not claimed: the agent is running (pid 42")


# -- serial ----------------------------------------------------------------------------------


def test_no_sensor_board_is_skipped() -> None:
    assert d.serial(SerialFacts(port=None)).status is Status.SKIP


def test_a_missing_port_lists_the_adapters_there_are() -> None:
    facts = SerialFacts("/dev/ttyUSB0", exists=False, candidates=("/dev/serial/by-id/usb-x",))
    verdict = d.serial(facts)
    assert verdict.status is Status.FAIL
    assert "/dev/ttyUSB0 does not exist (serial adapters present: /dev/serial/by-id/usb-x)" in (
        verdict.says
    )


def test_a_refused_port_explains_the_dialout_group() -> None:
    facts = SerialFacts(
        "/dev/ttyUSB0",
        open_error="Permission denied (EACCES)",
        open_errno=errno.EACCES,
        device_group="dialout",
        user="trygg",
        in_device_group=False,
    )
    verdict = d.serial(facts)
    assert verdict.status is Status.FAIL
    assert "/dev/ttyUSB0 (group dialout) refuses trygg" in verdict.says
    assert "trygg is not in group dialout: `sudo usermod -aG dialout trygg`" in verdict.todo


def test_a_port_the_agent_holds_is_not_opened() -> None:
    verdict = d.serial(SerialFacts("/dev/ttyUSB0", holders=("pid 7: trygg-edge",)))
    assert verdict.status is Status.SKIP
    assert "not opened" in verdict.says


def test_a_talking_board_is_named_with_its_firmware() -> None:
    facts = SerialFacts("/dev/ttyUSB0", frames=("DOOR", "PIR", "TAMP", "HB"), firmware="1.0.3")
    verdict = d.serial(facts)
    assert verdict.status is Status.OK
    assert "the board talks (DOOR, PIR, TAMP, HB, firmware 1.0.3)" in verdict.says


def test_bytes_without_a_frame_suggest_the_baud_rate_and_silence_is_only_a_warning() -> None:
    noise = d.serial(
        SerialFacts("/dev/ttyUSB0", listened_s=2.5, bytes_read=40, drops={"bad_checksum": 2})
    )
    assert noise.status is Status.WARN
    assert "2 bad_checksum" in noise.says
    assert "baud rate" in noise.todo
    silent = d.serial(SerialFacts("/dev/ttyUSB0", listened_s=2.5))
    assert silent.status is Status.WARN
    assert "no frame in 2.5 s" in silent.says


# -- broker ----------------------------------------------------------------------------------


def broker_facts(**changes: object) -> BrokerFacts:
    base: dict[str, object] = {
        "host": "trygg.office.lan",
        "port": 8883,
        "username": "rom-101",
        "tls": True,
        "client_cert": False,
        "loopback": False,
        "addresses": ("10.0.0.5",),
        "tcp_reached": True,
        "tls_done": True,
        "tls_version": "TLSv1.3",
        "cert_not_after": NOW + timedelta(days=400),
        "login_done": True,
    }
    return BrokerFacts(**{**base, **changes})  # type: ignore[arg-type]


def test_all_four_stages_pass() -> None:
    verdicts = d.broker(broker_facts(), NOW)
    assert [v.status for v in verdicts] == [Status.OK] * 4
    assert "valid 400 more days" in verdicts[2].says


def test_a_failed_stage_skips_the_ones_after_it() -> None:
    verdicts = d.broker(broker_facts(dns_error="Name or service not known"), NOW)
    assert [v.status for v in verdicts] == [Status.FAIL, Status.SKIP, Status.SKIP, Status.SKIP]
    assert verdicts[1].says == "not tried: DNS failed"


def test_refused_timeout_and_unreachable_are_told_apart() -> None:
    refused = d.broker(
        broker_facts(tcp_reached=False, tcp_error_kind="refused", tcp_error="x"), NOW
    )
    assert "nothing listens there" in refused[1].says
    timeout = d.broker(
        broker_facts(tcp_reached=False, tcp_error_kind="timeout", tcp_error="x"), NOW
    )
    assert "firewall" in timeout[1].todo
    unreachable = d.broker(
        broker_facts(tcp_reached=False, tcp_error_kind="unreachable", tcp_error="x"), NOW
    )
    assert "unreachable" in unreachable[1].says


def test_each_tls_failure_has_its_own_words() -> None:
    def tls(kind: str) -> d.Verdict:
        verdicts = d.broker(broker_facts(tls_done=False, tls_error_kind=kind, tls_error="e"), NOW)
        assert verdicts[2].status is Status.FAIL
        assert verdicts[3].status is Status.SKIP
        return verdicts[2]

    assert "not signed by the CA in tls_ca" in tls("untrusted").says
    assert "not for the name trygg.office.lan" in tls("hostname").says
    assert "clock" in tls("not-yet-valid").todo
    assert "refused this device's certificate" in tls("client-refused").says
    assert "does not speak TLS" in tls("not-tls").says


def test_a_broker_certificate_near_its_end_is_a_warning() -> None:
    verdicts = d.broker(broker_facts(cert_not_after=NOW + timedelta(days=10)), NOW)
    assert verdicts[2].status is Status.WARN
    assert "renew" in verdicts[2].todo


def test_plain_mqtt_over_the_network_warns_and_on_loopback_is_fine() -> None:
    network = d.broker(broker_facts(tls=False, tls_done=None), NOW)
    assert network[2].status is Status.WARN
    loopback = d.broker(broker_facts(tls=False, tls_done=None, loopback=True), NOW)
    assert loopback[2].status is Status.SKIP


def test_a_refused_login_names_the_password_and_the_registry() -> None:
    verdicts = d.broker(
        broker_facts(
            login_done=False,
            login_error_kind="not-authorized",
            login_error="[code:135] Not authorized",
            reason_code=135,
        ),
        NOW,
    )
    assert verdicts[3].status is Status.FAIL
    assert "refused the login of user rom-101" in verdicts[3].says
    assert "trygg-central broker-config" in verdicts[3].todo


def test_the_login_is_not_tried_while_the_agent_runs() -> None:
    verdicts = d.broker(broker_facts(login_done=None, agent_running=("pid 9: trygg-edge",)), NOW)
    assert verdicts[3].status is Status.SKIP
    assert "throw it off the broker" in verdicts[3].says


# -- clock -----------------------------------------------------------------------------------


def test_a_clock_before_the_release_year_is_a_hard_fail_whatever_the_sync_says() -> None:
    boot = datetime(1970, 1, 1, 0, 0, 42, tzinfo=UTC)
    [sync, _peer] = d.clock(ClockFacts(boot, "adjtimex", synced=True))
    assert sync.status is Status.FAIL
    assert "1970-01-01 00:00:42 UTC, before this software was made" in sync.says
    last_year = datetime(d.RELEASE_YEAR - 1, 12, 31, tzinfo=UTC)
    assert d.clock(ClockFacts(last_year, "adjtimex", synced=True))[0].status is Status.FAIL


def test_a_synchronised_clock_is_ok_and_no_peer_is_a_skip() -> None:
    [sync, peer] = d.clock(ClockFacts(NOW, "adjtimex", synced=True, max_error_s=0.012))
    assert sync.status is Status.OK
    assert "synchronised (adjtimex, max error 0.012 s)" in sync.says
    assert peer.status is Status.SKIP


def test_unsynchronised_fails_unless_a_peer_agrees_for_now() -> None:
    alone = d.clock(ClockFacts(NOW, "adjtimex", synced=False))
    assert alone[0].status is Status.FAIL
    agreed = d.clock(ClockFacts(NOW, "adjtimex", synced=False, peer="ntp:123", peer_offset_s=0.2))
    assert [v.status for v in agreed] == [Status.WARN, Status.OK]
    assert "agrees with ntp:123 for now" in agreed[0].says


def test_a_peer_far_off_fails_with_the_direction() -> None:
    facts = ClockFacts(NOW, "adjtimex", synced=True, peer="server", peer_offset_s=3600.0)
    [_sync, peer] = d.clock(facts)
    assert peer.status is Status.FAIL
    assert "this Pi is 3600.000 s behind server (limit 2 s" in peer.says


def test_a_silent_peer_is_not_compared() -> None:
    facts = ClockFacts(NOW, "adjtimex", synced=True, peer="server", peer_error="timed out")
    assert d.clock(facts)[1].status is Status.SKIP


# -- outbox ----------------------------------------------------------------------------------


def outbox_facts(**changes: object) -> OutboxFacts:
    base: dict[str, object] = {
        "path": "/var/lib/trygg/edge-outbox.db",
        "directory": "/var/lib/trygg",
        "directory_exists": True,
        "free_bytes": 900 * d.MB,
        "user": "trygg",
    }
    return OutboxFacts(**{**base, **changes})  # type: ignore[arg-type]


def test_outbox_ok_missing_full_and_read_only() -> None:
    assert d.outbox(outbox_facts()).status is Status.OK
    missing = d.outbox(outbox_facts(directory_exists=False))
    assert missing.status is Status.FAIL
    assert "install -d -o trygg" in missing.todo
    assert d.outbox(outbox_facts(directory_exists=False, creatable=True)).status is Status.OK
    full = d.outbox(outbox_facts(free_bytes=3 * d.MB))
    assert full.status is Status.FAIL
    assert "3.0 MB free, below 50 MB" in full.says
    read_only = d.outbox(outbox_facts(write_error="Read-only file system"))
    assert read_only.status is Status.FAIL
    assert "cannot write in /var/lib/trygg: Read-only file system" in read_only.says
    foreign = d.outbox(outbox_facts(file_exists=True, file_writable=False))
    assert "chown trygg" in foreign.todo


# -- the answer --------------------------------------------------------------------------------


def test_only_a_failure_fails_and_the_summary_says_so() -> None:
    good = [d.Verdict("config", Status.OK, "fine"), d.Verdict("serial", Status.WARN, "quiet")]
    assert not d.failed(good)
    assert d.summary(good) == "✓ ready: 1 checks passed, 1 warnings to read"
    bad = [*good, d.Verdict("clock", Status.FAIL, "1970")]
    assert d.failed(bad)
    assert d.summary(bad).startswith("✗ 1 of 3 checks failed")


def test_a_terminal_without_unicode_gets_words() -> None:
    verdict = d.Verdict("clock", Status.FAIL, "1970", "fix it")
    assert d.line(verdict, ascii_only=True) == "FAIL clock: 1970 -- do: fix it"
    assert d.line(verdict).startswith("✗ clock: 1970 — do: fix it")


def test_json_carries_every_check_and_is_serialisable() -> None:
    verdicts = [
        *d.broker(broker_facts(), NOW),
        *d.clock(ClockFacts(NOW, "adjtimex", synced=True)),
        d.outbox(outbox_facts()),
    ]
    data = json.loads(json.dumps(d.as_json(verdicts)))
    assert data["ok"] is True
    assert [c["check"] for c in data["checks"]] == [
        "broker-dns",
        "broker-tcp",
        "broker-tls",
        "broker-login",
        "clock",
        "clock-peer",
        "outbox",
    ]
    assert data["checks"][2]["facts"]["not_after"].startswith("2028-01-06")
