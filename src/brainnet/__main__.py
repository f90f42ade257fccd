"""``python -m brainnet``: the command line, as torchrun starts it on every process
(``torchrun --nproc-per-node N -m brainnet train ...``)."""

import sys

from brainnet.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
