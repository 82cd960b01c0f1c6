"""The alarm window: on top of everything, impossible to miss, and never stealing keystrokes.

It opens without taking keyboard focus (``WindowDoesNotAcceptFocus`` and
``WA_ShowWithoutActivating``): someone typing in another window keeps typing there, and an Enter
or Space meant for an e-mail cannot answer an alarm. A mouse click on a button answers; a click
anywhere else in the window, or the focus hotkey, gives the window the keyboard (Tab between the
buttons, Space to press). Level is told by colour, by a shape (octagon for acute, triangle for
assist) and by words; a drill or test alarm says so in a band that is always shown.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFont, QMouseEvent, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.core import elapsed
from desktop.core.mobile import is_mobile, position_text, room_text
from desktop.gui.icons import LEVEL_COLOURS, LEVEL_TEXT_COLOURS, level_pixmap
from protocol.messages import AlarmLevel, AlarmSource, Responder
from protocol.screen import AlarmView, CommandKind, RoutineText

TICK_MS = 1000


def _label(text: str = "", *, scale: float = 1.0, bold: bool = False, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)  # texts from central are never markup
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(bold)
    label.setFont(font)
    if name:
        label.setObjectName(name)
    return label


class _WrappingContent(QWidget):
    """Scrolled content whose minimum height follows its width. QScrollArea asks for the minimum
    size at no particular width, and word-wrapped labels then guess a narrow, tall layout: the
    scroll bar would show with half the window empty."""

    def minimumSizeHint(self) -> QSize:
        layout = self.layout()
        if layout is None:
            return super().minimumSizeHint()
        return QSize(0, layout.totalHeightForWidth(max(self.width(), 200)))


class AlarmWindow(QWidget):
    answered = Signal(object, object)  # (CommandKind, alarm_id)
    visible_to_user = Signal(object)  # alarm_id: exposed, not minimised, not hidden

    def __init__(
        self,
        alarm: AlarmView,
        *,
        translations: gettext.NullTranslations,
        language: str,
        routine: RoutineText | None,
        site_name: str | None,
        user: str | None,
        focus_hotkey: str,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(None)
        self._ = translations.gettext
        self.alarm = alarm
        self.alarm_id: UUID = alarm.alarm_id
        self._user = user
        self._clock = clock
        self._answer: CommandKind | None = None
        self._may_close = False
        self._shown_reported = False
        self.setObjectName("alarmWindow")
        self.setWindowTitle(self._("Trygg – alarm"))
        self.setWindowFlags(
            Qt.WindowType.Window
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.WindowDoesNotAcceptFocus
        )
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self._build(language, routine, site_name, focus_hotkey)
        self.update_alarm(alarm)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    # -- building -------------------------------------------------------------------------
    def _build(
        self, language: str, routine: RoutineText | None, site_name: str | None, hotkey: str
    ) -> None:
        _ = self._
        level = self.alarm.level
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.exercise_band = _label(self._exercise_text(), scale=1.4, bold=True, name="band")
        self.exercise_band.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.exercise_band.setVisible(bool(self._exercise_text()))
        outer.addWidget(self.exercise_band)

        content = self.content = _WrappingContent()
        content.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)  # a subclass needs asking
        content.setObjectName("content")
        column = QVBoxLayout(content)
        column.setContentsMargins(24, 18, 24, 12)
        column.setSpacing(10)
        header = QHBoxLayout()
        icon = QLabel()
        icon.setPixmap(level_pixmap(level, 88))
        icon.setFixedSize(92, 92)
        icon.setAccessibleName(self.level_text)
        header.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        titles = QVBoxLayout()
        self.title = _label(self.level_text, scale=2.2, bold=True, name="title")
        self.room = _label(room_text(self.alarm, _), scale=2.0, bold=True, name="room")
        where = [site_name or self.alarm.site_name or self.alarm.site]
        if self.alarm.floor:
            where.append(self.alarm.floor)
        self.place = _label(" · ".join(where), scale=1.3)
        titles.addWidget(self.title)
        titles.addWidget(self.room)
        titles.addWidget(self.place)
        header.addLayout(titles, 1)
        column.addLayout(header)
        self.raised_by = _label(self._raised_by_text(), scale=1.15)
        self.since = _label("", scale=1.15, bold=True)
        column.addWidget(self.raised_by)
        # A phone's alarm: where the phone last said it was, or "no position".
        self.position = _label(position_text(self.alarm, _, None) or "", scale=1.15, bold=True)
        self.position.setVisible(is_mobile(self.alarm))
        column.addWidget(self.position)
        column.addWidget(self.since)

        box = QFrame()
        box.setObjectName("routine")
        steps_column = QVBoxLayout(box)
        steps_column.setContentsMargins(14, 10, 14, 10)
        self.routine_title = _label(self._routine_title(routine, language), scale=1.2, bold=True)
        steps_column.addWidget(self.routine_title)
        self.steps = [
            _label(f"{n}. {step}", scale=1.1)
            for n, step in enumerate(self._routine_steps(routine, language), 1)
        ]
        if not self.steps:
            self.steps = [
                _label(_("No routine received from central; follow your site's routine."))
            ]
        for step in self.steps:
            steps_column.addWidget(step)
        column.addWidget(box)
        self.responders = _label("", scale=1.15)
        self.declined = _label("", scale=1.0)
        self.own_answer = _label("", scale=1.1, bold=True)
        # Escalation: nobody answered in time, so more people have the alarm now.
        self.escalated = _label("", scale=1.1, bold=True)
        self.escalated.setVisible(False)
        column.addWidget(self.escalated)
        column.addWidget(self.responders)
        column.addWidget(self.declined)
        column.addWidget(self.own_answer)
        column.addStretch(1)

        self.scroller = QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroller.setWidget(content)
        self.scroller.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        outer.addWidget(self.scroller, 1)

        bar = self.button_bar = QWidget()
        bar.setObjectName("buttons")
        row = QHBoxLayout(bar)
        row.setContentsMargins(24, 10, 24, 6)
        self.coming_button = self._button(_("I'm coming"), CommandKind.COMING)
        self.cant_come_button = self._button(_("Can't come"), CommandKind.CANT_COME)
        self.close_button = QPushButton(_("Close"))
        self.close_button.setAutoDefault(False)
        self.close_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.close_button.setEnabled(False)
        self.close_button.clicked.connect(self.dismiss)
        for button in (self.coming_button, self.cant_come_button):
            row.addWidget(button, 2)
        row.addWidget(self.close_button, 1)
        hint_text = _("Click the window, or press {hotkey}, to answer with the keyboard.")
        self.hint = _label(hint_text.format(hotkey=hotkey), scale=0.95)
        self.hint.setContentsMargins(24, 0, 24, 10)
        column_bottom = QVBoxLayout()
        column_bottom.setSpacing(0)
        column_bottom.addWidget(bar)
        column_bottom.addWidget(self.hint)
        outer.addLayout(column_bottom)
        self._style(level)
        for child in self.findChildren(QWidget):
            child.installEventFilter(self)  # a click anywhere gives the window the keyboard

    def _button(self, text: str, kind: CommandKind) -> QPushButton:
        button = QPushButton(text)
        button.setAutoDefault(False)  # Enter typed elsewhere must never land here as an answer
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # until the user gives us the keyboard
        button.setMinimumHeight(52)
        font = QFont(button.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        button.setFont(font)
        button.clicked.connect(lambda: self.answer(kind))
        return button

    def _style(self, level: AlarmLevel) -> None:
        background = LEVEL_COLOURS[level].name()
        ink = LEVEL_TEXT_COLOURS[level].name()
        self.setStyleSheet(
            f"#alarmWindow, #content, #buttons {{ background: {background}; }}"
            f" #alarmWindow QLabel {{ color: {ink}; }}"
            f" #routine {{ background: #ffffff; border: 3px solid {ink}; border-radius: 6px; }}"
            " #routine QLabel { color: #111111; }"
            " #band { background: #1f3a93; color: #ffffff; padding: 8px;"
            " border-bottom: 6px dashed #ffffff; }"
            " QPushButton { background: #ffffff; color: #111111; border: 3px solid #111111;"
            " border-radius: 6px; padding: 8px 16px; }"
            " QPushButton:focus { border: 5px solid #1f3a93; }"
            " QPushButton:disabled { background: #dddddd; color: #555555; }"
        )

    # -- texts -----------------------------------------------------------------------------
    @property
    def level_text(self) -> str:
        if self.alarm.level is AlarmLevel.ACUTE:
            return self._("ACUTE ALARM")
        return self._("ASSISTANCE NEEDED")

    def _exercise_text(self) -> str:
        if self.alarm.drill:
            return self._("DRILL – not a real alarm")
        if self.alarm.test:
            return self._("TEST – not a real alarm")
        return ""

    def _raised_by_text(self) -> str:
        alarm = self.alarm
        if alarm.flood:  # one card for a flooding source's alarms: say how many it stands for
            if alarm.raised_by:
                text = self._("Flood of silent alarms from the desk of {user}: {n} alarms")
                return text.format(user=alarm.raised_by_name or alarm.raised_by, n=alarm.flood)
            text = self._("Flood from {device}: {n} alarms")
            return text.format(device=alarm.device, n=alarm.flood)
        if alarm.raised_by_name or alarm.raised_by:
            return self._("Raised by {name}").format(name=alarm.raised_by_name or alarm.raised_by)
        if alarm.source is AlarmSource.BUTTON:
            text = self._("Raised with the alarm button “{input}” ({device})")
            return text.format(input=alarm.input, device=alarm.device)
        return self._("Raised from {device}").format(device=alarm.device)

    def _routine_title(self, routine: RoutineText | None, language: str) -> str:
        if routine is None:
            return self._("What to do")
        return routine.title.get(language) or next(iter(routine.title.values()), "")

    @staticmethod
    def _routine_steps(routine: RoutineText | None, language: str) -> tuple[str, ...]:
        if routine is None:
            return ()
        return routine.steps.get(language) or next(iter(routine.steps.values()), ())

    def _people(self, people: tuple[Responder, ...]) -> str:
        return ", ".join(f"{p.name} ({p.at.astimezone().strftime('%H:%M')})" for p in people)

    # -- updates ---------------------------------------------------------------------------
    def update_alarm(self, alarm: AlarmView) -> None:
        _ = self._
        self.alarm = alarm
        self.raised_by.setText(self._raised_by_text())  # a flood card's count changes
        self.position.setText(position_text(alarm, _, None) or "")  # a phone moved
        if alarm.responders:
            self.responders.setText(
                _("Coming: {names}").format(names=self._people(alarm.responders))
            )
        else:
            self.responders.setText(_("Nobody has answered yet."))
        self.declined.setText(
            _("Can't come: {names}").format(names=self._people(alarm.declined))
            if alarm.declined
            else ""
        )
        self.declined.setVisible(bool(alarm.declined))
        if alarm.stage:
            self.escalated.setText(
                _(
                    "Escalated (stage {stage}): nobody answered in time; more people are alerted."
                ).format(stage=alarm.stage)
            )
        self.escalated.setVisible(bool(alarm.stage))
        mine = {r.user for r in alarm.responders} | {r.user for r in alarm.declined}
        if self._answer is None and self._user in mine:
            coming = self._user in {r.user for r in alarm.responders}
            self._set_answer(CommandKind.COMING if coming else CommandKind.CANT_COME)
        self._tick()

    @property
    def answer_given(self) -> CommandKind | None:
        return self._answer

    def answer(self, kind: CommandKind) -> None:
        if self._answer is not None:
            return
        self._set_answer(kind)
        self.answered.emit(kind, self.alarm_id)

    def _set_answer(self, kind: CommandKind) -> None:
        self._answer = kind
        text = (
            self._("You answered: I'm coming.")
            if kind is CommandKind.COMING
            else self._("You answered: Can't come.")
        )
        self.own_answer.setText(text)
        self.coming_button.setEnabled(False)
        self.cant_come_button.setEnabled(False)
        self.close_button.setEnabled(True)
        self._may_close = True

    def _tick(self) -> None:
        now = self._clock()
        spent = elapsed(self.alarm.raised_at, now)
        if spent.hours:
            ago = self._("{h} h {m} min").format(h=spent.hours, m=spent.minutes)
        elif spent.minutes:
            ago = self._("{m} min {s} s").format(m=spent.minutes, s=spent.seconds)
        else:
            ago = self._("{s} s").format(s=spent.seconds)
        clock = self.alarm.raised_at.astimezone().strftime("%H:%M:%S")
        self.since.setText(self._("Raised at {clock} – {ago} ago").format(clock=clock, ago=ago))
        self.report_if_visible()

    # -- visibility, focus, closing --------------------------------------------------------
    def is_visible_to_user(self) -> bool:
        handle = self.windowHandle()
        return (
            self.isVisible()
            and not self.isMinimized()
            and handle is not None
            and handle.isExposed()
        )

    def report_if_visible(self) -> None:
        """Emit ``visible_to_user`` once, the first time the user can actually see the window."""
        if not self._shown_reported and self.is_visible_to_user():
            self._shown_reported = True
            self.visible_to_user.emit(self.alarm_id)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self.report_if_visible)  # exposure follows the show

    def event(self, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.WindowStateChange, QEvent.Type.Expose):
            QTimer.singleShot(0, self.report_if_visible)
        return super().event(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.MouseButtonPress and not isinstance(watched, QPushButton):
            self.take_keyboard()
        return False

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.take_keyboard()
        super().mousePressEvent(event)

    def take_keyboard(self) -> None:
        """The user asked for this window (click or focus hotkey): now it may have the keys."""
        if self.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating):
            self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, False)
            # Changing window flags hides the window; show it again where it was.
            geometry = self.geometry()
            self.setWindowFlag(Qt.WindowType.WindowDoesNotAcceptFocus, False)
            self.setGeometry(geometry)
            self.show()
        for button in (self.coming_button, self.cant_come_button, self.close_button):
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.raise_()
        self.activateWindow()
        target = self.coming_button if self.coming_button.isEnabled() else self.close_button
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    @property
    def has_keyboard(self) -> bool:
        return not self.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)

    def dismiss(self) -> None:
        """Close for good (answered by the user, or resolved)."""
        self._may_close = True
        self._timer.stop()
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._may_close:
            event.ignore()  # an unanswered alarm stays until answered or resolved
            return
        super().closeEvent(event)

    # -- placement -------------------------------------------------------------------------
    def needed_height(self, width: int) -> int:
        """The height that shows everything at ``width`` without scrolling."""
        content = self.content.layout()
        total = content.totalHeightForWidth(width) if content is not None else 0
        if self._exercise_text():
            total += self.exercise_band.heightForWidth(width)
        total += self.button_bar.sizeHint().height() + self.hint.heightForWidth(width)
        return total + 8

    def place_on_screen(self) -> None:
        """Large and near the top of the screen; never larger than the screen (it scrolls)."""
        area = self.screen().availableGeometry()
        width = min(area.width() - 20, max(760, int(area.width() * 0.5)))
        height = min(area.height() - 40, self.needed_height(width))  # 40: room for a frame
        self.resize(width, height)
        top = min(area.height() // 12, (area.height() - height) // 2)  # a little down, if room
        self.move(area.x() + (area.width() - width) // 2, area.y() + max(0, top))
