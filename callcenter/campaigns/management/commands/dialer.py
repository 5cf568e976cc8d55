"""`python manage.py dialer`: the campaign dialer. It runs inside call control (one process hosts
the calls and paces the campaigns), so this is `manage.py callctl` by its other name; the
Procfile's `callctl` line is the dialer. Never run both: one call-control process per PBX."""

from callcenter.pbx.management.commands.callctl import Command as CallControlCommand


class Command(CallControlCommand):
    help = "Run the campaign dialer (call control with its pacing loop) against the PBX's ARI."
