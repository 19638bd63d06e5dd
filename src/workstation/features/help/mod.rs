//! The searchable help (`?`): every binding of the screen it was opened from, read from the
//! active keymap.

pub mod update;
pub mod view;

use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;

use crate::workstation::action::Action;
use crate::workstation::keymap::{Chord, Context};

/// The bindings help shows for `context`: each action with its keys, narrowed by `query`
/// (matched against the action's name, description and keys).
pub fn help_entries(
    keymap: &crate::workstation::keymap::Keymap,
    context: Context,
    query: &str,
) -> Vec<(Action, Vec<Chord>)> {
    let matcher = SkimMatcherV2::default().ignore_case();
    let q = query.trim();
    if q.is_empty() {
        return keymap.bindings(context);
    }
    let lower = q.to_lowercase();
    // Words as typed first ("order" finds `o`, open the orders pane), then fuzzy matches on
    // the action's name (`opnord`), best first; descriptions match only as typed.
    type Ranked = ((u8, i64), (Action, Vec<Chord>));
    let mut ranked: Vec<Ranked> = keymap
        .bindings(context)
        .into_iter()
        .filter_map(|(action, keys)| {
            let key_text: Vec<String> = keys.iter().map(Chord::to_string).collect();
            let words = format!(
                "{} {} {}",
                action.description(),
                action.name().replace('_', " "),
                key_text.join(" ")
            )
            .to_lowercase();
            let rank = if action.name().replace('_', " ").contains(&lower) {
                (0, 0)
            } else if words.contains(&lower) {
                (1, 0)
            } else {
                (2, -matcher.fuzzy_match(action.name(), q)?)
            };
            Some((rank, (action, keys)))
        })
        .collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked.into_iter().map(|(_, entry)| entry).collect()
}
