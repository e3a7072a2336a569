"""Audits per client organisation (O29)."""
