"""The ``locker-kiosk`` program and its subcommands."""
