"""Views: text as the real tools print it, DOT diagrams, and notebook displays. They compute no behaviour."""
