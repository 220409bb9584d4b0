"""``python -m interviewai.simulators.did``: the same as ``interviewai did-sim``."""

from interviewai.simulators.did.cli import main

raise SystemExit(main())
