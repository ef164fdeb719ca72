"""Reports from the event log: volume, response times, SLA, satisfaction, workload.

`load.py` reads conversations opened in a period and their events through the store in
batches; `compute.py` turns them into a `Report` (pure, fixed clock); `render_*.py` print
it as a terminal table, CSV, JSON or one self-contained HTML file. Definitions of every
figure are in docs/reports.md and in compute.py's docstrings.
"""
