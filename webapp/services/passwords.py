"""The admin password rule: one policy for every way of setting the password.

``set-admin-password`` and ``$DMC_ADMIN_PASSWORD`` both pass :func:`password_problem`;
a hash (``$DMC_ADMIN_PASSWORD_HASH``) cannot be checked.
"""

from __future__ import annotations

MIN_PASSWORD_CHARS = 10
MIN_DISTINCT_CHARS = 5
MAX_PASSWORD_CHARS = 1024
#: Refused whatever their length: the first guesses of any attacker.
COMMON_PASSWORDS = frozenset(
    {
        "password", "password1", "password123", "passw0rd", "adminadmin", "administrator",
        "1234567890", "0123456789", "qwertyuiop", "letmein123", "iloveyou12", "changeme12",
        "welcome123", "listening1", "mushramushra",
    }
)  # fmt: skip


def password_problem(password: str) -> str | None:
    """Why ``password`` is too weak for the admin area, or ``None`` when it is acceptable.

    At least :data:`MIN_PASSWORD_CHARS` characters with :data:`MIN_DISTINCT_CHARS`
    different ones, and not a well-known password. Applied to every plain-text way of
    setting it (``set-admin-password``, ``DMC_ADMIN_PASSWORD``); a hash cannot be checked.
    """
    if len(password) < MIN_PASSWORD_CHARS:
        return (
            f"the admin password must have at least {MIN_PASSWORD_CHARS} characters, "
            f"got {len(password)}"
        )
    if len(password) > MAX_PASSWORD_CHARS:
        return f"the admin password must have at most {MAX_PASSWORD_CHARS} characters"
    if len(set(password)) < MIN_DISTINCT_CHARS:
        return f"the admin password must use at least {MIN_DISTINCT_CHARS} different characters"
    if password.lower() in COMMON_PASSWORDS:
        return "the admin password is a well-known one; choose another"
    return None
