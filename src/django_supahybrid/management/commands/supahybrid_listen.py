"""``manage.py supahybrid_listen``: print realtime notifications as they arrive."""

from __future__ import annotations

import itertools
import json
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_supahybrid.realtime import Listener, channel_name, listen


class Command(BaseCommand):
    help = (
        "LISTEN on realtime channels and print each notification as one JSON line "
        "(channel, payload). Name channels directly, or with --model and --user / "
        "--organization."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("channels", nargs="*", help="channel names to listen on")
        parser.add_argument("--model", help="app_label.ModelName whose events to listen to")
        parser.add_argument("--user", action="append", default=[], help="a user id (repeatable)")
        parser.add_argument(
            "--organization", action="append", default=[], help="an organization id (repeatable)"
        )
        parser.add_argument("--database", help="database alias (default: the setting)")
        parser.add_argument("--count", type=int, help="stop after this many notifications")

    def handle(self, *args: Any, **options: Any) -> None:
        channels = list(options["channels"])
        if options["model"]:
            try:
                model = apps.get_model(options["model"])
            except (LookupError, ValueError) as exc:
                raise CommandError(f"Unknown model {options['model']!r}: {exc}") from exc
            channels += [channel_name(model, "user", user) for user in options["user"]]
            channels += [channel_name(model, "organization", o) for o in options["organization"]]
            if not options["user"] and not options["organization"]:
                channels.append(channel_name(model))
        elif options["user"] or options["organization"]:
            raise CommandError("--user and --organization need --model.")
        if not channels:
            raise CommandError("Name at least one channel, or --model.")
        self.stderr.write(f"Listening on {', '.join(channels)}")
        with listen(channels, using=options["database"]) as listener:
            self._print(listener, options["count"])

    def _print(self, listener: Listener, count: int | None) -> None:
        for notification in itertools.islice(listener, count):
            assert notification is not None  # only a timeout yields None; none is passed
            line = {"channel": notification.channel, "payload": notification.data}
            if line["payload"] is None:
                line["payload"] = notification.payload
            self.stdout.write(json.dumps(line))
            self.stdout.flush()
