"""Views: text, DOT and tables that print what the real tools print; they never compute network behaviour."""
