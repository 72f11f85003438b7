"""The world without hardware: a physical model of a locker bank, a simulated person
who uses it, fault injection, and (later) board emulators on pseudo-terminals."""
