"""The platform-neutral command core shared by the Slack and Google Chat bots.

It parses `/cloudbox …` text into commands (`commands`) and answers with neutral `Reply`
objects (`replies`) whose words are `Rich` text (`rich`), all taken from `messages`; each
adapter renders them (Block Kit, Chat cards). It writes no platform's markup and does no I/O
of its own beyond the library calls.
"""
