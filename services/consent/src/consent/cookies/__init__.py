"""Cookie choices of anonymous visitors and Google Consent Mode v2."""
