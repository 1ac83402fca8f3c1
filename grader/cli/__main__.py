"""`python -m grader.cli`."""

from grader.cli import main

raise SystemExit(main())
