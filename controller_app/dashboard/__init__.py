"""The web dashboard at /dashboard/: server-rendered pages (Jinja2) over the same services, the same sign-in and
the same permission rules as the API. Mounted by controller_app/main.py; the ASGI app is site.app."""
