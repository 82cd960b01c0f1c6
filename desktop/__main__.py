"""``python -m desktop``: the same as ``trygg-desk`` (what autostart runs from a checkout or a
pip install, where no single executable exists)."""

from __future__ import annotations

from desktop.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
