"""Benchmark results: the machine, the figures against their targets, as a table, JSON and Markdown."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table


@dataclass
class Figure:
    key: str
    name: str
    value: float | None  # None: not measured (``note`` says why)
    unit: str  # "x" for a ratio
    target: str  # e.g. ">= 0.25"; "" when informational
    detail: str = ""
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None or not self.target:
            return None
        return self._meets(self.value)

    def _meets(self, value: float) -> bool:
        op, bound = self.target.split()
        return value >= float(bound) if op == ">=" else value <= float(bound)

    def shown_value(self) -> str:
        if self.value is None:
            return "n/a"
        if self.unit == "x":
            text = f"{self.value:.2f}"
            if self.met is not None and self._meets(float(text)) != self.met:
                text = f"{self.value:.4f}"  # 0.8996 must not read as the 0.90 it misses
            return text + "x"
        return f"{self.value:,.1f} {self.unit}"

    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "-"}[self.met]


@dataclass
class Report:
    machine: dict[str, Any]
    settings: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    breakdown: dict[str, float] = field(default_factory=dict)  # stage -> microseconds per 1,000 rows
    started_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    seconds: float = 0.0

    def table(self) -> Table:
        table = Table(title="Edgeloop benchmarks (ratios of rates measured interleaved in this run)")
        for column in ("figure", "value", "target", "", "measured"):
            table.add_column(column, overflow="fold")
        for figure in self.figures:
            style = {True: "green", False: "red", None: ""}[figure.met]
            table.add_row(
                figure.name,
                figure.shown_value(),
                figure.target,
                f"[{style}]{figure.verdict()}[/]" if style else figure.verdict(),
                figure.detail + (f" ({figure.note})" if figure.note else ""),
            )
        return table

    def to_json(self) -> str:
        document = {
            "started_at": self.started_at,
            "seconds": round(self.seconds, 1),
            "machine": self.machine,
            "settings": self.settings,
            "figures": [{**asdict(f), "met": f.met} for f in self.figures],
            "breakdown_us_per_1000_rows": {k: round(v, 1) for k, v in self.breakdown.items()},
        }
        return json.dumps(document, indent=2) + "\n"

    def to_markdown(self) -> str:
        m = self.machine
        lines = [
            "# Edgeloop benchmark results",
            "",
            f"`make bench`, {self.started_at}, {self.seconds / 60:.1f} min. Machine: {m['cpus']} CPUs "
            f"({m['cpu_model']}), {m['ram_gib']:.1f} GiB RAM, Python {m['python']}, {m['os']}; "
            f"load average {m['load_before']} before the run.",
            "",
            "| figure | value | target | | measured |",
            "| --- | --- | --- | --- | --- |",
        ]
        for f in self.figures:
            measured = f.detail + (f" ({f.note})" if f.note else "")
            lines.append(f"| {f.name} | {f.shown_value()} | {f.target} | {f.verdict()} | {measured} |")
        if self.breakdown:
            total = sum(self.breakdown.values())
            lines += [
                "",
                "Where a 1,000-row request's time goes (bench/breakdown.py: one thread, no HTTP):",
                "",
                "| stage | ms per 1,000 rows | share |",
                "| --- | --- | --- |",
            ]
            for stage, micros in self.breakdown.items():
                lines.append(f"| {stage} | {micros / 1000:.2f} | {micros / total:.0%} |")
            lines.append(f"| total | {total / 1000:.2f} | |")
        lines += ["", "Settings: " + ", ".join(f"{k} {v}" for k, v in self.settings.items()), ""]
        return "\n".join(lines)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "latest.json").write_text(self.to_json(), encoding="utf-8")
        (directory / "latest.md").write_text(self.to_markdown(), encoding="utf-8")


def machine_info() -> dict[str, Any]:
    cpu_model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    return {
        "cpus": int(nproc),
        "cpu_model": cpu_model,
        "ram_gib": mem_kib / 1024 / 1024,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
