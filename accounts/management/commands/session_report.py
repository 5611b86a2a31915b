"""Print active sessions by kind, expired rows awaiting purge and the last day's events."""

import json

from django.core.management.base import BaseCommand

from accounts.monitoring.dashboard import session_report


class Command(BaseCommand):
    help = (
        "Count active sessions by kind, expired rows waiting for purge_sessions and audit events "
        "by name over the last 24 hours; --json prints one JSON object for scripts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object instead of text")

    def handle(self, *args, as_json: bool, **options):
        report = session_report()
        if as_json:
            self.stdout.write(json.dumps(report))
            return
        active, events = report["active"], report["events_24h"]
        lines = [
            f"Session report at {report['generated_at']}",
            "Active sessions:",
            f"  guest              {active['guest']}",
            f"  signed in          {active['signed_in']}",
            f"    with remember-me {active['remember_me']}",
            f"    device-bound     {active['device_bound']} (DBSC; {active['unbound']} not bound)",
            f"Expired rows waiting for purge: {report['expired_waiting_for_purge']}",
            "Events in the last 24 hours:",
        ]
        width = max(map(len, events))
        lines += [f"  {name:<{width}}  {count}" for name, count in events.items() if count] or ["  none"]
        self.stdout.write("\n".join(lines))
