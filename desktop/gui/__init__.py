"""The window client: tray presence, the alarm window, the silent alarm. Built on PySide6;
every decision it shows comes from :mod:`desktop.core`."""
