"""Who may open what: pickup codes, PINs and badges, sessions, the keypad throttles and
the brute-force bound."""
