"""Screens of the dashboard app: the dashboard itself and its modal dialogs."""
