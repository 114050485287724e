//! Charts drawn by the app as inline SVG (nothing downloaded at run time): a stacked RAG bar
//! and an indicator's values against its target band. Each chart either sits beside its
//! numbers in words (and is hidden from screen readers) or carries them as its label.

use leptos::prelude::*;
use plansync_shared::{out_of_tolerance, Indicator, Rag, RagCounts, ReportingPeriod};

/// A stacked bar of red, amber, green and not rated, widths in proportion (its counts are
/// shown beside it in words).
#[component]
pub fn RagBar(counts: RagCounts) -> impl IntoView {
    let total = counts.total().max(1) as f64;
    let mut x = 0.0;
    let segments: Vec<_> = Rag::ALL
        .iter()
        .filter(|r| counts.get(**r) > 0)
        .map(|r| {
            let w = 100.0 * counts.get(*r) as f64 / total;
            let seg = (x, w, format!("seg-{}", r.as_str().replace(' ', "-")));
            x += w;
            seg
        })
        .collect();
    view! {
        <svg class="rag-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false">
            {segments.into_iter().map(|(x, w, class)| view! {
                <rect class=class x=format!("{x:.2}") y="0" width=format!("{w:.2}") height="10" />
            }).collect_view()}
        </svg>
    }
}

/// An indicator's values by period, in order.
fn series(i: &Indicator) -> Vec<(ReportingPeriod, f64)> {
    i.values.iter().map(|(p, v)| (*p, *v)).collect()
}

/// The chart's text equivalent: every value, the target band and whether the period is out
/// of tolerance.
pub fn describe(i: &Indicator, period: ReportingPeriod) -> String {
    let values: Vec<String> = series(i).iter().map(|(p, v)| format!("{p} {v}")).collect();
    format!(
        "{}: {} {}; target {} ± {} ({}){}",
        i.name,
        if values.is_empty() {
            "no values yet".to_string()
        } else {
            values.join(", ")
        },
        i.unit,
        i.target,
        i.tolerance,
        i.polarity,
        if out_of_tolerance(i, period) {
            format!("; out of tolerance in {period}")
        } else {
            String::new()
        }
    )
}

/// How big a chart is drawn, and whether it labels its periods.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Frame {
    w: f64,
    h: f64,
    pad: f64,
    labels: bool,
}

/// An indicator's values as a line over its target band (target ± tolerance), the period
/// shown marked; small for the dashboard, large with period labels for the indicator page.
#[component]
pub fn ValueChart(
    indicator: Indicator,
    period: ReportingPeriod,
    /// Large, with the periods written under the line.
    #[prop(optional)]
    large: bool,
) -> impl IntoView {
    let f = if large {
        Frame {
            w: 480.0,
            h: 180.0,
            pad: 24.0,
            labels: true,
        }
    } else {
        Frame {
            w: 120.0,
            h: 32.0,
            pad: 3.0,
            labels: false,
        }
    };
    let points = series(&indicator);
    let (lo_band, hi_band) = (
        indicator.target - indicator.tolerance,
        indicator.target + indicator.tolerance,
    );
    let lo = points.iter().map(|p| p.1).fold(lo_band, f64::min);
    let hi = points.iter().map(|p| p.1).fold(hi_band, f64::max);
    let span = (hi - lo).max(f64::EPSILON);
    let bottom = f.h - if f.labels { f.pad } else { f.pad / 2.0 };
    let y = move |v: f64| bottom - (v - lo) / span * (bottom - f.pad / 2.0);
    let n = points.len().max(2) as f64 - 1.0;
    let x = move |i: usize| f.pad + i as f64 * (f.w - 2.0 * f.pad) / n;
    let line: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| format!("{:.1},{:.1}", x(i), y(*v)))
        .collect();
    let out = out_of_tolerance(&indicator, period);
    let label = describe(&indicator, period);
    let title = label.clone();
    let marks: Vec<_> = points
        .iter()
        .enumerate()
        .map(|(i, (p, v))| (x(i), y(*v), *p == period, p.to_string()))
        .collect();
    view! {
        <svg class=if large { "value-chart large" } else { "value-chart" }
             viewBox=format!("0 0 {} {}", f.w, f.h) width=f.w height=f.h role="img" aria-label=label>
            <title>{title}</title>
            <rect class="band" x=f.pad y=format!("{:.1}", y(hi_band)) width=f.w - 2.0 * f.pad
                  height=format!("{:.1}", (y(lo_band) - y(hi_band)).max(1.0)) />
            <line class="target" x1=f.pad x2=f.w - f.pad y1=format!("{:.1}", y(indicator.target)) y2=format!("{:.1}", y(indicator.target)) />
            <polyline class="values" points=line.join(" ") />
            {marks.into_iter().map(|(cx, cy, this, p)| view! {
                <circle class=if this && out { "point this out" } else if this { "point this" } else { "point" }
                        cx=format!("{cx:.1}") cy=format!("{cy:.1}") r=if f.labels { "4" } else { "2" } />
                {f.labels.then(|| view! {
                    <text class="axis" x=format!("{cx:.1}") y=f.h - 6.0 text-anchor="middle">{p}</text>
                })}
            }).collect_view()}
        </svg>
    }
}
