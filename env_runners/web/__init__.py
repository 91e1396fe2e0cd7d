"""The `web` environment: a real browser (Chromium via Playwright) on a real web application (Trac by default)."""
