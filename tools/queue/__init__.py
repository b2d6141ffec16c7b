"""Ingestion past one machine (`ingest.queue: celery`): jobs, syncs and their steps as tasks
on a broker, run by `vinarag worker` processes on any machine that reaches the broker, the job
records (PostgreSQL) and the store."""
