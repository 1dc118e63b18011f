//! How a calibrated probability is shown, in a terminal and in the console alike: a band per
//! confidence level so that 51 % and 99 % never read alike, never a rounded-up certainty, and
//! an abstention never dressed up as a verdict.

/// A time as every record and page shows it: RFC 3339, UTC, `Z`, no more fraction digits
/// than it has.
pub fn time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// How far a calibrated probability is from a coin flip: confidence = max(p, 1 − p).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    /// Confidence below 0.6.
    CoinFlip,
    /// 0.6 to 0.8.
    Weak,
    /// 0.8 to 0.95.
    Strong,
    /// 0.95 and above.
    Certain,
}

impl Band {
    pub fn of(p: f64) -> Band {
        let c = confidence(p);
        if c < 0.6 {
            Band::CoinFlip
        } else if c < 0.8 {
            Band::Weak
        } else if c < 0.95 {
            Band::Strong
        } else {
            Band::Certain
        }
    }

    /// A short machine token: `coinflip`, `weak`, `strong`, `certain`.
    pub fn token(self) -> &'static str {
        match self {
            Band::CoinFlip => "coinflip",
            Band::Weak => "weak",
            Band::Strong => "strong",
            Band::Certain => "certain",
        }
    }

    /// The band in words.
    pub fn words(self) -> &'static str {
        match self {
            Band::CoinFlip => "coin flip",
            Band::Weak => "leaning",
            Band::Strong => "likely",
            Band::Certain => "near certain",
        }
    }
}

/// max(p, 1 − p); NaN counts as a coin flip.
pub fn confidence(p: f64) -> f64 {
    if p.is_nan() { 0.5 } else { p.max(1.0 - p) }
}

/// A probability as three decimals, never rounded to a certainty: `< 0.001`, `0.512`,
/// `> 0.999`.
pub fn p_text(p: f64) -> String {
    if p.is_nan() {
        "unknown".to_string()
    } else if p < 0.0005 {
        "< 0.001".to_string()
    } else if p > 0.9995 {
        "> 0.999".to_string()
    } else {
        format!("{p:.3}")
    }
}

/// A confidence as a percentage: whole percent below 95 %, one decimal above, never 100 %.
pub fn percent(c: f64) -> String {
    if c >= 0.95 {
        let tenth = (c * 1000.0).round() / 10.0;
        if tenth >= 100.0 || c >= 0.9995 {
            "> 99.9 %".to_string()
        } else {
            format!("{tenth:.1} %")
        }
    } else {
        format!("{:.0} %", c * 100.0)
    }
}

/// "coin flip — 51 % malicious", "near certain — 99.2 % benign".
pub fn verdict_words(p: f64) -> String {
    let side = if p >= 0.5 { "malicious" } else { "benign" };
    format!(
        "{} — {} {side}",
        Band::of(p).words(),
        percent(confidence(p))
    )
}

/// What to show for an alert's probability: the verdict in words, or, when the model
/// abstained, that it declined, with p only as a number to look at, never as a verdict.
pub fn headline(p: Option<f64>, abstained: bool) -> String {
    match p {
        None => "not scored: no model verdict".to_string(),
        Some(p) if abstained => format!("model abstained (p {}, not a verdict)", p_text(p)),
        Some(p) => format!("{} (p {})", verdict_words(p), p_text(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_the_distance_from_a_coin_flip_on_either_side() {
        assert_eq!(Band::of(0.51), Band::CoinFlip);
        assert_eq!(Band::of(0.45), Band::CoinFlip);
        assert_eq!(Band::of(0.7), Band::Weak);
        assert_eq!(Band::of(0.1), Band::Strong);
        assert_eq!(Band::of(0.99), Band::Certain);
        assert_eq!(Band::of(0.003), Band::Certain);
        assert_eq!(Band::of(f64::NAN), Band::CoinFlip);
    }

    #[test]
    fn words_name_the_band_the_percentage_and_the_side() {
        assert_eq!(verdict_words(0.51), "coin flip — 51 % malicious");
        assert_eq!(verdict_words(0.992), "near certain — 99.2 % malicious");
        assert_eq!(verdict_words(0.01), "near certain — 99.0 % benign");
        assert_eq!(verdict_words(0.99999), "near certain — > 99.9 % malicious");
        assert_eq!(verdict_words(1.0), "near certain — > 99.9 % malicious");
    }

    #[test]
    fn probabilities_are_never_rounded_to_certainty() {
        assert_eq!(p_text(0.0), "< 0.001");
        assert_eq!(p_text(0.0004), "< 0.001");
        assert_eq!(p_text(0.5123), "0.512");
        assert_eq!(p_text(0.9996), "> 0.999");
        assert_eq!(p_text(1.0), "> 0.999");
    }

    #[test]
    fn an_abstention_never_reads_as_a_verdict() {
        let h = headline(Some(0.99), true);
        assert!(
            h.contains("abstained") && !h.contains("near certain"),
            "{h}"
        );
        assert!(headline(Some(0.99), false).starts_with("near certain"));
        assert!(headline(None, false).contains("not scored"));
    }
}
