//! The demo plan: a city Police and Crime Board's plan, built from the committee papers in
//! `shared/seeds`, with people named by role and agency only.

use crate::ids::*;
use crate::period::{Quarter, ReportingPeriod};
use crate::plan::{NewPlan, PlanDoc, Polarity, ProgressState, Rag, Stage, TextField};
use crate::Result;
use rand::RngCore;

/// The title of the demo plan.
pub const DEMO_PLAN_TITLE: &str = "Riverton Police, Crime and Community Safety Plan 2026-29";

const AGENCIES: &[&str] = &[
    "Riverton Police",
    "Riverton City Council",
    "Probation Service",
    "Fire and Rescue Service",
    "Integrated Care Board (NHS)",
    "Office of the Police and Crime Commissioner",
    "Victim Support (voluntary sector)",
    "Youth Justice Service",
];

/// (name, role, agency index)
const PEOPLE: &[(&str, &str, usize)] = &[
    (
        "Cabinet Member for Policing",
        "Chair, Police and Crime Board",
        1,
    ),
    ("Community Safety Officer", "Plan owner", 1),
    ("Chief Inspector, Neighbourhoods", "Chair, City Tasking", 0),
    (
        "Head of Safeguarding",
        "Chair, Harm and Abuse Reduction Partnership",
        1,
    ),
    (
        "Head of Probation Delivery Unit",
        "Chair, Reducing Re-Offending",
        2,
    ),
    ("Prevent Coordinator", "Chair, Prevent", 1),
    ("Station Manager, Prevention", "Fire safety lead", 3),
    ("Designated Nurse, Safeguarding", "Health lead", 4),
    ("Policy Officer", "Commissioner's representative", 5),
    ("Victim Services Manager", "Victims lead", 6),
    ("Youth Justice Manager", "Young people lead", 7),
    (
        "Detective Inspector, Public Protection",
        "Police lead for vulnerability",
        0,
    ),
];

/// (name, chair index into PEOPLE, remit)
const BOARDS: &[(&str, usize, &str)] = &[
    ("Police and Crime Board", 0, "Oversees the plan and receives exceptions each quarter."),
    ("City Tasking", 2, "Public place-based issues, safety and reassurance."),
    ("Harm and Abuse Reduction Partnership", 3, "Domestic abuse, sexual violence, hate crime, modern slavery and other vulnerabilities."),
    ("Reducing Re-Offending", 4, "Reducing reoffending and its harm, integrated offender management, serious and organised crime."),
    ("Prevent", 5, "The ideological challenge of terrorism; safeguarding people from being drawn into it."),
];

struct ThemeSeed {
    title: &'static str,
    aim: &'static str,
    outcomes: &'static [&'static str],
    lead: usize,
    objectives: &'static [(&'static str, &'static [&'static str])],
}

const THEMES: &[ThemeSeed] = &[
    ThemeSeed {
        title: "Victims",
        aim: "Victims are supported to cope and recover, and fewer people become victims twice.",
        outcomes: &["Fewer repeat victims", "Victims feel listened to and informed", "Vulnerable people are safeguarded early"],
        lead: 9,
        objectives: &[
            ("Reduce repeat victimisation of domestic abuse", &[
                "Review every high-risk case at the daily risk meeting",
                "Extend the independent domestic violence adviser service to the hospital",
                "Train frontline staff in routine enquiry about abuse",
            ]),
            ("Improve support for victims of sexual violence", &[
                "Publish a single referral pathway for sexual violence support",
                "Cut waiting times for specialist counselling",
            ]),
            ("Tackle hate crime and increase reporting", &[
                "Open third-party hate crime reporting centres in every ward",
                "Run a hate crime awareness week with schools",
                "Follow up every reported hate incident within five days",
            ]),
            ("Identify and protect victims of exploitation and modern slavery", &[
                "Map locations of concern for child sexual exploitation",
                "Train licensed premises staff to spot exploitation",
                "Set up a modern slavery referral desk",
                "Report exploitation cases to the board each quarter",
            ]),
        ],
    },
    ThemeSeed {
        title: "Offenders",
        aim: "Fewer people offend and reoffend, and those who cause most harm are managed together.",
        outcomes: &["Reduced reoffending", "Offenders managed jointly by partners", "Young people diverted from crime"],
        lead: 4,
        objectives: &[
            ("Manage the most prolific offenders through integrated offender management", &[
                "Refresh the integrated offender management cohort each quarter",
                "Provide accommodation support on release from prison",
                "Share offender information through one partnership system",
            ]),
            ("Reduce reoffending linked to drugs and alcohol", &[
                "Offer treatment assessment at the point of arrest",
                "Expand alcohol treatment requirements in court orders",
            ]),
            ("Disrupt serious and organised crime", &[
                "Maintain a partnership map of organised crime groups",
                "Use civil orders against organised crime groups",
                "Seize assets under proceeds of crime powers",
            ]),
            ("Divert young people from offending", &[
                "Offer a diversion programme to first-time young offenders",
                "Place youth workers in the hospital emergency department",
                "Deliver knife crime education in secondary schools",
            ]),
        ],
    },
    ThemeSeed {
        title: "Communities",
        aim: "Residents feel safe where they live, and public places are free from nuisance.",
        outcomes: &["Less anti-social behaviour", "Residents feel safe after dark", "Communities are cohesive and resilient"],
        lead: 2,
        objectives: &[
            ("Reduce anti-social behaviour in public places", &[
                "Run monthly problem-solving meetings for hotspot locations",
                "Use community protection notices for persistent nuisance",
                "Publish ward-level anti-social behaviour figures",
            ]),
            ("Tackle environmental crime: fly tipping, graffiti and vandalism", &[
                "Remove offensive graffiti within 24 hours",
                "Install deployable cameras at fly tipping hotspots",
                "Prosecute repeat fly tippers",
            ]),
            ("Reduce domestic burglary", &[
                "Target-harden homes of repeat burglary victims",
                "Run burglary prevention events in high-risk wards",
                "Work with student landlords on home security",
            ]),
            ("Build community cohesion and prevent radicalisation", &[
                "Deliver Prevent awareness training to council staff",
                "Support community-led cohesion projects",
                "Review the Channel panel's referrals annually",
            ]),
            ("Improve road safety", &[
                "Enforce speed limits at community concern sites",
                "Run fire and rescue road safety sessions for young drivers",
            ]),
        ],
    },
    ThemeSeed {
        title: "Transformation",
        aim: "Partners work as one, share what they know, and spend public money where it prevents most harm.",
        outcomes: &["Shared data and intelligence", "Joint commissioning of services", "Clear accountability for the plan"],
        lead: 8,
        objectives: &[
            ("Share data and intelligence across partners", &[
                "Agree an information sharing agreement for all partners",
                "Publish the annual strategic assessment",
            ]),
            ("Commission services jointly", &[
                "Co-commission domestic abuse services with the Commissioner",
                "Pool budgets for substance misuse treatment",
            ]),
            ("Strengthen accountability for the plan", &[
                "Report exceptions to the Police and Crime Board each quarter",
                "Give scrutiny members a read-only view of the action tracker",
                "Add direction of travel to every RAG rating",
            ]),
            ("Engage the public in community safety", &[
                "Circulate the community safety survey to all councillors",
                "Hold a public meeting on the plan in each locality",
                "Explain the plan's priorities in plain language online",
            ]),
        ],
    },
];

/// Builds the demo plan; `rng` supplies the ids and the actor.
pub fn demo_plan(rng: &mut dyn RngCore) -> Result<PlanDoc> {
    let mut plan = PlanDoc::create(
        &NewPlan {
            title: DEMO_PLAN_TITLE.into(),
            area: "City of Riverton".into(),
            period_start: 2026,
            period_end: 2028,
            owning_body: "Riverton Police and Crime Board".into(),
        },
        rng,
    )?;
    plan.set_stage(Stage::StakeholderWorkshop)?;
    for (name, due, done) in [
        ("Stakeholder workshop", "2026-12-03", false),
        ("Police and Crime Panel review", "2027-01-20", false),
        (
            "Approval by the Police and Crime Board",
            "2027-03-17",
            false,
        ),
        ("Publication", "2027-04-01", false),
    ] {
        let id = plan.add_milestone(rng, name, Some(due))?;
        plan.set_milestone_done(&id, done)?;
    }
    let agencies: Vec<AgencyId> = AGENCIES
        .iter()
        .map(|a| plan.add_agency(rng, a))
        .collect::<Result<_>>()?;
    let people: Vec<PersonId> = PEOPLE
        .iter()
        .map(|(name, role, agency)| plan.add_person(rng, name, role, Some(&agencies[*agency])))
        .collect::<Result<_>>()?;
    let boards: Vec<BoardId> = BOARDS
        .iter()
        .map(|(name, chair, remit)| plan.add_board(rng, name, Some(&people[*chair]), remit))
        .collect::<Result<_>>()?;

    let q1 = ReportingPeriod {
        year: 2026,
        quarter: Quarter::Q1,
    };
    let q2 = ReportingPeriod {
        year: 2026,
        quarter: Quarter::Q2,
    };
    let rag_cycle = [
        (Rag::Green, Rag::Green),
        (Rag::Amber, Rag::Green),
        (Rag::Green, Rag::Amber),
        (Rag::Amber, Rag::Red),
        (Rag::Green, Rag::Green),
        (Rag::Red, Rag::Amber),
        (Rag::NotRated, Rag::Amber),
    ];
    // Which sub-group leads each theme's actions by default, and who contributes.
    let theme_boards = [(2, 1), (3, 2), (1, 4), (0, 3)];
    let mut n = 0usize;
    for (t, seed) in THEMES.iter().enumerate() {
        let theme = plan.add_theme(rng, seed.title, None)?;
        plan.set_text(&TextField::ThemeAim(theme.clone()), seed.aim)?;
        for outcome in seed.outcomes {
            plan.add_outcome(&theme, outcome, None)?;
        }
        plan.set_theme_lead(&theme, Some(&people[seed.lead]))?;
        for (objective_text, actions) in seed.objectives {
            let objective = plan.add_objective(rng, &theme, objective_text, None)?;
            for title in actions.iter() {
                let action = plan.add_action(rng, &objective, title, None)?;
                let (lead_board, contributing) = theme_boards[t];
                let lead_board = if n % 5 == 4 { contributing } else { lead_board };
                plan.set_lead_board(&action, Some(&boards[lead_board]))?;
                if n.is_multiple_of(3) {
                    plan.set_contributing_board(&action, &boards[contributing], true)?;
                }
                let lead = &people[[9, 11, 4, 10, 2, 6, 7, 8, 3, 1][n % 10]];
                plan.set_lead(&action, Some(lead))?;
                let due_month = 3 + (n % 4) * 3;
                plan.set_due(
                    &action,
                    Some(&format!(
                        "{}-{:02}-{}",
                        if due_month > 9 { 2026 } else { 2027 },
                        due_month,
                        if due_month == 3 || due_month == 12 {
                            31
                        } else {
                            30
                        }
                    )),
                )?;
                plan.set_text(
                    &TextField::ActionTarget(action.clone()),
                    [
                        "Delivered by the due date",
                        "Quarterly report to the lead board",
                        "Measured against the linked indicator",
                    ][n % 3],
                )?;
                let (r1, r2) = rag_cycle[n % rag_cycle.len()];
                plan.set_rag(&action, q1, r1)?;
                plan.set_rag(&action, q2, r2)?;
                plan.set_progress_state(
                    &action,
                    match (r1, n % 6) {
                        (_, 0) => ProgressState::Complete,
                        (Rag::NotRated, _) => ProgressState::NotStarted,
                        _ => ProgressState::InProgress,
                    },
                )?;
                let (author, _, agency) = PEOPLE[[9, 11, 4, 10, 2, 6, 7, 8, 3, 1][n % 10]];
                plan.add_progress_update(rng, &action, author, AGENCIES[agency], "2026-06-24", match r1 {
                    Rag::Green => "On track; partners attending and actions agreed.",
                    Rag::Amber => "Some delay: waiting for a partner's data; plan to recover next quarter.",
                    Rag::Red => "Off track: funding not yet confirmed; escalated to the lead board.",
                    Rag::NotRated => "Not yet started; scoping with partners.",
                })?;
                plan.add_progress_update(rng, &action, author, AGENCIES[agency], "2026-09-23", match r2 {
                    Rag::Green => "Good progress this quarter; milestones met.",
                    Rag::Amber => "Progress slower than planned; recovery actions agreed at the board.",
                    Rag::Red => "Off track: staff vacancy; exception reported to the Police and Crime Board.",
                    Rag::NotRated => "No update this quarter.",
                })?;
                n += 1;
            }
        }
    }

    let periods = [
        ReportingPeriod {
            year: 2025,
            quarter: Quarter::Q1,
        },
        ReportingPeriod {
            year: 2025,
            quarter: Quarter::Q2,
        },
        ReportingPeriod {
            year: 2025,
            quarter: Quarter::Q3,
        },
        ReportingPeriod {
            year: 2025,
            quarter: Quarter::Q4,
        },
        q1,
        q2,
    ];
    for (name, unit, polarity, target, tolerance, values) in [
        (
            "Domestic burglaries",
            "offences",
            Polarity::LowerIsBetter,
            180.0,
            10.0,
            [214.0, 198.0, 231.0, 205.0, 187.0, 176.0],
        ),
        (
            "Repeat victims of domestic abuse",
            "%",
            Polarity::LowerIsBetter,
            25.0,
            2.0,
            [29.0, 28.5, 27.0, 27.5, 26.0, 28.0],
        ),
        (
            "Residents who feel safe after dark",
            "%",
            Polarity::HigherIsBetter,
            70.0,
            3.0,
            [64.0, 65.0, 63.0, 66.0, 68.0, 69.0],
        ),
    ] {
        let id = plan.add_indicator(rng, name, unit, polarity, target, tolerance)?;
        for (p, v) in periods.iter().zip(values) {
            plan.set_indicator_value(&id, *p, v)?;
        }
    }
    plan.commit();
    Ok(plan)
}
