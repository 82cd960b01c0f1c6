"""The desk's entry point inside the built artefact (deploy/desk/trygg-desk.spec): the same
``main`` as the ``trygg-desk`` console script, so the built desk takes the same arguments."""

from __future__ import annotations

from desktop.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
