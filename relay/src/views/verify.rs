//! `records verify` as text: one line per record, the id first, then `verified` or
//! `unverifiable`, the stamp's language and policy version, and the reasons. A line holds
//! what the stamp and the site hold (ids, versions, purposes, URLs, hashes), never anything
//! of the person, so it may go to a journal or a log.

use crate::domain::verify::StampCheck;

/// `<id> verified <lang> <version>`, or `<id> unverifiable <lang> <version>: <reason>; …`,
/// where a reason is `<what> (<where>: <why>)` and label reasons name their purposes
/// (`label text missing: newsletter, reply (…)`, one entry for the purposes that share a
/// reason and a detail).
pub fn line(check: &StampCheck) -> String {
    let mut line = format!(
        "{} {} {} {}",
        check.id, check.status, check.language, check.policy_version
    );
    let mut reasons: Vec<(&str, Vec<&str>, String)> = Vec::new();
    for problem in &check.problems {
        let (reason, detail) = (problem.reason(), problem.detail());
        match reasons.last_mut() {
            Some((last, purposes, last_detail)) if *last == reason && *last_detail == detail => {
                purposes.extend(problem.purpose());
            }
            _ => reasons.push((reason, problem.purpose().into_iter().collect(), detail)),
        }
    }
    for (at, (reason, purposes, detail)) in reasons.iter().enumerate() {
        line.push_str(if at == 0 { ": " } else { "; " });
        line.push_str(reason);
        if !purposes.is_empty() {
            line.push_str(": ");
            line.push_str(&purposes.join(", "));
        }
        line.push_str(&format!(" ({detail})"));
    }
    line
}

/// `N record(s) checked: V verified, U unverifiable`.
pub fn summary(checks: &[StampCheck]) -> String {
    let verified = checks.iter().filter(|c| c.is_verified()).count();
    format!(
        "{} record(s) checked: {verified} verified, {} unverifiable",
        checks.len(),
        checks.len() - verified
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::RecordId;
    use crate::domain::verify::{Missing, Problem, Status};

    #[test]
    fn label_reasons_sharing_a_detail_are_one_entry() {
        let id = RecordId::new();
        let missing = |purpose: &str| Problem::LabelTextMissing {
            purpose: purpose.to_owned(),
            url: None,
            why: Missing::NotPublished,
        };
        let check = StampCheck {
            id,
            status: Status::Unverifiable,
            language: "kk".to_owned(),
            policy_version: "1.0".to_owned(),
            problems: vec![
                Problem::PolicyTextMissing {
                    url: "https://e/kk/privacy/1.0/".to_owned(),
                    why: Missing::NotFound,
                },
                missing("newsletter"),
                missing("reply"),
            ],
        };
        assert_eq!(
            line(&check),
            format!(
                "{id} unverifiable kk 1.0: policy text missing (https://e/kk/privacy/1.0/: not \
                 found); label text missing: newsletter, reply (the site publishes no labels for \
                 this version)"
            )
        );
        let verified = StampCheck {
            status: Status::Verified,
            problems: Vec::new(),
            ..check.clone()
        };
        assert_eq!(line(&verified), format!("{id} verified kk 1.0"));
        assert_eq!(
            summary(&[check, verified]),
            "2 record(s) checked: 1 verified, 1 unverifiable"
        );
    }
}
