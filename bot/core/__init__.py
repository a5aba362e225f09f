"""The platform-neutral command core shared by the Slack and Google Chat bots.

It parses `/cloudbox …` text into commands and answers with neutral `Reply` objects that each
adapter renders (Block Kit, Chat cards). It does no I/O of its own beyond the library calls.
"""
