"""Parts of ``bench/ingest.py``: the estate's events, worker runs, and the Amundsen peer."""
