"""Google Chat events, in either of the two formats Google sends, as neutral dataclasses.

Classic Chat apps receive `{type, message, user, space, action, common,
configCompleteRedirectUrl, appCommandMetadata}`; Chat apps built as Google Workspace add-ons
receive `{commonEventObject, authorizationEventObject, chat: {user, messagePayload |
appCommandPayload | addedToSpacePayload | removedFromSpacePayload | buttonClickedPayload}}`.
Everything past this module sees only `ChatEvent`; `format` remembers which schema to answer in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Format = Literal["classic", "addon"]
Kind = Literal["message", "command", "added", "removed", "click", "other"]

_ADDON_PAYLOADS: dict[str, Kind] = {
    "messagePayload": "message",
    "appCommandPayload": "command",
    "addedToSpacePayload": "added",
    "removedFromSpacePayload": "removed",
    "buttonClickedPayload": "click",
}
_CLASSIC_TYPES: dict[str, Kind] = {
    "MESSAGE": "message",
    "APP_COMMAND": "command",
    "ADDED_TO_SPACE": "added",
    "REMOVED_FROM_SPACE": "removed",
    "CARD_CLICKED": "click",
    "SUBMIT_FORM": "click",
}


class BadEvent(ValueError):
    """A verified request whose body is not a Chat event we understand."""


@dataclass(frozen=True)
class ChatUser:
    name: str  # "users/<id>", stable across spaces and formats
    display_name: str = ""
    email: str = ""
    domain_id: str = ""
    is_human: bool = True


@dataclass(frozen=True)
class Attachment:
    name: str  # the attachment's own resource name
    content_name: str
    content_type: str
    source: str  # "UPLOADED_CONTENT" or "DRIVE_FILE"
    resource_name: str  # attachmentDataRef.resourceName: what the media endpoint downloads

    @property
    def from_drive(self) -> bool:
        return self.source == "DRIVE_FILE" or not self.resource_name

    @property
    def file_id(self) -> str:
        """Unique per upload: the key that makes the same file arriving twice one job."""
        return self.resource_name or self.name


@dataclass(frozen=True)
class ChatEvent:
    format: Format
    kind: Kind
    user: ChatUser | None
    space_name: str = ""
    space_is_dm: bool = False
    message_name: str = ""
    thread_name: str = ""
    text: str = ""  # what follows the mention or slash command; the whole text in a DM
    command_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    parameters: dict[str, str] = field(default_factory=dict)
    config_complete_url: str | None = None
    raw_type: str = ""


def parse_event(body: Any) -> ChatEvent:
    """Recognise the format and read the fields CloudBox needs; BadEvent for anything else."""
    if not isinstance(body, dict):
        raise BadEvent("event body is not a JSON object")
    if isinstance(body.get("chat"), dict):
        return _addon(body)
    if isinstance(body.get("type"), str):
        return _classic(body)
    raise BadEvent("neither a Chat event nor a Workspace add-on event")


# -- classic ----------------------------------------------------------------------------


def _classic(body: dict[str, Any]) -> ChatEvent:
    raw_type = body["type"]
    kind = _CLASSIC_TYPES.get(raw_type, "other")
    message = _dict(body.get("message"))
    space = _dict(body.get("space")) or _dict(message.get("space"))
    command_id = _slash_command_id(message) or _app_command_id(body.get("appCommandMetadata"))
    if kind == "message" and command_id is not None:
        kind = "command"
    parameters = _parameter_list(_dict(body.get("action")).get("parameters"))
    parameters.update(_parameter_map(_dict(body.get("common")).get("parameters")))
    return ChatEvent(
        format="classic",
        kind=kind,
        user=_user(body.get("user")) or _user(message.get("sender")),
        command_id=command_id,
        parameters=parameters,
        **_where_and_what(space, message),
        config_complete_url=_str(body.get("configCompleteRedirectUrl")) or None,
        raw_type=raw_type,
    )


def _where_and_what(space: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """The fields both formats carry the same way: the space and the message itself."""
    return {
        "space_name": _str(space.get("name")),
        "space_is_dm": _is_dm(space),
        "message_name": _str(message.get("name")),
        "thread_name": _str(_dict(message.get("thread")).get("name")),
        "text": _message_text(message),
        "attachments": _attachments(message),
    }


# -- Workspace add-on -------------------------------------------------------------------


def _addon(body: dict[str, Any]) -> ChatEvent:
    chat = body["chat"]
    name, payload = next(((k, _dict(chat[k])) for k in _ADDON_PAYLOADS if k in chat), ("", {}))
    kind: Kind = _ADDON_PAYLOADS.get(name, "other")
    message = _dict(payload.get("message"))
    space = _dict(payload.get("space")) or _dict(message.get("space"))
    command_id = _app_command_id(payload.get("appCommandMetadata")) or _slash_command_id(message)
    if kind == "message" and command_id is not None:
        kind = "command"
    return ChatEvent(
        format="addon",
        kind=kind,
        user=_user(chat.get("user")) or _user(message.get("sender")),
        command_id=command_id,
        **_where_and_what(space, message),
        parameters=_parameter_map(_dict(body.get("commonEventObject")).get("parameters")),
        config_complete_url=_str(payload.get("configCompleteRedirectUri")) or None,
        raw_type=name or "unknown",
    )


# -- shared pieces ----------------------------------------------------------------------


def _user(raw: Any) -> ChatUser | None:
    user = _dict(raw)
    name = _str(user.get("name"))
    if not name:
        return None
    return ChatUser(
        name=name,
        display_name=_str(user.get("displayName")),
        email=_str(user.get("email")),
        domain_id=_str(user.get("domainId")),
        is_human=_str(user.get("type")) in ("", "HUMAN"),
    )


def _is_dm(space: dict[str, Any]) -> bool:
    # `type` is the older field (DM/ROOM), `spaceType` the current one.
    return (
        space.get("type") == "DM"
        or space.get("spaceType") == "DIRECT_MESSAGE"
        or bool(space.get("singleUserBotDm"))
    )


def _message_text(message: dict[str, Any]) -> str:
    # argumentText drops the @mention or the slash command; a plain DM has both equal.
    if "argumentText" in message:
        return _str(message.get("argumentText")).strip()
    return _str(message.get("text")).strip()


def _slash_command_id(message: dict[str, Any]) -> str | None:
    command = _dict(message.get("slashCommand"))
    if "commandId" in command:
        return str(command["commandId"])
    for annotation in _list(message.get("annotations")):
        slash = _dict(_dict(annotation).get("slashCommand"))
        if "commandId" in slash:
            return str(slash["commandId"])
    return None


def _app_command_id(raw: Any) -> str | None:
    metadata = _dict(raw)
    return str(metadata["appCommandId"]) if "appCommandId" in metadata else None


def _attachments(message: dict[str, Any]) -> tuple[Attachment, ...]:
    found = []
    for raw in _list(message.get("attachment") or message.get("attachments")):
        item = _dict(raw)
        if not item:
            continue
        found.append(
            Attachment(
                name=_str(item.get("name")),
                content_name=_str(item.get("contentName")) or "image",
                content_type=_str(item.get("contentType")),
                source=_str(item.get("source")) or "UPLOADED_CONTENT",
                resource_name=_str(_dict(item.get("attachmentDataRef")).get("resourceName")),
            )
        )
    return tuple(found)


def _parameter_list(raw: Any) -> dict[str, str]:
    return {
        _str(p.get("key")): _str(p.get("value")) for p in _list(raw) if isinstance(p, dict) and p.get("key")
    }


def _parameter_map(raw: Any) -> dict[str, str]:
    return {str(k): _str(v) for k, v in _dict(raw).items()}


def _list(value: Any) -> list[Any]:
    # A verified body can still hold any JSON where a list belongs: never iterate a number.
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))
