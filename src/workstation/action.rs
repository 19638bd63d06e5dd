//! Everything a user can bind to a key. Each variant's `///` line is its help text, read back
//! by the help overlay; the snake_case name is what keymap files use.

macro_rules! actions {
    ($( $(#[doc = $doc:literal])+ $variant:ident => $name:literal, )+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];

            /// The name keymap files use (`open_selected`).
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),+ }
            }

            /// One line for the help overlay.
            pub fn description(self) -> &'static str {
                match self { $(Action::$variant => concat!($($doc),+).trim()),+ }
            }
        }
    };
}

actions! {
    /// Find a patient (on the search screen: clear the query)
    SearchPatients => "search_patients",
    /// Open the selected patient or item
    OpenSelected => "open_selected",
    /// Go back: close the overlay, leave the pane, return to the chart
    Back => "back",
    /// Focus the next pane
    NextPane => "next_pane",
    /// Focus the previous pane
    PreviousPane => "previous_pane",
    /// Move up one line
    MoveUp => "move_up",
    /// Move down one line
    MoveDown => "move_down",
    /// Move up one page
    PageUp => "page_up",
    /// Move down one page
    PageDown => "page_down",
    /// Go to the first line (newest)
    GoTop => "go_top",
    /// Go to the last line (oldest)
    GoBottom => "go_bottom",
    /// Filter the timeline by type (labs, vitals, notes...)
    FilterTimeline => "filter_timeline",
    /// Search within this chart's timeline
    FindInChart => "find_in_chart",
    /// Jump to a date in the timeline
    JumpToDate => "jump_to_date",
    /// Trend the selected vital sign or result over time
    ShowTrend => "show_trend",
    /// Show the chart summary (problems, medications, allergies, vitals, abnormal results)
    ToggleSummary => "toggle_summary",
    /// Reload the chart from the server
    RefreshChart => "refresh_chart",
    /// Show every key binding of this screen, searchable
    ShowHelp => "show_help",
    /// Command palette: find any action, or type a command (open MRN, theme...)
    OpenPalette => "open_palette",
    /// Close the chart and return to patient search
    CloseChart => "close_chart",
    /// Quit bedside (asks first)
    Quit => "quit",
    /// Answer yes to the question on screen
    Confirm => "confirm",
    /// Redraw the whole screen (after line noise on a slow link)
    RedrawScreen => "redraw_screen",
    /// Lock the screen now (shared terminals); unlock with your password
    LockScreen => "lock_screen",
    /// Break the glass: emergency access to a restricted chart, with a reason
    BreakGlass => "break_glass",
    /// Who looked at this chart: the access log (support and privacy review)
    ShowAccessLog => "show_access_log",
    /// Acknowledge the banner's warning of other patients with the same name
    AcknowledgeNames => "acknowledge_similar_names",
    /// Notes waiting for the server, sent, or needing a decision (the outbox)
    ShowOutbox => "show_outbox",
    /// Write a new note for this patient (or reopen the draft)
    NewNote => "new_note",
    /// Write an addendum to the signed note selected in the timeline
    AddAddendum => "add_addendum",
    /// Sign the note and file it to the chart (asks first, naming the patient)
    SignNote => "sign_note",
    /// Save the note to the server unsigned (preliminary)
    SaveNoteUnsigned => "save_note_unsigned",
    /// Back to typing in the note
    EditNote => "edit_note",
    /// Close the note pane (the draft is kept)
    CloseNote => "close_note",
    /// Save the draft now
    SaveDraft => "save_draft",
    /// Open the orders pane for this patient
    OpenOrders => "open_orders",
    /// Sign the basket of orders (checks, overrides, then a confirm naming the patient)
    SignOrders => "sign_orders",
    /// Remove the selected basket item, or discontinue the selected active order
    RemoveOrder => "remove_order",
    /// Record vital signs for this patient (one line or a field per sign; NEWS2; the flowsheet)
    RecordVitals => "record_vitals",
    /// Vital signs: switch between the one-line entry and a field per sign
    SwitchEntry => "switch_entry",
    /// Register a new patient (the record is looked for first; the server gives the MRN)
    RegisterPatient => "register_patient",
    /// Patient lists: my patients, my teams', my own, a ward's census; one row each (F4 from anywhere comes back to it)
    OpenCensus => "ward_census",
    /// The results inbox: results waiting for my review, per patient, critical first
    OpenInbox => "results_inbox",
    /// Inbox: acknowledge the selected result
    AcknowledgeResult => "acknowledge",
    /// Inbox: acknowledge all of the selected patient's results
    AcknowledgePatient => "acknowledge_patient",
    /// Inbox: acknowledge every normal result at once
    AcknowledgeNormal => "acknowledge_normal",
    /// My unsigned work: orders waiting for my co-signature (or my drafts), my unsigned notes
    OpenWork => "work_queue",
    /// The support desk: duplicate patients, a record as stored and its history, a chart as it was, access logs, data quality, the server
    OpenSupport => "support_desk",
    /// Support desk: mark the selected pair as two people (with a reason; never proposed again)
    NotDuplicate => "not_duplicate",
    /// Support desk: preview merging the selected pair (again: the other way round)
    MergeRecords => "merge_records",
    /// Support desk: undo the last merge done here (with a reason)
    UndoMerge => "undo_merge",
    /// Support desk: open a record by type and id, as the server holds it
    OpenRecord => "open_record",
    /// Support desk: fold or unfold the section of the record under the cursor
    FoldSection => "fold_section",
    /// Support desk: find text in the record
    FindInRecord => "find_in_record",
    /// Support desk: the next line holding the text looked for
    FindNext => "find_next",
    /// Support desk: write the record as JSON to a file
    WriteRecord => "write_record",
    /// Support desk: the record's versions; Enter shows what changed, field by field
    RecordHistory => "record_history",
    /// Support desk: a patient's chart as it was at a moment
    ChartAsOf => "chart_as_of",
    /// Support desk: the access log of a patient, or of a user across patients
    AccessLogFor => "access_log_for",
    /// Support desk: move the note or result open to the patient it belongs to (with a reason)
    MoveRecord => "move_record",
    /// Support desk: write the list shown as CSV
    ExportList => "export_list",
    /// Reject the draft order under review or selected, with a reason the nurse sees
    RejectOrder => "reject_order",
    /// Inbox: forward the selected result to a colleague, with a comment
    ForwardResult => "forward_result",
    /// Inbox: the safety net: results waiting too long (mine, then everyone's), then my inbox again
    SafetyNet => "safety_net",
    /// Census: the next sort order (bed, name, NEWS2, results, length of stay)
    SortList => "sort_list",
    /// Patient lists: choose another list (my patients, a team's, one of my own, a ward)
    ChooseWard => "choose_ward",
    /// Patient lists: show all, or only those with results waiting, NEWS2 5+, or unsigned work
    FilterList => "filter_list",
    /// Patient lists: the selected patient's I-PASS handoff (filled from the chart, saved on the server)
    Handoff => "handoff",
    /// Patient lists: write the whole list's handoff as text and PDF
    PrintHandoff => "print_handoff",
    /// Patient lists: the ward's bed board (free and occupied beds)
    BedBoard => "bed_board",
    /// Patient lists: move the selected patient to another bed or ward
    TransferPatient => "transfer_patient",
    /// Patient lists: discharge the selected patient, with where they go
    DischargePatient => "discharge_patient",
    /// Admit this patient to a ward and a free bed
    AdmitPatient => "admit_patient",
    /// Patient lists: start a new list of my own (kept on the server, on any terminal)
    NewList => "new_list",
    /// My own list: take the selected patient off it
    RemoveFromList => "remove_from_list",
    /// Add this patient to one of my own lists (or a new one)
    AddToList => "add_to_list",
    /// Census: ask the server again now (it is asked every minute while on screen)
    RefreshList => "refresh_list",
    /// Edit this patient's registration details (saved only over the version read; support staff give a reason)
    EditDemographics => "edit_demographics",
    /// Allergies and problems: the lists, and recording them (new, none known, entered in error)
    OpenLists => "allergies_and_problems",
    /// Allergies and problems: add to the list with focus
    AddEntry => "add_entry",
    /// Allergies: record "no known drug allergies" (only when the list is known and has none)
    RecordNoKnownDrugAllergies => "no_known_drug_allergies",
    /// Allergies and problems: edit the selected entry (saved over the version read)
    EditEntry => "edit_entry",
    /// Allergies and problems: mark the selected entry entered in error, with a reason
    EnteredInError => "entered_in_error",
    /// Problems: mark the selected problem resolved
    ResolveProblem => "resolve_problem",
    /// Undo the last change to the note
    Undo => "undo",
    /// Redo what was undone
    Redo => "redo",
    /// Select the whole note
    SelectAll => "select_all",
    /// Copy the selection
    Copy => "copy",
    /// Cut the selection
    Cut => "cut",
    /// Paste what was copied or cut
    Paste => "paste",
    /// Expand the smart phrase before the cursor (`.vitals`); elsewhere the key types itself
    ExpandPhrase => "expand_phrase",
    /// Send the form or the field: sign in, unlock, apply, answer
    Submit => "submit",
    /// Palette: put the highlighted command in the input, to add its argument
    Complete => "complete",
    /// Go to the next field of the form
    NextField => "next_field",
    /// Go to the previous field of the form
    PreviousField => "previous_field",
    /// At a locked terminal: sign in as another user (the open charts close)
    SwitchUser => "switch_user",
    /// Outbox: take the selected note back into the editor as a draft
    TakeBack => "take_back_draft",
    /// Outbox: discard your copy of the selected stuck note
    Discard => "discard_note",
}

impl Action {
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_name_and_a_description() {
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(*a));
            assert!(!a.description().is_empty());
            assert!(!a.description().starts_with(' '));
        }
    }
}
