"""Every sentence a person reads in chat, for both platforms, as `Rich` text or plain strings.

The core and the adapters take their words from here; how the words look (bold, code) is the
renderers' business. Reasons a file was refused are sentence endings ("is not an image"), so
that `refusal` can put the file's name in front of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.errors import CloudBoxError, NoSuchImage, NoSuchLink
from storage.words import clip, plural

from .rich import Code, Emphasis, Line, LinkTo, Part, Rich, join, line, rich

# -- usage and help -----------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """One command's syntax (shown as code) and what it does (whose examples are code)."""

    syntax: str
    what: tuple[Part, ...]


USAGE = {
    "help": Usage("help", ("what CloudBox can do",)),
    "link": Usage("link", ("connect your Google account (your library lives there)",)),
    "unlink": Usage("unlink", ("disconnect this chat account from your Google account",)),
    "whoami": Usage("whoami", ("which Google account this chat account uses",)),
    "list": Usage("list [page] [words]", ("your images, newest first, e.g. ", Code("list 2 beach"))),
    "share": Usage(
        "share <image> [for <duration>]",
        ("post a link that expires, e.g. ", Code("share k3m9x2abcd for 3 days")),
    ),
    "unshare": Usage("unshare <image|link>", ("turn off links to an image, or one link",)),
    "links": Usage("links", ("your links that still work",)),
    "delete": Usage("delete <image>", ("delete an image (asks first)",)),
    "settings": Usage(
        "settings [location keep|remove|default]",
        ("whether the photos you send keep where they were taken",),
    ),
}


def help_text() -> Rich:
    commands = [line(Code(f"/cloudbox {u.syntax}"), " — ", *u.what, bullet=True) for u in USAGE.values()]
    return rich(
        line(Emphasis("CloudBox"), " keeps the images you send me, in your own Google Cloud library."),
        "",
        "Send me images in a direct message (or mention me with them) and I save them.",
        "",
        "Commands:",
        *commands,
    )


HELP_TITLE = "CloudBox help"


def invalid(problem: Rich, verb: str) -> Rich:
    usage = USAGE.get(verb)
    if usage:
        return problem + rich(line("Usage: ", usage.syntax, " — ", *usage.what))
    return problem + rich(line("Try ", Code("help"), " to see what I can do."))


# -- what the parser cannot read ----------------------------------------------------------

TOO_LONG = rich("That is too long for a command.")
SAY_UNLINK_HOW = rich(line("Say ", Code("unlink keep"), " or ", Code("unlink delete"), "."))
WHICH_IMAGE_OR_LINK = rich("Which image or link?")
PAGES_START_AT_1 = rich("Pages start at 1.")
WHICH_IMAGE = rich(line("Which image? Name it by its id (see ", Code("list"), ") or its file name."))


def unknown_verb(verb: str) -> Rich:
    return rich(f"I don't know “{clip(verb, 40)}”.")


def not_a_duration(text: str) -> Rich:
    return rich(
        line(
            f"“{clip(text, 40)}” is not a duration; try ",
            Code("for 2 hours"),
            " or ",
            Code("for 3 days"),
            ".",
        )
    )


# -- accounts -----------------------------------------------------------------------------

CONNECT_TITLE = "Connect your Google account"
CONNECT_BUTTON = "Connect Google account"
CONNECT = rich(
    "To keep images in CloudBox, connect your Google account first: your library lives "
    "there, so it is the same from Slack, Google Chat and the web. The link works once, "
    "for 10 minutes."
)
LINKED_TITLE = "Google account linked"
SWITCH_BUTTON = "Link another Google account"


def linked_notice(platform: str, email: str) -> Rich:
    return rich(
        line(
            f"Your {platform} account is now linked to the Google account ",
            Emphasis(email),
            ". Images you send me are kept in its library. If you did not do this, unlink now with ",
            Code("/cloudbox unlink"),
            ".",
        )
    )


def linked_to(email: str) -> Rich:
    return rich(
        line(
            "You are linked to ",
            Emphasis(email),
            ". To switch to another Google account, use this link (it works once, for 10 minutes).",
        )
    )


def whoami(platform: str | None, email: str, others: list[str], usage: str) -> Rich:
    also = f" Also linked: {', '.join(others)}." if others else ""
    return rich(line(f"This {platform} account uses ", Emphasis(email), f".{also} You keep {usage}."))


SAY_SETTING_HOW = rich(
    line(
        "Say ",
        Code("settings"),
        " to see them, or ",
        Code("settings location keep"),
        ", ",
        Code("remove"),
        " or ",
        Code("default"),
        ".",
    )
)


def location_setting(keeps: bool, own_choice: bool) -> Rich:
    """What `settings` says: where photos' location metadata goes, and whose choice that is."""
    state = "keep the place they were taken (GPS)" if keeps else "have their location (GPS) removed"
    whose = "your choice" if own_choice else "this CloudBox's default"
    return rich(
        line(Emphasis("Location"), f": photos you send from now on {state} — {whose}."),
        line(
            "Change it with ",
            Code("settings location keep"),
            ", ",
            Code("remove"),
            " or ",
            Code("default"),
            ". Images already saved stay as they are.",
        ),
    )


SETTINGS_TITLE = "Your settings"


def other_identity(platform: str, chat_user: str) -> str:
    return f"{platform} ({chat_user})"


def unlink_question(email: str) -> Rich:
    return rich(
        line(
            "Unlink this chat account from ",
            Emphasis(email),
            "? Your images can stay in the library (you can link again, or use the web gallery), "
            "or be deleted.",
        )
    )


UNLINK_KEEP_BUTTON = "Unlink, keep my images"
UNLINK_DELETE_BUTTON = "Unlink and delete my images"
UNLINK_DELETE_TITLE = "Delete your whole library?"
UNLINK_DELETE_OK = "Delete everything"


def unlink_delete_warning(email: str) -> str:
    return (
        f"This deletes every image of {email} and turns off all links, "
        "for every chat linked to that account. It cannot be undone."
    )


def unlinked_and_deleted(count: int) -> Rich:
    return rich(f"Deleted {plural(count, 'image')} and unlinked this chat account.")


def unlinked(email: str) -> Rich:
    return rich(
        line("Unlinked. Your images stay with ", Emphasis(email), "; ", Code("link"), " connects again.")
    )


# -- images and links ---------------------------------------------------------------------


def images_what(words: str) -> str:
    return f"images matching “{words}”" if words else "images"


def no_images(what: str) -> Rich:
    return rich(f"You have no {what} yet. Send me an image to save it.")


def no_such_page(number: int, pages: int, what: str) -> Rich:
    return rich(f"There is no page {number}; you have {pages} page(s) of {what}.")


def list_title(what: str, number: int, pages: int, total: int) -> str:
    return f"Your {what} — page {number} of {pages} ({total} in all)"


def list_title_over(what: str, number: int, counted: int) -> str:
    """A filtered listing that matched more than CloudBox counts."""
    return f"Your {what} — page {number} (more than {counted:,})"


PREVIOUS_PAGE = "Previous page"
NEXT_PAGE = "Next page"
SHARE_BUTTON = "Share"
DELETE_BUTTON = "Delete"


def image_line(image_id: str, name: str, subtitle: str, *lead: Part) -> Line:
    """“`k3m9x2abcd` *cat.png* — 2.0 KB · 64×48 · 1 Dec 2026”, after `lead` if any."""
    return line(*lead, Code(image_id), " ", Emphasis(name), f" — {subtitle}")


def shared(who: str, name: str, url: str, until: str, *, can_turn_off: bool) -> Rich:
    rest = "" if can_turn_off else " It cannot be turned off before then; deleting the image stops it."
    return rich(
        line(Emphasis(who), " shared ", Emphasis(name), ": ", LinkTo(url)),
        f"The link works until {until}.{rest}",
    )


SOMEONE = "Someone"
NO_LINKS = rich(line("You have no links that still work. ", Code("share <image>"), " makes one."))
LINKS_HEADING = "Your links that still work"
LINKS_TITLE = "Your links"


def link_line(image_id: str, name: str, views: int, until: str) -> Line:
    return line(Code(image_id), " ", Emphasis(name), f" — {plural(views, 'view')}, until {until}")


def turn_off_button(name: str) -> str:
    return f"Turn off: {name}"


def turned_off(count: int, names: list[str]) -> Rich:
    return rich(line(f"Turned off {plural(count, 'link')} to ", *join(map(Emphasis, names), ", "), "."))


def delete_question(name: str, image_id: str) -> Rich:
    return rich(
        line("Delete ", Emphasis(name), " (", Code(image_id), ")? This removes it and turns off its links.")
    )


DELETE_IMAGE_TITLE = "Delete this image?"


def gone_for_good(name: str) -> str:
    return f"{name} will be gone for good."


def deleted(name: str) -> Rich:
    return rich(line("Deleted ", Emphasis(name), "."))


def apology(reference: str) -> Rich:
    return rich(
        line("Sorry, something went wrong on our side (reference ", Code(reference), "). Please try again.")
    )


# -- saving the files of a message --------------------------------------------------------

LINKED_NOW = "Your Google account is linked, so I saved what you sent before:"


def saved_some(saved: int, total: int, refused: int) -> str:
    return f"Saved {plural(saved, 'file')} of {total}; {refused} not saved."


def saved_verb(created: bool) -> str:
    return "Saved" if created else "Already in your library:"


def more_in_library(count: int, gallery: str) -> Rich:
    return rich(line(f"…and {count} more, all in your library: ", LinkTo(gallery)))


OPEN_LIBRARY = "Open my library"
NOT_SAVED = "Not saved"
WAS_NOT_SAVED = "was not saved"


def refusal(file_name: str, reason: str) -> Rich:
    """“*cat.pdf* is a PDF, not an image”: reasons from intake are sentence endings."""
    name = file_name or "a file"
    return rich(line(Emphasis(name), f" {reason}" if reason[:1].islower() else f": {reason}"))


def more_not_saved(count: int) -> Rich:
    return rich(f"…and {plural(count, 'more file')} not saved.")


def saving(count: int) -> Rich:
    return rich(f"Saving {plural(count, 'image')}… I'll post what was saved in a moment.")


def already_saving(count: int) -> Rich:
    return rich(f"I already have {plural(count, 'file')} from this message; the answer is on its way.")


def keeping_until_linked(count: int) -> Rich:
    """Slack: said under the link button when files wait for their sender to link."""
    return rich(
        f"I am keeping the {plural(count, 'file')} you just sent for an hour and will save them as soon "
        "as you link."
    )


def keeping_until_prompt(count: int) -> Rich:
    """Chat: said when the linking prompt was already shown with the message."""
    return rich(
        f"I'm keeping {plural(count, 'file')} for an hour. Connect your Google account with the prompt "
        "above and I save them right away."
    )


# Reasons a download was refused, as sentence endings after the file's name.
SLACK_LOGIN_PAGE = (
    "came back as a Slack sign-in page instead of the file (CloudBox may lack the files:read scope)"
)
SLACK_GONE = "is no longer available in Slack"
SLACK_NOT_A_FILE_HOST = "is not on a Slack file host CloudBox is allowed to download from"
SLACK_NOT_INSTALLED = "could not be saved: CloudBox is no longer installed in this workspace."
GCHAT_DRIVE_FILE = (
    "is a Google Drive file: CloudBox can only save images uploaded into the chat "
    "(download it from Drive and send it here)"
)
GCHAT_BAD_REFERENCE = "could not be downloaded: Chat sent a reference CloudBox cannot use"
GCHAT_REFUSED = "could not be downloaded: Google Chat refused (is the app still in this space?)"
GCHAT_GONE = "is no longer available in Google Chat"
GCHAT_WEB_PAGE = "could not be downloaded: Google Chat answered with a web page"


def gchat_not_an_image(content_type: str) -> str:
    return f"is not an image ({content_type[:60]}); CloudBox keeps images only"


def gchat_http_error(status: int) -> str:
    return f"could not be downloaded from Google Chat (HTTP {status})"


# What became of a file the worker could not save, as sentence endings after its name.
GAVE_UP = "could not be saved: storage or the chat service did not answer. Please send it again."
NOT_LINKED_IN_TIME = "was not saved: no Google account was linked within an hour"
DELETED_MEANWHILE = "was deleted meanwhile"


def explained(failure: CloudBoxError) -> Rich:
    """A storage failure as said in chat: its sentence, and which command helps next."""
    if isinstance(failure, NoSuchImage):
        return rich(line(failure.message, " ", Code("list"), " shows your images."))
    if isinstance(failure, NoSuchLink):
        return rich(line(failure.message, " ", Code("links"), " shows them."))
    return Rich.of(failure.message)


# The "Save to CloudBox" message shortcut.
SHORTCUT_NO_FILES = "That message has no files for CloudBox to save."
SHORTCUT_ALREADY_SAVED = "You already saved the files of that message (or they are being saved now)."

# -- the adapters' own answers ------------------------------------------------------------

GREETING = rich(
    line(
        "Hi, I'm ",
        Emphasis("CloudBox"),
        ": I keep the images you send me in your own library, linked to your Google account.",
    ),
    line("Send me images in a direct message, or mention me with them in a space.", bullet=True),
    line(
        Code("/cloudbox list"),
        " shows your images; ",
        Code("/cloudbox share <image>"),
        " posts a link that expires.",
        bullet=True,
    ),
    line(Code("/cloudbox help"), " lists everything.", bullet=True),
)
GCHAT_REFUSAL = (
    "CloudBox is not available to your organisation. Ask the administrator of this CloudBox to "
    "allow it; nothing you send is kept."
)
SLACK_REFUSAL = (
    "CloudBox is not available to your workspace. Ask the administrator of this CloudBox to allow "
    "it; nothing you send is kept."
)
UNKNOWN_COMMAND = rich(line("I don't know that command. Try ", Code("/cloudbox help"), "."))
NOTHING_CHANGED = rich("OK, nothing changed.")
ARE_YOU_SURE = "Are you sure?"
OK = "OK"
CANCEL = "Cancel"


def confirm_question(title: str, text: str) -> Rich:
    return rich(line(Emphasis(title)), text)


def slack_refused_answer(reference: str) -> Rich:
    return rich(
        line(
            "Sorry, Slack did not take my answer (reference ",
            Code(reference),
            "). Please try again in a moment.",
        )
    )


NOT_ALL_SHOWN = "Not all of this fits in one Slack message."


def preview_of(name: str) -> str:
    return f"Preview of {name}"


# -- App Home -----------------------------------------------------------------------------

HOME_TITLE = "CloudBox"
HOME_NOT_LINKED = rich(
    "Your Google account is not linked yet. Link it and every image you send me "
    "(in a DM, or with a mention) is kept in your own CloudBox library."
)
HOME_LINK_BUTTON = "Link Google account"
HOME_UNLINK_BUTTON = "Unlink"
NO_IMAGES_YET = rich("No images yet.")


def home_linked(email: str) -> Rich:
    return rich(line("Linked to ", Emphasis(email), ". Send me images in a DM to save them."))


def home_recent(total: int) -> Rich:
    return rich(
        line(Emphasis("Recent images"), f" ({total} in all; ", Code("/cloudbox list"), " shows them all)")
    )


def home_links_heading(any_links: bool) -> Rich:
    heading = line(Emphasis("Active links"))
    return rich(heading) if any_links else rich(heading, "None.")


def home_link_line(share_id: str, name: str, views: int, until: str) -> Rich:
    # "views" whatever the count, as the tab has always said
    return rich(line(Code(share_id), f" {name} — {views} views, until {until}"))


def home_turn_off_button(share_id: str) -> str:
    return f"Turn off {share_id}"
