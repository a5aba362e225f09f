"""The core's Rich text as each platform writes it: Slack mrkdwn, Chat message markup, card HTML.

Pure renderers, no stand-ins: other people's words inside emphasis or code are escaped the way
each surface needs, and the rendered messages still pass the platforms' own models.
"""

from bot.core import messages
from bot.core.commands import Actor, ListImages, parse
from bot.core.replies import Button, ImageItem, Reply
from bot.core.rich import Code, Emphasis, LinkTo, Rich, line, rich
from bot.gchat import cards
from bot.slack import blocks
from storage.accounts import Identity
from storage.library import Image
from tests.core.test_platform_models import assert_chat_accepts, assert_slack_accepts
from tests.fakes import an_image

HOSTILE = "<!channel> & <https://evil.example|click>"


def _image(name: str = HOSTILE) -> Image:
    return an_image(name)


def test_slack_escapes_other_peoples_text_inside_emphasis_and_code() -> None:
    text = rich(line(Emphasis("<!channel> & co"), " said ", Code("<@U2>"), " to <!here>"))
    assert blocks.mrkdwn_text(text) == "*&lt;!channel&gt; &amp; co* said `&lt;@U2&gt;` to &lt;!here&gt;"


def test_slack_links_use_its_link_form_only_for_links_cloudbox_makes() -> None:
    text = rich(
        line(LinkTo("https://cloudbox.example/?a=1&b=2", "my <library>"), " ", LinkTo("https://x.example/"))
    )
    assert blocks.mrkdwn_text(text) == (
        "<https://cloudbox.example/?a=1&amp;b=2|my &lt;library&gt;> https://x.example/"
    )


def test_list_items_and_lines_keep_their_order_and_bullets_on_every_surface() -> None:
    text = rich("Commands:", line(Code("help"), " — what CloudBox can do", bullet=True))
    assert blocks.mrkdwn_text(text) == "Commands:\n• `help` — what CloudBox can do"
    assert cards.chat_text(text) == "Commands:\n• `help` — what CloudBox can do"
    assert cards._card_text(text) == 'Commands:<br>• <font color="#5f6368">help</font> — what CloudBox can do'


def test_chat_message_text_makes_angle_brackets_inert_even_inside_marks() -> None:
    text = rich(line(Emphasis("<users/all>"), " ", Code("<b>"), " plain <x|y>"))
    rendered = cards.chat_text(text)
    assert rendered == "*‹users/all›* `‹b›` plain ‹x|y›"
    assert "<" not in rendered and ">" not in rendered


def test_chat_cards_get_html_and_never_read_stars_in_other_peoples_text_as_bold() -> None:
    text = rich(
        line(Emphasis("a*b.png"), " and *not bold* <i>"), line(LinkTo("https://x.example/?a&b", "go"))
    )
    assert cards._card_text(text) == (
        '<b>a*b.png</b> and *not bold* &lt;i&gt;<br><a href="https://x.example/?a&amp;b">go</a>'
    )


def test_read_as_text_a_rich_is_the_common_notation() -> None:
    text = messages.refusal("cat.pdf", "is a PDF, not an image")
    assert str(text) == "*cat.pdf* is a PDF, not an image"
    assert "*cat.pdf*" in text and text.splitlines() == [str(text)]
    assert str(messages.refusal("", "Timed out")) == "*a file*: Timed out"


def test_a_plain_string_given_to_a_reply_is_plain_text() -> None:
    reply = Reply("*not* `marked`", notes=["<n>"], more="…and 3 more")
    assert isinstance(reply.text, Rich) and reply.text == Rich.of("*not* `marked`")
    assert cards._card_text(reply.text) == "*not* `marked`"
    assert [str(n) for n in reply.notes] == ["<n>"] and str(reply.more) == "…and 3 more"


def test_hostile_names_render_inert_and_pass_both_platforms_models() -> None:
    image = _image()
    item = ImageItem(image, None, "2.0 KB · 64×48", [Button("Share", command=f"share {image.id}")])
    text = rich(line(Emphasis(image.name), " ", Code(image.id)), messages.LINKED_NOW)
    reply = Reply(text, items=[item], notes=[messages.refusal(HOSTILE, "is not an image")])
    message = blocks.message(reply)
    assert_slack_accepts(message)
    assert "<!channel>" not in str(message) and "&lt;!channel&gt;" in message["text"]
    body = cards.message(reply, fmt="classic", endpoint_url="https://cloudbox.example/gchat/events")
    assert_chat_accepts(body)
    assert "<!channel>" not in body["text"] and "<https://evil" not in str(body["cardsV2"])


def test_the_home_reply_renders_as_a_home_view() -> None:
    reply = Reply(
        messages.home_linked("alice@example.com"),
        title=messages.HOME_TITLE,
        buttons=[Button(messages.HOME_UNLINK_BUTTON, command="unlink")],
    )
    view = blocks.home(reply)
    assert view["type"] == "home"
    assert [b["type"] for b in view["blocks"]] == ["header", "section", "actions"]
    assert (
        view["blocks"][1]["text"]["text"]
        == "Linked to *alice@example.com*. Send me images in a DM to save them."
    )


def test_the_core_runs_a_command_parsed_before_it(chat) -> None:  # type: ignore[no-untyped-def]
    actor = Actor(Identity("slack", "T1", "U1"))
    assert parse("list 2 beach") == ListImages(2, "beach")
    assert chat.core.run(actor, parse("help")) == chat.core.handle(actor, "help")
