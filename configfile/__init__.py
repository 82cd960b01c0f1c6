"""Load a TOML file into a pydantic-settings model, with errors that name file, line and reason.

Shared by every console script (edge, central, desk, sim). It imports nothing else of ours, so
it sits beside ``protocol`` at the bottom of the import graph.
"""

from configfile.errors import ConfigError, ConfigProblem
from configfile.loader import load_settings, report, validate_file
from configfile.locate import locate

__all__ = ["ConfigError", "ConfigProblem", "load_settings", "locate", "report", "validate_file"]
