"""The demo's HTML report: the summary table and two charts, drawn as inline SVG, no scripts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from html import escape

from infra.local.demo.figures import Snapshot

_BUCKET_COLOURS = {
    "current": "#4c9f70",
    "1-30": "#a3c35f",
    "31-60": "#f2c14e",
    "61-90": "#f08a4b",
    "90+": "#c8553d",
}
_WIDTH, _HEIGHT, _MARGIN = 720, 260, 56


def render(
    title: str,
    summary: Sequence[tuple[str, str]],
    snapshots: Sequence[Snapshot],
    cash_by_week: dict[date, Decimal],
) -> str:
    rows = "\n".join(
        f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in summary
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 780px; color: #222 }}
table {{ border-collapse: collapse; margin-bottom: 2rem }}
th, td {{ text-align: left; padding: .25rem 1rem .25rem 0; border-bottom: 1px solid #eee }}
th {{ font-weight: 500; color: #555 }} td {{ font-variant-numeric: tabular-nums }}
.legend span {{ display: inline-block; margin-right: 1rem }}
.legend i {{ display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem }}
</style></head><body>
<h1>{escape(title)}</h1>
<table>{rows}</table>
<h2>Receivables by age (EUR equivalent)</h2>
{_aging_chart(snapshots)}
<p class="legend">{_legend()}</p>
<h2>Cash collected per week (EUR equivalent)</h2>
{_cash_chart(cash_by_week)}
<p><small>Amounts in other currencies are converted at the demo's fixed rates.</small></p>
</body></html>
"""


def _aging_chart(snapshots: Sequence[Snapshot]) -> str:
    if not snapshots:
        return "<p>No snapshots.</p>"
    peak = max(s.open_receivables for s in snapshots) or Decimal(1)
    slot = (_WIDTH - 2 * _MARGIN) / len(snapshots)
    bars = []
    for index, shot in enumerate(snapshots):
        x, base = _MARGIN + index * slot, float(_HEIGHT - _MARGIN)
        for bucket, amount in shot.aging.items():
            height = float(amount / peak) * (_HEIGHT - 2 * _MARGIN)
            base -= height
            bars.append(
                f'<rect x="{x + 2:.1f}" y="{base:.1f}" width="{slot - 4:.1f}" '
                f'height="{height:.1f}" fill="{_BUCKET_COLOURS[bucket]}">'
                f"<title>{shot.on:%d %b}: {escape(bucket)} {amount:,.0f}</title></rect>"
            )
        bars.append(_label(x + slot / 2, _HEIGHT - _MARGIN + 16, f"{shot.on:%d %b}"))
    return _svg(bars, peak)


def _cash_chart(cash_by_week: dict[date, Decimal]) -> str:
    if not cash_by_week:
        return "<p>No cash was collected in the period.</p>"
    peak = max(cash_by_week.values()) or Decimal(1)
    slot = (_WIDTH - 2 * _MARGIN) / len(cash_by_week)
    bars = []
    for index, (week, amount) in enumerate(cash_by_week.items()):
        x = _MARGIN + index * slot
        height = float(amount / peak) * (_HEIGHT - 2 * _MARGIN)
        bars.append(
            f'<rect x="{x + 2:.1f}" y="{_HEIGHT - _MARGIN - height:.1f}" '
            f'width="{slot - 4:.1f}" height="{height:.1f}" fill="#3d7ea6">'
            f"<title>week of {week:%d %b}: {amount:,.2f}</title></rect>"
        )
        bars.append(_label(x + slot / 2, _HEIGHT - _MARGIN + 16, f"{week:%d %b}"))
    return _svg(bars, peak)


def _svg(parts: list[str], peak: Decimal) -> str:
    axis = (
        f'<line x1="{_MARGIN}" y1="{_HEIGHT - _MARGIN}" x2="{_WIDTH - _MARGIN}" '
        f'y2="{_HEIGHT - _MARGIN}" stroke="#999"/>'
        + _label(_MARGIN - 6, _MARGIN + 4, _compact(peak), anchor="end")
        + _label(_MARGIN - 6, _HEIGHT - _MARGIN + 4, "0", anchor="end")
    )
    body = "".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
        f'width="{_WIDTH}" height="{_HEIGHT}" role="img">{axis}{body}</svg>'
    )


def _label(x: float, y: float, text: str, anchor: str = "middle") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" fill="#555" '
        f'text-anchor="{anchor}">{escape(text)}</text>'
    )


def _compact(amount: Decimal) -> str:
    """A chart axis figure: 1.7M, 233k, 950."""
    for threshold, suffix in ((Decimal(1_000_000), "M"), (Decimal(1_000), "k")):
        if amount >= threshold:
            return f"{amount / threshold:.1f}{suffix}"
    return f"{amount:.0f}"


def _legend() -> str:
    return "".join(
        f'<span><i style="background:{colour}"></i>{escape(bucket)}</span>'
        for bucket, colour in _BUCKET_COLOURS.items()
    )
