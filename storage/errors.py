"""Errors a person can act on. Each carries the sentence the person is shown."""

from __future__ import annotations

from . import messages


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


class NoSuchImage(NotFound):
    """The owner has no image with this id or name; `ref` is what was asked for."""

    def __init__(self, ref: str):
        super().__init__(messages.no_such_image(ref))
        self.ref = ref


class AmbiguousName(Rejected):
    """Several of the owner's images have this name; `ids` names up to five of them."""

    def __init__(self, ref: str, ids: list[str]):
        super().__init__(messages.ambiguous_name(ref, ids))
        self.ref = ref
        self.ids = ids


class NoSuchLink(NotFound):
    """No active share of the owner matches this id, URL or token."""

    def __init__(self) -> None:
        super().__init__(messages.NO_SUCH_LINK)


class NoActiveLinks(NotFound):
    """The image exists but has no active share to turn off."""

    def __init__(self, image_name: str):
        super().__init__(messages.no_active_links(image_name))
        self.image_name = image_name


class UnknownLinkRequest(NotFound):
    """A sign-in link token the catalog does not know (mistyped, or purged)."""

    def __init__(self) -> None:
        super().__init__(messages.LINK_REQUEST_UNKNOWN)
