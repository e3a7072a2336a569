"""One-click unsubscribe links (O12, RFC 8058)."""
