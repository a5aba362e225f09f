"""Real-shaped Google Chat events in both formats, built by the tests."""

from __future__ import annotations

import secrets
from typing import Any

ADA = {
    "name": "users/111111111111",
    "displayName": "Ada Lovelace",
    "email": "ada@example.com",
    "domainId": "c0ffee",
    "type": "HUMAN",
}
DM = {"name": "spaces/DMada", "type": "DM", "spaceType": "DIRECT_MESSAGE", "singleUserBotDm": True}
ROOM = {"name": "spaces/ROOMx", "type": "ROOM", "spaceType": "SPACE", "displayName": "Team"}
CONFIG_COMPLETE = "https://chat.google.com/api/bot_config_complete?token=abc"


def attachment(
    content_name: str = "cat.png", content_type: str = "image/png", *, drive: bool = False
) -> dict[str, Any]:
    ref = secrets.token_urlsafe(12)
    item: dict[str, Any] = {
        "name": f"spaces/DMada/messages/m/attachments/{ref}",
        "contentName": content_name,
        "contentType": content_type,
        "source": "DRIVE_FILE" if drive else "UPLOADED_CONTENT",
    }
    if drive:
        item["driveDataRef"] = {"driveFileId": "1drive" + ref}
    else:
        item["attachmentDataRef"] = {"resourceName": f"resource/{ref}"}
    return item


def _message(
    space: dict[str, Any], text: str, attachments: list[dict[str, Any]] | None, **extra: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": f"{space['name']}/messages/{secrets.token_hex(6)}",
        "sender": ADA,
        "text": text,
        "argumentText": text,
        "thread": {"name": f"{space['name']}/threads/t1"},
        "space": space,
        **extra,
    }
    if attachments:
        message["attachment"] = attachments
    return message


def classic_message(
    text: str = "",
    *,
    attachments: list[dict[str, Any]] | None = None,
    space: dict[str, Any] = DM,
    user: dict[str, Any] = ADA,
) -> dict[str, Any]:
    return {
        "type": "MESSAGE",
        "eventTime": "2026-11-26T10:00:00Z",
        "message": _message(space, text, attachments),
        "user": user,
        "space": space,
        "configCompleteRedirectUrl": CONFIG_COMPLETE,
        "common": {"userLocale": "en", "hostApp": "CHAT"},
    }


def classic_slash(text: str, command_id: str = "7", *, space: dict[str, Any] = DM) -> dict[str, Any]:
    event = classic_message(text, space=space)
    event["message"]["text"] = f"/cloudbox {text}"
    event["message"]["slashCommand"] = {"commandId": command_id}
    return event


def classic_click(parameters: dict[str, str], *, space: dict[str, Any] = DM) -> dict[str, Any]:
    return {
        "type": "CARD_CLICKED",
        "message": _message(space, "", None),
        "user": ADA,
        "space": space,
        "action": {
            "actionMethodName": "cloudbox",
            "parameters": [{"key": k, "value": v} for k, v in parameters.items()],
        },
        "common": {"invokedFunction": "cloudbox", "parameters": parameters},
    }


def classic_added(space: dict[str, Any] = ROOM) -> dict[str, Any]:
    return {"type": "ADDED_TO_SPACE", "user": ADA, "space": space}


def classic_removed(space: dict[str, Any] = ROOM) -> dict[str, Any]:
    return {"type": "REMOVED_FROM_SPACE", "user": ADA, "space": space}


def _addon(
    payload_name: str, payload: dict[str, Any], parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    common: dict[str, Any] = {"hostApp": "CHAT", "userLocale": "en", "platform": "WEB"}
    if parameters is not None:
        common["parameters"] = parameters
    return {
        "commonEventObject": common,
        "authorizationEventObject": {"systemIdToken": "not-used-by-cloudbox"},
        "chat": {"user": ADA, "eventTime": "2026-11-26T10:00:00Z", payload_name: payload},
    }


def addon_message(
    text: str = "", *, attachments: list[dict[str, Any]] | None = None, space: dict[str, Any] = DM
) -> dict[str, Any]:
    return _addon(
        "messagePayload",
        {
            "message": _message(space, text, attachments),
            "space": space,
            "configCompleteRedirectUri": CONFIG_COMPLETE,
        },
    )


def addon_command(text: str, command_id: int = 7, *, space: dict[str, Any] = DM) -> dict[str, Any]:
    return _addon(
        "appCommandPayload",
        {
            "message": _message(space, text, None),
            "space": space,
            "appCommandMetadata": {"appCommandId": command_id, "appCommandType": "SLASH_COMMAND"},
            "configCompleteRedirectUri": CONFIG_COMPLETE,
        },
    )


def addon_click(parameters: dict[str, str], *, space: dict[str, Any] = DM) -> dict[str, Any]:
    return _addon("buttonClickedPayload", {"message": _message(space, "", None), "space": space}, parameters)


def addon_added(space: dict[str, Any] = ROOM) -> dict[str, Any]:
    return _addon("addedToSpacePayload", {"space": space, "interactionAdd": False})


def addon_removed(space: dict[str, Any] = ROOM) -> dict[str, Any]:
    return _addon("removedFromSpacePayload", {"space": space})
