//! Email reminders for a reporting round: who gets one (each participant who wants them
//! and leads actions still outstanding), the key that makes each one go once, and the
//! words. The server only sends what this says.

use crate::ids::ActionId;
use crate::links::people_of;
use crate::period::long_date;
use crate::plan::{Plan, Round};
use crate::round::my_actions;
use crate::ParticipantEmail;
use crate::PersonLink;

/// One participant to remind: their address and the actions still outstanding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The participant.
    pub participant: i64,
    /// Where the reminder goes (checked when it was given).
    pub email: String,
    /// Their actions still outstanding for the round, in plan order.
    pub actions: Vec<ActionId>,
}

/// A reminder's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderMail {
    /// The subject line (one line).
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

/// Everyone to remind for a round: each participant with an address who has not stopped
/// their reminders and is linked to a lead of an action still outstanding, in participant
/// order. Links count as they do for My actions (an unconfirmed claim included).
pub fn recipients(
    plan: &Plan,
    round: &Round,
    links: &[PersonLink],
    emails: &[ParticipantEmail],
) -> Vec<Recipient> {
    let mut out: Vec<Recipient> = emails
        .iter()
        .filter(|e| e.reminders)
        .filter_map(|e| {
            let people = people_of(links, e.participant);
            if people.is_empty() {
                return None;
            }
            let actions: Vec<ActionId> = my_actions(plan, round, &people)
                .into_iter()
                .map(|(a, _)| a.id.clone())
                .collect();
            (!actions.is_empty()).then(|| Recipient {
                participant: e.participant,
                email: e.email.clone(),
                actions,
            })
        })
        .collect();
    out.sort_by_key(|r| r.participant);
    out
}

/// The key that makes a reminder go once, on every node and across restarts: one per
/// plan, round, reminder day and participant.
pub fn reminder_key(plan: &str, round: &Round, days: u32, participant: i64) -> String {
    format!("{plan}/{}/{days}/{participant}", round.id)
}

/// One line, with no control characters: what a title may put in a subject or a list.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The reminder for one recipient: the round, the deadline, each outstanding action with
/// what it still needs, and the plan's address (`plan_url`, which carries no token: the
/// reader signs in as usual).
pub fn compose(plan: &Plan, round: &Round, recipient: &Recipient, plan_url: &str) -> ReminderMail {
    let deadline = long_date(&round.deadline);
    let count = recipient.actions.len();
    let noun = if count == 1 { "action" } else { "actions" };
    let subject = one_line(&format!(
        "{}: {count} {noun} to update for {} by {deadline}",
        plan.title, round.period
    ));
    let mut body = format!(
        "The reporting round for {} asks for an update on every action by {deadline}.\n\
         These actions you lead still need one:\n\n",
        round.period
    );
    for id in &recipient.actions {
        let Some(action) = crate::round::actions(plan).find(|a| &a.id == id) else {
            continue;
        };
        let missing = crate::round::missing(action, round);
        body.push_str(&format!(
            "- {}: needs {}\n",
            one_line(&action.title),
            missing.describe(round)
        ));
    }
    body.push_str(&format!(
        "\nOpen the plan to update them: {plan_url}\n\
         (My actions on the plan's first page lists them too.)\n\n\
         You get this because you gave your email address for reminders in {}. \
         To stop them, open the plan and untick \"Email me reminders\" under My actions.\n",
        one_line(&plan.title)
    ));
    ReminderMail { subject, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_people_who_want_reminders_and_lead_outstanding_actions_get_one_naming_them() {
        let (_, _, plan, round) = crate::round::testing::demo_in_round(3);
        let leads: Vec<_> = crate::round::actions(&plan)
            .filter_map(|a| a.lead.clone())
            .collect();
        let (lead, other) = (
            leads[0].clone(),
            leads.iter().find(|l| **l != leads[0]).unwrap().clone(),
        );
        let link = |participant, person: &crate::PersonId| PersonLink {
            participant,
            person: person.clone(),
            confirmed: false,
            shared: false,
        };
        let links = vec![link(1, &lead), link(2, &other), link(3, &lead)];
        let email = |participant, reminders| ParticipantEmail {
            participant,
            email: format!("p{participant}@council.gov.uk"),
            reminders,
        };
        // 3 stopped theirs; 4 has an address but is nobody in the plan.
        let emails = vec![
            email(4, true),
            email(3, false),
            email(2, true),
            email(1, true),
        ];
        let to = recipients(&plan, &round, &links, &emails);
        assert_eq!(
            to.iter().map(|r| r.participant).collect::<Vec<_>>(),
            vec![1, 2]
        );
        let theirs: Vec<_> = crate::round::actions(&plan)
            .filter(|a| a.lead.as_ref() == Some(&lead))
            .map(|a| a.id.clone())
            .collect();
        assert_eq!(to[0].actions, theirs);
        let mail = compose(&plan, &round, &to[0], "http://10.0.0.2:8080/#/plan/P");
        assert!(
            mail.subject
                .contains("to update for 2026/27 Q3 by 15 January 2027"),
            "{}",
            mail.subject
        );
        assert!(!mail.subject.contains('\n'));
        for id in &theirs {
            let title = &crate::round::actions(&plan)
                .find(|a| &a.id == id)
                .unwrap()
                .title;
            assert!(
                mail.body.contains(&one_line(title)),
                "{title} in {}",
                mail.body
            );
        }
        assert!(mail.body.contains("http://10.0.0.2:8080/#/plan/P\n"));
        assert_eq!(
            reminder_key("P", &round, 7, 1),
            format!("P/{}/7/1", round.id)
        );
    }

    #[test]
    fn a_title_with_line_breaks_cannot_add_a_header_to_the_subject() {
        assert_eq!(
            one_line("Plan\r\nBcc: all@example.com"),
            "Plan Bcc: all@example.com"
        );
    }
}
