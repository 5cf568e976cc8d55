"""Hand-made snapshots for the renderer's golden files (no database)."""

from callcenter.pbx.asterisk.snapshot import (
    AgentConf,
    EnterpriseConf,
    PromptRef,
    QueueConf,
    QueueMemberConf,
    TrunkConf,
)

HOLD = PromptRef(name="hold-music", path="/srv/media/prompts/202611/hold")
WAIT = PromptRef(name="请稍候", path="/srv/media/prompts/202611/wait")

ACME = EnterpriseConf(
    code="acme",
    agents=(
        AgentConf(number="800", name="管理员", kind="admin", secret="s800", record=False,
                  caller_id="02088881234", trunk="02088880001", prefix="9"),
        AgentConf(number="801", name='Zhang "Z"; <x>', kind="normal", secret="s801;x", record=True,
                  caller_id="02088881234", trunk="02088880002", prefix=""),
        AgentConf(number="830", name="员工", kind="staff", secret="s830", record=True),
    ),
    trunks=(
        TrunkConf(number="02088880001", account="acme001", server_type="local", password="port;pw", prefix="9",
                  lines=1),
        TrunkConf(number="02088880002", account="acme002", server_type="gateway", server_ip="192.0.2.10", lines=30),
    ),
    queues=(
        QueueConf(name="售后", extension="600", strategy="rrmemory", ring_seconds=15, retry_seconds=5,
                  max_wait_seconds=120, announce_frequency=30, music=HOLD, announce=WAIT,
                  members=(QueueMemberConf("801", 0), QueueMemberConf("800", 2))),
        QueueConf(name="sales", extension="601", strategy="ringall", ring_seconds=20, retry_seconds=0,
                  max_wait_seconds=60),
        QueueConf(name="客服", extension="602", strategy="linear", ring_seconds=10, retry_seconds=2,
                  max_wait_seconds=90, members=(QueueMemberConf("801", 0), QueueMemberConf("800", 1)),
                  announce_agent_number=True),
    ),
)

BETA = EnterpriseConf(
    code="beta",
    agents=(AgentConf(number="801", name="", kind="normal", secret="b801", record=True),),
)
