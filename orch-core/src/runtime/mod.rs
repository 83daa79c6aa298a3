//! Time and background work without a fixed runtime: `Clock`, `ManualClock`, `Spawn`, and executors.

mod clock;
mod deterministic;
mod manual_clock;
mod spawn;
#[cfg(feature = "tokio")]
mod tokio_rt;

pub use clock::Clock;
pub use deterministic::DeterministicExecutor;
pub use manual_clock::ManualClock;
pub use spawn::Spawn;
#[cfg(feature = "tokio")]
pub use tokio_rt::{SystemClock, TokioSpawn};
