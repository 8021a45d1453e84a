"""Password hashing (argon2), password policy, random tokens."""

from __future__ import annotations

import hashlib
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("kefu-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problems(password: str, *, username: str, min_length: int) -> list[tuple[str, dict[str, int]]]:
    """What is wrong with a new password under the policy, as (message, params); empty when acceptable."""
    problems: list[tuple[str, dict[str, int]]] = []
    if len(password) < min_length:
        problems.append(("Password must be at least %(n)s characters", {"n": min_length}))
    classes = sum(
        [
            any(c.isalpha() for c in password),
            any(c.isdigit() for c in password),
            any(c in string.punctuation or c.isspace() for c in password),
        ]
    )
    if classes < 2:
        problems.append(("Password must mix at least two of letters, digits and symbols", {}))
    if username and username.lower() in password.lower():
        problems.append(("Password must not contain the account name", {}))
    return problems


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
