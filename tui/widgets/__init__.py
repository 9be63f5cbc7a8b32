"""Dashboard widgets: one panel per module, each redrawn from ``tui.state`` by the app timer."""
