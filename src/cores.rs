//! Work spread over the machine's cores, its results in a fixed order.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Result;

/// Run `job(state, i)` for every `i` in `0..jobs` on a thread per core (no
/// more threads than jobs), each thread with a `state` of its own from
/// `init(threads)`, taking the next job whenever it finishes one: jobs
/// listed largest first keep every core busy to the end. The results come
/// back in the order of the jobs, whichever thread ran each and whenever,
/// so nothing made from them depends on timing. On failure, the error of
/// the first job that failed, in that order (every job before it was taken
/// and ran, so it is the same error whatever the timing); a thread stops
/// taking jobs once one has failed.
pub fn in_order<S, R: Send>(
    jobs: usize,
    init: impl Fn(usize) -> Result<S> + Sync,
    job: impl Fn(&mut S, usize) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs)
        .max(1);
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(usize::MAX);
    let work = || -> Result<Vec<(usize, Result<R>)>> {
        let mut state = init(threads)?;
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= jobs || failed.load(Ordering::Relaxed) < i {
                return Ok(done);
            }
            let result = job(&mut state, i);
            if result.is_err() {
                failed.fetch_min(i, Ordering::Relaxed);
            }
            done.push((i, result));
        }
    };
    let by_thread = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Vec<_>>()
    });
    let mut results: Vec<(usize, Result<R>)> = Vec::with_capacity(jobs);
    for done in by_thread {
        results.extend(done?);
    }
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn results_come_in_the_order_of_the_jobs() {
        let squares = in_order(
            50,
            |_| Ok(0u32),
            |ran, i| {
                *ran += 1;
                Ok(i * i)
            },
        )
        .unwrap();
        assert_eq!(squares, (0..50).map(|i| i * i).collect::<Vec<_>>());
        assert!(in_order(0, |_| Ok(()), |_, i| Ok(i)).unwrap().is_empty());
    }

    #[test]
    fn the_first_failing_job_in_order_gives_the_error() {
        for _ in 0..20 {
            let e = in_order(
                40,
                |_| Ok(()),
                |_, i| {
                    if i % 7 == 3 {
                        Err(Error::failure(format!("job {i}")))
                    } else {
                        Ok(i)
                    }
                },
            )
            .unwrap_err();
            assert_eq!(e.to_string(), Error::failure("job 3").to_string());
        }
        let e = in_order(
            3,
            |_| Err::<(), _>(Error::failure("no state")),
            |_, i| Ok(i),
        );
        assert!(e.unwrap_err().to_string().contains("no state"));
    }
}
