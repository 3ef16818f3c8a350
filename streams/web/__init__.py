"""The built-in dashboard: an HTTP server with a static page and a JSON API over the views."""
