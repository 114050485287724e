//! The accessibility statement the Public Sector Bodies Accessibility Regulations ask for:
//! what the app meets, how that is tested, what is known not to work yet, and whom to tell.

use leptos::prelude::*;

/// The accessibility statement.
#[component]
pub fn AccessibilityPage() -> impl IntoView {
    view! {
        <article class="statement">
            <h1 tabindex="-1">"Accessibility statement"</h1>
            <p>"Plansync is used by partner agencies to write and track a Police, Crime and Community Safety Plan. We want as many people as possible to be able to use it: to change colours and text size, zoom to 200 % without text spilling off the screen, get round every view with a keyboard alone, and use it with a screen reader."</p>
            <h2>"How far it meets the standard"</h2>
            <p>"Plansync aims to meet the Web Content Accessibility Guidelines (WCAG) version 2.2 at level AA. It is partly compliant: the known gaps are listed below."</p>
            <h2>"How it is tested"</h2>
            <ul>
                <li>"Every view of a demonstration plan (the plans list, joining, the dashboard, outline, action tracker, an action, a board, the indicators and one indicator, stage and milestones, history, papers, people, the room page, workshop mode, this statement), the progress update box and a snapshot are checked with axe-core 4.14 against its WCAG 2.0, 2.1 and 2.2 A and AA rules, in Chromium, on every change to the app. The check must find nothing for a change to be accepted."</li>
                <li>"Automated tests use the keyboard alone to go from the dashboard to a board and one of its actions (starting with the skip link), to set a RAG rating and add a progress update in the action tracker, to type values into the indicator grid, and to search."</li>
                <li>"Every view is opened on a 360 pixel wide screen (a phone, or 200 % zoom of a 720 pixel window) and checked for sideways scrolling: wide tables scroll inside their own box, nothing else does. Workshop mode is also tested on a projector-sized screen."</li>
                <li>"A test walks an action tracker of several hundred actions with the arrow keys, Home and End, sorts it and finds an action with the Find box."</li>
                <li>"A test checks that a screen reader is told when someone else changes the text box you are in."</li>
            </ul>
            <h2>"What you can expect"</h2>
            <ul>
                <li>"A link to skip to the main content, landmarks for the header, the plan's views and the main content, and a page title for each view."</li>
                <li>"When you open another view, the keyboard focus moves to its heading."</li>
                <li>"RAG ratings, direction of travel and out-of-tolerance indicators are always given in words as well as colour; every chart has its figures in text."</li>
                <li>"The sync status is announced when it changes, and so is a change someone else makes to the text box you are in (your cursor stays where you were)."</li>
                <li>"The action tracker tells a screen reader how many actions it lists and where each row is among them."</li>
            </ul>
            <h2>"Known gaps"</h2>
            <ul>
                <li>"On a long plan the action tracker draws only the rows near the screen, so the browser's own find (Ctrl+F) does not see the others: use the Find box above the table, or Search in the header, which look through every action."</li>
                <li>"Reordering the outline by dragging has keyboard alternatives (the arrow buttons and Alt with the arrow keys), but a screen reader is not told where an item moved to."</li>
                <li>"Exported Word and HTML papers use headings and table headers, but have not been tested with screen readers."</li>
                <li>"The QR codes on the room page and the people page have the same link or code written beside them; the codes themselves cannot be read by a screen reader."</li>
                <li>"axe-core finds about a third to a half of accessibility problems; the app has not yet been audited by people who use assistive technology."</li>
            </ul>
            <h2>"Reporting a problem"</h2>
            <p>"If something in Plansync does not work for you, tell the owner of your plan (the People tab names them), who passes it on to the partnership's Plansync administrator. Say which view you were on and what you were trying to do."</p>
            <h2>"Enforcement"</h2>
            <p>"The Equality and Human Rights Commission is responsible for enforcing the Public Sector Bodies (Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018. If you are not happy with how your complaint is handled, contact the Equality Advisory and Support Service."</p>
            <p class="muted small">"This statement was prepared on 30 November 2026."</p>
        </article>
    }
}
