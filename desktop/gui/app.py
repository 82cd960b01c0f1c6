"""The window client put together: events from central in, windows, sound and tray out.

:class:`DeskApp` owns the parts and the rules that join them: an alarm pops up unless this desk
raised it; it rings while :func:`desktop.core.should_ring` says so; "shown" goes to central once
per alarm, when its window is really visible; a resolved alarm (or one missing from the snapshot
after a reconnect) closes its window. The silent alarm's countdown lives in
:class:`desktop.core.SilentAlarm`; this class only shows it and ticks it. A facility manager's
open faults are listed with the connection state, and a new one is announced in the tray.
A silent alarm that did not go (:class:`desktop.core.RaiseFailed`) is told to its user with
what to do instead.

A new alarm must reach the colleague over a full-screen presentation too: its window stays on
top where the window manager allows it, and in any case the sound rings, the taskbar entry
flashes (the Dock icon bounces on macOS) and the tray shows a message. That message names no
level and no room: unlike the window (kept out of screen sharing where the OS allows it,
desktop/gui/capture.py) a notification may be seen by a client watching a shared screen.
"""

from __future__ import annotations

import gettext
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon

from desktop.client import (
    AnnounceRefused,
    ClientEvent,
    Connected,
    Disconnected,
    HelpComing,
    HelpWithdrawn,
    NoLongerActive,
    Refused,
)
from desktop.config import DeskSettings
from desktop.core import (
    AlarmEvent,
    AnnouncementEvent,
    Backoff,
    EventKind,
    FaultEvent,
    Location,
    PresenceTracker,
    RaiseFailed,
    SilentAlarm,
    TriggerSource,
    parse_hotkey,
    should_ring,
)
from desktop.core.reports import ReportEvent, console_url
from desktop.core.routines import RoutinesEvent
from desktop.core.standby import StandbyEvent
from desktop.core.visits import visit_text
from desktop.gui.alarm_window import AlarmWindow
from desktop.gui.announcement_window import AnnouncementWindow
from desktop.gui.bridge import ClientBridge
from desktop.gui.capture import ScreenShareGuard, ScreenShareShield, choose_screen_share_guard
from desktop.gui.discreet import CountdownBox, HelpComingToast, NotSentNotice, not_sent_text
from desktop.gui.fault_texts import fault_line
from desktop.gui.hotkeys import choose_hotkeys
from desktop.gui.presence_view import PresenceView, system_tray
from desktop.gui.report_notice import ReportNotice
from desktop.gui.routines_notice import RoutinesNotice
from desktop.gui.sound import Player, Ringer, choose_player
from desktop.gui.standby_notice import StandbyNotice
from desktop.gui.triggers import FOCUS_ALARM, SILENT_ALARM, HotkeyBackend, TriggerServer
from protocol import AnnouncementKind
from protocol.screen import (
    AlarmState,
    AlarmView,
    AnnouncementFrame,
    AnnounceRequest,
    CommandKind,
    FaultFrame,
    Hello,
    ReportFiled,
    VisitNotice,
)

log = logging.getLogger(__name__)

TICK_MS = 250  # countdown and connection state; alarm windows tick on their own


def utc_now() -> datetime:
    return datetime.now(UTC)


class DeskApp(QObject):
    raised = Signal(object)  # the RaiseRequest handed to the client (for logs and tests)
    attention_called = Signal(object)  # alarm_id: taskbar flashed and tray message shown

    def __init__(
        self,
        settings: DeskSettings,
        translations: gettext.NullTranslations,
        *,
        trigger_name: str,
        backoff: Backoff | None = None,
        player: Player | None = None,
        hotkeys: Callable[[], HotkeyBackend] = choose_hotkeys,
        screen_share: Callable[[], ScreenShareGuard] = choose_screen_share_guard,
        tray: Callable[[], QSystemTrayIcon | None] = system_tray,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.translations = translations
        self._ = translations.gettext
        self.clock = clock
        self.hello: Hello | None = None
        self.windows: dict[UUID, AlarmWindow] = {}
        # Evacuation / lockdown: one full-screen window per site while on (until all clear).
        self.announcement_windows: dict[str, AnnouncementWindow] = {}
        self.announce_confirm: QMessageBox | None = None  # the menu's confirm step, while open
        self.announce_refused: QMessageBox | None = None  # central's "no", told to the user
        self.visit_notices: dict[UUID, QMessageBox] = {}  # colleagues overdue from a visit
        self.standby_notices: dict[UUID, StandbyNotice] = {}  # colleagues' standby requests
        # Incident reports: "please write one" (by alarm), "a new one came" (by report).
        self.report_notices: dict[UUID, ReportNotice] = {}
        # "Read and confirm the routines", until central says they are confirmed.
        self.routines_notice: RoutinesNotice | None = None
        self.own_alarms: set[UUID] = set()
        self.shown_sent: set[UUID] = set()
        self.presence = PresenceTracker(started_at=clock())
        location = settings.location
        self.silent: SilentAlarm | None = None
        silent_reason = None
        if location is None:
            silent_reason = self._("No [location] in the config file")
        else:
            self.silent = SilentAlarm(
                Location(location.site, location.room, location.floor),
                level=settings.hotkey.level,
                countdown_s=settings.hotkey.countdown_s,
            )
        self.view = PresenceView(translations, silent_alarm_reason=silent_reason, tray=tray)
        self.view.silent_alarm_requested.connect(lambda: self.trigger_silent(TriggerSource.TRAY))
        self.view.show_alarms_requested.connect(self.focus_newest)
        self.view.quit_requested.connect(QApplication.quit)
        self.view.announce_requested.connect(self.confirm_announce)
        # The tray's "Routines and measures": the console's page, where they are confirmed read.
        self.open_url: Callable[[str], object] = lambda link: QDesktopServices.openUrl(QUrl(link))
        self.view.routines_requested.connect(
            lambda: self.open_url(console_url(self.settings.server, "/routines"))
        )
        self.view.show_state(self.presence.state, None)
        self.countdown = CountdownBox(translations)
        self.countdown.cancelled.connect(self.cancel_silent)
        self.toast = HelpComingToast(translations)
        self.not_sent = NotSentNotice(translations)
        # What a client watching a shared screen must not see: every window that names a
        # person, a room or an alarm (the alarm windows, the visit, standby and report notices,
        # evacuation and lockdown with their menu boxes; each covered where it is made) and the
        # silent alarm's quiet boxes (neutral words, but still telling of an alarm), and the
        # routines notice like the other notices. Not the connection banner and status window:
        # they say only whether alarms arrive.
        self.shield = ScreenShareShield(screen_share())
        for quiet in (self.countdown, self.toast, self.not_sent):
            self.shield.cover(quiet)
        self.ringer = Ringer(player or choose_player(settings.sound.file))
        self.triggers = TriggerServer(trigger_name)
        self.triggers.triggered.connect(self._triggered)
        self.hotkeys = hotkeys()
        self.hotkeys.register(
            parse_hotkey(settings.hotkey.sequence),
            lambda: self.trigger_silent(TriggerSource.HOTKEY),
        )
        self.hotkeys.register(parse_hotkey(settings.hotkey.focus_sequence), self.focus_newest)
        self.bridge = ClientBridge(settings, backoff)
        self.bridge.received.connect(self.on_event)
        self._handlers = self._event_handlers()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.tick)

    def start(self) -> None:
        self.bridge.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self.ringer.set_ringing(False)
        self.bridge.stop()
        self.hotkeys.close()
        self.triggers.close()
        for window in list(self.windows.values()):
            window.dismiss()
        self.windows.clear()
        for shown in list(self.announcement_windows.values()):
            shown.end()
        self.announcement_windows.clear()
        for box in (self.announce_confirm, self.announce_refused):
            if box is not None:
                box.close()
        for notice in list(self.report_notices.values()):
            notice.close()
        self.report_notices.clear()
        self._close_routines_notice()
        self.countdown.close()
        self.toast.close()
        self.not_sent.close()
        self.view.close()

    # -- events from central ---------------------------------------------------------------
    def _event_handlers(self) -> tuple[tuple[Any, Callable[[Any], None]], ...]:
        """What each kind of event from the client does, tried in this order (isinstance);
        a new kind of event is one more line here."""
        return (
            (Connected, self._connected),
            (Disconnected, self._disconnected),
            (Refused, self._refused),
            (AlarmEvent, self._alarm),
            (NoLongerActive, lambda event: self._close(event.alarm_id)),
            (HelpComing | HelpWithdrawn, self._own_help),
            (RaiseFailed, self._not_sent),
            (FaultEvent, self._faults),
            (RoutinesEvent, self._routines),
            (
                AnnouncementEvent | AnnounceRefused | VisitNotice | StandbyEvent | ReportEvent,
                self._news,
            ),
        )

    def on_event(self, event: ClientEvent) -> None:
        for kind, handle in self._handlers:
            if isinstance(event, kind):
                handle(event)
                break
        self._update_ringing()

    def _connected(self, event: Connected) -> None:
        self.hello = event.hello
        if self.presence.connected(self.clock()):
            self._show_presence()

    def _disconnected(self, event: Disconnected) -> None:
        log.warning("not connected: %s; retrying in %.1f s", event.reason, event.retry_in_s)
        if self.presence.lost(event.reason, self.clock(), silent=event.silent):
            self._show_presence()

    def _refused(self, event: Refused) -> None:
        reason = self._("central refused this desk's token (HTTP {status})")
        if self.presence.refused(reason.format(status=event.status), self.clock()):
            self._show_presence()

    def _not_sent(self, event: RaiseFailed) -> None:
        within = self.bridge.confirm_within_s
        text = not_sent_text(event, self.translations, confirm_within_s=within)
        log.warning("silent alarm %s NOT sent: %s", event.alarm_id, event.failure)
        self.not_sent.show_text(text)

    def _standby(self, event: StandbyEvent) -> None:
        """A colleague asks this user to stand by for a meeting: a notice with the answer
        buttons, replaced by central's copy whenever it changes (the answer included)."""
        previous = self.standby_notices.pop(event.frame.meeting_id, None)
        if previous is not None:
            previous.close()
        zone = datetime.now().astimezone().tzinfo or UTC
        notice = StandbyNotice(event.frame, self.translations, zone, self.bridge.answer_standby)
        self.standby_notices[event.frame.meeting_id] = notice
        self.shield.cover(notice)  # who asks, and where they meet
        notice.open()

    def _news(
        self, event: AnnouncementEvent | AnnounceRefused | VisitNotice | StandbyEvent | ReportEvent
    ) -> None:
        if isinstance(event, StandbyEvent):
            self._standby(event)
        elif isinstance(event, ReportEvent):
            self._report(event)
        elif isinstance(event, VisitNotice):
            self._visit_overdue(event)
        else:
            self._announcement_news(event)

    def _report(self, event: ReportEvent) -> None:
        """Write an incident report (or no longer: filed elsewhere), or a new one was filed:
        a quiet notice that opens the console in the browser (desktop.gui.report_notice)."""
        frame = event.frame
        key = frame.report_id if isinstance(frame, ReportFiled) else frame.alarm_id
        previous = self.report_notices.pop(key, None)
        if previous is not None:
            previous.close()
        if event.withdrawn:
            return
        zone = datetime.now().astimezone().tzinfo or UTC
        url = console_url(self.settings.server, frame.path)
        notice = ReportNotice(event, url, self.translations, zone)
        notice.finished.connect(lambda _result: self.report_notices.pop(key, None))
        self.report_notices[key] = notice
        self.shield.cover(notice)  # the alarm's room and time
        notice.show()  # not open(): that would make it window-modal

    def _routines(self, event: RoutinesEvent) -> None:
        """Read and confirm the routines: a quiet notice that opens the console's routines
        page (desktop.gui.routines_notice); closed once central says they are confirmed."""
        self._close_routines_notice()
        if not event.ask:
            log.info("routines confirmed: the ask is withdrawn")
            return
        url = console_url(self.settings.server, event.frame.path)
        notice = RoutinesNotice(
            event.frame, url, self.translations, opened=lambda link: self.open_url(link)
        )
        notice.finished.connect(lambda _result: self._forget_routines_notice(notice))
        self.routines_notice = notice
        self.shield.cover(notice)  # like every notice: none of a meeting's business
        notice.show()  # not open(): that would make it window-modal
        log.info("asked to read and confirm the routines (version %s)", event.frame.version)

    def _close_routines_notice(self) -> None:
        notice, self.routines_notice = self.routines_notice, None
        if notice is not None:
            notice.close()

    def _forget_routines_notice(self, notice: RoutinesNotice) -> None:
        if self.routines_notice is notice:
            self.routines_notice = None

    def _visit_overdue(self, notice: VisitNotice) -> None:
        """A colleague has not checked out of a home visit (the visit timer): a box on top
        saying whom to call; central raises an assist alarm itself if nobody checks out."""
        text = visit_text(notice, self._, datetime.now().astimezone().tzinfo or UTC)
        log.warning("visit %s: %s", notice.visit_id, text)
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            self._("Trygg – home visit not checked out"),
            text,
            QMessageBox.StandardButton.Ok,
        )
        box.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint)
        previous = self.visit_notices.pop(notice.visit_id, None)
        if previous is not None:
            previous.close()
        self.visit_notices[notice.visit_id] = box
        self.shield.cover(box)  # the colleague and the address
        box.open()

    def _own_help(self, event: HelpComing | HelpWithdrawn) -> None:
        """The silent alarm raised here: colleagues coming, or none any more (both quiet)."""
        if isinstance(event, HelpComing):
            self.not_sent.hide()  # it went after all: colleagues are coming
            self.toast.show_count(event.responders)
        else:
            self.toast.show_withdrawn()

    def _alarm(self, event: AlarmEvent) -> None:
        alarm = event.alarm
        if event.own:
            self.own_alarms.add(alarm.alarm_id)  # nothing on this screen may reveal it
            return
        if alarm.state is AlarmState.RESOLVED or alarm.merged_into is not None:
            self._close(alarm.alarm_id)  # resolved, or now shown on its flood's one card
            return
        window = self.windows.get(alarm.alarm_id)
        if window is not None:
            window.update_alarm(alarm)
            if event.kind is EventKind.ESCALATED:  # nobody answered: ask for attention again
                log.info(
                    "alarm %s escalated to stage %d: alerting again", alarm.alarm_id, alarm.stage
                )
                window.showNormal()
                window.raise_()
                window.activateWindow()
                self.ringer.alert_again()
                self._call_attention(window)
            return
        self._open(alarm)

    def _faults(self, event: FaultEvent) -> None:
        self.view.show_faults(tuple((self._fault_line(f), f.reason) for f in event.open))
        if event.new and event.frame is not None:
            line = self._fault_line(event.frame)
            log.info("new fault: %s (%s)", line, event.frame.reason)
            self.view.announce_fault(line)

    def _fault_line(self, fault: FaultFrame) -> str:
        site_names = self.hello.site_names if self.hello else {}
        return fault_line(fault, self.translations, site_names=site_names, now=self.clock())

    def _open(self, alarm: AlarmView) -> None:
        hello = self.hello
        language = self.settings.language.value
        window = AlarmWindow(
            alarm,
            translations=self.translations,
            language=language,
            routine=hello.routines.get(alarm.level) if hello else None,
            site_name=hello.site_names.get(alarm.site) if hello else None,
            user=hello.user if hello else None,
            focus_hotkey=self.settings.hotkey.focus_sequence,
            clock=self.clock,
        )
        window.answered.connect(self._answered)
        window.visible_to_user.connect(self._shown)
        self.windows[alarm.alarm_id] = window
        self.shield.cover(window)  # before it is shown: not one frame in a shared screen
        window.place_on_screen()
        window.show()
        window.raise_()
        log.info("alarm %s shown in a window", alarm.alarm_id)
        self._call_attention(window)

    def _call_attention(self, window: AlarmWindow) -> None:
        """For a colleague whose screen is covered (a full-screen presentation): the taskbar
        entry flashes until the window is activated, and the tray says where to look."""
        QApplication.alert(window, 0)
        self.view.call_attention()
        self.attention_called.emit(window.alarm_id)

    def _close(self, alarm_id: UUID) -> None:
        window = self.windows.pop(alarm_id, None)
        if window is not None:
            window.dismiss()
            window.deleteLater()

    def _answered(self, kind: CommandKind, alarm_id: UUID) -> None:
        self.bridge.command(kind, alarm_id)
        self._update_ringing()

    def _shown(self, alarm_id: UUID) -> None:
        if alarm_id not in self.shown_sent:
            self.shown_sent.add(alarm_id)
            self.bridge.command(CommandKind.SHOWN, alarm_id)

    def _update_ringing(self) -> None:
        user = self.hello.user if self.hello else None
        enough = self.settings.sound.enough_responders
        self.ringer.set_ringing(
            any(
                should_ring(w.alarm, user=user, answered=w.answer_given is not None, enough=enough)
                for w in self.windows.values()
            )
        )

    def _show_presence(self) -> None:
        self.view.show_state(self.presence.state, self.presence.reason)

    # -- evacuation and lockdown -----------------------------------------------------------
    def _announcement(self, frame: AnnouncementFrame) -> None:
        shown = self.announcement_windows.get(frame.site)
        if not frame.active:
            if shown is not None:
                del self.announcement_windows[frame.site]
                shown.end()
                shown.deleteLater()
                log.warning("all clear at %s", frame.site)
            return
        if shown is not None:
            shown.update_frame(frame)
        else:
            shown = AnnouncementWindow(
                frame,
                translations=self.translations,
                language=self.settings.language.value,
                site_name=self.hello.site_names.get(frame.site) if self.hello else None,
            )
            self.announcement_windows[frame.site] = shown
            self.shield.cover(shown)  # a lockdown must not be shown to the threat
        shown.show_over_everything()
        log.warning("%s at %s shown full screen", frame.kind, frame.site)

    def announce_site(self) -> str | None:
        """The site the menu announces for: the config's [location], else the user's only one."""
        if self.settings.location is not None:
            return self.settings.location.site
        names = self.hello.site_names if self.hello else {}
        return next(iter(names)) if len(names) == 1 else None

    def confirm_announce(self, kind: str) -> None:
        """The menu's confirm step (not modal: alarms keep coming while it is open)."""
        _ = self._
        site = self.announce_site()
        if site is None:
            self.view.announce_fault(_("No site to announce for: set [location] in the config"))
            return
        what = {
            "evacuate": _("Evacuate"),
            "lockdown": _("Lock down"),
            "all_clear": _("All clear"),
        }[kind]
        name = self.hello.site_names.get(site, site) if self.hello else site
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            _("Trygg – {what}").format(what=what),
            _("{what} for the whole of {site}? Every screen there shows it at once.").format(
                what=what, site=name
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)  # Enter does not evacuate
        box.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint)
        box.finished.connect(lambda result: self._announce_confirmed(result, site, kind))
        self.announce_confirm = box
        self.shield.cover(box)
        box.open()

    def _announcement_news(self, event: AnnouncementEvent | AnnounceRefused) -> None:
        if isinstance(event, AnnouncementEvent):
            self._announcement(event.frame)
        else:
            self._announce_refused(event)

    def _announce_refused(self, event: AnnounceRefused) -> None:
        _ = self._
        why = {
            "forbidden": _("your role may not announce evacuation or lockdown"),
            "not_your_site": _("your role may not announce evacuation or lockdown"),
            "nothing_to_clear": _("nothing is announced there"),
        }.get(event.reason, event.reason)
        log.warning("announcement at %s refused by central: %s", event.site, event.reason)
        box = QMessageBox(
            QMessageBox.Icon.Information,
            _("Trygg – not announced"),
            _("Central did not announce it: {why}.").format(why=why),
            QMessageBox.StandardButton.Ok,
        )
        box.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint)
        if self.announce_refused is not None:
            self.announce_refused.close()
        self.announce_refused = box
        self.shield.cover(box)
        box.open()

    def _announce_confirmed(self, result: int, site: str, kind: str) -> None:
        self.announce_confirm = None
        if result != QMessageBox.StandardButton.Yes:
            log.info("%s at %s not confirmed", kind, site)
            return
        self.bridge.announce(AnnounceRequest(site=site, kind=AnnouncementKind(kind)))
        log.warning("%s at %s sent from the menu", kind, site)

    # -- the silent alarm ------------------------------------------------------------------
    def _triggered(self, word: str) -> None:
        if word == SILENT_ALARM:
            self.trigger_silent(TriggerSource.HOTKEY)
        elif word == FOCUS_ALARM:
            self.focus_newest()

    def trigger_silent(self, source: TriggerSource) -> None:
        if self.silent is None:
            log.warning("silent alarm triggered, but no [location] is configured")
            return
        if self.silent.trigger(source, self.clock()):
            self.tick()

    def cancel_silent(self) -> None:
        if self.silent is not None and self.silent.cancel():
            log.info("silent alarm cancelled during the countdown")
        self.countdown.hide()

    def focus_newest(self) -> None:
        if self.windows:
            newest = max(self.windows.values(), key=lambda w: w.alarm.raised_at)
            newest.take_keyboard()

    def tick(self) -> None:
        now = self.clock()
        if self.presence.tick(now):
            self._show_presence()
        if self.silent is None:
            return
        request = self.silent.tick(now, uuid4())
        if request is not None:
            self.countdown.hide()
            self.own_alarms.add(request.alarm_id)
            self.bridge.raise_alarm(request)
            self.raised.emit(request)
            log.info("silent alarm %s sent", request.alarm_id)
        elif (remaining := self.silent.remaining_s(now)) is not None:
            self.countdown.show_remaining(remaining)
