//! The kelisim site generator.
