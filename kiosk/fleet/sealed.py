"""Sealed boxes: what only one kiosk can read, for a staff list's PIN verifiers.

A staff list carries, for each person, the scrypt verifier of their PIN. Anyone who can
read it can guess the PIN offline in minutes (a PIN has 6 to 8 digits), and the broker's
operator accounts read every topic. So the list travels sealed to the one kiosk it is
for, inside its signed envelope: the signature says the operator sent it, the seal that
only that kiosk can read it.

Each kiosk has an X25519 key pair derived from its own ``kiosk.key`` (HKDF-SHA256 with
its own label), so there is no new file to keep, back up or lose. Its public half (the
*staff key*, base64) is registered in the operator's back office once, when the kiosk is
set up (``locker-kiosk users staff-key`` prints it); the broker never carries it, so it
cannot slip its own key in.

A box is ``ephemeral public key (32 bytes) || ChaCha20-Poly1305 ciphertext``, base64:
the sender makes a fresh X25519 key per box, so the nonce can be zero; the key is
HKDF-SHA256 of the shared secret, salted with both public keys; the kiosk's id is the
associated data, so a box sealed for one kiosk does not open as another's.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["SealError", "kiosk_staff_key", "open_box", "public_text", "read_public", "seal"]

_KEY_LABEL = b"locker-kiosk staff key v1"
_BOX_LABEL = b"locker-kiosk staff list box v1"
_NONCE = bytes(12)  # a fresh key for every box: the nonce need not change
_PUBLIC_BYTES = 32


class SealError(ValueError):
    """A box that does not open (not for this key, changed, or not a box), or a public key
    that is not one."""


def kiosk_staff_key(kiosk_key: bytes) -> X25519PrivateKey:
    """This kiosk's sealing key, derived from its ``kiosk.key`` (32 bytes)."""
    seed = HKDF(hashes.SHA256(), 32, salt=None, info=_KEY_LABEL).derive(kiosk_key)
    return X25519PrivateKey.from_private_bytes(seed)


def public_text(key: X25519PrivateKey) -> str:
    """The public half of ``key`` as base64: what the back office registers."""
    return base64.b64encode(_raw(key.public_key())).decode()


def read_public(text: str) -> X25519PublicKey:
    """A staff key as :func:`public_text` writes it; :class:`SealError` if it is not one."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SealError("a staff key is base64 text") from None
    if len(raw) != _PUBLIC_BYTES:
        raise SealError(f"a staff key is {_PUBLIC_BYTES} bytes, not {len(raw)}")
    return X25519PublicKey.from_public_bytes(raw)


def seal(recipient: str, plaintext: bytes, context: str) -> str:
    """``plaintext`` sealed to the staff key ``recipient``, bound to ``context`` (the
    kiosk's id); base64."""
    theirs = read_public(recipient)
    ephemeral = X25519PrivateKey.generate()
    mine = _raw(ephemeral.public_key())
    box_key = _box_key(ephemeral.exchange(theirs), mine, _raw(theirs))
    sealed = ChaCha20Poly1305(box_key).encrypt(_NONCE, plaintext, context.encode())
    return base64.b64encode(mine + sealed).decode()


def open_box(key: X25519PrivateKey, box: str, context: str) -> bytes:
    """What :func:`seal` sealed to ``key``'s public half for ``context``; else
    :class:`SealError`."""
    try:
        raw = base64.b64decode(box, validate=True)
    except (binascii.Error, ValueError):
        raise SealError("the box is not base64") from None
    if len(raw) < _PUBLIC_BYTES + 16:
        raise SealError("the box is too short")
    try:
        shared = key.exchange(X25519PublicKey.from_public_bytes(raw[:_PUBLIC_BYTES]))
        box_key = _box_key(shared, raw[:_PUBLIC_BYTES], _raw(key.public_key()))
        return ChaCha20Poly1305(box_key).decrypt(_NONCE, raw[_PUBLIC_BYTES:], context.encode())
    except (InvalidTag, ValueError):  # ValueError: a key of low order, no secret shared
        raise SealError("the box was not sealed for this kiosk, or was changed") from None


def _box_key(shared: bytes, sender: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=sender + recipient, info=_BOX_LABEL).derive(shared)


def _raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
