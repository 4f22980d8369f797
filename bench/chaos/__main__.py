"""`python -m bench.chaos` (`make chaos`)."""

import sys

from bench.chaos.runner import main

sys.exit(main())
