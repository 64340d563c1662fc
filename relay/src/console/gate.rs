//! Who may use the console: the holder of the one-time token the console printed, and after
//! that only the browser that traded it for the session cookie. Every request must name a
//! loopback host (a DNS-rebinding page names its own); every POST must also come from the
//! console's own origin and carry the session's CSRF token. Secrets are random bytes from the
//! OS, compared in constant time; none is ever logged.

use std::sync::{Mutex, PoisonError};

use crate::domain::secret::constant_time_eq;

/// The session cookie's name.
pub const COOKIE: &str = "kelisim_console";

/// The form field every POST carries the CSRF token in.
pub const CSRF_FIELD: &str = "csrf";

/// 32 random bytes as lower-case hex, or `None` when the OS gives no randomness.
pub fn random_hex() -> Option<String> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

/// The one session a console run has (its token makes exactly one).
#[derive(Debug, Clone)]
pub struct Session {
    /// The cookie's value.
    pub id: String,
    /// What every form of the session carries.
    pub csrf: String,
}

/// What trading a token gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Traded {
    /// A new session: set this cookie value.
    Session(String),
    /// Not the token, or the token was used already.
    Refused,
}

/// The token until it is used, then the session it made.
#[derive(Debug)]
pub struct Gate {
    token: Mutex<Option<String>>,
    session: Mutex<Option<Session>>,
}

impl Gate {
    /// A gate for `token`.
    pub fn new(token: String) -> Self {
        Self {
            token: Mutex::new(Some(token)),
            session: Mutex::new(None),
        }
    }

    /// Trades `offered` for the session, once: the token is gone after the first success,
    /// so a second use (the URL in a browser history, a shoulder-surfed screen) is refused.
    pub fn trade(&self, offered: &str) -> Traded {
        let mut token = self.token.lock().unwrap_or_else(PoisonError::into_inner);
        let matches = token
            .as_deref()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), offered.as_bytes()));
        if !matches {
            return Traded::Refused;
        }
        let (Some(id), Some(csrf)) = (random_hex(), random_hex()) else {
            return Traded::Refused;
        };
        *token = None;
        *self.session.lock().unwrap_or_else(PoisonError::into_inner) = Some(Session {
            id: id.clone(),
            csrf,
        });
        Traded::Session(id)
    }

    /// The session whose cookie value is `offered`, if it is this console's.
    pub fn session(&self, offered: &str) -> Option<Session> {
        let session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        session
            .as_ref()
            .filter(|s| constant_time_eq(s.id.as_bytes(), offered.as_bytes()))
            .cloned()
    }
}

/// The session cookie's value in a `Cookie` header, if any.
pub fn cookie_value(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// The `Set-Cookie` value of a session: the browser sends it to this origin only, never to
/// a script, and never with a request another site starts.
pub fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/")
}

/// Whether `host` (a `Host` header) names this computer: `127.0.0.1`, `[::1]` or
/// `localhost`, with any port (an `ssh -L` tunnel may use another).
pub fn loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a POST's `Origin` is the console's own: `http://` and the `Host` it was sent to.
pub fn same_origin(origin: Option<&str>, host: &str) -> bool {
    origin.is_some_and(|origin| origin.eq_ignore_ascii_case(&format!("http://{host}")))
}

/// Whether a form's CSRF field is the session's token.
pub fn csrf_matches(session: &Session, offered: Option<&str>) -> bool {
    offered.is_some_and(|offered| constant_time_eq(session.csrf.as_bytes(), offered.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_traded_once_and_only_the_right_one() {
        let gate = Gate::new("a".repeat(64));
        assert_eq!(gate.trade(&"b".repeat(64)), Traded::Refused);
        let Traded::Session(id) = gate.trade(&"a".repeat(64)) else {
            panic!("the right token is refused");
        };
        assert_eq!(gate.trade(&"a".repeat(64)), Traded::Refused, "used twice");
        assert!(gate.session(&id).is_some());
        assert!(gate.session(&"0".repeat(64)).is_none(), "a forged session");
        assert!(gate.session("").is_none());
    }

    #[test]
    fn hosts_cookies_and_origins() {
        for host in [
            "127.0.0.1:8788",
            "localhost:9000",
            "[::1]:8788",
            "127.0.0.1",
            "LOCALHOST",
        ] {
            assert!(loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:8788",
            "10.0.0.5:8788",
            "127.0.0.1.evil.example",
            "",
        ] {
            assert!(!loopback_host(host), "{host}");
        }
        assert_eq!(cookie_value("a=1; kelisim_console=xyz; b=2"), Some("xyz"));
        assert_eq!(cookie_value("kelisim_consolex=1"), None);
        assert!(same_origin(Some("http://127.0.0.1:8788"), "127.0.0.1:8788"));
        assert!(!same_origin(Some("https://evil.example"), "127.0.0.1:8788"));
        assert!(!same_origin(None, "127.0.0.1:8788"));
        assert!(set_cookie("x").contains("HttpOnly; SameSite=Strict"));
    }
}
