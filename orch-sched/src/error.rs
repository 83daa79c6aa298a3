//! `SchedError`: every way configuring or running the scheduler can fail.

use orch_core::StoreError;

/// An error of the scheduler's configuration or of its talk with the store.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchedError {
    /// A profile names a plugin that is not registered.
    #[error("profile {profile:?}: unknown plugin {plugin:?}")]
    UnknownPlugin {
        /// The profile.
        profile: String,
        /// The plugin name.
        plugin: String,
    },
    /// A plugin name was registered twice.
    #[error("plugin {0:?} is already registered")]
    DuplicatePlugin(String),
    /// Two profiles share a scheduler name.
    #[error("two profiles are named {0:?}")]
    DuplicateProfile(String),
    /// No profile was configured.
    #[error("the scheduler needs at least one profile")]
    NoProfiles,
    /// A plugin's configuration is wrong.
    #[error("plugin {plugin:?}: invalid args: {reason}")]
    InvalidArgs {
        /// The plugin.
        plugin: String,
        /// What is wrong.
        reason: String,
    },
    /// A plugin needs the object store and none was given.
    #[error("plugin {0:?} needs an object store")]
    MissingStore(String),
    /// A profile's settings are out of range.
    #[error("profile {profile:?}: {reason}")]
    InvalidProfile {
        /// The profile.
        profile: String,
        /// What is wrong.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
