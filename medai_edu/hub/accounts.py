"""The course hub's authenticator: NativeAuthenticator, with sign-up approved by an instructor.

Students sign up with a username and password at ``/hub/signup``; nobody can log in until an
instructor (a hub admin) approves the account at ``/hub/authorize``. There is no open sign-up.
Instructors listed in ``admin_users`` are approved when they sign up.

:class:`CourseAuthenticator` adds ``demo_accounts``: approved accounts made when the hub starts
(``make hub`` and the tests use them), so that a workshop or a test can log in at once.
Passwords are stored as bcrypt hashes in the hub's database, by NativeAuthenticator.
"""

from __future__ import annotations

import bcrypt
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.orm import UserInfo
from traitlets import Dict, Unicode


class CourseAuthenticator(NativeAuthenticator):
    """NativeAuthenticator with approved demo accounts made at start-up."""

    demo_accounts = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        config=True,
        help="username -> password of approved accounts made at start (existing ones are kept).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.create_demo_accounts()

    def create_demo_accounts(self) -> list[str]:
        """Add the demo accounts missing from the database, approved; return their names."""
        created = []
        for name, password in sorted(self.demo_accounts.items()):
            username = self.normalize_username(name)
            if not self.validate_username(username):
                raise ValueError(f"demo account {name!r} is not a valid username")
            if self.get_user(username) is not None:
                continue  # a restart keeps the password the account has now
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt())
            self.db.add(UserInfo(username=username, password=hashed, is_authorized=True))
            created.append(username)
        self.db.commit()
        if created:
            self.log.info("demo accounts made: %s", ", ".join(created))
        return created
