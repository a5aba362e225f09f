"""Every sentence a person reads from the web layer that is written in Python: error pages,
flashes, sign-in and linking, the set-up checklist, and the admin's commands.

The views, error handlers and commands take their words from here; the pages' own words are in
the Jinja templates under `templates/`, and storage's sentences (shown as they are) in
`storage/messages.py`. Error pages have a title and a text; flashes are one sentence each.
"""

from __future__ import annotations

from storage.words import plural

# -- error pages, by HTTP status (security.py) ---------------------------------------------

SOMETHING_WENT_WRONG_TITLE = "Something went wrong"
SOMETHING_WENT_WRONG = "Something went wrong."
NOT_FOUND_TITLE = "Not found"
NOT_ALLOWED_TITLE = "Not allowed"
EXPIRED_TITLE = "Expired"

ERROR_TITLES = {
    400: "That request could not be understood",
    403: NOT_ALLOWED_TITLE,
    404: NOT_FOUND_TITLE,
    405: NOT_ALLOWED_TITLE,
    410: "Gone",
    413: "Too large",
    429: "Slow down",
    503: "Temporarily unavailable",
}

ERROR_TEXTS = {
    404: "There is nothing at this address.",
    405: "This page cannot be used that way.",
    413: "That upload is too large. Try fewer or smaller files at a time.",
    429: "Too many requests from you in a short time. Wait a minute and try again.",
}

FORM_EXPIRED = "This form has expired or did not come from CloudBox. Go back, reload the page and try again."


def unexpected_error(reference: str) -> str:
    return f"Sorry, something went wrong on our side. If it keeps happening, quote reference {reference}."


# A request body that does not arrive (slow_bodies.py).
BODY_TOO_SLOW = "The request body did not arrive in time."
TOO_MANY_SLOW_BODIES = "Too many uploads are arriving slowly right now. Try again in a minute."

# -- titles of the pages storage's errors end on (security.py) -----------------------------

NOT_ACCEPTED_TITLE = "Not accepted"
TURNED_OFF_TITLE = "Turned off"
ALREADY_USED_TITLE = "Already used"
STORAGE_NOT_ANSWERING_TITLE = "Storage is not answering"
STORAGE_PROBLEM_TITLE = "Storage problem"
DID_NOT_WORK_TITLE = "That did not work"

# -- the gallery (gallery.py) --------------------------------------------------------------

NO_SUCH_PAGE = "There is no page with that number."
ONE_FILE_PER_REQUEST = "Send one file per request."
CHOOSE_IMAGES = "Choose one or more images to upload."


def upload_refused(filename: str | None, reason: str) -> str:
    return f"{filename}: {reason}"


def uploaded(name: str, *, created: bool) -> str:
    verb = "uploaded" if created else "was already in your library"
    return f"{name} {verb}."


def image_deleted(name: str) -> str:
    return f"{name} was deleted, and its links stopped working."


CHOOSE_HOW_LONG = "Choose how long the link should work."


def link_works_at_most(hours: int) -> str:
    return f"A link can work for at most {hours} hours."


LOCATION_SAVED = (
    "Saved. Photos you send from now on follow this choice; images already saved stay as they are."
)
LOCATION_CHOICE_UNKNOWN = "Choose keep, remove or default."


def link_turned_off(names: list[str]) -> str:
    return f"The link to {', '.join(names)} no longer works."


def unlinked(who: str) -> str:
    return f"{who} is no longer linked. Your images stay in your library; use `link` in chat to link again."


TICK_TO_CONFIRM = "Nothing was deleted: tick the box to confirm."


def library_deleted(count: int) -> str:
    return f"Deleted {plural(count, 'image')} and every link to them."


# -- a chat account in words (people.py, signin.py) ----------------------------------------


def chat_identity(platform: str, chat_user: str, tenant: str, *, slack: bool) -> str:
    """ "Slack user U123 (workspace T456)"."""
    place = "workspace" if slack else "domain"
    return f"{platform} user {chat_user} ({place} {tenant})"


def chat_account(
    platform: str, name: str, chat_user: str, tenant: str, *, slack: bool, tenant_name: str
) -> str:
    """ "the Slack account “Ann” (U123, workspace Acme (T456))", as a link request names it."""
    if slack:
        where = f"workspace {tenant_name} ({tenant})" if tenant_name else (f"workspace {tenant}")
    else:
        where = f"Workspace domain {tenant}" if tenant != "gchat" else "Google Chat"
    return f"the {platform} account “{name}” ({chat_user}, {where})"


# -- share links (shares.py) ---------------------------------------------------------------

LINK_NOT_FOUND_TITLE = "Link not found"
LINK_NOT_FOUND = "This link does not exist. Check that it was copied completely."
LINK_GONE_TITLE = "Link no longer works"


def link_gone(reason: str) -> str:
    return reason + " Ask the sender for a new one."


# -- signing in and linking (signin.py) ----------------------------------------------------

SIGNIN_DID_NOT_COMPLETE_TITLE = "Sign-in did not complete"
SIGNIN_NOT_SET_UP = (
    "Google sign-in is not set up on this CloudBox yet. The administrator needs to set "
    "OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET (see the README)."
)
SIGNIN_NOT_STARTED_HERE = (
    "This sign-in was not started in this browser, took too long, or has already finished. "
    "Please start again."
)
ANSWER_NOT_FOR_THIS_SIGNIN = (
    "This answer from Google does not belong to the sign-in started in this browser, so "
    "nothing was changed. Please start again."
)
NO_SIGNIN_CODE = "Google did not send a sign-in code."


def provider_problem(code: str) -> str:
    return f"Google reported a problem ({code}). Nothing was changed. Please start again."


NOT_FOR_THIS_CLOUDBOX_TITLE = "This Google account cannot use this CloudBox"


def not_for_this_cloudbox(email: str) -> str:
    return (
        f"{email} is not one of the accounts this CloudBox is for. Nothing was stored or "
        "linked. Sign in with your work account, or ask the administrator to allow this one."
    )


NOTHING_LINKED_TITLE = "Nothing was linked"


def emails_differ(chat: str, email: str) -> str:
    return (
        f"This link was made for {chat}, whose email is not {email}. This CloudBox links a "
        "chat account only to the Google account with the same email. If this is your chat "
        "account, sign in with that Google account; if someone sent you this link, you can "
        "ignore it."
    )


CONFIRMATION_EXPIRED = "This confirmation has expired or was already answered. Ask the bot for a new link."
LINK_DECLINED = (
    "Good call if you did not ask for this link yourself. Your Google account and its "
    "library were not touched."
)
NOTHING_CHANGED_TITLE = "Nothing was changed"
GOOGLE_ACCOUNT_UNKNOWN = "That Google account is no longer known here."

# -- what Google's answers come to (oidc.py) -----------------------------------------------

SIGNIN_UNAVAILABLE = "Google sign-in is unavailable right now. Please try again in a minute."
SIGNIN_MISCONFIGURED = "Google sign-in is misconfigured."
NO_IDENTITY = "Google did not return an identity."
EMAIL_NOT_VERIFIED = (
    "Your Google account's email address is not verified, so it cannot be used with "
    "CloudBox. Verify it with Google, then try again."
)
CODE_USED_OR_EXPIRED = (
    "This sign-in could not be completed (the code was already used or has expired). Please start again."
)
GOOGLE_DID_NOT_ACCEPT = "Google did not accept this sign-in. Please start again."
GOOGLE_DID_NOT_ANSWER = "Google did not answer. Please try again in a minute."
ANSWER_NOT_VERIFIED = "Google's answer could not be verified, so nothing was changed. Please start again."

# -- the set-up checklist and `doctor`: each check's name and what it found (doctor.py) ----

STORAGE_MODE = "Storage mode"
DATABASE = "Database"
BUCKET = "Bucket"
LINK_SIGNING = "Link signing"
PUBLIC_URL = "Public URL"
GOOGLE_SIGNIN = "Google sign-in"
SLACK = "Slack"
GOOGLE_CHAT = "Google Chat"
WHO_MAY_USE_IT = "Who may use it"

EMBEDDED_STORE = "embedded local store (for trying CloudBox out; set CLOUDBOX_BUCKET for real use)"


def gcs_bucket(bucket: str | None) -> str:
    return f"Google Cloud Storage bucket {bucket}"


def catalog_reachable(backend: str) -> str:
    return backend + " catalog reachable and migrated"


BUCKET_REACHABLE = "reachable and listable"
LINKS_CAN_BE_SIGNED = "V4 signed URLs can be made"


def google_sign_in_open(who: str) -> str:
    return (
        who + ": with an External consent screen any Google account can sign in;"
        " set CLOUDBOX_ALLOWED_GOOGLE_DOMAINS"
    )


def public_url(base_url: str) -> str:
    return f"CLOUDBOX_BASE_URL = {base_url}"


def public_url_not_https(base_url: str) -> str:
    return f"CLOUDBOX_BASE_URL should be https:// in production: {base_url}"


OAUTH_MISSING = (
    "set OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET (a Google OAuth web client) to link "
    "chat accounts and open the gallery"
)
OAUTH_CONFIGURED = "OAuth client configured"


def oauth_provider_answers(discovery_url: str) -> str:
    return f"OAuth client configured; {discovery_url} answers"


SLACK_MISSING = (
    "set SLACK_SIGNING_SECRET with SLACK_BOT_TOKEN (one workspace) or "
    "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET (install to many); SLACK_APP_TOKEN for Socket Mode"
)


def slack_mode(*, multi_workspace: bool, socket_mode: bool) -> str:
    mode = "multi-workspace install" if multi_workspace else "single workspace"
    if socket_mode:
        mode += ", Socket Mode"
    return mode


def slack_token_works(mode: str) -> str:
    return f"{mode}; the bot token works"


GCHAT_MISSING = "set GCHAT_AUDIENCE (project number or endpoint URL) to receive Chat events"


def gchat_configured(*, by_project_number: bool, with_key: bool) -> str:
    how = "project number" if by_project_number else "endpoint URL"
    creds = "GCHAT_CREDENTIALS key" if with_key else "application default credentials"
    return f"audience by {how}; media downloaded with {creds}"


# -- the admin's commands: `doctor`, `recover`, `check-consistency` (cli.py) ---------------


def operations_finished(count: int) -> str:
    return f"{count} interrupted operation(s) finished"


def consistency(consistent: bool, summary: str, *, after_repair: bool = False) -> str:
    if consistent:
        return "✔ consistent: " + summary
    return ("✘ still inconsistent: " if after_repair else "✘ inconsistent: ") + summary


def orphan_object(name: str) -> str:
    return f"  orphan object   {name}"


def missing_original(image_id: str, object_name: str) -> str:
    return f"  missing original  image {image_id} ({object_name})"


def missing_preview(image_id: str, object_name: str) -> str:
    return f"  missing preview   image {image_id} ({object_name})"


def unfinished(status: str, image_id: str) -> str:
    return f"  unfinished {status:<9} image {image_id}"


RUN_WITH_REPAIR = "Run again with --repair to fix this."


def repaired(summary: str) -> str:
    return "Repaired: " + summary


# -- the admin's commands: `audit`, `people`, `delete-library`, `revoke-shares` (admin_cli.py)

SINCE_FORMAT = "use a number and m, h or d, e.g. 30m, 12h or 7d"
NO_CHAT_ACCOUNT = "no chat account linked"


def no_library(email: str) -> str:
    return f"No one with the email {email} has a CloudBox library."


def delete_whole_library(email: str, usage: str) -> str:
    return f"Delete the whole library of {email} ({usage})?"


def images_deleted(count: int, email: str) -> str:
    return f"Deleted {count} images of {email}."


def links_turned_off(count: int, email: str) -> str:
    return f"Turned off {count} links of {email}."
