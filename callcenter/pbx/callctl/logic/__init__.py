"""Pure call logic (DESIGN.md "Call logic is pure").

Plain Python: no Django, no I/O, no clock reads except where a function says it takes
"now" when none is given. Call control builds the frozen config snapshots below from the
database, feeds ARI events in as the small event dataclasses of `base`, and executes the
commands it gets back; the benchmarks do the same in virtual time.

- `base`     events and commands shared by the state machines
- `flow`     C6: a group call after the callee answers (transfer modes, keys, play counts)
- `ivr`      N1: walking an IVR menu (keys, default extensions, last agent, direct dial)
- `routing`  inbound routing: blacklist, database and area routes (C9, C10), DID ->
             schedule -> menu (N2)
- `groups`   C4: the order an agent group's members are offered a call
- `queues`   C8: app_queue's strategies as pure selection, overflow to mobiles
- `pacing`   C6: how many lines a group call opens now
"""
