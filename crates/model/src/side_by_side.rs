//! Independent pieces of work on a few threads at once, results in the pieces' order: how a
//! folder's files are read, an estate's kinds laid out and a pack's controls evaluated; and big
//! values let go of on a thread of their own ([`let_go`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// The machine's cores (one if it cannot say).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// The threads worth using: the machine's cores, at most `most`.
pub fn threads(most: usize) -> usize {
    cores().clamp(1, most.max(1))
}

/// `work` applied to every item on up to `threads` threads, each taking the next item not yet
/// taken (so a long item does not hold up the rest), in the order `order` gives them
/// ([`in_order`], [`largest_first`]; an index it repeats or gives out of range is ignored, and
/// an item it leaves out is taken after those it names); the results come back in the items'
/// own order. One thread, or one item, runs here without spawning. A panic in `work` is a bug,
/// and is raised again here.
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
    let order = complete(order(&items), items.len());
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|i| Mutex::new(Some(i))).collect();
    let next = AtomicUsize::new(0);
    let take = || loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        // Past the end of the order: no more work.
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

/// `order` with repeats and indices past `len` dropped, then every index it left out.
fn complete(order: Vec<usize>, len: usize) -> Vec<usize> {
    let mut named = vec![false; len];
    let mut out = Vec::with_capacity(len);
    for i in order.into_iter().chain(0..len) {
        if let Some(seen) = named.get_mut(i)
            && !*seen
        {
            *seen = true;
            out.push(i);
        }
    }
    out
}

/// Items taken in their own order.
pub fn in_order<T>(items: &[T]) -> Vec<usize> {
    (0..items.len()).collect()
}

/// Items taken largest first, by `size`: the longest piece of work starts at once rather than
/// last, alone.
pub fn largest_first<T>(size: impl Fn(&T) -> usize) -> impl FnOnce(&[T]) -> Vec<usize> {
    move |items| {
        let mut order = in_order(items);
        order.sort_by_key(|&i| std::cmp::Reverse(items.get(i).map_or(0, &size)));
        order
    }
}

/// Lets go of `value` on a thread kept for it, not the caller's: a run recording its findings
/// frees each control's hundreds of thousands of small strings (made on the thread that
/// evaluated them) while it goes on to the next control. Where that thread cannot be had, the
/// value is let go of here.
pub fn let_go<T: Send + 'static>(value: T) {
    type Sender = std::sync::mpsc::Sender<Box<dyn Send>>;
    static FREER: std::sync::OnceLock<Option<std::sync::Mutex<Sender>>> =
        std::sync::OnceLock::new();
    let freer = FREER.get_or_init(|| {
        let (send, values) = std::sync::mpsc::channel::<Box<dyn Send>>();
        std::thread::Builder::new()
            .name("let-go".into())
            .spawn(move || values.into_iter().for_each(drop))
            .ok()
            .map(|_| std::sync::Mutex::new(send))
    });
    let sent = match freer.as_ref().map(|send| send.lock()) {
        Some(Ok(send)) => send.send(Box::new(value)).map_err(|e| e.0),
        _ => Err(Box::new(value) as Box<dyn Send>),
    };
    drop(sent);
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
            let largest = map(
                items.clone(),
                threads,
                largest_first(|i: &u64| *i as usize),
                |i| i * i,
            );
            assert_eq!(largest, expected, "{threads} threads, largest first");
        }
        assert!(map(Vec::<u8>::new(), 4, in_order, |i| i).is_empty());
    }

    #[test]
    fn an_order_that_misses_or_repeats_items_never_loses_or_repeats_work() {
        for threads in [1, 2, 3] {
            let calls = AtomicUsize::new(0);
            let done = map(
                vec![1, 2, 3],
                threads,
                |_| vec![2, 2, 7, 0],
                |i| {
                    calls.fetch_add(1, Ordering::Relaxed);
                    i * 10
                },
            );
            assert_eq!(done, vec![10, 20, 30], "{threads} threads");
            assert_eq!(calls.into_inner(), 3, "each item once, {threads} threads");
        }
    }

    #[test]
    fn what_is_let_go_of_is_freed_on_another_thread() {
        struct Told(std::sync::mpsc::Sender<std::thread::ThreadId>);
        impl Drop for Told {
            fn drop(&mut self) {
                let _ = self.0.send(std::thread::current().id());
            }
        }
        let (send, dropped) = std::sync::mpsc::channel();
        super::let_go(Told(send.clone()));
        super::let_go(Told(send));
        for _ in 0..2 {
            // A bound only against a hang; the value is freed at once.
            let on = dropped.recv_timeout(std::time::Duration::from_secs(60));
            assert!(
                matches!(on, Ok(id) if id != std::thread::current().id()),
                "{on:?}"
            );
        }
    }
}
