"""OpenLineage ingestion: validate RunEvent, DatasetEvent and JobEvent (spec 2.x) against the
official JSON Schema and wrap them in the CloudEvents envelope of ``datawave.lineage.v1``; the
graph side (jobs, runs, datasets, FEEDS) is graph/runs.py."""
