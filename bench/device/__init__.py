"""The device machine's one command (``bash bench/device/run.sh``): its plan, the preflight that
fails fast on a missing package, and the ingest of the archive it sends back. No torch here
except in the preflight, so the plan and the ingest run anywhere."""
