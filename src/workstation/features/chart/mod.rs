//! The chart: opening it (restricted, cached, offline), the timeline, the summary, the detail pane and trends.

pub mod detail;
pub mod load;
pub mod msg;
pub mod opening;
pub mod overlay;
pub mod state;
pub mod summary;
pub mod timeline;
pub mod trend;
pub mod update;
pub mod view;

pub use msg::Msg;

use crate::workstation::chart::{Kind, Target};
use crate::workstation::features::Command;
use crate::workstation::state::*;

// What both the update and the view read.

/// The filter menu: all, then each kind the chart has, with counts.
pub fn filter_choices(state: &State) -> Vec<(Option<Kind>, usize)> {
    let Some(c) = &state.chart else {
        return vec![(None, 0)];
    };
    let mut counts = std::collections::BTreeMap::new();
    for item in &c.chart.timeline {
        *counts.entry(item.kind).or_insert(0usize) += 1;
    }
    let mut out = vec![(None, c.chart.timeline.len())];
    out.extend(
        Kind::ALL
            .iter()
            .filter_map(|k| Some((Some(*k), *counts.get(k)?))),
    );
    out
}

/// Lines the detail pane's cursor moves over (a report's results), 0 for scrolled text.
pub fn detail_members(c: &ChartState) -> usize {
    c.selected_target().map_or(0, |t| c.chart.members(t).len())
}

/// What `t` trends: the selected observation, or in a report the result under the detail
/// cursor (else its first abnormal, else first numeric result).
pub fn trend_target(c: &ChartState) -> Option<(String, String)> {
    let chart = &c.chart;
    let obs = match c.selected_target()? {
        Target::Obs(i) => chart.obs_at(i)?,
        target @ (Target::Report(_) | Target::Vitals(_)) => {
            let results = chart.members(target);
            if c.focus == ChartFocus::Detail {
                results.get(c.detail_cursor).copied()?
            } else {
                results
                    .iter()
                    .find(|o| {
                        o.flag != crate::workstation::chart::Flag::Normal && o.number.is_some()
                    })
                    .or_else(|| results.iter().find(|o| o.number.is_some()))
                    .copied()?
            }
        }
        Target::Entry(_) => return None,
    };
    let numeric = obs.number.is_some() || obs.components.iter().any(|x| x.number.is_some());
    if !numeric {
        return None;
    }
    Some((obs.key.clone()?, obs.name.clone()))
}

/// The commands this feature advertises in the palette.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "filter",
        argument: "labs|vitals|notes|meds|problems|orders|all",
        description: "show one kind of item in the timeline",
    },
    Command {
        name: "find",
        argument: "text",
        description: "find text in this chart's timeline",
    },
    Command {
        name: "date",
        argument: "day",
        description: "jump to a date in the timeline (2024-03-14, 14/03/2024, 2024)",
    },
];
