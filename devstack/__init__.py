"""The local service stack and the demo estate: for development, outside the wheel and the image."""
