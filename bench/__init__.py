"""sret-bench harness: measurements, the paper-claims gate and the report."""
