"""Call control: the asyncio service hosting call flows, IVR walking and routing over ARI.

The decisions themselves live in `logic/` as plain Python (events and state in, commands
out), so the service, the tests and the benchmarks' virtual-time loop run the same code.
"""
