"""Key codes of a keyboard-wedge scanner, turned back into the text it scanned.

A USB barcode scanner in keyboard mode sends each character as a key press: Shift down,
key down, key up, Shift up, and Enter at the end. :class:`KeyMapper` reads those
events (Linux input event codes, ``linux/input-event-codes.h``; US layout, the scanners'
default) and gives the scanned text when Enter arrives. The GS1 group separator (0x1D)
arrives as Ctrl+] or as Alt + 0 2 9 on the keypad; both become ``"\\x1d"``.

This module needs no library: the evdev reader in :mod:`drivers.scanner` feeds it.
"""

from __future__ import annotations

# event values
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2

KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 42, 54
KEY_LEFTCTRL, KEY_RIGHTCTRL = 29, 97
KEY_LEFTALT, KEY_RIGHTALT = 56, 100
KEY_CAPSLOCK = 58
KEY_ENTER, KEY_KPENTER = 28, 96
KEY_RIGHTBRACE = 27

# code: (plain, shifted)
_KEYS: dict[int, tuple[str, str]] = {
    2: ("1", "!"), 3: ("2", "@"), 4: ("3", "#"), 5: ("4", "$"), 6: ("5", "%"),
    7: ("6", "^"), 8: ("7", "&"), 9: ("8", "*"), 10: ("9", "("), 11: ("0", ")"),
    12: ("-", "_"), 13: ("=", "+"),
    16: ("q", "Q"), 17: ("w", "W"), 18: ("e", "E"), 19: ("r", "R"), 20: ("t", "T"),
    21: ("y", "Y"), 22: ("u", "U"), 23: ("i", "I"), 24: ("o", "O"), 25: ("p", "P"),
    26: ("[", "{"), 27: ("]", "}"),
    30: ("a", "A"), 31: ("s", "S"), 32: ("d", "D"), 33: ("f", "F"), 34: ("g", "G"),
    35: ("h", "H"), 36: ("j", "J"), 37: ("k", "K"), 38: ("l", "L"), 39: (";", ":"),
    40: ("'", '"'), 41: ("`", "~"), 43: ("\\", "|"),
    44: ("z", "Z"), 45: ("x", "X"), 46: ("c", "C"), 47: ("v", "V"), 48: ("b", "B"),
    49: ("n", "N"), 50: ("m", "M"), 51: (",", "<"), 52: (".", ">"), 53: ("/", "?"),
    57: (" ", " "),
    # keypad
    71: ("7", "7"), 72: ("8", "8"), 73: ("9", "9"), 74: ("-", "-"), 75: ("4", "4"),
    76: ("5", "5"), 77: ("6", "6"), 78: ("+", "+"), 79: ("1", "1"), 80: ("2", "2"),
    81: ("3", "3"), 82: ("0", "0"), 83: (".", "."), 98: ("/", "/"), 55: ("*", "*"),
}  # fmt: skip
_KEYPAD_DIGITS = {82: "0", 79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7",
                  72: "8", 73: "9"}  # fmt: skip
MAX_SCAN = 512


class KeyMapper:
    """Feed ``(code, value)`` key events; :meth:`feed` returns the text at Enter."""

    def __init__(self) -> None:
        self._held: set[int] = set()
        self._caps = False
        self._text: list[str] = []
        self._alt_digits = ""

    @property
    def _shift(self) -> bool:
        return bool(self._held & {KEY_LEFTSHIFT, KEY_RIGHTSHIFT}) != self._caps

    @property
    def _ctrl(self) -> bool:
        return bool(self._held & {KEY_LEFTCTRL, KEY_RIGHTCTRL})

    @property
    def _alt(self) -> bool:
        return bool(self._held & {KEY_LEFTALT, KEY_RIGHTALT})

    def feed(self, code: int, value: int) -> str | None:
        if value == KEY_UP:
            self._held.discard(code)
            if code in (KEY_LEFTALT, KEY_RIGHTALT) and self._alt_digits:
                self._add_alt_code()
            return None
        if value == KEY_REPEAT:
            return None  # a scanner never holds a key; ignore auto-repeat
        self._held.add(code)
        if code in (KEY_ENTER, KEY_KPENTER):
            text, self._text = "".join(self._text), []
            return text
        if code == KEY_CAPSLOCK:
            self._caps = not self._caps
        elif self._alt and code in _KEYPAD_DIGITS:
            self._alt_digits += _KEYPAD_DIGITS[code]
        elif self._ctrl and code == KEY_RIGHTBRACE:
            self._append("\x1d")
        elif code in _KEYS and not self._ctrl and not self._alt:
            plain, shifted = _KEYS[code]
            self._append(shifted if self._shift else plain)
        return None

    def _add_alt_code(self) -> None:
        value = int(self._alt_digits) % 256
        self._alt_digits = ""
        if value == 29 or 32 <= value < 127:
            self._append(chr(value))

    def _append(self, ch: str) -> None:
        if len(self._text) < MAX_SCAN:
            self._text.append(ch)
