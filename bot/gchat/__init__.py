"""The Google Chat bot: verified events in, Chat cards out."""
