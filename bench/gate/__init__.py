"""The gate: the published figures and the official recordings (spec) against the measurements, to
statuses and an exit code."""
