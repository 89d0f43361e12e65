"""Live sources: fetching URLs politely, parsing feeds, extracting article pages."""
