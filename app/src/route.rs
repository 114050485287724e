//! Where the user is, kept in the URL's fragment so that a link (or a reload) shows the
//! same view: `#/`, `#/plan/ID` (the dashboard), `#/plan/ID/outline`,
//! `#/plan/ID/tracker?board=..&sort=..`, `#/plan/ID/action/AID`, `#/plan/ID/board/BID`.

use plansync_shared::DocumentId;

/// A column the action tracker sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Plan order (theme, objective, action).
    #[default]
    Plan,
    /// Action title.
    Action,
    /// Lead board.
    Board,
    /// Lead person.
    Lead,
    /// Due date.
    Due,
    /// Progress state.
    State,
    /// RAG this period (red first).
    Rag,
    /// Date of the latest progress update.
    Updated,
}

impl SortKey {
    /// Every sort key with its word in the URL.
    pub const ALL: &'static [(SortKey, &'static str)] = &[
        (SortKey::Plan, "plan"),
        (SortKey::Action, "action"),
        (SortKey::Board, "board"),
        (SortKey::Lead, "lead"),
        (SortKey::Due, "due"),
        (SortKey::State, "state"),
        (SortKey::Rag, "rag"),
        (SortKey::Updated, "updated"),
    ];

    fn word(self) -> &'static str {
        SortKey::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, w)| *w)
            .unwrap_or("plan")
    }

    fn parse(s: &str) -> Self {
        SortKey::ALL
            .iter()
            .find(|(_, w)| *w == s)
            .map(|(k, _)| *k)
            .unwrap_or_default()
    }
}

/// What the action tracker shows: filters, sort and reporting period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrackerView {
    /// Lead or contributing board id.
    pub board: Option<String>,
    /// Lead person id.
    pub lead: Option<String>,
    /// The lead's agency id.
    pub agency: Option<String>,
    /// RAG word for the period.
    pub rag: Option<String>,
    /// Theme id.
    pub theme: Option<String>,
    /// Only actions past their due date and not complete.
    pub overdue: bool,
    /// Direction of travel word for the period (`improving`, `unchanged`, `worsening`).
    pub travel: Option<String>,
    /// Only exceptions: red, amber or worsening.
    pub exceptions: bool,
    /// Only actions with unresolved comments.
    pub comments: bool,
    /// Only actions not updated for the plan's open reporting round.
    pub outstanding: bool,
    /// Sort column.
    pub sort: SortKey,
    /// Descending.
    pub desc: bool,
    /// Reporting period key (`2026-Q2`); the latest rated one when absent.
    pub period: Option<String>,
    /// Words to find (the app's search): only actions whose text, progress updates or
    /// comments hold them all.
    pub find: Option<String>,
}

/// A view of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The plans on this server and in this browser.
    Plans,
    /// `#/plan/ID`: the plan's first page, how it is doing this period.
    Dashboard(DocumentId),
    /// `#/plan/ID/outline`: one plan's outline.
    Outline(DocumentId),
    /// `#/plan/ID/board/BID`: one board (sub-group), what it leads and contributes to.
    Board(DocumentId, String),
    /// `#/plan/ID/indicators[/IID]`: the indicators, and one indicator's values and chart.
    Indicators(DocumentId, Option<String>),
    /// `#/plan/ID/milestones`: the plan's stage and milestones.
    Milestones(DocumentId),
    /// `#/plan/ID/search?q=WORDS`: what in the plan contains the words.
    Search(DocumentId, String),
    /// One plan's action tracker.
    Tracker(DocumentId, TrackerView),
    /// One action of a plan, with every field.
    Action(DocumentId, String),
    /// A plan's participants and invitations.
    People(DocumentId),
    /// `#/plan/ID/history[?compare=SNAPSHOT]`: snapshots and changes, with that snapshot
    /// compared with now (a sign-off's link to what changed since).
    History(DocumentId, Option<i64>),
    /// `#/plan/ID/papers`: exports and imports.
    Papers(DocumentId),
    /// Joining a plan with an invitation code.
    Join(String),
    /// `#/signed-in/CODE`: back from an agency's provider with a one-time code for my
    /// tokens.
    SignedIn(String),
    /// `#/accessibility`: the accessibility statement.
    Accessibility,
    /// `#/plan/ID/room`: the room page for the projector (address, join code, who is here).
    Room(DocumentId),
    /// `#/plan/ID/workshop[/OBJECTIVE]`: workshop mode, one objective at a time.
    Workshop(DocumentId, Option<String>),
}

fn decode(s: &str) -> String {
    js_sys::decode_uri_component(s)
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| s.to_string())
}

fn encode(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

impl TrackerView {
    fn parse(query: &str) -> Self {
        let mut view = TrackerView::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = decode(v);
            let value = (!v.is_empty()).then(|| v.clone());
            match k {
                "board" => view.board = value,
                "lead" => view.lead = value,
                "agency" => view.agency = value,
                "rag" => view.rag = value,
                "theme" => view.theme = value,
                "overdue" => view.overdue = v == "1",
                "travel" => view.travel = value,
                "exceptions" => view.exceptions = v == "1",
                "comments" => view.comments = v == "1",
                "outstanding" => view.outstanding = v == "1",
                "sort" => view.sort = SortKey::parse(&v),
                "desc" => view.desc = v == "1",
                "period" => view.period = value,
                "find" => view.find = value,
                _ => {}
            }
        }
        view
    }

    fn query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("board", &self.board),
            ("lead", &self.lead),
            ("agency", &self.agency),
            ("rag", &self.rag),
            ("theme", &self.theme),
            ("travel", &self.travel),
            ("period", &self.period),
            ("find", &self.find),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        if self.overdue {
            parts.push("overdue=1".into());
        }
        if self.exceptions {
            parts.push("exceptions=1".into());
        }
        if self.comments {
            parts.push("comments=1".into());
        }
        if self.outstanding {
            parts.push("outstanding=1".into());
        }
        if self.sort != SortKey::Plan {
            parts.push(format!("sort={}", self.sort.word()));
        }
        if self.desc {
            parts.push("desc=1".into());
        }
        parts.join("&")
    }
}

impl Route {
    /// Reads a route from a URL fragment (with or without the leading `#`).
    pub fn parse(hash: &str) -> Self {
        let hash = hash.trim_start_matches('#');
        let (path, query) = hash.split_once('?').unwrap_or((hash, ""));
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let doc = |s: &str| DocumentId::from_url(&format!("automerge:{s}")).ok();
        match parts.as_slice() {
            ["plan", id] => doc(id).map(Route::Dashboard),
            ["plan", id, "outline"] => doc(id).map(Route::Outline),
            ["plan", id, "board", board] => doc(id).map(|d| Route::Board(d, decode(board))),
            ["plan", id, "indicators"] => doc(id).map(|d| Route::Indicators(d, None)),
            ["plan", id, "indicators", i] => doc(id).map(|d| Route::Indicators(d, Some(decode(i)))),
            ["plan", id, "milestones"] => doc(id).map(Route::Milestones),
            ["plan", id, "search"] => {
                let q = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("q="))
                    .map(decode)
                    .unwrap_or_default();
                doc(id).map(|d| Route::Search(d, q))
            }
            ["plan", id, "tracker"] => {
                doc(id).map(|d| Route::Tracker(d, TrackerView::parse(query)))
            }
            ["plan", id, "action", action] => doc(id).map(|d| Route::Action(d, decode(action))),
            ["plan", id, "people"] => doc(id).map(Route::People),
            ["plan", id, "history"] => {
                let compare = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("compare="))
                    .and_then(|v| v.parse().ok());
                doc(id).map(|d| Route::History(d, compare))
            }
            ["plan", id, "papers"] => doc(id).map(Route::Papers),
            ["plan", id, "room"] => doc(id).map(Route::Room),
            ["plan", id, "workshop"] => doc(id).map(|d| Route::Workshop(d, None)),
            ["plan", id, "workshop", o] => doc(id).map(|d| Route::Workshop(d, Some(decode(o)))),
            ["join", code] => Some(Route::Join(decode(code))),
            ["join"] => Some(Route::Join(String::new())),
            ["signed-in", code] => Some(Route::SignedIn(decode(code))),
            ["accessibility"] => Some(Route::Accessibility),
            _ => None,
        }
        .unwrap_or(Route::Plans)
    }

    /// The URL fragment for this route, starting with `#`.
    pub fn href(&self) -> String {
        match self {
            Route::Plans => "#/".into(),
            Route::Dashboard(d) => format!("#/plan/{d}"),
            Route::Outline(d) => format!("#/plan/{d}/outline"),
            Route::Board(d, b) => format!("#/plan/{d}/board/{}", encode(b)),
            Route::Indicators(d, None) => format!("#/plan/{d}/indicators"),
            Route::Indicators(d, Some(i)) => format!("#/plan/{d}/indicators/{}", encode(i)),
            Route::Milestones(d) => format!("#/plan/{d}/milestones"),
            Route::Search(d, q) => format!("#/plan/{d}/search?q={}", encode(q)),
            Route::Tracker(d, v) => {
                let q = v.query();
                if q.is_empty() {
                    format!("#/plan/{d}/tracker")
                } else {
                    format!("#/plan/{d}/tracker?{q}")
                }
            }
            Route::Action(d, a) => format!("#/plan/{d}/action/{}", encode(a)),
            Route::People(d) => format!("#/plan/{d}/people"),
            Route::History(d, None) => format!("#/plan/{d}/history"),
            Route::History(d, Some(s)) => format!("#/plan/{d}/history?compare={s}"),
            Route::Papers(d) => format!("#/plan/{d}/papers"),
            Route::Room(d) => format!("#/plan/{d}/room"),
            Route::Workshop(d, None) => format!("#/plan/{d}/workshop"),
            Route::Workshop(d, Some(o)) => format!("#/plan/{d}/workshop/{}", encode(o)),
            Route::Join(code) => format!("#/join/{}", encode(code)),
            Route::SignedIn(code) => format!("#/signed-in/{}", encode(code)),
            Route::Accessibility => "#/accessibility".into(),
        }
    }

    /// The view's name, as others see where I am.
    pub fn label(&self) -> &'static str {
        match self {
            Route::Plans => "Plans",
            Route::Join(_) => "Joining",
            Route::SignedIn(_) => "Signing in",
            Route::Accessibility => "Accessibility statement",
            Route::Dashboard(_) => "Dashboard",
            Route::Outline(_) => "Outline",
            Route::Board(..) => "A board",
            Route::Indicators(_, None) => "Indicators",
            Route::Indicators(_, Some(_)) => "An indicator",
            Route::Milestones(_) => "Stage and milestones",
            Route::Search(..) => "Search",
            Route::Tracker(..) => "Action tracker",
            Route::Action(..) => "An action",
            Route::People(_) => "People",
            Route::History(..) => "History",
            Route::Papers(_) => "Papers",
            Route::Room(_) => "Room",
            Route::Workshop(..) => "Workshop mode",
        }
    }

    /// The plan this route is about, if any.
    pub fn doc(&self) -> Option<DocumentId> {
        match self {
            Route::Plans | Route::Join(_) | Route::SignedIn(_) | Route::Accessibility => None,
            Route::Dashboard(d)
            | Route::Outline(d)
            | Route::Board(d, _)
            | Route::Indicators(d, _)
            | Route::Milestones(d)
            | Route::Search(d, _)
            | Route::Tracker(d, _)
            | Route::Action(d, _)
            | Route::People(d)
            | Route::History(d, _)
            | Route::Papers(d)
            | Route::Room(d)
            | Route::Workshop(d, _) => Some(*d),
        }
    }
}

/// The route in the address bar now.
pub fn current() -> Route {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    Route::parse(&hash)
}

/// Goes to a route (a new history entry, so Back works).
pub fn go(route: &Route) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(&route.href());
    }
}

/// Changes the route in place (no new history entry), e.g. for a filter change.
pub fn replace(route: &Route) {
    if let Some(w) = web_sys::window() {
        if let Ok(history) = w.history() {
            let _ = history.replace_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&route.href()),
            );
            // replaceState fires no hashchange: tell the app ourselves.
            if let Ok(ev) = web_sys::Event::new("hashchange") {
                let _ = w.dispatch_event(&ev);
            }
        }
    }
}
