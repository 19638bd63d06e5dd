//! A trend: one code's values over time as a ratatui `Chart` (braille where the terminal has
//! it, plain dots otherwise), with the reference range drawn as dashed limits.

use chrono::DateTime;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

use crate::workstation::chart::value::short_number;
use crate::workstation::state::{ChartState, State};
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{pane, styled};

const DAY_MS: f64 = 86_400_000.0;

pub fn draw(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    c: &ChartState,
    key: &str,
    title: &str,
) {
    let series = c.chart.series(key);
    let unit = series.first().map(|s| s.unit.clone()).unwrap_or_default();
    let block = pane(
        Line::from(styled(format!(" Trend: {title} ({unit}) "), theme.title)),
        true,
        state,
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [plot, info] = Layout::vertical([Constraint::Min(4), Constraint::Length(2)]).areas(inner);
    let points: Vec<(i64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .collect();
    if points.is_empty() {
        frame.render_widget(Paragraph::new("No numeric values to plot."), inner);
        return;
    }
    let t0 = points.iter().map(|p| p.0).min().unwrap_or(0);
    let t1 = points.iter().map(|p| p.0).max().unwrap_or(0);
    let x_max = ((t1 - t0) as f64 / DAY_MS).max(1.0);
    let mut lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let mut hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let range = series.first().and_then(|s| s.range.clone());
    if let Some(r) = &range {
        lo = r.low.map_or(lo, |l| lo.min(l));
        hi = r.high.map_or(hi, |h| hi.max(h));
    }
    let pad = ((hi - lo) * 0.1).max(1e-6);
    let (lo, hi) = (lo - pad, hi + pad);
    let marker = if state.display.braille && !state.display.ascii {
        Marker::Braille
    } else {
        Marker::Dot
    };
    let data: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .map(|(t, v)| ((t - t0) as f64 / DAY_MS, *v))
                .collect()
        })
        .collect();
    let limit = |y: f64| vec![(0.0, y), (x_max, y)];
    let limits: Vec<(String, Vec<(f64, f64)>)> = range
        .iter()
        .flat_map(|r| {
            [
                r.low
                    .map(|l| (format!("low {}", short_number(l)), limit(l))),
                r.high
                    .map(|h| (format!("high {}", short_number(h)), limit(h))),
            ]
        })
        .flatten()
        .collect();
    // Without braille the data are dots: the limits are bars (`-` on an ASCII terminal), so
    // the two never look alike.
    let limit_marker = if marker == Marker::Braille {
        Marker::Braille
    } else {
        Marker::Bar
    };
    let mut datasets: Vec<Dataset> = Vec::new();
    for (name, points) in &limits {
        datasets.push(
            Dataset::default()
                .name(name.clone())
                .marker(limit_marker)
                .graph_type(GraphType::Line)
                .style(theme.range)
                .data(points),
        );
    }
    for (i, (s, points)) in series.iter().zip(&data).enumerate() {
        let style = match theme.series.len() {
            0 => theme.base,
            n => theme.base.fg(theme.series[i % n]),
        };
        if points.len() > 1 {
            datasets.push(
                Dataset::default()
                    .marker(marker)
                    .graph_type(GraphType::Line)
                    .style(style)
                    .data(points),
            );
        }
        // Each measurement as a visible dot over the line.
        datasets.push(
            Dataset::default()
                .name(crate::workstation::chart::short_name_of(&s.name).to_string())
                .marker(Marker::Dot)
                .graph_type(GraphType::Scatter)
                .style(style)
                .data(points),
        );
    }
    let day = |ms: i64| {
        DateTime::from_timestamp_millis(ms)
            .map(|d| {
                d.with_timezone(&state.display.zone)
                    .format("%Y-%m-%d")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let x_labels = vec![
        Span::raw(day(t0)),
        Span::raw(day(t0 + (t1 - t0) / 2)),
        Span::raw(day(t1)),
    ];
    let y_labels = vec![
        Span::raw(short_number(lo)),
        Span::raw(short_number((lo + hi) / 2.0)),
        Span::raw(short_number(hi)),
    ];
    let chart = Chart::new(datasets)
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)))
        .x_axis(
            Axis::default()
                .bounds([0.0, x_max])
                .labels(x_labels)
                .style(theme.dim),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels(y_labels)
                .style(theme.dim),
        );
    frame.render_widget(chart, plot);

    let mut lines = Vec::new();
    for s in &series {
        let Some(last) = s.points.last() else {
            continue;
        };
        let (min, max) = s
            .points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                (a.min(p.1), b.max(p.1))
            });
        lines.push(Line::raw(format!(
            "{}: {}, latest {} {} on {}, lowest {}, highest {}{}",
            s.name,
            crate::workstation::count(s.points.len(), "value", "values"),
            short_number(last.1),
            s.unit,
            day(last.0),
            short_number(min),
            short_number(max),
            s.range
                .as_ref()
                .map(|r| format!("; reference range {}", r.text))
                .unwrap_or_default()
        )));
    }
    frame.render_widget(Paragraph::new(lines), info);
}
