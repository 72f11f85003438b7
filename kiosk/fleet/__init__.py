"""The kiosk's link to its operator's network (MQTT), and what crosses it.

``envelope``: the signed remote commands and the keyring pinned on the kiosk.
"""
