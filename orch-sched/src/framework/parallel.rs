//! `Parallelizer`: runs per-node work in chunks on a persistent pool, results in node order.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Runs Filter and Score over many nodes on `threads` threads: the calling thread and a pool
/// of `threads - 1` workers that is started on first use and lives as long as the framework
/// (Kubernetes' parallelizer, without spawning threads per cycle).
///
/// Work is cut into chunks that are claimed in order, so every chunk before the last one
/// claimed has run to its end when [`for_chunks`](Self::for_chunks) returns. Results come back
/// ordered by chunk, which makes any decision taken from them independent of thread timing.
pub(crate) struct Parallelizer {
    threads: usize,
    pool: OnceLock<Option<rayon_core::ThreadPool>>,
}

impl std::fmt::Debug for Parallelizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parallelizer").field("threads", &self.threads).finish_non_exhaustive()
    }
}

impl Parallelizer {
    /// A parallelizer for `threads` threads in all (at least 1: the caller alone).
    pub(crate) fn new(threads: usize) -> Self {
        Parallelizer { threads: threads.max(1), pool: OnceLock::new() }
    }

    /// The number of threads work may run on, the caller included.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// The worker pool; `None` for one thread or when the workers could not be started (the
    /// caller then does all the work).
    fn pool(&self) -> Option<&rayon_core::ThreadPool> {
        if self.threads <= 1 {
            return None;
        }
        self.pool
            .get_or_init(|| {
                rayon_core::ThreadPoolBuilder::new()
                    .num_threads(self.threads - 1)
                    .thread_name(|i| format!("orch-sched-{i}"))
                    .build()
                    .ok()
            })
            .as_ref()
    }

    /// A chunk size for `n` items: about √n (Kubernetes' choice), at least 16.
    pub(crate) fn chunk_size(n: usize) -> usize {
        (n.isqrt()).max(16)
    }

    /// Runs `work` on the chunks of `0..n` of `chunk` items each, on every thread at once when
    /// `parallel` (the caller only otherwise). Threads claim chunks in increasing order and stop
    /// claiming once `enough()` holds; a claimed chunk always runs to its end. Returns the
    /// start of each chunk that ran with its result, ordered by start.
    pub(crate) fn for_chunks<R, W, E>(
        &self,
        n: usize,
        chunk: usize,
        parallel: bool,
        work: W,
        enough: E,
    ) -> Vec<(usize, R)>
    where
        R: Send,
        W: Fn(Range<usize>) -> R + Sync,
        E: Fn() -> bool + Sync,
    {
        let chunk = chunk.max(1);
        let next = AtomicUsize::new(0);
        let done: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(n.div_ceil(chunk)));
        let run = || {
            let mut mine = Vec::new();
            while !enough() {
                let from = next.fetch_add(1, Ordering::Relaxed).saturating_mul(chunk);
                if from >= n {
                    break;
                }
                mine.push((from, work(from..(from + chunk).min(n))));
            }
            done.lock().unwrap_or_else(|e| e.into_inner()).append(&mut mine);
        };
        match self.pool().filter(|_| parallel) {
            Some(pool) => pool.in_place_scope(|s| {
                for _ in 1..self.threads {
                    s.spawn(|_| run());
                }
                run();
            }),
            None => run(),
        }
        let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
        done.sort_unstable_by_key(|(from, _)| *from);
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_item_once_in_order_on_any_thread_count() {
        for threads in [1, 2, 4] {
            let p = Parallelizer::new(threads);
            let out = p.for_chunks(1000, 37, true, |r| r.collect::<Vec<_>>(), || false);
            let items: Vec<usize> = out.into_iter().flat_map(|(_, v)| v).collect();
            assert_eq!(items, (0..1000).collect::<Vec<_>>(), "{threads} threads");
        }
    }

    #[test]
    fn claimed_chunks_form_a_prefix_when_stopping_early() {
        let p = Parallelizer::new(3);
        let seen = AtomicUsize::new(0);
        let out = p.for_chunks(
            10_000,
            10,
            true,
            |r| {
                seen.fetch_add(r.len(), Ordering::Relaxed);
                r.start
            },
            || seen.load(Ordering::Relaxed) >= 500,
        );
        let starts: Vec<usize> = out.iter().map(|(s, _)| *s).collect();
        assert!(starts.len() >= 50 && starts.len() < 1000, "stopped early after {} chunks", starts.len());
        assert_eq!(starts, (0..starts.len()).map(|i| i * 10).collect::<Vec<_>>(), "no gap before the last chunk");
    }

    #[test]
    fn one_thread_runs_on_the_caller_without_a_pool() {
        let p = Parallelizer::new(1);
        let caller = std::thread::current().id();
        let out = p.for_chunks(100, 16, true, |_| std::thread::current().id(), || false);
        assert!(out.iter().all(|(_, id)| *id == caller));
        assert!(p.pool.get().is_none());
    }
}
