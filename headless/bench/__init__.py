"""``collapse bench``: Collapse against the manual Blender workflow, measured side by side.

For one scene and a list of sizes (shard counts) it runs the Collapse pipeline and the manual
baseline (``manual_workflow``), alternating the two, every stage group in its own fresh
Python + Blender process, and reports per stage (building, fracture, assembly, bake, render,
finalize): wall time, CPU time, peak memory and throughput; the ratio manual / Collapse per stage
and for the whole shot; the time from the scene's settings to the first rendered frame after the
trigger; a scaling table with each stage's growth exponent; and, apart, the artist-time model.
Outputs: a terminal table, ``bench.json`` and ``bench.png``. See docs/benchmark.md.

Timing rules. A stage's *work* time is measured inside its process, from after Blender has opened
the stage's input file to before it saves its output (the same for both routes); each process's
own wall time, CPU time and peak resident memory (``os.wait4``) are recorded too, and the
settings-to-first-frame time counts whole processes. Per-stage peak memory is the kernel's
high-water mark, reset at the start of the stage (``/proc/self/clear_refs``).

The package, outside the Blender extension (it ships with the ``collapse`` command, not the add-on):

- ``shot``: the plain-data shot both routes make from a scene file at one size.
- ``probes``: peak memory, frame times and the machine's description, read from the OS.
- ``processes``: one stage group per fresh child process (``python -m headless.bench --child``).
- ``manual_workflow``: the manual baseline, Blender's own operators in an artist's order.
- ``artist_time``: the artist-time model (estimated seconds per UI action; never measured).
- ``analysis``: medians, ratios, growth exponents, extrapolation, the bars, comparisons.
- ``report``: the terminal table and the chart.
- ``cli``: ``collapse bench`` itself.
"""
