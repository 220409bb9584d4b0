"""Entry point: `python main.py` serves the API; `uvicorn main:app` finds `app` here."""

from __future__ import annotations

import sys
from typing import Any


def __getattr__(name: str) -> Any:
    # Built on first access, so importing this module never reads settings.
    if name == "app":
        from interviewai.app import create_app
        from interviewai.observability.logging import configure_logging
        from interviewai.settings import load_settings

        settings = load_settings()
        # `uvicorn main:app` set up its own logging first; LOG_FORMAT and LOG_LEVEL take over from here.
        configure_logging(settings.log_format, settings.resolved_log_level)
        return create_app(settings)
    raise AttributeError(name)


if __name__ == "__main__":
    from interviewai.cli import main

    sys.exit(main(["serve", *sys.argv[1:]]))
