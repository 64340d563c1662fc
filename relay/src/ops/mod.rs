//! The one-machine operator's tooling beyond the rights commands: backups and restores of the
//! SQLite file, the replay of what was done after a backup, and `doctor`'s checks of a
//! deployment.

pub mod backup;
pub mod doctor;
pub mod replay;
