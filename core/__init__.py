"""The shared kernel: URNs, event envelopes, topics, checks, settings and the kinds registry.

Every other package imports ``core``; ``core`` imports none of them.
"""

__version__ = "0.1.0"
