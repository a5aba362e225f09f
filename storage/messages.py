"""Every sentence a person reads that storage raises or returns: refusals, missing things, outages,
what a person keeps, and the admin's reports (who may use CloudBox, the consistency check).

Each layer above shows these as they are (the web) or adds its own hint (chat), so they are
plain sentences: no markup and no chat command names. Reasons a file was refused are sentence
endings ("is empty"), so that the caller can put the file's name in front of them. Helpers
shared with the other layers (clipping, sizes, plurals) are in `storage/words.py`.
"""

from __future__ import annotations

from datetime import timedelta

from .words import clip

NAME_LIMIT = 80  # names a person typed can be long

# -- images and links a person names (storage/errors.py, library.py) ---------------------


def no_such_image(ref: str) -> str:
    return f"You have no image called “{clip(ref, NAME_LIMIT)}”."


def ambiguous_name(ref: str, ids: list[str]) -> str:
    return f"Several images are called “{clip(ref, NAME_LIMIT)}”; name one by its id: {', '.join(ids)}."


NO_SUCH_LINK = "You have no active link like that."


def no_active_links(image_name: str) -> str:
    return f"“{clip(image_name, NAME_LIMIT)}” has no active links."


IMAGE_ALREADY_GONE = "That image is already gone."

# A "next page" link or button CloudBox did not make for this person (storage/cursors.py).
BAD_CURSOR = "That page link is not valid any more. List your images again."

# -- saving and deleting images (storage/library.py) ---------------------------------------

UPLOAD_TAKEN_OVER = "This upload was taken over by a newer attempt; please try again."
COULD_NOT_SAVE = "The image could not be saved right now; please try again."
HIDDEN_NOT_REMOVED = "The image is hidden, but storage did not answer; it will be removed shortly."

# -- why a file is not stored: sentence endings after the file's name (images.py, ...) ----

EMPTY = "is empty"
DAMAGED = "is damaged or truncated and cannot be read as an image"
NO_PIXELS = "has no pixels"
PDF = "is a PDF, not an image"
SVG = "is an SVG drawing; SVG can carry scripts, so CloudBox does not store it"
WEB_PAGE = "is a web page, not an image"
NOT_AN_IMAGE = "is not an image CloudBox can read (JPEG, PNG, GIF, WebP, HEIC, AVIF, BMP, TIFF)"


def not_stored_format(fmt: str) -> str:
    return f"is a {fmt or 'unknown'} file, which CloudBox does not store"


def frame_larger_than_canvas(width: int, height: int) -> str:
    return f"has a frame of {width}×{height} pixels, larger than its canvas"


def more_pixels_than(max_pixels: int) -> str:
    return f"has more pixels than the {max_pixels / 1e6:.0f}-megapixel limit"


def too_many_pixels(width: int, height: int, max_pixels: int, *, first_frame: bool) -> str:
    which = "is" if first_frame else "has a later image (page or frame) of"
    return f"{which} {width}×{height} pixels, more than the {max_pixels / 1e6:.0f}-megapixel limit"


def too_many_frames(frames: int, limit: int) -> str:
    count = f"more than {limit}" if frames > limit else str(frames)
    return f"has {count} frames, too many to store"


def too_much_jpeg_work(scans: int, pixels: int) -> str:
    return (
        f"is a JPEG stored in {scans} scans over {pixels / 1e6:.0f} megapixels, "
        "far more decoding work than a photo needs"
    )


# A TIFF whose directories cannot be followed to its location metadata (storage/location.py).
LOCATION_UNREADABLE = "has location metadata CloudBox cannot remove, so it was not stored"

# A second file format riding along with the image (storage/image_bytes.py).
CARRIES_MARKUP = "contains markup or script as well as image data, which is not allowed"
CARRIES_FORMAT = "contains another file format as well as image data, which is not allowed"
CARRIES_ARCHIVE = "contains another file format (an archive) as well as image data, which is not allowed"


# The memory a decode needs (storage/decode_budget.py).
def too_large_to_process(needed: str, capacity: str) -> str:
    return (
        f"is too large to process: reading it needs about {needed} of memory, "
        f"more than the {capacity} this server sets aside for images"
    )


BUSY_DECODING = "CloudBox is busy reading other images; please try again in a minute."


# -- the catalog against the bucket, for the admin (storage/consistency.py) ---------------


def consistency_report(
    rows: int, objects: int, *, orphans: int, missing_originals: int, missing_previews: int, unfinished: int
) -> str:
    return (
        f"{rows} catalog row(s), {objects} object(s): "
        f"{orphans} orphan object(s), "
        f"{missing_originals} row(s) missing their original, "
        f"{missing_previews} row(s) missing their preview, "
        f"{unfinished} unfinished upload(s) or deletion(s)"
    )


def repairs_done(
    orphans_deleted: int,
    orphans_too_recent: int,
    rows_deleted: int,
    previews_remade: int,
    unfinished_finished: int,
    failures: list[str],
) -> str:
    text = (
        f"deleted {orphans_deleted} orphan object(s) "
        f"({orphans_too_recent} left alone: younger than the grace period), "
        f"deleted {rows_deleted} row(s) whose original was missing, "
        f"remade {previews_remade} preview(s), "
        f"finished {unfinished_finished} interrupted upload(s) or deletion(s)"
    )
    if failures:
        text += f"; {len(failures)} repair(s) failed: " + "; ".join(failures[:10])
    return text


def cannot_remake_preview(reason: str) -> str:
    """Why a missing preview could not be remade (a repair's failure)."""
    return f"its original cannot be read to remake the preview: it {reason}"


# -- what a person keeps, against the quota (storage/model.py) ----------------------------


def usage(images: int, max_images: int | None, size: int, max_bytes: int | None) -> str:
    used = f"{images} image{'' if images == 1 else 's'}"
    if max_images is not None:
        used += f" of {max_images}"
    used += f", {_mb(size)}"
    if max_bytes is not None:
        used += f" of {_mb(max_bytes)}"
    return used


def past_image_quota(max_images: int, kept: str) -> str:
    return f"would take you past your quota of {max_images} images (you keep {kept})"


def past_size_quota(max_bytes: int, kept: str) -> str:
    return f"would take you past your quota of {_mb(max_bytes)} (you keep {kept})"


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


# -- share links (storage/sharing.py) ------------------------------------------------------

SIGNED_LINKS_STAY = (
    "Links from this CloudBox are signed storage addresses: each keeps working until it expires "
    "and cannot be turned off. Deleting the image stops its links at once."
)
LINK_TOO_SHORT = "A link has to last at least a minute."


def links_last_at_most(longest: timedelta) -> str:
    return f"Links can last at most {_duration(longest)}."


LINK_DOES_NOT_EXIST = "This link does not exist."
LINK_TURNED_OFF = "This link has been turned off by the person who shared it."
LINK_EXPIRED = "This link has expired."


def _duration(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} days" if hours % 24 == 0 and hours >= 48 else f"{hours} hours"


# -- sign-in link requests (storage/accounts.py, errors.py) --------------------------------

LINK_REQUEST_UNKNOWN = "This link is not valid. Ask the bot for a new one."
LINK_REQUEST_USED = "This link has already been used. Ask the bot for a new one."
LINK_REQUEST_EXPIRED = "This link has expired (links last 10 minutes). Ask the bot for a new one."

# -- who may use this CloudBox, for doctor and the set-up page (storage/access.py) ---------


def access_policy(
    google: list[str], slack_teams: list[str], gchat_customers: list[str], *, mismatch_refused: bool
) -> list[str]:
    return [
        "Google accounts: "
        + (", ".join(google) if google else "any (CLOUDBOX_ALLOWED_GOOGLE_DOMAINS unset)"),
        "Slack workspaces: "
        + (", ".join(slack_teams) if slack_teams else "the ones CloudBox is installed in"),
        "Google Chat customers: " + (", ".join(gchat_customers) if gchat_customers else "any"),
        "Linking a Google account whose email differs from the chat profile: "
        + ("refused" if mismatch_refused else "asks the person to confirm"),
    ]


# -- the bucket (storage/blobstore.py) -----------------------------------------------------

NO_SIGNING_CREDENTIALS = "No credentials are configured to sign links."
NO_SIGNING_ACCOUNT = "The default credentials name no service account to sign links."
UPLOAD_DAMAGED = "The upload was damaged on the way to storage; nothing was saved."
CANNOT_SIGN = "Links cannot be made right now; the administrator has been told."
FILE_ENDED_EARLY = "The file ended before its announced size; nothing was saved."
STORAGE_NOT_ANSWERING = "Storage is not answering right now; nothing was saved. Please try again shortly."
STORAGE_REFUSED = "Storage refused the request; the administrator has been told."
