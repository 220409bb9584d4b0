"""Entry point: `python main.py` serves the API; `uvicorn main:app` finds `app` here."""

from __future__ import annotations

import sys
from typing import Any


def __getattr__(name: str) -> Any:
    # Built on first access, so importing this module never reads settings.
    if name == "app":
        from interviewai.app import create_app

        return create_app()
    raise AttributeError(name)


if __name__ == "__main__":
    from interviewai.cli import main

    sys.exit(main(["serve", *sys.argv[1:]]))
