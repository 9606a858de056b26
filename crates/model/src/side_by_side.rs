//! Independent pieces of work on a few threads at once, results in the pieces' order: how a
//! folder's files are read, an estate's kinds laid out and a pack's controls evaluated.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// The threads worth using: the machine's cores, at most `most`.
pub fn threads(most: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, most.max(1))
}

/// `work` applied to every item on up to `threads` threads, each taking the next item not yet
/// taken (so a long item does not hold up the rest), in the order `order` gives them (largest
/// first, say); the results come back in the items' own order. One thread, or one item, runs
/// here without spawning. A panic in `work` is a bug, and is raised again here.
pub fn map<T: Send, R: Send>(
    items: Vec<T>,
    threads: usize,
    order: impl FnOnce(&[T]) -> Vec<usize>,
    work: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.into_iter().map(work).collect();
    }
    let order = order(&items);
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|i| Mutex::new(Some(i))).collect();
    let next = AtomicUsize::new(0);
    let take = || loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        // Past the end of the order: no more work. An index the order repeats was taken.
        let i = *order.get(k)?;
        let item = slots
            .get(i)
            .and_then(|s| s.lock().unwrap_or_else(PoisonError::into_inner).take());
        if let Some(item) = item {
            return Some((i, item));
        }
    };
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while let Some((i, item)) = take() {
                        done.push((i, work(item)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Items taken in their own order.
pub fn in_order<T>(items: &[T]) -> Vec<usize> {
    (0..items.len()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_whatever_the_threads_and_order() {
        let items: Vec<u64> = (0..50).collect();
        let expected: Vec<u64> = items.iter().map(|i| i * i).collect();
        for threads in [1, 2, 3, 8, 100] {
            let squares = map(items.clone(), threads, in_order, |i| i * i);
            assert_eq!(squares, expected, "{threads} threads");
            let backwards = map(
                items.clone(),
                threads,
                |items| (0..items.len()).rev().collect(),
                |i| i * i,
            );
            assert_eq!(backwards, expected, "{threads} threads, last first");
        }
        assert!(map(Vec::<u8>::new(), 4, in_order, |i| i).is_empty());
    }

    #[test]
    fn an_order_that_misses_or_repeats_items_never_loses_or_repeats_work() {
        // Only what the order names is done; a repeated index is done once.
        let done = map(vec![1, 2, 3], 2, |_| vec![2, 2, 0], |i| i * 10);
        assert_eq!(done, vec![10, 30]);
    }
}
