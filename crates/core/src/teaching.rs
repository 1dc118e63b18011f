//! What a human teaches: the label an example carries, where the label came from, and the
//! features as the model saw them when the label was given.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::VocabError;
use crate::evidence::FieldValue;
use crate::schema::BENIGN;
use crate::score::Verdict;
use crate::vocab::words;

words! {
    /// Where a label came from. The source decides how far a label is trusted before the
    /// poisoning defences have looked at it.
    pub enum LabelSource: "label source" {
        /// An analyst said the model's verdict was wrong and gave the right label.
        AnalystOverride = "analyst_override",
        /// An analyst agreed with the model's verdict (approved its action, or labelled it so).
        AnalystConfirm = "analyst_confirm",
        /// A human reviewed an alert the policy had closed or acted on by itself.
        AuditSample = "audit_sample",
        /// The second person of a four-eyes decision.
        SecondReview = "second_review",
        /// A label from an incident ticket, imported in bulk (`arbiter teach import`).
        IncidentImport = "incident_import",
    }
}

impl LabelSource {
    /// Labels from concluded incidents are the trusted tier: the gold standard the other
    /// labellers' reliability is measured against.
    pub fn trusted(self) -> bool {
        self == LabelSource::IncidentImport
    }
}

/// The features of one alert as the model read them, by field name. What a teaching example
/// trains on, so retraining never re-reads (or re-parses) the source.
pub type Observed = BTreeMap<String, FieldValue>;

/// Longest attack family name a label may carry, in bytes.
pub const MAX_FAMILY_BYTES: usize = 64;

/// A label: benign, or malicious with its attack family (which may be one the model has never
/// seen: that is how a new family is taught).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Label {
    family: String,
}

impl Label {
    /// `benign`, or a family name (1 to 64 bytes of `a-z A-Z 0-9 . _ - +`).
    pub fn new(s: &str) -> Result<Label, VocabError> {
        let ok = !s.is_empty()
            && s.len() <= MAX_FAMILY_BYTES
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
        if !ok {
            return Err(VocabError::new(
                "label",
                s,
                "`benign` or an attack family: 1 to 64 letters, digits, '.', '_', '-' or '+'",
            ));
        }
        Ok(Label {
            family: s.to_string(),
        })
    }

    pub fn benign() -> Label {
        Label {
            family: BENIGN.to_string(),
        }
    }

    /// The label for a verdict and the model's category (the family when malicious).
    pub fn of(verdict: Verdict, category: Option<&str>) -> Label {
        match (verdict, category) {
            (Verdict::Benign, _) => Label::benign(),
            (Verdict::Malicious, Some(c)) if c != BENIGN => {
                Label::new(c).unwrap_or_else(|_| Label {
                    family: crate::schema::NOVEL.to_string(),
                })
            }
            (Verdict::Malicious, _) => Label {
                family: crate::schema::NOVEL.to_string(),
            },
        }
    }

    pub fn verdict(&self) -> Verdict {
        if self.family == BENIGN {
            Verdict::Benign
        } else {
            Verdict::Malicious
        }
    }

    /// `benign` or the attack family.
    pub fn as_str(&self) -> &str {
        &self.family
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.family)
    }
}

impl std::str::FromStr for Label {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<Label, VocabError> {
        Label::new(s)
    }
}

impl TryFrom<String> for Label {
    type Error = VocabError;
    fn try_from(s: String) -> Result<Label, VocabError> {
        Label::new(&s)
    }
}

impl From<Label> for String {
    fn from(l: Label) -> String {
        l.family
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_knows_its_verdict_and_refuses_names_that_are_not_families() {
        assert_eq!(Label::new("benign").unwrap().verdict(), Verdict::Benign);
        assert_eq!(Label::new("dos").unwrap().verdict(), Verdict::Malicious);
        for bad in ["", "a b", "tab\t", "x;rm", &"a".repeat(65)] {
            let e = Label::new(bad).unwrap_err().to_string();
            assert!(e.contains("label"), "{e}");
        }
    }

    #[test]
    fn the_label_of_a_malicious_verdict_without_a_family_is_novel() {
        assert_eq!(Label::of(Verdict::Malicious, None).as_str(), "novel");
        assert_eq!(
            Label::of(Verdict::Malicious, Some("probe")).as_str(),
            "probe"
        );
        assert_eq!(Label::of(Verdict::Benign, Some("probe")).as_str(), "benign");
    }

    #[test]
    fn only_imported_incident_labels_are_the_trusted_tier() {
        let trusted: Vec<_> = LabelSource::ALL.iter().filter(|s| s.trusted()).collect();
        assert_eq!(trusted, [&LabelSource::IncidentImport]);
        assert_eq!(
            "second_review".parse::<LabelSource>().unwrap(),
            LabelSource::SecondReview
        );
    }
}
