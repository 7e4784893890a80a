"""Performance harness for the portal (GitHub issue 8). Entry point: ``python -m bench.run``."""
