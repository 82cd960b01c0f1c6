"""The web console: server-rendered pages (Jinja2) over central's own state and store."""
