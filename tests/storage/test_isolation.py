"""One owner cannot see or touch another's images or links: their ids look like nothing at all."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from storage.errors import CloudBoxError
from storage.library import Library
from storage.model import Owner, Share, new_id
from storage.sharing import Shares
from tests.standins import images as samples

from .helpers import upload


@dataclass
class AliceHas:
    image_id: str
    image_name: str
    share: Share

    @property
    def token(self) -> str:
        assert self.share.url is not None
        return self.share.url.rsplit("/", 1)[1]


@pytest.fixture
def alice_has(library: Library, shares: Shares, alice: Owner) -> AliceHas:
    image = upload(library, alice, samples.png(1), "alice-private.png").image
    return AliceHas(image.id, image.name, shares.share(alice, image.id))


def failure(call: Callable[[], object]) -> CloudBoxError:
    with pytest.raises(CloudBoxError) as caught:
        call()
    return caught.value


# Each case: what Bob tries with Alice's reference, and the same with one that does not exist.
CASES: dict[str, Callable[[Library, Shares, Owner, AliceHas, bool], object]] = {
    "get-by-id": lambda lib, sh, who, a, real: lib.get(who, a.image_id if real else new_id()),
    "get-by-name": lambda lib, sh, who, a, real: lib.get(
        who, a.image_name if real else "nobody-has-this.png"
    ),
    "delete": lambda lib, sh, who, a, real: lib.delete(who, a.image_id if real else new_id()),
    "share": lambda lib, sh, who, a, real: sh.share(who, a.image_id if real else new_id()),
    "revoke-link-id": lambda lib, sh, who, a, real: sh.revoke(who, a.share.id if real else new_id()),
    "revoke-link-url": lambda lib, sh, who, a, real: sh.revoke(
        who, a.share.url if real else f"http://127.0.0.1:5000/s/{secrets.token_urlsafe(24)}"
    ),
    "revoke-image": lambda lib, sh, who, a, real: sh.revoke(who, a.image_id if real else new_id()),
}


def blank_quoted(message: str) -> str:
    """The message with the quoted reference (which differs between the two calls) blanked."""
    return re.sub(r"“[^”]*”", "“<ref>”", message)


@pytest.mark.parametrize("case", list(CASES))
def test_another_owners_reference_behaves_like_one_that_does_not_exist(
    library: Library, shares: Shares, alice: Owner, bob: Owner, alice_has: AliceHas, case: str
) -> None:
    attempt = CASES[case]
    real = failure(lambda: attempt(library, shares, bob, alice_has, True))
    made_up = failure(lambda: attempt(library, shares, bob, alice_has, False))
    assert type(real) is type(made_up)
    assert blank_quoted(real.message) == blank_quoted(made_up.message)
    revealed = blank_quoted(real.message)  # beyond echoing what Bob typed, nothing of Alice's
    for secret in (alice_has.image_id, alice_has.image_name, alice_has.share.id, alice.email):
        assert secret not in revealed
    # ...and Alice's image and link are untouched.
    assert library.get(alice, alice_has.image_id).id == alice_has.image_id
    assert [s.id for s in shares.links(alice)] == [alice_has.share.id]
    shares.open_share(alice_has.token)


def test_listing_and_links_show_only_the_owners_own(
    library: Library, shares: Shares, bob: Owner, alice_has: AliceHas
) -> None:
    page = library.list(bob)
    assert page.images == [] and page.total == 0
    assert library.list(bob, words="alice").images == []
    assert shares.links(bob) == []
    upload(library, bob, samples.png(1), "bob.png")  # the same bytes as Alice's: Bob's own copy
    assert [i.name for i in library.list(bob).images] == ["bob.png"]


def test_owners_cannot_delete_all_of_each_other(
    library: Library, alice: Owner, bob: Owner, alice_has: AliceHas
) -> None:
    assert library.delete_all(bob) == 0
    assert library.list(alice).total == 1
