"""The text `make bench` prints: the full-resync run (see `full_resync`), then
each other scenario's lines."""

from typing import Any

from sandbox.bench_core.actions_burst import render_burst
from sandbox.bench_core.steady import render_steady
from sandbox.bench_core.storm import render_storm


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def cpu_pair(run: dict[str, Any]) -> str:
    ocean_cpu = run.get("cpu_seconds_ocean_tree")
    port_cpu = run.get("cpu_seconds_port_standin")
    return f"{fmt(ocean_cpu, '', 0)} / {fmt(port_cpu, '', 0)}"


def render(result: dict[str, Any]) -> str:
    s = result["settings"]
    m = result["machine"]
    lines = [
        "",
        f"PagerDuty integration benchmark ({'OK' if result['ok'] else 'INCOMPLETE'})",
        f"  sandbox: {s['services']} services, {s['incidents']} incidents over two "
        f"years, {s['latency_ms']} ms latency, {s['rate_limit_per_minute']}/min "
        f"budget, seed {s['seed']}, log level {s['log_level']}",
        f"  machine: {m['nproc']} cores ({m['cpu_model']}), {m['ram_total_gb']} GB "
        f"RAM, load {m['load_average_1_5_15']}, {m['date']}",
    ]
    if "integration" in result:
        lines += render_full(result)
    if result.get("memory"):
        lines += render_memory(result["memory"])
    for storm in result.get("storm") or []:
        lines += render_storm(storm)
    if result.get("steady"):
        lines += render_steady(result["steady"])
    if result.get("actions_burst"):
        lines += render_burst(result["actions_burst"])
    return "\n".join(lines)


def render_full(result: dict[str, Any]) -> list[str]:
    floors = result["floors"]
    real = result["integration"]
    core = result.get("core_floor")
    calls = result["api_calls"]
    lines = [
        "",
        f"  {'':34}{'integration':>14}{'core floor':>14}",
        f"  {'wall time (process start to exit)':34}"
        f"{fmt(real['wall_seconds'], ' s'):>14}"
        f"{fmt(core['wall_seconds'] if core else None, ' s'):>14}",
        f"  {'peak memory (PSS, process tree)':34}"
        f"{fmt(real['peak_pss_mb'], ' MB'):>14}"
        f"{fmt(core['peak_pss_mb'] if core else None, ' MB'):>14}",
        f"  {'CPU s: ocean tree / Port stand-in':34}"
        f"{cpu_pair(real):>14}{cpu_pair(core) if core else 'n/a':>14}",
        f"  {'exit code':34}{real['exit_code']:>14}"
        f"{(core['exit_code'] if core else 'n/a'):>14}",
    ]
    for blueprint, counts in real["landed"].items():
        core_counts = core["landed"][blueprint] if core else None
        real_cell = f"{counts['landed']}/{counts['expected']}"
        core_cell = (
            f"{core_counts['landed']}/{core_counts['expected']}"
            if core_counts
            else "n/a"
        )
        lines.append(
            f"  {blueprint + ' landed / expected':34}{real_cell:>14}{core_cell:>14}"
        )
    lines += [
        "",
        f"  rate floor:      {fmt(floors['rate_floor_seconds'], ' s')} "
        f"({floors['minimal_requests']} minimal requests / "
        f"{floors['requests_per_second']:.0f} per s)",
        f"                   {floors['rate_floor_formula']}",
        f"                   = {floors['service_requests']} + "
        f"{floors['incident_requests']} + {floors['oncall_requests']} "
        f"({floors['policies_with_services']} escalation policies with services)",
        f"  core floor:      {fmt(floors['core_floor_seconds'], ' s')}"
        " (same objects from files, no API calls)",
        f"  larger floor:    {fmt(floors['larger_floor_seconds'], ' s')} "
        f"({floors['larger_floor']})",
        f"  wall / larger floor: {fmt(floors['wall_over_larger_floor'], 'x', 2)}"
        f"   wall / rate floor: {fmt(floors['wall_over_rate_floor'], 'x', 2)}"
        f"   wall / core floor: {fmt(floors['wall_over_core_floor'], 'x', 2)}",
        "",
        f"  PagerDuty API calls: {calls['total']} "
        f"({fmt(result['requests_over_minimal'], 'x', 2)} the minimal "
        f"{floors['minimal_requests']})",
    ]
    for endpoint, count in calls["by_endpoint"].items():
        lines.append(f"    {endpoint:40}{count:>8}")
    lines.append(
        f"  429s: {calls['status_429']}   5xx: {calls['status_5xx']}   "
        f"by status: {calls['by_status']}"
    )
    lines.append(f"  resync status: {real['resync_status']}")
    progress = result.get("progress_lines") or []
    if progress:
        lines.append("  progress lines (first 3 and last 3):")
        shown = (
            progress if len(progress) <= 6 else progress[:3] + ["..."] + progress[-3:]
        )
        lines += [f"    {line[:150]}" for line in shown]
    return lines


def render_memory(rows: list[dict[str, Any]]) -> list[str]:
    """Peak PSS of the full resync against Ocean core's floor, per account size."""
    lines = [
        "",
        "  memory: peak PSS of a full resync (process tree) vs Ocean core's floor",
        f"    {'incidents':>10}{'integration':>14}{'core floor':>13}{'over floor':>12}"
        f"{'wall':>9}{'floor wall':>12}",
    ]
    for row in rows:
        over = row.get("over_floor_pct")
        lines.append(
            f"    {row['incidents']:>10,}{fmt(row['peak_pss_mb'], ' MB'):>14}"
            f"{fmt(row.get('floor_peak_pss_mb'), ' MB'):>13}"
            f"{fmt(over, ' %'):>12}{fmt(row['wall_seconds'], ' s', 0):>9}"
            f"{fmt(row.get('floor_wall_seconds'), ' s', 0):>12}"
        )
    return lines


def memory_row(full: dict[str, Any]) -> dict[str, Any]:
    real, core = full["integration"], full.get("core_floor")
    floor = core["peak_pss_mb"] if core else None
    return {
        "services": full["size"]["services"],
        "incidents": full["size"]["incidents"],
        "peak_pss_mb": real["peak_pss_mb"],
        "floor_peak_pss_mb": floor,
        "over_floor_pct": (
            round(100 * (real["peak_pss_mb"] / floor - 1), 1) if floor else None
        ),
        "wall_seconds": real["wall_seconds"],
        "floor_wall_seconds": core["wall_seconds"] if core else None,
        "complete": full["ok"],
    }
