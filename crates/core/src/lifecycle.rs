//! What happens to an alert: the tier of autonomy the policy grants, the impact of the action,
//! the decisions taken on it, and the states it moves through.
//!
//! ```text
//!             ┌────────────── policy ──────────────┐
//!             ▼                                    ▼
//!   auto_closed / auto_acted          pending_approval · analyst · abstained   (open)
//!             │                          │  approve (four eyes: first of two)
//!             │                          ├──────────► pending_second_approval  (open)
//!             │                          │  approve · reject
//!             │                          ▼
//!             │                   approved · rejected
//!             │  override                │  override
//!             └──────────► overridden ◄──┘  (an override can itself be overridden)
//! ```

use crate::vocab::words;

words! {
    /// How much the system may do on its own, most autonomous first.
    pub enum Tier: "tier" {
        /// Act without a human (still rate-limited).
        Auto = "auto",
        /// Act after a one-click human approval.
        Approve = "approve",
        /// An analyst investigates and decides; the model's recommendation is shown.
        Analyst = "analyst",
        /// The model declines: a human drives and no model recommendation is shown.
        Abstain = "abstain",
    }
}

impl Tier {
    /// Autonomy rank: Auto 3 > Approve 2 > Analyst 1 > Abstain 0.
    pub fn autonomy(self) -> u8 {
        match self {
            Tier::Auto => 3,
            Tier::Approve => 2,
            Tier::Analyst => 1,
            Tier::Abstain => 0,
        }
    }

    /// This tier, lowered to `ceiling` if it is more autonomous.
    pub fn at_most(self, ceiling: Tier) -> Tier {
        if self.autonomy() <= ceiling.autonomy() {
            self
        } else {
            ceiling
        }
    }
}

words! {
    /// How much damage an action (or an asset it touches) can do if the model is wrong.
    pub enum Impact: "impact" {
        None = "none",
        Low = "low",
        Medium = "medium",
        High = "high",
        Critical = "critical",
    }
}

words! {
    /// Where an alert is in its life.
    pub enum AlertState: "alert state" {
        /// Closed by the policy without a human.
        AutoClosed = "auto_closed",
        /// The recommended action was carried out without a human.
        AutoActed = "auto_acted",
        /// Waits for one approval of the recommended action.
        PendingApproval = "pending_approval",
        /// A critical or irreversible action approved once: waits for a second person.
        PendingSecondApproval = "pending_second_approval",
        /// An analyst investigates and decides.
        Analyst = "analyst",
        /// The model declined; a human drives.
        Abstained = "abstained",
        Approved = "approved",
        Rejected = "rejected",
        /// A human said the verdict or decision was wrong.
        Overridden = "overridden",
    }
}

impl AlertState {
    /// The states in which an alert still awaits a human: what the queue shows by default.
    pub const OPEN: [AlertState; 4] = [
        AlertState::PendingApproval,
        AlertState::PendingSecondApproval,
        AlertState::Analyst,
        AlertState::Abstained,
    ];

    pub fn is_open(self) -> bool {
        AlertState::OPEN.contains(&self)
    }

    /// Decided without a human.
    pub fn is_automated(self) -> bool {
        matches!(self, AlertState::AutoClosed | AlertState::AutoActed)
    }

    /// The state the policy's tier puts a new alert in; `closes` says whether the decided
    /// action is the policy's close action.
    pub fn after_policy(tier: Tier, closes: bool) -> AlertState {
        match tier {
            Tier::Auto if closes => AlertState::AutoClosed,
            Tier::Auto => AlertState::AutoActed,
            Tier::Approve => AlertState::PendingApproval,
            Tier::Analyst => AlertState::Analyst,
            Tier::Abstain => AlertState::Abstained,
        }
    }

    /// Whether a human decision may move an alert from this state to `to` (see the module
    /// diagram). Every store backend refuses any other transition.
    pub fn can_become(self, to: AlertState) -> bool {
        use AlertState::*;
        match to {
            Overridden => true,
            PendingSecondApproval => matches!(self, PendingApproval | Analyst | Abstained),
            Approved | Rejected => self.is_open(),
            AutoClosed | AutoActed | PendingApproval | Analyst | Abstained => false,
        }
    }
}

words! {
    /// A decision as recorded: the policy's, or a human's.
    pub enum Decision: "decision" {
        /// What the policy decided when the alert arrived (carried out when its tier is auto).
        Suggested = "suggested",
        /// A human approved the recommended action (one of two under four eyes).
        Approve = "approve",
        /// A human declined the recommended action.
        Reject = "reject",
        /// A human said the verdict or decision was wrong.
        Override = "override",
    }
}

impl Decision {
    /// Decisions a human can take (what the API and the console accept).
    pub const HUMAN: [Decision; 3] = [Decision::Approve, Decision::Reject, Decision::Override];

    pub fn is_human(self) -> bool {
        self != Decision::Suggested
    }
}

/// One rule that decided or constrained a decision, or a human's reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reason {
    pub code: String,
    pub text: String,
}

impl Reason {
    pub fn new(code: impl Into<String>, text: impl Into<String>) -> Reason {
        Reason {
            code: code.into(),
            text: text.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_one_spelling_that_round_trips() {
        for s in AlertState::ALL {
            assert_eq!(s.as_str().parse::<AlertState>().unwrap(), *s);
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(serde_json::from_str::<AlertState>(&json).unwrap(), *s);
        }
        let e = "closed".parse::<AlertState>().unwrap_err().to_string();
        assert!(
            e.contains("\"closed\"") && e.contains("pending_approval"),
            "{e}"
        );
    }

    #[test]
    fn only_open_alerts_can_be_approved_or_rejected_and_any_can_be_overridden() {
        for from in AlertState::ALL {
            assert_eq!(from.can_become(AlertState::Approved), from.is_open());
            assert_eq!(from.can_become(AlertState::Rejected), from.is_open());
            assert!(from.can_become(AlertState::Overridden));
            for policy_only in [AlertState::AutoClosed, AlertState::Analyst] {
                assert!(!from.can_become(policy_only));
            }
        }
        assert!(!AlertState::PendingSecondApproval.can_become(AlertState::PendingSecondApproval));
        assert!(AlertState::PendingApproval.can_become(AlertState::PendingSecondApproval));
    }

    #[test]
    fn the_policy_tier_maps_to_one_initial_state() {
        assert_eq!(
            AlertState::after_policy(Tier::Auto, true),
            AlertState::AutoClosed
        );
        assert_eq!(
            AlertState::after_policy(Tier::Auto, false),
            AlertState::AutoActed
        );
        assert_eq!(
            AlertState::after_policy(Tier::Approve, false),
            AlertState::PendingApproval
        );
        assert!(AlertState::after_policy(Tier::Abstain, false).is_open());
    }

    #[test]
    fn tiers_only_lower() {
        assert_eq!(Tier::Auto.at_most(Tier::Analyst), Tier::Analyst);
        assert_eq!(Tier::Abstain.at_most(Tier::Auto), Tier::Abstain);
    }
}
