//! The editing commands beside the build, each calling the [driver](mod@crate::build) rather than
//! a stage: [`check`] (`kelisim check`, the build in memory plus checks), [`init`] (`kelisim
//! init`), [`new_page`] (`kelisim new`), [`new_version`] (`kelisim policy new-version`) and
//! [`policy_diff`] (`kelisim policy diff`).

pub mod check;
pub mod init;
pub mod new_page;
pub mod new_version;
pub mod policy_diff;
