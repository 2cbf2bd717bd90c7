"""CLI options that override a scene key: help and range from the one field table.

Kept out of the CLI modules so ``headless/cli.py`` and ``headless/farm/cli.py`` share it. The
table is read when an option is shown or used, never at import: numpy must not start its
threads before ``headless.cli.main`` sets the signal mask.
"""

from __future__ import annotations

import click


class FieldOption(click.Option):
    """An option that overrides a scene key (``key="render.threads"``): its help and range come
    from the field table, read when shown or used (not at import: numpy must not start its
    threads before ``main`` sets the signal mask)."""

    def __init__(self, *args, key: str, **kwargs):
        self.key = key
        super().__init__(*args, **kwargs)

    def _field(self):
        from collapse_addon.core.settings import SECTIONS

        section, name = self.key.split(".")
        return SECTIONS[section], name

    def get_help_record(self, ctx):
        from collapse_addon.core.field_meta import option_help

        self.help = option_help(*self._field(), self.key)
        return super().get_help_record(ctx)

    def process_value(self, ctx, value):
        value = super().process_value(ctx, value)
        if value is not None and not isinstance(value, str):
            from collapse_addon.core.field_meta import (
                allowed_text,
                field_kind,
                field_meta,
                in_range,
            )

            spec_type, name = self._field()
            meta = field_meta(spec_type, name)
            if meta.get("range") is not None and not in_range(value, meta):
                raise click.BadParameter(f"{value} is outside {self.key}'s "
                                         f"{allowed_text(meta, field_kind(spec_type, name))}")
        return value
