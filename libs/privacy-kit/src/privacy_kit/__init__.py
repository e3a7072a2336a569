"""Privacy kit: what every Privacy Suite service shares. No business rules live here."""
