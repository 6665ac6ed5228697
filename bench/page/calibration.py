"""The page's note on the speed gate: the noise floor ``bench.compare`` uses, and the A/A pairs it rests on.

A speed verdict is only as good as the floor under it: this shows how many separate runs of one
configuration (A/A pairs) each candidate floor would have called a change, the floor chosen, and
how many deliberately slowed pairs that floor still catches.
"""
from __future__ import annotations

from bench.page.markdown import date, device_label
from bench.page.results import Results
from bench.page.section import Section, Table

CALIBRATION = "speed-gate-calibration"


def calibration_section(results: Results) -> list[Section]:
    """One section per calibration file: alarms per floor, the chosen floor, detection of slowed pairs."""
    sections = []
    for name, document in results.speed_calibration:
        floor = document["chosen_floor"]
        section = Section(f"Speed gate calibration ({device_label(document['environment'])})", key=CALIBRATION)
        section.add(f"Measured {date(document)}: {len(document['file_pairs'])} A/A pairs (the same command and "
                    f"configuration, timed in separate runs), {document['compared']} configurations compared; "
                    f"significance p < {document['alpha']} (Mann-Whitney U). {document['rule'].capitalize()}: "
                    f"**{floor:.2f}**, the default floor of `python -m bench.compare`.")
        shown = [row for row in document["alarms_per_floor"] if row["floor"] <= max(floor, 0.1) + 1e-9]
        section.add(Table([[f"{row['floor']:.2f}", row["alarms"], row["file_pairs_with_alarms"]] for row in shown],
                          ["floor (|ratio - 1|)", "false alarms (configurations)", "A/A pairs with an alarm"],
                          [name]))
        detection = document.get("detection")
        if detection:
            section.add(f"At that floor, {detection['flagged_slower']} of {detection['compared']} deliberately slowed "
                        f"configurations ({detection['file_pairs_flagged']} of {len(detection['file_pairs'])} pairs: "
                        "the same command at 1 thread instead of 2) are flagged `slower`.")
        else:
            section.add("Detection of slowed pairs: not measured (no `--slowed` pairs in this calibration).")
        sections.append(section)
    return sections
