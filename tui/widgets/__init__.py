"""Dashboard widgets: one panel per module, each redrawn from ``ocrtop.tui.core.state`` by a
timer."""
