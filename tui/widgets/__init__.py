"""Dashboard widgets: one panel per module, each redrawn from ``tui.core.state`` by a timer."""
