"""The manual baseline, one stage by hand: ``python bench/manual_workflow.py STAGE SHOT.json IN OUT RESULT``.

A thin entry point; the replay lives in ``headless/bench/manual_workflow.py`` (installed with the
``collapse`` command).
"""

import sys

from headless.bench.manual_workflow import main

if __name__ == "__main__":
    sys.exit(main(sys.argv))
