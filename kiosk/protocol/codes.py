"""How a pickup code is written for a person: the one rule the text message, the
touchscreen and lockerctl share."""

from __future__ import annotations


def group_code(code: str) -> str:
    """``code`` as a person reads it in the text message and on the screen: in groups of
    at most four, as even as they come, longer ones first (``9126 5383``, ``912 653``,
    ``9126 538 312``). Any character counts as a digit, so a code still being typed
    (``91______``) groups as the finished one will."""
    groups = -(-len(code) // 4)
    if groups <= 1:
        return code
    short, extra = divmod(len(code), groups)
    out, at = [], 0
    for i in range(groups):
        width = short + (1 if i < extra else 0)
        out.append(code[at : at + width])
        at += width
    return " ".join(out)
