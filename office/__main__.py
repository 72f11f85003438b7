import sys

from office.cli import main

sys.exit(main())
