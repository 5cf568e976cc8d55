"""campaign-sim-<ratio>: an 8-hour, 50-agent campaign in virtual time (issue 6, DESIGN.md budgets).

The dialer's own pacing, flow and agent-order code (`campaigns/dialer/virtual.py`) runs over the
simulated world's callees and agents with a fixed seed, once per dial ratio (100, 150, 200,
300 %). Budget: <= 60 s of wall time each. No database: the runner records it once, on the
SQLite pass (db "none" in the results), and nothing on the PostgreSQL pass.

    python -m bench --only campaign-sim --db sqlite     # with the other benchmarks' runner
    python -m bench.campaign_sim                         # alone, without Django; prints the table
    python -m bench.campaign_sim --chart                 # only redraw docs/campaign-sim.svg

Each run writes bench/results/campaign-sim-<ratio>-none.json; a run of all four ratios also
redraws docs/campaign-sim.svg, the chart of docs/campaign-sim.md.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from html import escape
from pathlib import Path

from bench import RESULTS_DIR, ROOT, duration_record, machine_info, summary_line, write_result

RATIOS = (100, 150, 200, 300)
BUDGET_S = 60.0
SEED = 6  # issue 6: the figures of docs/campaign-sim.md come from this seed
NUMBERS = 50_000  # a task's intake cap (T1)
CHART = ROOT / "docs" / "campaign-sim.svg"
DB = "none"


def name_of(ratio: int) -> str:
    return f"campaign-sim-{ratio}"


def scenario(ratio: int):
    """The campaign of the benchmark; everything but the ratio is fixed."""
    from callcenter.campaigns.dialer.virtual import Campaign, Trunk
    from callcenter.pbx.callctl.logic.flow import PLAY_SECONDS, FlowConfig
    from callcenter.pbx.callctl.logic.groups import ROUND_ROBIN

    return Campaign(
        numbers=[f"139{i:08d}" for i in range(NUMBERS)],
        agents=50,
        # 播放中转坐席: an 8 s prompt, the transfer 5 s after the answer.
        flow=FlowConfig(transfer_mode=PLAY_SECONDS, prompt="sound:prompts/campaign", play_seconds=5),
        ratio_percent=ratio,
        interval_seconds=5,
        retries=2,
        retry_delay_seconds=600,
        order_rule=ROUND_ROBIN,
        # Two trunks of 120 lines, all reserved for group calls: 300 % of 50 agents fits.
        trunks=(Trunk("trunk1", lines=120, reserved=120), Trunk("trunk2", lines=120, reserved=120)),
        cps_limit=10,
        windows=((0.0, 8 * 3600.0),),
        seed=SEED,
        # The world's default callees (sim/config.py: 70 % answer after 2-10 s, 10 % busy, 2 %
        # unreachable, talk 20-180 s, patience 60 s) and agents (answer after 1.2-3.2 s).
        world={"sounds": {"prompts/campaign": 8.0, "prompts/abandon": 3.0}},
    )


def measure(ratio: int) -> dict:
    from callcenter.campaigns.dialer.virtual import run_campaign

    t0, cpu0 = time.perf_counter(), time.process_time()
    campaign = scenario(ratio)
    report = run_campaign(campaign)
    wall = time.perf_counter() - t0  # building the 50,000 numbers included
    cpu = time.process_time() - cpu0  # the figure to compare across runs: the machine is shared
    r = report.as_dict()
    record = duration_record(
        name_of(ratio), DB, [wall], BUDGET_S,
        ratio_percent=ratio, agents=r["agents"], window_hours=r["window_hours"], seed=SEED,
        numbers=r["numbers"], originated=r["originated"], answered=r["answered"],
        transfer_requested=r["transfer_requested"], transferred=r["transferred"], abandoned=r["abandoned"],
        abandon_rate=round(r["abandon_rate"], 4),
        talk_minutes_per_agent_hour=round(r["talk_minutes_per_agent_hour"], 2),
        occupancy=round(r["occupancy"], 4), lines_mean=round(r["lines_mean"], 2), lines_max=r["lines_max"],
        trunk_lines_max=r["trunk_lines_max"], cps_max=r["cps_max"],
        agent_calls_min=r["agent_calls_min"], agent_calls_max=r["agent_calls_max"],
        numbers_dialled=r["numbers_dialled"], numbers_left=r["numbers_left"],
        attempt_results=r["attempt_results"], number_results=r["number_results"], limited_by=r["limited_by"],
        events=r["events"], simulation_wall_s=round(r["wall_seconds"], 3), cpu_s=round(cpu, 3),
        settings={"flow": "play_seconds 5 s, prompt 8 s", "interval_s": campaign.interval_seconds,
                  "retries": campaign.retries, "retry_delay_s": campaign.retry_delay_seconds,
                  "trunk_group_lines": sum(t.cap for t in campaign.trunks), "cps_limit": campaign.cps_limit,
                  "agent_wait_s": campaign.agent_wait_seconds, "order_rule": campaign.order_rule},
        machine=machine_info(),
    )
    write_result(record)
    return record


def run(db: str, *, only: set[str], rows: int) -> list[dict]:
    """The runner of `python -m bench` (group "campaign-sim")."""
    if db != "sqlite":
        return []  # no database involved: measured once
    records = [measure(ratio) for ratio in RATIOS if name_of(ratio) in only]
    if len(records) == len(RATIOS):
        render_chart(records)
    return records


# --- the table and the chart ---------------------------------------------------------------------


def load_results() -> list[dict]:
    out = []
    for ratio in RATIOS:
        path = RESULTS_DIR / f"{name_of(ratio)}-{DB}.json"
        if path.exists():
            out.append(json.loads(path.read_text()))
    return out


def markdown_table(records: list[dict]) -> str:
    lines = [
        "| ratio | originated | answered | transferred | abandoned | abandon rate | talk min / agent-hour "
        "| occupancy | lines mean | lines max | wall time (CPU) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in records:
        lines.append(
            f"| {r['ratio_percent']} % | {r['originated']:,} | {r['answered']:,} | {r['transferred']:,} "
            f"| {r['abandoned']:,} | {100 * r['abandon_rate']:.1f} % | {r['talk_minutes_per_agent_hour']:.1f} "
            f"| {100 * r['occupancy']:.1f} % | {r['lines_mean']:.1f} | {r['lines_max']} "
            f"| {r['median_s']:.1f} s ({r.get('cpu_s', 0):.1f} s) |")
    return "\n".join(lines)


def nice_step(top: float) -> float:
    """A grid step of 1, 2 or 5 x 10^k giving four to ten lines up to `top`."""
    base = 10 ** math.floor(math.log10(max(top, 1e-9) / 4))
    for mult in (1, 2, 5, 10):
        if top / (base * mult) <= 10:
            return base * mult
    return base * 10


def render_chart(records: list[dict], path: Path = CHART) -> Path:
    """Three bar panels (abandon rate, talk minutes per agent-hour, lines used) as plain SVG."""
    panels = [
        ("abandon rate (%)", [100 * r["abandon_rate"] for r in records], None, "#d9534f", "{:.1f}"),
        ("talk minutes per agent-hour", [r["talk_minutes_per_agent_hour"] for r in records], 60.0,
         "#2a7ab0", "{:.1f}"),
        ("lines used (bar: mean, line: max)", [r["lines_mean"] for r in records], None, "#5cb85c", "{:.0f}"),
    ]
    maxima = [r["lines_max"] for r in records]
    width, height, pw, top, bottom, left = 960, 340, 300, 50, 50, 40
    ph = height - top - bottom
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="#fff"/>',
           f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">'
           f'{escape(f"8-hour campaign, 50 agents, virtual time (seed {SEED}): by dial ratio")}</text>']
    for i, (title, values, fixed_top, colour, fmt) in enumerate(panels):
        x0 = i * (pw + 20) + left
        extra = maxima if i == 2 else []
        step = nice_step(fixed_top or max([*values, *extra, 1.0]) * 1.1)
        top_value = fixed_top or step * math.ceil(max([*values, *extra, 1.0]) * 1.1 / step)
        if fixed_top:
            step = fixed_top / 4
        out.append(f'<text x="{x0 + (pw - left) / 2}" y="{top - 16}" text-anchor="middle">{escape(title)}</text>')
        out.append(f'<line x1="{x0}" y1="{top + ph}" x2="{x0 + pw - left}" y2="{top + ph}" stroke="#333"/>')
        out.append(f'<line x1="{x0}" y1="{top}" x2="{x0}" y2="{top + ph}" stroke="#333"/>')
        for k in range(round(top_value / step) + 1):  # grid and axis labels
            v = step * k
            y = top + ph - ph * v / top_value
            out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + pw - left}" y2="{y:.1f}" stroke="#eee"/>')
            out.append(f'<text x="{x0 - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#666">{v:.0f}</text>')
        slot = (pw - left) / len(values)
        for j, value in enumerate(values):
            bx = x0 + j * slot + slot * 0.2
            bh = ph * value / top_value
            out.append(f'<rect x="{bx:.1f}" y="{top + ph - bh:.1f}" width="{slot * 0.6:.1f}" height="{bh:.1f}" '
                       f'fill="{colour}"/>')
            # With a max line above the bar, the mean goes inside the bar's top.
            label_y, fill = (top + ph - bh + 14, "#fff") if extra else (top + ph - bh - 4, "#000")
            out.append(f'<text x="{bx + slot * 0.3:.1f}" y="{label_y:.1f}" text-anchor="middle" fill="{fill}">'
                       f'{fmt.format(value)}</text>')
            if extra:
                my = top + ph - ph * extra[j] / top_value
                out.append(f'<line x1="{bx:.1f}" y1="{my:.1f}" x2="{bx + slot * 0.6:.1f}" y2="{my:.1f}" '
                           f'stroke="#333" stroke-width="2"/>')
                out.append(f'<text x="{bx + slot * 0.3:.1f}" y="{my - 4:.1f}" text-anchor="middle" '
                           f'fill="#333">max {extra[j]}</text>')
            out.append(f'<text x="{bx + slot * 0.3:.1f}" y="{top + ph + 16}" text-anchor="middle">'
                       f'{records[j]["ratio_percent"]}%</text>')
        out.append(f'<text x="{x0 + (pw - left) / 2}" y="{top + ph + 34}" text-anchor="middle" fill="#666">'
                   f'dial ratio</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.campaign_sim", description=__doc__.split("\n\n")[0])
    parser.add_argument("--chart", action="store_true", help="only redraw the chart from bench/results")
    args = parser.parse_args(argv)
    if args.chart:
        records = load_results()
    else:
        records = [measure(ratio) for ratio in RATIOS]
        for record in records:
            print(summary_line(record))
    if len(records) != len(RATIOS):
        raise SystemExit("bench/results lacks some campaign-sim results: run python -m bench.campaign_sim")
    print(f"chart: {render_chart(records).relative_to(ROOT)}")
    print(markdown_table(records))
    return 0 if all(r["within_budget"] for r in records) else 1


if __name__ == "__main__":
    raise SystemExit(main())
