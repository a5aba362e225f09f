"""Real local stand-ins for the systems CloudBox talks to (see shared TESTSTAND)."""
