"""What is published and what the suite holds it to, as data, importing neither torch nor timm:
the figures, claims, deviations, baselines, unchecked claims and the official code's recordings
in ``expected/``, the rounding rule and the statuses."""
