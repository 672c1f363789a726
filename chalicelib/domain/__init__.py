"""Pure business rules: no AWS, no web framework, no I/O. Time and randomness are passed in."""
