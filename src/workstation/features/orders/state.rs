//! The orders pane: the composer, the basket, alerts, and the site's order settings.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrdersFocus {
    Composer,
    Basket,
    Active,
}

/// A composer result: a catalog entry or an order set.
#[derive(Debug, Clone, PartialEq)]
pub enum Pick {
    Entry(crate::workstation::orders::catalog::Hit),
    Set(usize),
}

/// The orders pane of this chart: the composer, the basket (kept when the pane closes), the
/// alerts the checks raised, and the active orders.
#[derive(Debug, Clone)]
pub struct OrdersState {
    pub focus: OrdersFocus,
    pub query: String,
    pub picks: Vec<Pick>,
    /// The matches of each shorter query typed on the way to this one (shortest first): a
    /// key searches within the longest that this query extends, so typing narrows and a
    /// Backspace goes back to the matches it had, never to an empty or wrong pool.
    pub pools: Vec<(String, Vec<usize>)>,
    pub pick_cursor: usize,
    pub basket: Vec<crate::workstation::orders::basket::Item>,
    pub basket_cursor: usize,
    pub active_cursor: usize,
    pub alerts: Vec<crate::workstation::orders::checks::Alert>,
    /// Why the checks could not run, if they could not.
    pub checks_error: Option<String>,
    pub checks_acknowledged: bool,
    pub sending: bool,
    pub error: Option<String>,
}

impl OrdersState {
    pub fn new() -> OrdersState {
        OrdersState {
            focus: OrdersFocus::Composer,
            query: String::new(),
            picks: Vec::new(),
            pools: Vec::new(),
            pick_cursor: 0,
            basket: Vec::new(),
            basket_cursor: 0,
            active_cursor: 0,
            alerts: Vec::new(),
            checks_error: None,
            checks_acknowledged: false,
            sending: false,
            error: None,
        }
    }
}

impl Default for OrdersState {
    fn default() -> OrdersState {
        OrdersState::new()
    }
}

/// What orders need: the catalog, the drug knowledge, and the duplicate-test window.
#[derive(Debug, Clone, Default)]
pub struct OrderSettings {
    pub catalog: crate::workstation::orders::catalog::Catalog,
    pub knowledge: crate::workstation::orders::knowledge::Knowledge,
    pub duplicate_window_ms: i64,
}
