"""The web layer shared by every domain: middleware, dependencies, templates, static assets."""
