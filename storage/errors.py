"""Errors a person can act on. Each carries the sentence the person is shown."""

from __future__ import annotations


class CloudBoxError(Exception):
    """An expected failure; `message` is safe and useful to show the person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(CloudBoxError):
    """No such image or link for this owner (also what another owner's ids look like)."""


class Rejected(CloudBoxError):
    """The input was refused: not an image, too large, a bomb, an unsafe type."""


class Expired(CloudBoxError):
    """A share or link request whose time has passed."""


class Revoked(CloudBoxError):
    """A share its owner has revoked."""


class AlreadyUsed(CloudBoxError):
    """A one-time token that has been used."""


class StorageUnavailable(CloudBoxError):
    """The bucket could not be reached after retries; nothing was saved."""


class StorageError(CloudBoxError):
    """A permanent storage failure (permissions, missing bucket, precondition)."""
