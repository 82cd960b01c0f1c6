"""GPIO shells: buttons in, LEDs and buzzers out. Pin factories are injected, never guessed."""

from edge.hw.buttons import ButtonInputs
from edge.hw.outputs import Indicators

__all__ = ["ButtonInputs", "Indicators"]
