"""SecretBox: sealing secrets at rest."""

from __future__ import annotations

import pytest

from presence_sync.secrets import SecretBox, SecretKeyError


def test_round_trip_and_ciphertext_hides_the_value() -> None:
    box = SecretBox(SecretBox.generate_key())
    sealed = box.encrypt("refresh-token-value")
    assert "refresh-token-value" not in sealed
    assert sealed.isascii()
    assert box.decrypt(sealed) == b"refresh-token-value"
    assert box.decrypt_text(box.encrypt(b"\xc3\xa9t\xc3\xa9")) == "été"
    assert box.encrypt("same") != box.encrypt("same")  # random IV each time


def test_wrong_key_and_garbage_give_a_clear_error() -> None:
    sealed = SecretBox(SecretBox.generate_key()).encrypt("x")
    other = SecretBox(SecretBox.generate_key())
    with pytest.raises(SecretKeyError, match="does not open with the configured SECRET_KEY"):
        other.decrypt(sealed)
    with pytest.raises(SecretKeyError):
        other.decrypt("not-a-token")
    with pytest.raises(SecretKeyError):
        other.decrypt("ünicode")


def test_malformed_keys_are_refused_and_never_shown() -> None:
    with pytest.raises(SecretKeyError, match="Fernet key"):
        SecretBox("short")
    key = SecretBox.generate_key()
    assert key not in repr(SecretBox(key))


def test_derived_keys_are_stable_per_passphrase() -> None:
    sealed = SecretBox.derive("correct horse battery staple").encrypt("v")
    assert SecretBox.derive("correct horse battery staple").decrypt(sealed) == b"v"
    with pytest.raises(SecretKeyError):
        SecretBox.derive("another passphrase").decrypt(sealed)
    with pytest.raises(SecretKeyError):
        SecretBox.derive("")
