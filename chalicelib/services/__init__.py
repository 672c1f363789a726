"""One function per user action. Dependencies (actor, clock, randomness) come in as arguments."""
