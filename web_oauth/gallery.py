"""The web gallery (the original "Image Manager"): browse, upload, view, share, delete.

Every page works with plain HTML forms; `static/gallery.js` adds drag and drop and per-file
progress on top, sending one file per request and asking for JSON.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from storage.accounts import Identity
from storage.cursors import BadCursor
from storage.errors import CloudBoxError, Rejected
from storage.model import Owner, Share
from storage.words import plural

from . import local_signin
from . import messages as m
from .people import PLATFORM_NAMES, current_owner, describe, end_other_sessions, services, signin_required
from .security import handle_library_errors, protect_forms, wants_json

bp = Blueprint("gallery", __name__)
protect_forms(bp)
handle_library_errors(bp)

PER_PAGE = 24
# Far past any library (24 million images); a larger number is a typo or a probe, and would
# overflow the database's OFFSET.
MAX_PAGE = 1_000_000
EXPIRY_CHOICES_HOURS = (1, 24, 72, 168)


@bp.app_context_processor
def _people() -> dict[str, Any]:
    return {
        "owner": current_owner(),
        "platform_names": PLATFORM_NAMES,
        # CLOUDBOX_SHARE_LINKS=signed_url posts raw signed URLs, which nothing can turn off.
        "links_can_be_turned_off": services().library.policy.share_links != "signed_url",
    }


def home() -> Any:
    """The gallery's first page, or an invitation to sign in."""
    owner = current_owner()
    if owner is None:
        return render_template(
            "welcome.html", local_signin=local_signin.offered(), access=services().settings.access
        )
    page_number = request.args.get("page", 1, type=int) or 1
    if page_number > MAX_PAGE:
        abort(400, description=m.NO_SUCH_PAGE)
    library = services().library
    try:
        page = library.list(
            owner, page=max(1, page_number), per_page=PER_PAGE, after=request.args.get("after")
        )
    except BadCursor as exc:
        abort(400, description=exc.message)
    previews = {image.id: library.preview_url(image) for image in page.images}
    return render_template(
        "gallery.html", page=page, previews=previews, max_mb=services().settings.max_upload_bytes // 2**20
    )


@bp.post("/upload")
@signin_required
def upload() -> Any:
    owner = _owner()
    files = [f for f in request.files.getlist("images") if f.filename]
    if wants_json():
        # One file per request from gallery.js: the answer is that file's own result.
        if len(files) != 1:
            return {"ok": False, "error": m.ONE_FILE_PER_REQUEST}, 400
        try:
            result = services().library.upload(owner, files[0].stream, filename=files[0].filename)
        except CloudBoxError as exc:
            return {"ok": False, "name": files[0].filename, "error": exc.message}, 422
        image = result.image
        return {"ok": True, "id": image.id, "name": image.name, "created": result.created}, 201
    if not files:
        flash(m.CHOOSE_IMAGES, "error")
    for file in files:
        try:
            result = services().library.upload(owner, file.stream, filename=file.filename)
        except CloudBoxError as exc:
            flash(m.upload_refused(file.filename, exc.message), "error")
        else:
            flash(m.uploaded(result.image.name, created=result.created), "ok")
    return redirect(url_for("index"), 303)


@bp.get("/images/<image_id>")
@signin_required
def image(image_id: str) -> Any:
    owner = _owner()
    library = services().library
    found = library.get(owner, image_id)
    return render_template(
        "image.html",
        image=found,
        original_url=library.display_url(found),
        download_url=library.original_url(found, download=True),
        expiry_choices=_expiry_choices(),
        default_hours=_hours(library.policy.share_default_ttl),
    )


@bp.get("/images/<image_id>/delete")
@signin_required
def confirm_delete(image_id: str) -> Any:
    found = services().library.get(_owner(), image_id)
    return render_template("confirm_delete.html", image=found, preview=services().library.preview_url(found))


@bp.post("/images/<image_id>/delete")
@signin_required
def delete(image_id: str) -> Any:
    removed = services().library.delete(_owner(), image_id)
    flash(m.image_deleted(removed.name), "ok")
    return redirect(url_for("index"), 303)


@bp.post("/images/<image_id>/share")
@signin_required
def share(image_id: str) -> Any:
    hours = request.form.get("hours", type=int)
    if hours is None or hours < 1:
        raise Rejected(m.CHOOSE_HOW_LONG)
    shares = services().shares
    if hours > _MAX_HOURS:  # timedelta overflows past ~2.7e10 hours; the library says what is allowed
        abort(400, description=m.link_works_at_most(_hours(shares.policy.share_max_ttl)))
    created = shares.share(_owner(), image_id, ttl=timedelta(hours=hours), created_by="web gallery")
    return render_template("share_created.html", share=created)


@bp.get("/links")
@signin_required
def links() -> Any:
    return render_template("links.html", shares=services().shares.links(_owner()))


@bp.post("/links/<share_id>/revoke")
@signin_required
def revoke(share_id: str) -> Any:
    revoked: list[Share] = services().shares.revoke(_owner(), share_id)  # type: ignore[valid-type]
    flash(m.link_turned_off(sorted({s.image.name for s in revoked})), "ok")
    return redirect(url_for("gallery.links"), 303)


@bp.get("/account")
@signin_required
def account() -> Any:
    owner = _owner()
    identities = services().accounts.identities(owner)
    usage = services().library.usage(owner)
    return render_template(
        "account.html",
        identities=[(i, describe(i)) for i in identities],
        usage=usage,
        location=LOCATION_CHOICES.get(owner.keep_location, "default"),
        default_keeps=services().library.policy.keep_location,
    )


LOCATION_CHOICES = {True: "keep", False: "remove", None: "default"}


@bp.post("/account/location")
@signin_required
def set_location() -> Any:
    """The person's own choice on the location metadata of the photos they send from now on."""
    wanted = request.form.get("location", "")
    choices = {word: keep for keep, word in LOCATION_CHOICES.items()}
    if wanted not in choices:
        abort(400, description=m.LOCATION_CHOICE_UNKNOWN)
    services().accounts.set_keep_location(_owner(), choices[wanted])
    flash(m.LOCATION_SAVED, "ok")
    return redirect(url_for("gallery.account"), 303)


@bp.post("/account/unlink")
@signin_required
def unlink() -> Any:
    accounts = services().accounts
    form = request.form
    wanted = (form.get("platform", ""), form.get("tenant", ""), form.get("chat_user", ""))
    mine = {(i.platform, i.tenant, i.chat_user): i for i in accounts.identities(_owner())}
    identity: Identity | None = mine.get(wanted)
    if identity is None:
        abort(404)
    accounts.unlink(identity)  # ends every session of the account
    end_other_sessions(_owner())
    flash(m.unlinked(describe(identity)), "ok")
    return redirect(url_for("gallery.account"), 303)


@bp.get("/account/delete-library")
@signin_required
def confirm_delete_library() -> Any:
    total = services().library.list(_owner(), per_page=1).total
    return render_template("confirm_delete_library.html", total=total)


@bp.post("/account/delete-library")
@signin_required
def delete_library() -> Any:
    if request.form.get("confirm") != "delete-everything":
        flash(m.TICK_TO_CONFIRM, "error")
        return redirect(url_for("gallery.confirm_delete_library"), 303)
    count = services().library.delete_all(_owner())
    end_other_sessions(_owner())
    flash(m.library_deleted(count), "ok")
    return redirect(url_for("index"), 303)


def _owner() -> Owner:
    owner = current_owner()
    assert owner is not None  # signin_required ran first
    return owner


_MAX_HOURS = 10**9  # well inside timedelta's range


def _hours(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() // 3600))


def _expiry_choices() -> list[tuple[int, str]]:
    policy = services().library.policy
    hours = {h for h in EXPIRY_CHOICES_HOURS if timedelta(hours=h) <= policy.share_max_ttl}
    hours.add(_hours(policy.share_default_ttl))
    return [(h, _label(h)) for h in sorted(hours)]


def _label(hours: int) -> str:
    if hours % 24 == 0:
        return plural(hours // 24, "day")
    return plural(hours, "hour")
