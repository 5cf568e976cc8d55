"""The dialer of campaigns (DESIGN.md "A campaign"): pacing, claiming and originating numbers."""
