//! Clock and Spawn.
