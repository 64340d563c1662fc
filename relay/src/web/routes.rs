//! Every URL shape the relay answers or mails, in one place: the form endpoint and the paths
//! under it, and the links the deliverer puts in mails. Plain strings, no HTTP types, so the
//! deliverer builds links from the same definitions the router serves.

/// The double opt-in link, under the form endpoint.
pub const CONFIRM: &str = "/confirm";
/// The data-subject request form's post, under the form endpoint.
pub const REQUEST: &str = "/request";
/// A data-subject request's confirmation link, under the form endpoint.
pub const REQUEST_CONFIRM: &str = "/request/confirm";

/// `suffix` under the form endpoint at `endpoint` (either may carry the trailing slash).
pub fn under(endpoint: &str, suffix: &str) -> String {
    format!("{}{suffix}", endpoint.trim_end_matches('/'))
}

/// `<public_url>/confirm?token=…&lang=…`. The language only picks the page a broken link
/// lands on; it is not trusted for anything else.
pub fn grant_link(public_url: &str, token: &str, lang: &str) -> String {
    link(public_url, CONFIRM, token, lang)
}

/// `<public_url>/request/confirm?token=…&lang=…`.
pub fn request_link(public_url: &str, token: &str, lang: &str) -> String {
    link(public_url, REQUEST_CONFIRM, token, lang)
}

fn link(public_url: &str, suffix: &str, token: &str, lang: &str) -> String {
    format!("{}?token={token}&lang={lang}", under(public_url, suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_join_the_public_url_and_the_route() {
        assert_eq!(
            grant_link("https://woow.kz/api/contact/", "abc.def", "ru"),
            "https://woow.kz/api/contact/confirm?token=abc.def&lang=ru"
        );
        assert_eq!(
            request_link("https://woow.kz/api/contact", "t", "kk"),
            "https://woow.kz/api/contact/request/confirm?token=t&lang=kk"
        );
    }
}
