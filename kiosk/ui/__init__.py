"""The touchscreen: a pygame process that talks to the daemon only through its API.

Nothing in this package imports the kiosk core or a driver (a test checks it): a frozen
or crashed UI cannot stop door monitoring, and a restarting daemon cannot crash the UI.
"""
