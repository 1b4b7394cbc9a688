"""``python -m benchmarks``: every budget of SPEC §11 in one table (see ``benchmarks/run.py``)."""

import sys

from benchmarks.run import main

sys.exit(main())
