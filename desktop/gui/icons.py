"""Icons drawn in code, so that level and connection state are told by shape as well as colour:
acute is an octagon (a stop sign), assist a triangle; connected a disc with a tick, reconnecting
a ring, not receiving a square with a cross."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap, QPolygonF

from desktop.core import Presence
from protocol.messages import AlarmLevel

ACUTE_RED = QColor("#b00020")
ASSIST_YELLOW = QColor("#ffd400")
INK = QColor("#111111")
WHITE = QColor("#ffffff")

LEVEL_COLOURS = {AlarmLevel.ACUTE: ACUTE_RED, AlarmLevel.ASSIST: ASSIST_YELLOW}
LEVEL_TEXT_COLOURS = {AlarmLevel.ACUTE: WHITE, AlarmLevel.ASSIST: INK}


def _canvas(size: int) -> tuple[QPixmap, QPainter]:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    return pixmap, painter


def _regular_polygon(size: int, corners: int, rotation_deg: float) -> QPolygonF:
    from math import cos, radians, sin

    centre, radius = size / 2, size * 0.47
    return QPolygonF(
        [
            QPointF(
                centre + radius * cos(radians(rotation_deg + i * 360 / corners)),
                centre + radius * sin(radians(rotation_deg + i * 360 / corners)),
            )
            for i in range(corners)
        ]
    )


def level_pixmap(level: AlarmLevel, size: int = 96) -> QPixmap:
    pixmap, painter = _canvas(size)
    if level is AlarmLevel.ACUTE:
        shape, mark = _regular_polygon(size, 8, 22.5), "!!"
        fill, ink = ACUTE_RED, WHITE
    else:
        shape, mark = _regular_polygon(size, 3, -90), "!"
        fill, ink = ASSIST_YELLOW, INK
    painter.setPen(QPen(WHITE if level is AlarmLevel.ACUTE else INK, max(2, size // 24)))
    painter.setBrush(fill)
    painter.drawPolygon(shape)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * (0.42 if level is AlarmLevel.ACUTE else 0.38)))
    painter.setFont(font)
    painter.setPen(ink)
    text_box = QRectF(0, size * (0.0 if level is AlarmLevel.ACUTE else 0.12), size, size)
    painter.drawText(text_box, Qt.AlignmentFlag.AlignCenter, mark)
    painter.end()
    return pixmap


PRESENCE_COLOURS = {
    Presence.CONNECTING: QColor("#6b6b6b"),
    Presence.CONNECTED: QColor("#1b7f3b"),
    Presence.RECONNECTING: QColor("#c77700"),
    Presence.NOT_RECEIVING: ACUTE_RED,
}


def presence_pixmap(presence: Presence, size: int = 64) -> QPixmap:
    pixmap, painter = _canvas(size)
    colour = PRESENCE_COLOURS[presence]
    pen = QPen(WHITE, max(2, size // 10))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    box = QRectF(size * 0.06, size * 0.06, size * 0.88, size * 0.88)
    if presence is Presence.NOT_RECEIVING:
        painter.setBrush(colour)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRect(box)
        painter.setPen(pen)
        a, b = size * 0.28, size * 0.72
        painter.drawLine(QPointF(a, a), QPointF(b, b))
        painter.drawLine(QPointF(a, b), QPointF(b, a))
    elif presence is Presence.CONNECTED:
        painter.setBrush(colour)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(box)
        painter.setPen(pen)
        painter.drawPolyline(
            QPolygonF(
                [
                    QPointF(size * 0.27, size * 0.52),
                    QPointF(size * 0.44, size * 0.69),
                    QPointF(size * 0.74, size * 0.33),
                ]
            )
        )
    else:  # connecting / reconnecting: an open ring, "on the way"
        ring = QPen(colour, max(3, size // 7))
        ring.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(ring)
        painter.drawArc(
            box.adjusted(size * 0.1, size * 0.1, -size * 0.1, -size * 0.1), 90 * 16, 270 * 16
        )
    painter.end()
    return pixmap


def presence_icon(presence: Presence) -> QIcon:
    return QIcon(presence_pixmap(presence))
