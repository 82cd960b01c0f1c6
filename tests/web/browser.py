"""Debian's Chromium driven by Playwright (Playwright's own browser download is never used)."""

from __future__ import annotations

import shutil

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError(
            "chromium is not installed: `apt-get install chromium` (make system-deps does it)"
        )
    return path
