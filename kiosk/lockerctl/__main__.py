"""``python -m kiosk.lockerctl``: the ``lockerctl`` program."""

import sys

from kiosk.lockerctl import main

sys.exit(main())
