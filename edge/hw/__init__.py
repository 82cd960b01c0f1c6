"""Hardware shells: GPIO buttons in, LEDs and buzzers out (pin factories injected, never
guessed), and the room's sensor board on a serial line."""

from edge.hw.buttons import ButtonInputs
from edge.hw.outputs import Indicators
from edge.hw.serial_port import BoardEvents, SensorBoard

__all__ = ["BoardEvents", "ButtonInputs", "Indicators", "SensorBoard"]
