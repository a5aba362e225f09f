"""Rendering the command core's neutral `Reply` as Google Chat messages and event responses.

The core's `Rich` text is rendered twice here: as Chat's message markup (`*bold*`, `` `code` ``,
`<url|label>`) for a message's `text`, and as the HTML subset card widgets take (`<b>`, `<font>`,
`<a>`, `<br>`). A message is that `text` plus one `cardsV2` card with a preview image and Share /
Delete buttons per image. Clicking a button sends the command text back in the action parameters.
Replies are private (`privateMessageViewer`) in spaces unless the core marks them public (`share`).

Responses to an event use the schema of the event: a classic event gets the message itself
(`actionResponse` for clicks and REQUEST_CONFIG), an add-on event gets it wrapped in
`hostAppDataAction.chatDataAction.createMessageAction` (and `basic_authorization_prompt` for
account linking).
"""

from __future__ import annotations

import html
import itertools
from typing import Any

from bot.core import messages
from bot.core.replies import Button, ImageItem, Reply
from bot.core.rich import Markup, Rich
from storage.words import clip

from .events import ChatEvent, Format

CLASSIC_ACTION = "cloudbox"  # classic apps get every click on the one endpoint, by this name
COMMAND_PARAM = "command"
CANCEL_PARAM = "cancelled"
CONFIRM_PARAMS = ("confirm_title", "confirm_text", "confirm_ok", "confirm_cancel")
MAX_TEXT = 4000  # Chat's limit is 4,096 characters
_DANGER = {"red": 0.75, "green": 0.11, "blue": 0.11, "alpha": 1}
_card_ids = itertools.count(1)


def message(reply: Reply, *, fmt: Format, endpoint_url: str, viewer: str | None = None) -> dict[str, Any]:
    """A Chat `Message` for a reply; `viewer` (users/<id>) makes it private to that person."""
    text = reply.text
    if reply.items and not reply.public:
        # The card lists every image; the text only introduces it.
        text = Rich.of(reply.title) if reply.title else Rich(reply.text.lines[:1])
    body: dict[str, Any] = {"text": clip(chat_text(text), MAX_TEXT)}
    card = _card(reply, fmt, endpoint_url)
    if card is not None:
        body["cardsV2"] = [{"cardId": f"cloudbox-{next(_card_ids)}", "card": card}]
    if viewer:
        body["privateMessageViewer"] = {"name": viewer}
    return body


def short_message(reply: Reply, *, viewer: str | None = None) -> dict[str, Any]:
    """The reply's text alone, for when Chat refuses the message with its card."""
    body: dict[str, Any] = {"text": clip(chat_text(reply.text), MAX_TEXT)}
    if viewer:
        body["privateMessageViewer"] = {"name": viewer}
    return body


def respond(event: ChatEvent, body: dict[str, Any]) -> dict[str, Any]:
    """Answer an event with a new message, in the event's own schema."""
    if event.format == "addon":
        return {"hostAppDataAction": {"chatDataAction": {"createMessageAction": {"message": body}}}}
    if event.kind == "click":
        return {"actionResponse": {"type": "NEW_MESSAGE"}, **body}
    return body


def request_config(event: ChatEvent, url: str) -> dict[str, Any]:
    """Ask Chat to show the person a private prompt with their account-linking URL."""
    if event.format == "addon":
        return {"basic_authorization_prompt": {"authorization_url": url, "resource": "CloudBox"}}
    return {"actionResponse": {"type": "REQUEST_CONFIG", "url": url}}


def confirmation(params: dict[str, str]) -> Reply:
    """The question a button with a confirm step asks before its command runs."""
    title, text, ok, cancel = (params.get(k, "") for k in CONFIRM_PARAMS)
    command = params.get(COMMAND_PARAM, "")
    title = title or messages.ARE_YOU_SURE
    return Reply(
        messages.confirm_question(title, text),
        title=title,
        buttons=[
            Button(ok or messages.OK, command=command, style="danger"),
            Button(cancel or messages.CANCEL, command=None),
        ],
    )


# -- the card ---------------------------------------------------------------------------


def _card(reply: Reply, fmt: Format, endpoint_url: str) -> dict[str, Any] | None:
    sections = [_item_section(item, fmt, endpoint_url) for item in reply.items]
    if reply.more and reply.items:
        sections.append({"widgets": [{"textParagraph": {"text": _card_text(reply.more)}}]})
    if reply.notes and reply.items:
        paragraph = "<br>".join(_card_text(n) for n in reply.notes)
        sections.append({"header": messages.NOT_SAVED, "widgets": [{"textParagraph": {"text": paragraph}}]})
    if reply.buttons:
        if not reply.items:
            sections.append({"widgets": [{"textParagraph": {"text": _card_text(reply.text)}}]})
        sections.append({"widgets": [_button_list(reply.buttons, fmt, endpoint_url)]})
    if not sections:
        return None
    card: dict[str, Any] = {"sections": sections}
    if reply.title:
        card["header"] = {"title": clip(reply.title, 200)}
    return card


def _item_section(item: ImageItem, fmt: Format, endpoint_url: str) -> dict[str, Any]:
    image = item.image
    widgets: list[dict[str, Any]] = []
    if item.preview_url:
        widgets.append({"image": {"imageUrl": item.preview_url, "altText": clip(image.name, 200)}})
    widgets.append(
        {"decoratedText": {"topLabel": image.id, "text": html.escape(item.subtitle), "wrapText": True}}
    )
    if item.buttons:
        widgets.append(_button_list(item.buttons, fmt, endpoint_url))
    return {"header": html.escape(clip(image.name, 200)), "widgets": widgets}


def _button_list(buttons: list[Button], fmt: Format, endpoint_url: str) -> dict[str, Any]:
    return {"buttonList": {"buttons": [_button(b, fmt, endpoint_url) for b in buttons]}}


def _button(button: Button, fmt: Format, endpoint_url: str) -> dict[str, Any]:
    rendered: dict[str, Any] = {"text": clip(button.label, 80)}
    if button.url:
        rendered["onClick"] = {"openLink": {"url": button.url}}
    else:
        params = {COMMAND_PARAM: button.command} if button.command else {CANCEL_PARAM: "1"}
        if button.confirm is not None:
            confirm = button.confirm
            values = (confirm.title, confirm.text, confirm.ok, confirm.cancel)
            params.update({k: v for k, v in zip(CONFIRM_PARAMS, values, strict=True)})
        # Add-on apps must name the endpoint URL; classic apps get a function name.
        function = endpoint_url if fmt == "addon" else CLASSIC_ACTION
        rendered["onClick"] = {
            "action": {
                "function": function,
                "parameters": [{"key": k, "value": v} for k, v in params.items()],
            }
        }
    if button.style == "primary":
        rendered["type"] = "FILLED"
    elif button.style == "danger":
        rendered["type"] = "FILLED"
        rendered["color"] = _DANGER
    return rendered


def chat_text(text: Rich) -> str:
    """Rich text in Chat's message markup; other people's words are made inert (see `_inert`)."""
    return _MESSAGE_MARKUP.render(text)


def _card_text(text: Rich) -> str:
    """Card widgets take Chat's HTML subset, not message markup."""
    return _CARD_MARKUP.render(text)


def _inert(text: str) -> str:
    """Message text carries file names (other people's words), and Chat reads `<users/all>`
    as @all and `<url|label>` as a link, with no escape for them, so every angle bracket in
    text is shown as a look-alike that Chat does not parse; only links CloudBox makes keep theirs."""
    return text.replace("<", "\u2039").replace(">", "\u203a")


_MESSAGE_MARKUP = Markup(escape=_inert, emphasis="*{}*", code="`{}`", link="<{url}|{label}>")
_CARD_MARKUP = Markup(
    escape=html.escape,
    emphasis="<b>{}</b>",
    code='<font color="#5f6368">{}</font>',
    link='<a href="{url}">{label}</a>',
    newline="<br>",
)
