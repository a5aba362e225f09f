from datetime import timedelta

import pytest

from bot.core import commands as c


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", c.Help()),
        ("help", c.Help()),
        ("LIST", c.ListImages(1, "")),
        ("list 3", c.ListImages(3, "")),
        ("list 2 beach  sunset", c.ListImages(2, "beach sunset")),
        ("list beach", c.ListImages(1, "beach")),
        ("share k3m9x2abcd", c.ShareImage("k3m9x2abcd", None)),
        ("share my cat.png for 3 days", c.ShareImage("my cat.png", timedelta(days=3))),
        (
            "share “holiday photo.jpg” for 90 minutes",
            c.ShareImage("holiday photo.jpg", timedelta(minutes=90)),
        ),
        ("share x for 1w", c.ShareImage("x", timedelta(weeks=1))),
        ("delete k3m9x2abcd", c.DeleteImage("k3m9x2abcd", False)),
        ("delete k3m9x2abcd confirm", c.DeleteImage("k3m9x2abcd", True)),
        ("unshare https://box.example/s/abc", c.Unshare("https://box.example/s/abc")),
        ("links", c.Links()),
        ("unlink", c.Unlink("")),
        ("unlink keep", c.Unlink("keep")),
        ("whoami", c.WhoAmI()),
        ("link", c.Link()),
    ],
)
def test_parse_understands_every_verb(text, expected):
    assert c.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("frobnicate", "don't know"),
        ("share", "Which image"),
        ("share cat.png for ever", "not a duration"),
        ("delete", "Which image"),
        ("list 0", "Pages start at 1"),
        ("unlink maybe", "unlink keep"),
        ("list " + "x" * 2000, "too long"),
    ],
)
def test_parse_explains_what_is_wrong(text, problem):
    command = c.parse(text)
    assert isinstance(command, c.Invalid)
    assert problem in command.problem
