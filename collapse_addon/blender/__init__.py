"""bpy glue for Collapse: scene assembly, rigid bodies, triggers, bake, export.

Only this package imports bpy. Its maths-free modules turn what ``collapse_addon.core`` computes
into Blender data in bulk; ``simulation`` is the facade the CLI and the add-on call.
"""
