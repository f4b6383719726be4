import sys

from autogas.cli import main

sys.exit(main())
