"""`python -m interviewai` is the same as the `interviewai` command."""

import sys

from interviewai.cli import main

sys.exit(main())
