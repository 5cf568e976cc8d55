"""The adapter to Asterisk (DESIGN.md "The PBX, real or simulated"): generated configuration
(snapshot.py, render.py), the AMI client (ami.py) and the ARI client (ari.py). Nothing else in
the project talks to the PBX."""
