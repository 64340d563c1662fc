//! `kelisim`: the command line.
fn main() {}
